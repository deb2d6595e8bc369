//! Optimizers (SGD, Adam, AdamW, RMSprop) and gradient clipping, with
//! PyTorch's update rules. State is keyed by parameter name, so it can be
//! saved in a checkpoint and restored into a fresh model.
//!
//! Everything here is all or nothing. Hyperparameters are checked when the
//! optimizer is built (`try_new`, `try_with_*`; the plain forms panic with
//! the same message). A [`Optimizer::step`] checks every name and every
//! gradient's shape before it changes a parameter, a moment or the step
//! count; [`Optimizer::load_state`] checks every entry against the
//! parameters before it changes anything.

mod adam;
mod buffers;
mod clip;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use clip::{clip_grad_norm, clip_grad_value, try_clip_grad_norm, try_clip_grad_value};
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use tapegrad_tensor::{Scalar, Tensor};

use crate::{NnError, Param, ParamGrads, Result};

/// An optimizer: updates parameters from their gradients.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Optimizer, Param, Sgd};
/// use tapegrad_tensor::Tensor;
/// let mut w = Param::new(Tensor::<f64>::from_vec(vec![1.0, -2.0], &[2]));
/// let mut opt = Sgd::new(0.5);
/// let tape = Tape::new();
/// let bind = Binding::new(&tape);
/// let v = bind.param(&w);
/// let grads = bind.grads(&tape.backward((v * v).sum_all()).unwrap()); // 2w
/// opt.step(vec![("w".into(), &mut w)], &grads).unwrap();
/// assert_eq!(w.value().data(), &[0.0, 0.0]); // w - 0.5 * 2w
/// let saved = opt.state();
/// let mut again = Sgd::<f64>::new(0.5);
/// again.load_state(&[("w".into(), &w)], &saved).unwrap();
/// assert_eq!(again.state(), saved);
/// ```
pub trait Optimizer<T: Scalar> {
    /// One update of every parameter that has a gradient (the others are
    /// left alone, as PyTorch does for `grad is None`), and one more step
    /// counted. Give the same parameters, under the same names, at every
    /// step: moment buffers are kept by name, and made (zero) at a
    /// parameter's first step, whether it has a gradient or not.
    ///
    /// All or nothing: every check runs before anything changes.
    ///
    /// # Errors
    /// [`NnError::DuplicateName`] if two parameters share a name;
    /// [`NnError::GradientShape`] if a gradient's shape differs from its
    /// parameter's; [`NnError::OptimizerState`] if a parameter's buffers
    /// (from an earlier step or a loaded state) have another shape.
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()>;
    /// The learning rate.
    fn lr(&self) -> f64;
    /// Changes the learning rate (for schedules); a refused rate changes
    /// nothing.
    ///
    /// # Errors
    /// [`NnError::Hyperparameter`] unless `lr` is finite and `>= 0`.
    fn try_set_lr(&mut self, lr: f64) -> Result<()>;
    /// Panicking form of [`Optimizer::try_set_lr`].
    ///
    /// # Panics
    /// With the [`NnError::Hyperparameter`] message.
    #[track_caller]
    fn set_lr(&mut self, lr: f64) {
        or_panic(self.try_set_lr(lr))
    }
    /// The optimizer's state as named tensors, for checkpoints: the step
    /// count `KIND.steps` and each buffer as `KIND.BUFFER.PARAMETER`, in
    /// sorted order (`KIND` is `sgd`, `adam`, `adamw` or `rmsprop`).
    fn state(&self) -> Vec<(String, Tensor<T>)>;
    /// Restores a state written by [`Optimizer::state`], for the parameters
    /// it will step (names and shapes as given to [`Optimizer::step`]).
    ///
    /// All or nothing: the state must be this optimizer's, with one step
    /// count (a whole number `>= 0`) and, once it has stepped, every buffer
    /// of every parameter, finite, in the parameter's shape; nothing for an
    /// unknown name. Otherwise nothing changes.
    ///
    /// # Errors
    /// [`NnError::OptimizerState`] naming the entry (and both shapes) or
    /// the parameter; [`NnError::DuplicateName`] for a repeated entry or
    /// parameter name.
    fn load_state(&mut self, params: &[(String, &Param<T>)], state: &[(String, Tensor<T>)]) -> Result<()>;
}

/// Unwraps, or panics with the error's message.
#[track_caller]
pub(crate) fn or_panic<V>(r: Result<V>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// `value` if `ok(value)`, else a [`NnError::Hyperparameter`].
fn check(op: &'static str, name: &'static str, value: f64, ok: bool, expected: &'static str) -> Result<f64> {
    if ok {
        Ok(value)
    } else {
        Err(NnError::Hyperparameter { op, name, value, expected })
    }
}

/// A finite number `>= 0` (learning rates, weight decay, eps, momentum).
fn non_negative(op: &'static str, name: &'static str, value: f64) -> Result<f64> {
    check(op, name, value, value.is_finite() && value >= 0.0, "a finite number >= 0")
}

/// A decay factor in `[0, 1)` (Adam's betas, RMSprop's alpha).
fn decay(op: &'static str, name: &'static str, value: f64) -> Result<f64> {
    check(op, name, value, (0.0..1.0).contains(&value), "a number in [0, 1)")
}
