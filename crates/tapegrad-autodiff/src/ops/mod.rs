//! The differentiable ops, one file per family: each family's forward, its
//! backward rule and its `Var` methods side by side. The rule of an op
//! decides what its inputs receive ([`Contribution`]s); the sweep only
//! accumulates them.
//!
//! A new primitive touches its family's file and, for a new family, the
//! [`Op`] enum below; the coverage test (`coverage.rs`) does not compile
//! until the new variant is given an input domain and gradchecked.

use std::sync::Arc;

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::sweep::{dense, Contribution, Contributions};
use crate::{CustomOp, Result, Val};

pub(crate) mod binary;
pub(crate) mod composite;
pub(crate) mod custom;
pub(crate) mod fused;
pub(crate) mod index;
pub(crate) mod matmul;
pub(crate) mod norm;
pub(crate) mod reduce;
pub(crate) mod select;
pub(crate) mod shape;
pub(crate) mod unary;

#[cfg(test)]
mod coverage;

/// The recorded operation of a node: what its backward rule needs besides
/// the parents' and its own values.
#[derive(Clone)]
pub(crate) enum Op<T: Scalar> {
    /// A leaf that requires grad.
    Leaf,
    /// A value with no gradient (constant, detached, or recorded under
    /// `no_grad`, or computed only from such values).
    Constant,
    Unary(unary::Unary<T>),
    Binary(binary::Binary),
    Reduce(reduce::Reduce),
    MatMul {
        trans_a: bool,
        trans_b: bool,
    },
    Shape(shape::ShapeOp),
    LayerNorm(norm::LayerNorm<T>),
    Index(index::IndexOp),
    Select(select::Select<T>),
    Custom(Arc<dyn CustomOp<T>>),
    /// A fused region of elementwise ops; the node's value is its first
    /// output.
    Fused(Arc<fused::Region<T>>),
    /// Output `k ≥ 1` of the fused region that is the node's one parent.
    FusedOutput(usize),
}

/// What a backward rule is given: the inputs' values, the output's, the
/// output's gradient, which inputs need a gradient, and whether this is a
/// first-order sweep (plain tensors, nothing recorded) or one that builds a
/// gradient graph. A multi-output op (a fused region) is also given the
/// gradient of each of its outputs (`outputs`); what it returns, one
/// [`Contribution`] per input, does not change.
///
/// [`Contribution`]: crate::sweep::Contribution
pub(crate) struct Backward<'a, 't, T: Scalar> {
    pub(crate) inputs: &'a [Val<'t, T>],
    /// The inputs' shapes. A rule that reads only these of an input (see
    /// [`Op::reads_input`]) may be given a placeholder for its value.
    pub(crate) shapes: &'a [Shape],
    pub(crate) output: &'a Val<'t, T>,
    pub(crate) grad: &'a Val<'t, T>,
    pub(crate) wants: &'a [bool],
    pub(crate) first_order: bool,
    /// Whether anomaly mode is on (a fused region checks the gradients its
    /// ops send, to name the op inside the region).
    pub(crate) anomaly: bool,
    /// A multi-output op's gradient per output (`None`: that output got
    /// none); empty for any other op, whose one gradient is `grad`.
    pub(crate) outputs: &'a [Option<Val<'t, T>>],
}

impl<T: Scalar> Op<T> {
    pub(crate) fn name(&self) -> String {
        match self {
            Op::Leaf => "leaf".into(),
            Op::Constant => "constant".into(),
            Op::Unary(u) => u.name().into(),
            Op::Binary(b) => b.name().into(),
            Op::Reduce(r) => r.name().into(),
            Op::MatMul { .. } => "matmul".into(),
            Op::Shape(s) => s.name().into(),
            Op::LayerNorm(l) => l.name().into(),
            Op::Index(i) => i.name().into(),
            Op::Select(s) => s.name().into(),
            Op::Custom(c) => c.name().to_string(),
            Op::Fused(r) => r.name(),
            Op::FusedOutput(k) => format!("fused output {k}"),
        }
    }

    /// Whether this op's backward rule reads the value of input `k`: a
    /// rearrangement, a sum or difference, a scaling, a selection or a
    /// reduction by sum needs its input's shape at most, and `exp`, `tanh`,
    /// `sigmoid`, `sqrt` and `1/x` read their output instead. What a
    /// checkpoint need not keep or recompute (see `checkpoint.rs`).
    pub(crate) fn reads_input(&self, _k: usize) -> bool {
        use unary::Unary;
        !matches!(
            self,
            Op::Shape(_)
                | Op::Binary(binary::Binary::Add | binary::Binary::Sub)
                | Op::Unary(
                    Unary::Neg
                        | Unary::OneMinus
                        | Unary::Scale(_)
                        | Unary::AddScalar(_)
                        | Unary::Exp
                        | Unary::Tanh
                        | Unary::Sigmoid
                        | Unary::Sqrt
                        | Unary::Recip
                )
                | Op::Reduce(reduce::Reduce::SumAxis { .. } | reduce::Reduce::SumAll | reduce::Reduce::SumTo | reduce::Reduce::BroadcastTo)
                | Op::Select(_)
                | Op::Index(_)
                | Op::FusedOutput(_)
        )
    }

    /// Whether this op's backward rule reads its own output's value.
    pub(crate) fn reads_output(&self) -> bool {
        use unary::Unary;
        matches!(
            self,
            Op::Unary(Unary::Exp | Unary::Tanh | Unary::Sigmoid | Unary::Sqrt | Unary::Recip)
                | Op::Binary(binary::Binary::Div)
                | Op::Reduce(reduce::Reduce::MaxAxis { .. })
                | Op::LayerNorm(_)
                | Op::Custom(_)
                | Op::Fused(_)
        )
    }

    /// This op's value recomputed from its inputs' values `x` (`shape` is
    /// the value's recorded shape), with the kernels its `Var` method ran:
    /// equal to the recorded value bit for bit. How a checkpoint restores
    /// the values it dropped. A region's outputs are recomputed together
    /// (`Region::forward`); leaves and constants have no inputs to
    /// recompute from.
    ///
    /// # Errors
    /// Only a custom op's forward can fail (its own error).
    pub(crate) fn forward(&self, x: &[Tensor<T>], shape: &Shape) -> Result<Tensor<T>> {
        Ok(match self {
            Op::Leaf | Op::Constant | Op::Fused(_) | Op::FusedOutput(_) => {
                unreachable!("{} is not recomputed on its own", self.name())
            }
            Op::Unary(u) => u.forward(&x[0]),
            Op::Binary(b) => b.forward(&x[0], &x[1])?,
            Op::Reduce(r) => r.forward(&x[0], shape)?,
            Op::MatMul { trans_a, trans_b } => matmul::tensor_product(&x[0], *trans_a, &x[1], *trans_b)?,
            Op::Shape(s) => s.forward(x, shape)?,
            Op::LayerNorm(l) => l.forward(&x[0], &x[1..]),
            Op::Index(ix) => ix.forward(x)?,
            Op::Select(sel) => sel.forward(&x[0], &x[1])?,
            Op::Custom(c) => c.forward(&x.iter().collect::<Vec<_>>())?,
        })
    }

    /// The contributions of this op's backward rule (which lives next to
    /// its forward, in the family's file), one per input.
    ///
    /// # Errors
    /// Only a custom op's rule can fail (its own error, or gradients of the
    /// wrong number).
    pub(crate) fn backward<'t>(&self, cx: &Backward<'_, 't, T>) -> Result<Contributions<'t, T>> {
        let (x, y, g, wants) = (cx.inputs, cx.output, cx.grad, cx.wants);
        Ok(match self {
            Op::Leaf | Op::Constant => SmallVec::new(),
            Op::Unary(u) => dense([Some(u.backward(&x[0], y, g))]),
            Op::Binary(b) => dense(b.backward(&x[0], &x[1], y, g, wants)),
            Op::Reduce(r) => dense([Some(r.backward(&x[0], &cx.shapes[0], y, g))]),
            Op::MatMul { trans_a, trans_b } => matmul::backward(*trans_a, *trans_b, cx),
            Op::Shape(s) => s.backward(cx),
            Op::LayerNorm(l) => dense(l.backward(x, g, wants)),
            Op::Index(ix) => dense(ix.backward(&cx.shapes[0], g, wants)),
            Op::Select(sel) => dense(sel.backward(g, wants)),
            Op::Custom(c) => custom::backward(c.as_ref(), cx)?,
            Op::Fused(r) => r.backward(cx)?,
            Op::FusedOutput(index) => smallvec::smallvec![Some(Contribution::Output { index: *index, grad: g.clone() })],
        })
    }
}
