//! Gradient clipping, by global norm and by value.

use tapegrad_tensor::Scalar;

use super::{check, or_panic};
use crate::{ParamGrads, Result};

/// Scales all gradients together so their global L2 norm is at most
/// `max_norm` (PyTorch's `clip_grad_norm_`); returns the norm before
/// clipping. A non-finite norm (a NaN or infinite gradient) leaves the
/// gradients alone and is returned: the caller must then skip the step,
/// as below, or the NaN reaches every weight. `max_norm` = inf never clips.
///
/// The norm does not depend on the order the gradients are stored in.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{try_clip_grad_norm, Binding, Optimizer, Param, Sgd};
/// use tapegrad_tensor::Tensor;
/// let mut w = Param::new(Tensor::<f64>::from_vec(vec![3.0, 4.0], &[2]));
/// let tape = Tape::new();
/// let bind = Binding::new(&tape);
/// let v = bind.param(&w);
/// let mut g = bind.grads(&tape.backward((v * v).sum_all().scale(0.5)).unwrap()); // grad = w
/// let norm = try_clip_grad_norm(&mut g, 1.0).unwrap();
/// assert_eq!(norm, 5.0);
/// let clipped = g.get(&w).unwrap().data();
/// assert!((clipped[0] - 0.6).abs() < 1e-6 && (clipped[1] - 0.8).abs() < 1e-6); // scaled by 1/(5 + 1e-6)
/// if norm.is_finite() {
///     Sgd::new(0.1).step(vec![("w".into(), &mut w)], &g).unwrap();
/// } // else: skip this step
/// assert!(try_clip_grad_norm(&mut g, -1.0).is_err());
/// ```
///
/// # Errors
/// [`crate::NnError::Hyperparameter`] if `max_norm` is NaN or negative
/// (the gradients are left alone).
pub fn try_clip_grad_norm<T: Scalar>(grads: &mut ParamGrads<T>, max_norm: f64) -> Result<f64> {
    check("clip_grad_norm", "max_norm", max_norm, max_norm >= 0.0, "a number >= 0")?;
    // Per-gradient sums, added in sorted order: the total is the same
    // whatever order the map holds the gradients in.
    let mut parts: Vec<f64> = grads.values().map(|g| g.data().iter().map(|v| v.to_f64_lossless().powi(2)).sum::<f64>()).collect();
    parts.sort_unstable_by(f64::total_cmp);
    let total = parts.iter().sum::<f64>().sqrt();
    if total.is_finite() && total > max_norm {
        let s = T::from_f64_lossy(max_norm / (total + 1e-6));
        for g in grads.values_mut() {
            g.data_mut().iter_mut().for_each(|v| *v = *v * s);
        }
    }
    Ok(total)
}

/// Panicking form of [`try_clip_grad_norm`].
///
/// ```
/// use tapegrad_nn::{clip_grad_norm, ParamGrads};
/// assert_eq!(clip_grad_norm(&mut ParamGrads::<f32>::default(), 1.0), 0.0);
/// ```
///
/// # Panics
/// With the [`crate::NnError::Hyperparameter`] message.
#[track_caller]
pub fn clip_grad_norm<T: Scalar>(grads: &mut ParamGrads<T>, max_norm: f64) -> f64 {
    or_panic(try_clip_grad_norm(grads, max_norm))
}

/// Clamps every gradient element to `[-clip, clip]` (PyTorch's
/// `clip_grad_value_`); a NaN stays NaN, as with PyTorch's `clamp_`, so
/// [`clip_grad_norm`] still sees it. `clip` = inf never clips.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{try_clip_grad_value, Binding, Param};
/// use tapegrad_tensor::Tensor;
/// let w = Param::new(Tensor::<f64>::from_vec(vec![0.5, -7.0, 9.0], &[3]));
/// let tape = Tape::new();
/// let bind = Binding::new(&tape);
/// let v = bind.param(&w);
/// let mut g = bind.grads(&tape.backward((v * v).sum_all().scale(0.5)).unwrap()); // grad = w
/// try_clip_grad_value(&mut g, 5.0).unwrap();
/// assert_eq!(g.get(&w).unwrap().data(), &[0.5, -5.0, 5.0]);
/// assert!(try_clip_grad_value(&mut g, f64::NAN).is_err());
/// ```
///
/// # Errors
/// [`crate::NnError::Hyperparameter`] if `clip` is NaN or negative (the
/// gradients are left alone).
pub fn try_clip_grad_value<T: Scalar>(grads: &mut ParamGrads<T>, clip: f64) -> Result<()> {
    check("clip_grad_value", "clip", clip, clip >= 0.0, "a number >= 0")?;
    let c = T::from_f64_lossy(clip);
    for g in grads.values_mut() {
        // Comparisons with NaN are false: a NaN passes through unchanged.
        g.data_mut().iter_mut().for_each(|v| {
            if *v > c {
                *v = c
            } else if *v < -c {
                *v = -c
            }
        });
    }
    Ok(())
}

/// Panicking form of [`try_clip_grad_value`].
///
/// ```
/// use tapegrad_nn::{clip_grad_value, ParamGrads};
/// let mut g = ParamGrads::<f32>::default();
/// clip_grad_value(&mut g, 1.0); // nothing to clip
/// assert!(g.is_empty());
/// ```
///
/// # Panics
/// With the [`crate::NnError::Hyperparameter`] message.
#[track_caller]
pub fn clip_grad_value<T: Scalar>(grads: &mut ParamGrads<T>, clip: f64) {
    or_panic(try_clip_grad_value(grads, clip))
}
