//! User-defined primitive ops: the escape hatch of PyTorch's
//! `autograd.Function`.

use std::sync::Arc;

use tapegrad_tensor::{Scalar, Tensor};

use super::Backward;
use crate::sweep::{dense, Contributions};

use crate::error::or_panic;
use crate::ops::Op;
use crate::{AutodiffError, Result, Tape, Val, Var};

/// A primitive op defined outside this crate, with its own forward and
/// backward. Once applied with [`Tape::try_custom`] it is recorded,
/// swept and gradient-checked like any built-in op.
///
/// Write `backward` with [`Val`]'s methods: the same rule then serves plain
/// gradients (nothing recorded) and differentiable ones (`create_graph`),
/// so second derivatives through a custom op work too.
///
/// ```
/// use tapegrad_autodiff::{gradcheck, AutodiffError, CustomOp, GradcheckOptions, Tape, Tensor, Val};
///
/// /// softplus(x) = ln(1 + eˣ), derivative σ(x).
/// struct Softplus;
/// impl CustomOp<f64> for Softplus {
///     fn name(&self) -> &str { "softplus" }
///     fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>, AutodiffError> {
///         Ok(x[0].map(|v| v.max(0.0) + (-v.abs()).exp().ln_1p()))
///     }
///     fn backward<'t>(&self, x: &[Val<'t, f64>], _y: &Val<'t, f64>, g: &Val<'t, f64>)
///         -> Result<Vec<Option<Val<'t, f64>>>, AutodiffError> {
///         Ok(vec![Some(g.mul(&x[0].sigmoid()))])
///     }
/// }
///
/// let x = Tensor::from_vec(vec![-2.0, 0.3, 4.0], &[3]);
/// let report = gradcheck(|tape: &Tape<f64>, v| Ok(tape.try_custom(Softplus, &[v[0]])?.sum_all()),
///                        &[x], &GradcheckOptions::default()).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
pub trait CustomOp<T: Scalar>: Send + Sync + 'static {
    /// The op's name, used in errors, reports and graph exports.
    fn name(&self) -> &str;

    /// Computes the output from the inputs' values.
    ///
    /// # Errors
    /// Whatever the op rejects; [`AutodiffError::Custom`] is a good fit.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Result<Tensor<T>>;

    /// Given the inputs, the output and the output's gradient `grad`, returns
    /// one gradient per input (`None` for an input with no gradient). A
    /// gradient may have a shape the input broadcasts to; it is summed down.
    ///
    /// # Errors
    /// Whatever the rule rejects. A wrong count of gradients is reported as
    /// [`AutodiffError::GradientCount`], a wrong shape as
    /// [`AutodiffError::GradientShape`].
    fn backward<'t>(&self, inputs: &[Val<'t, T>], output: &Val<'t, T>, grad: &Val<'t, T>) -> Result<Vec<Option<Val<'t, T>>>>;
}

impl<T: Scalar> Tape<T> {
    /// Applies a user-defined op to `inputs` and records it.
    ///
    /// ```
    /// # use tapegrad_autodiff::{AutodiffError, CustomOp, Tape, Tensor, Val};
    /// struct Double;
    /// impl CustomOp<f32> for Double {
    ///     fn name(&self) -> &str { "double" }
    ///     fn forward(&self, x: &[&Tensor<f32>]) -> Result<Tensor<f32>, AutodiffError> { Ok(x[0].scale(2.0)) }
    ///     fn backward<'t>(&self, _: &[Val<'t, f32>], _: &Val<'t, f32>, g: &Val<'t, f32>)
    ///         -> Result<Vec<Option<Val<'t, f32>>>, AutodiffError> { Ok(vec![Some(g.scale(2.0))]) }
    /// }
    /// let tape = Tape::<f32>::new();
    /// let x = tape.leaf(Tensor::scalar(1.5));
    /// let y = tape.try_custom(Double, &[x]).unwrap();
    /// assert_eq!(tape.backward(y).unwrap().get(x).unwrap().item(), 2.0);
    /// ```
    ///
    /// # Errors
    /// The op's own forward error; [`AutodiffError::TapeMismatch`] if an
    /// input is from another tape.
    #[track_caller]
    pub fn try_custom<O: CustomOp<T>>(&self, op: O, inputs: &[Var<'_, T>]) -> Result<Var<'_, T>> {
        self.try_custom_shared(Arc::new(op), inputs)
    }

    /// As [`Tape::try_custom`], for an op shared between many applications.
    ///
    /// # Errors
    /// As [`Tape::try_custom`].
    #[track_caller]
    pub fn try_custom_shared(&self, op: Arc<dyn CustomOp<T>>, inputs: &[Var<'_, T>]) -> Result<Var<'_, T>> {
        for v in inputs {
            if self.id() != v.tape.id() {
                return Err(AutodiffError::TapeMismatch { op: "custom" });
            }
        }
        let values: Vec<Tensor<T>> = inputs.iter().map(|v| v.value()).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let y = op.forward(&refs)?;
        let inputs: Vec<Var<'_, T>> = inputs.iter().map(|v| Var { tape: self, id: v.id }).collect();
        self.record(y, Op::Custom(op), &inputs)
    }

    /// Panicking form of [`Tape::try_custom`].
    ///
    /// # Panics
    /// With the message of the error `try_custom` returns.
    #[track_caller]
    pub fn custom<O: CustomOp<T>>(&self, op: O, inputs: &[Var<'_, T>]) -> Var<'_, T> {
        or_panic(self.try_custom(op, inputs))
    }
}

/// The rule of a custom op: its own `backward`, whose gradients are dense
/// contributions, one per input.
pub(crate) fn backward<'t, T: Scalar>(op: &dyn CustomOp<T>, cx: &Backward<'_, 't, T>) -> Result<Contributions<'t, T>> {
    let grads = op.backward(cx.inputs, cx.output, cx.grad)?;
    if grads.len() != cx.inputs.len() {
        return Err(AutodiffError::GradientCount { op: op.name().to_string(), returned: grads.len(), inputs: cx.inputs.len() });
    }
    Ok(dense(grads))
}
