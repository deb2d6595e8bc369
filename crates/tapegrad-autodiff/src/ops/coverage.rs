//! Every recorded op, gradchecked to first and second order in f64, and
//! recomputed through a checkpoint with gradients equal bit for bit.
//!
//! Each family has an exhaustive `match` over its variants giving the op
//! its input domain and how to record it, so a new variant does not
//! compile until it is tested here. (The property tests of the integration
//! test binary add random shapes and broadcasting on top.)

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad_tensor::{Scalar, Tensor};

use super::binary::Binary;
use super::index::IndexOp;
use super::reduce::Reduce;
use super::shape::ShapeOp;
use super::unary::Unary;
use super::Op;
use crate::{gradcheck, gradgradcheck, AutodiffError, CheckFn, CustomOp, GradcheckOptions, Result, Tape, Val, Var};

/// Where an op's inputs are drawn from, so finite differences are honest.
#[derive(Clone, Copy, Debug)]
enum Domain {
    /// Uniform in `(-2, 2)`.
    Smooth,
    /// Uniform in `(0.3, 3)`: away from the poles of `ln`, `sqrt`, `1/x`.
    Positive,
    /// Magnitude in `(0.05, 2)`, either sign: away from the kinks at 0.
    AwayFromZero,
    /// A shuffled ladder with steps of 0.3: no ties for `max`.
    Distinct,
}

/// Inputs of the given shapes from `domain`, the same for every run
/// (`Distinct` values differ across all the inputs, not only within one).
fn draw(domain: Domain, shapes: &[&[usize]], seed: u64) -> Vec<Tensor<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    let mut data: Vec<f64> = match domain {
        Domain::Smooth => (0..n).map(|_| rng.random_range(-2.0..2.0)).collect(),
        Domain::Positive => (0..n).map(|_| rng.random_range(0.3..3.0)).collect(),
        Domain::AwayFromZero => (0..n).map(|_| rng.random_range(0.05..2.0) * if rng.random_bool(0.5) { 1.0 } else { -1.0 }).collect(),
        Domain::Distinct => (0..n).map(|k| 0.3 * (k as f64 - (n / 2) as f64)).collect(),
    };
    if let Domain::Distinct = domain {
        for k in (1..n).rev() {
            data.swap(k, rng.random_range(0..=k));
        }
    }
    let mut rest = &data[..];
    shapes
        .iter()
        .map(|&shape| {
            let (head, tail) = rest.split_at(shape.iter().product::<usize>());
            rest = tail;
            Tensor::from_vec(head.to_vec(), shape)
        })
        .collect()
}

/// One op to check: its name, inputs, and the function recording it.
struct Case {
    name: String,
    inputs: Vec<Tensor<f64>>,
    f: Box<dyn CheckFn>,
}

impl Case {
    fn new(name: &str, domain: Domain, shapes: &[&[usize]], f: impl CheckFn + 'static) -> Self {
        let seed = name.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        Case { name: name.to_string(), inputs: draw(domain, shapes, seed), f: Box::new(f) }
    }

    /// Gradchecks the op, and its backward rule's own backward.
    fn run(&self) {
        let o = GradcheckOptions::default();
        let first = gradcheck(&*self.f, &self.inputs, &o).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        assert!(first.passed(), "{}: {first}", self.name);
        let second = gradgradcheck(&*self.f, &self.inputs, &o).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        assert!(second.passed(), "{} (second order): {second}", self.name);
        self.replays();
    }

    /// Recorded inside a checkpoint (its value dropped, then recomputed by
    /// `Op::forward` in the sweep), or inside `keep_needed` (its value
    /// dropped unless a rule reads it, which `Op::reads_input` and
    /// `Op::reads_output` must say right), the op gives the gradients it
    /// gives outside, bit for bit.
    fn replays(&self) {
        let grads = |span: u8| {
            let tape = Tape::<f64>::new();
            let v: Vec<Var<'_, f64>> = self.inputs.iter().map(|x| tape.leaf(x.clone())).collect();
            let body = || (self.f)(&tape, &v).map(|y| y.tanh().sum_all());
            let y = match span {
                0 => body(),
                1 => tape.checkpoint(body),
                _ => tape.keep_needed(body),
            };
            let y = y.unwrap_or_else(|e| panic!("{}: {e}", self.name));
            tape.grad(y, &v).unwrap_or_else(|e| panic!("{}: {e}", self.name))
        };
        let plain = grads(0);
        for (span, name) in [(1, "a checkpoint"), (2, "keep_needed")] {
            for (k, (a, b)) in plain.iter().zip(&grads(span)).enumerate() {
                assert_eq!(a.data(), b.data(), "{}: input {k}'s gradient through {name}", self.name);
            }
        }
    }
}

fn unary(op: Unary<f64>) -> Case {
    let domain = match op {
        Unary::Neg | Unary::Exp | Unary::Tanh | Unary::Sigmoid | Unary::Square | Unary::OneMinus => Domain::Smooth,
        Unary::Scale(_) | Unary::AddScalar(_) => Domain::Smooth,
        Unary::Ln | Unary::Sqrt | Unary::Recip | Unary::Powf(_) => Domain::Positive,
        Unary::Relu | Unary::Abs => Domain::AwayFromZero,
    };
    Case::new(&format!("{op:?}"), domain, &[&[3, 4]], move |_, v| Ok(v[0].unary(op)))
}

fn binary(op: Binary) -> Case {
    let domain = match op {
        Binary::Add | Binary::Sub | Binary::Mul => Domain::Smooth,
        Binary::Div => Domain::Positive,
    };
    // The right operand broadcasts, so the sweep's sum back is covered too.
    Case::new(op.name(), domain, &[&[3, 4], &[1, 4]], move |_, v| v[0].binary(op, v[1]))
}

fn reduce(op: Reduce) -> Case {
    let (domain, shape): (Domain, &[usize]) = match op {
        Reduce::SumAxis { .. } | Reduce::SumAll | Reduce::SumTo => (Domain::Smooth, &[3, 4]),
        Reduce::MaxAxis { .. } => (Domain::Distinct, &[3, 4]),
        Reduce::BroadcastTo => (Domain::Smooth, &[1, 4]),
    };
    let name = format!("{} {op:?}", op.name());
    Case::new(&name, domain, &[shape], move |_, v| match op {
        Reduce::SumAxis { axis, keepdim } => v[0].try_sum_axis(axis, keepdim),
        Reduce::SumAll => Ok(v[0].sum_all()),
        Reduce::MaxAxis { axis, keepdim } => v[0].try_max_axis(axis, keepdim),
        Reduce::SumTo => v[0].try_sum_to(&[1, 4]),
        Reduce::BroadcastTo => v[0].try_broadcast_to(&[3, 4]),
    })
}

fn shape(op: ShapeOp) -> Case {
    let shapes: &[&[usize]] = match op {
        ShapeOp::Reshape | ShapeOp::Transpose(..) | ShapeOp::Narrow { .. } | ShapeOp::Pad { .. } => &[&[3, 4]],
        ShapeOp::Concat { .. } => &[&[3, 4], &[3, 2]],
    };
    let name = format!("{} {op:?}", op.name());
    Case::new(&name, Domain::Smooth, shapes, move |_, v| match op {
        ShapeOp::Reshape => v[0].try_reshape(&[2, 6]),
        ShapeOp::Transpose(a1, a2) => v[0].try_transpose(a1, a2),
        // Two narrows of one input: its gradient is gathered from pieces.
        ShapeOp::Narrow { axis, start } => v[0].try_narrow(axis, start, 2)?.try_mul(v[0].try_narrow(axis, 0, 2)?),
        ShapeOp::Pad { axis, before } => v[0].try_pad_axis(axis, before, 1),
        ShapeOp::Concat { axis } => Var::try_concat(&[v[0], v[1], v[0]], axis),
    })
}

fn index(op: IndexOp) -> Case {
    let shapes: &[&[usize]] = match op {
        IndexOp::Select { .. } | IndexOp::Gather { .. } => &[&[3, 4]],
        IndexOp::Add { .. } => &[&[3, 4], &[3, 2]],
        IndexOp::Scatter { .. } => &[&[3, 4], &[3, 1]],
    };
    let name = format!("{op:?}");
    Case::new(&name, Domain::Smooth, shapes, move |_, v| match &op {
        IndexOp::Select { axis, idx } => v[0].try_index_select(*axis, idx),
        IndexOp::Add { axis, idx } => v[0].try_index_add(*axis, idx, v[1]),
        IndexOp::Gather { axis, idx, idx_shape } => v[0].try_gather(*axis, idx, idx_shape),
        IndexOp::Scatter { axis, idx, idx_shape } => v[0].try_scatter_add(*axis, idx, idx_shape, v[1]),
    })
}

/// `softplus`, for the custom-op family.
struct Softplus;

impl CustomOp<f64> for Softplus {
    fn name(&self) -> &str {
        "softplus"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
        Ok(x[0].map(|v| v.max(0.0) + (-v.abs()).exp().ln_1p()))
    }
    fn backward<'t>(&self, x: &[Val<'t, f64>], _: &Val<'t, f64>, g: &Val<'t, f64>) -> Result<Vec<Option<Val<'t, f64>>>> {
        Ok(vec![Some(g.mul(&x[0].sigmoid()))])
    }
}

/// The cases of every family: each `Op` variant names its family's list.
fn family(op: &Op<f64>) -> Vec<Case> {
    use Unary::*;
    let idx: Arc<[usize]> = Arc::from(vec![2, 0, 2]);
    match op {
        Op::Leaf | Op::Constant => Vec::new(),
        Op::Unary(_) => {
            [Neg, Exp, Ln, Sqrt, Tanh, Sigmoid, Relu, Abs, Square, Recip, OneMinus, Powf(2.5), Powf(-0.7), Scale(-1.7), AddScalar(0.3)]
                .into_iter()
                .map(unary)
                .collect()
        }
        Op::Binary(_) => [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div].into_iter().map(binary).collect(),
        Op::Reduce(_) => [
            Reduce::SumAxis { axis: 1, keepdim: false },
            Reduce::SumAxis { axis: 0, keepdim: true },
            Reduce::SumAll,
            Reduce::MaxAxis { axis: 1, keepdim: false },
            Reduce::MaxAxis { axis: 0, keepdim: true },
            Reduce::SumTo,
            Reduce::BroadcastTo,
        ]
        .into_iter()
        .map(reduce)
        .collect(),
        Op::MatMul { .. } => matmul_cases(),
        Op::Shape(_) => [
            ShapeOp::Reshape,
            ShapeOp::Transpose(0, 1),
            ShapeOp::Narrow { axis: 1, start: 1 },
            ShapeOp::Narrow { axis: 0, start: 1 },
            ShapeOp::Pad { axis: 0, before: 2 },
            ShapeOp::Concat { axis: 1 },
        ]
        .into_iter()
        .map(shape)
        .collect(),
        Op::LayerNorm(_) => layer_norm_cases(),
        Op::Index(_) => [
            IndexOp::Select { axis: 0, idx: idx.clone() },
            IndexOp::Add { axis: 1, idx: Arc::from(vec![3, 3]) },
            IndexOp::Gather { axis: 1, idx: Arc::from(vec![1, 0, 3, 3, 2, 1]), idx_shape: Arc::from(vec![3, 2]) },
            IndexOp::Scatter { axis: 1, idx: Arc::from(vec![1, 3, 3]), idx_shape: Arc::from(vec![3, 1]) },
        ]
        .into_iter()
        .map(index)
        .collect(),
        Op::Select(_) => select_cases(),
        Op::Custom(_) => vec![Case::new("custom", Domain::Smooth, &[&[3, 4]], |t, v| t.try_custom(Softplus, &[v[0]]))],
        Op::Fused(_) => fused_cases(),
        Op::FusedOutput(_) => vec![Case::new("fused two outputs", Domain::Smooth, &[&[3, 8], &[3, 4]], |t, v| {
            let (h, c) = on(t).fused(|| -> Result<_> {
                let g = v[0].try_chunk(2, 1)?;
                let c = g[0].sigmoid().try_mul(v[1])?.try_add(g[1].tanh())?;
                Ok((c.tanh().try_mul(g[0])?, c))
            })?;
            h.try_mul(c)
        })],
    }
}

/// `t`, fusing its regions (fusion is off by default).
fn on<T: Scalar>(t: &Tape<T>) -> &Tape<T> {
    t.set_fusion(crate::Fusion::On);
    t
}

/// Fused regions: broadcasting, strided chunk views, `where`, scalar ops,
/// a value used twice.
fn fused_cases() -> Vec<Case> {
    let cond = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[1, 4]);
    vec![
        Case::new("fused chunk broadcast where", Domain::Smooth, &[&[3, 8], &[3, 4], &[4]], move |t, v| {
            on(t).fused(|| {
                let g = v[0].try_chunk(2, 1)?;
                let a = g[0].sigmoid().try_add(v[2])?;
                let w = Var::try_where_cond(&cond, a, g[1].tanh())?;
                Ok(w.try_mul(v[1])? * 0.5 + 1.0)
            })
        }),
        Case::new("fused reuse", Domain::Positive, &[&[3, 4], &[1, 4]], |t, v| {
            on(t).fused(|| {
                let e = v[0].ln().try_div(v[1])?;
                e.try_mul(e.exp())?.try_sub(v[0])
            })
        }),
    ]
}

/// `op(A)·op(B)` for each transpose, a batched product, and a matrix
/// shared by two products (whose gradient is one deferred GEMM).
fn matmul_cases() -> Vec<Case> {
    vec![
        Case::new("matmul", Domain::Smooth, &[&[2, 3], &[3, 4]], |_, v| v[0].try_matmul(v[1])),
        Case::new("matmul a·bᵀ", Domain::Smooth, &[&[2, 3], &[4, 3]], |_, v| v[0].try_matmul(v[1].t())),
        Case::new("matmul aᵀ·b", Domain::Smooth, &[&[3, 2], &[3, 4]], |_, v| v[0].t().try_matmul(v[1])),
        Case::new("matmul aᵀ·bᵀ", Domain::Smooth, &[&[3, 2], &[4, 3]], |_, v| v[0].t().try_matmul(v[1].t())),
        Case::new("matmul batched", Domain::Smooth, &[&[2, 2, 3], &[2, 3, 2]], |_, v| v[0].try_matmul(v[1])),
        Case::new("matmul shared", Domain::Smooth, &[&[2, 3], &[3, 3]], |_, v| v[0].try_matmul(v[1])?.tanh().try_matmul(v[1])),
    ]
}

fn layer_norm_cases() -> Vec<Case> {
    vec![
        Case::new("layer_norm", Domain::Smooth, &[&[3, 4]], |_, v| v[0].try_layer_norm(1, None, None, 1e-5)),
        Case::new("layer_norm affine", Domain::Smooth, &[&[2, 2, 3], &[2, 3], &[2, 3]], |_, v| {
            v[0].try_layer_norm(2, Some(v[1]), Some(v[2]), 1e-5)
        }),
        Case::new("layer_norm gain", Domain::Smooth, &[&[3, 4], &[4]], |_, v| v[0].try_layer_norm(1, Some(v[1]), None, 1e-5)),
    ]
}

/// The one select primitive under each public name.
fn select_cases() -> Vec<Case> {
    let cond = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[1, 4]);
    vec![
        Case::new("where", Domain::Smooth, &[&[3, 4], &[3, 4]], move |_, v| Var::try_where_cond(&cond, v[0], v[1])),
        Case::new("maximum", Domain::Distinct, &[&[3, 4], &[3, 4]], |_, v| v[0].try_maximum(v[1])),
        Case::new("minimum", Domain::Distinct, &[&[3, 4], &[3, 4]], |_, v| v[0].try_minimum(v[1])),
        Case::new("clamp", Domain::Distinct, &[&[3, 4]], |_, v| v[0].try_clamp(-0.45, 0.75)),
    ]
}

/// One recorded node of each `Op` variant, so every family is reached.
fn every_op_variant() -> Vec<Op<f64>> {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::ones(&[2, 2]));
    let made = [
        x,
        tape.constant(Tensor::ones(&[2])),
        x.exp(),
        x + x,
        x.sum_all(),
        x.matmul(x),
        x.reshape(&[4]),
        x.layer_norm(1, None, None, 1e-5),
        x.index_select(0, &[1]),
        x.maximum(x),
        tape.custom(Softplus, &[x]),
        on(&tape).fused(|| x.exp()),
        on(&tape).fused(|| (x.exp(), x.tanh())).1,
    ];
    let inner = tape.inner.borrow();
    made.iter().map(|v| inner.nodes[v.id as usize].op.clone()).collect()
}

#[test]
fn every_op_is_gradchecked_to_second_order() {
    let mut names = Vec::new();
    for op in every_op_variant() {
        for case in family(&op) {
            case.run();
            names.push(case.name);
        }
    }
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total, "two cases under one name");
    assert!(total >= 50, "{total} cases");
}

#[test]
fn a_failing_custom_rule_is_the_custom_ops_error() {
    struct Fails;
    impl CustomOp<f64> for Fails {
        fn name(&self) -> &str {
            "fails"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
            Ok(x[0].clone())
        }
        fn backward<'t>(&self, _: &[Val<'t, f64>], _: &Val<'t, f64>, _: &Val<'t, f64>) -> Result<Vec<Option<Val<'t, f64>>>> {
            Err(AutodiffError::Custom { op: "fails".into(), message: "no backward".into() })
        }
    }
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::ones(&[2]));
    let e = tape.backward(tape.custom(Fails, &[x]).sum_all()).unwrap_err();
    assert_eq!(e.to_string(), "custom op `fails`: no backward");
}
