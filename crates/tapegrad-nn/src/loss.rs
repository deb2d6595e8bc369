//! Losses, composed from ops (stable for large logits).

use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::{NnError, Result};

/// How per-element losses are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Mean over the counted elements (PyTorch's default).
    #[default]
    Mean,
    /// Sum.
    Sum,
}

/// `ln σ(x)` computed stably: `min(x, 0) - ln(1 + e^{-|x|})`, with the
/// branch chosen by a constant mask so the derivative `1 - σ(x)` is exact
/// everywhere, including at 0.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.leaf(Tensor::from_vec(vec![-1000.0, 0.0, 1000.0], &[3]));
/// let y = tapegrad_nn::log_sigmoid(x).unwrap().value();
/// assert_eq!(y.data()[0], -1000.0);
/// assert!((y.data()[1] + 2f64.ln()).abs() < 1e-15 && y.data()[2] == 0.0);
/// ```
///
/// # Errors
/// None in practice (all shapes agree).
pub fn log_sigmoid<'t, T: Scalar>(x: Var<'t, T>) -> Result<Var<'t, T>> {
    let tape = x.tape();
    let pos = x.value().map(|v| if v >= T::zero() { T::one() } else { T::zero() });
    let zero = tape.constant(Tensor::zeros(&x.shape()));
    let min_x0 = zero.try_masked_select(&pos, x)?; // x ≥ 0 → 0, else x
    let neg_abs = x.neg().try_masked_select(&pos, x)?; // -|x|
    Ok(min_x0.try_sub(neg_abs.exp().add_scalar(T::one()).ln())?)
}

/// Cross-entropy from logits `(N, C)` and class targets, PyTorch's
/// `F.cross_entropy`: `-log_softmax(logits)[n, target[n]]`, averaged (or
/// summed) over the targets not ignored. Stable for logits of ±1000.
///
/// `ignore` marks targets to skip (padding): a class index, as PyTorch's
/// `ignore_index`.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{cross_entropy, Reduction};
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let logits = tape.leaf(Tensor::from_vec(vec![1000.0, -1000.0, 0.0, 0.0], &[2, 2]));
/// let loss = cross_entropy(logits, &[0, 1], None, Reduction::Mean).unwrap();
/// assert!((loss.value().item() - 0.5 * 2f64.ln()).abs() < 1e-12);
/// ```
///
/// # Errors
/// [`NnError::Target`] if logits are not `(N, C)`, targets are not `N`
/// long, a target is `>= C` (and not ignored), or every target is ignored
/// with [`Reduction::Mean`].
pub fn cross_entropy<'t, T: Scalar>(
    logits: Var<'t, T>,
    targets: &[usize],
    ignore: Option<usize>,
    reduction: Reduction,
) -> Result<Var<'t, T>> {
    check_logits("cross_entropy", &logits.shape(), targets, ignore)?;
    nll_loss(logits.try_log_softmax(1)?, targets, ignore, reduction)
}

fn check_logits(op: &'static str, s: &Shape, targets: &[usize], ignore: Option<usize>) -> Result<()> {
    if s.len() != 2 {
        return Err(NnError::Target { op, message: format!("expected (N, C) scores, got shape {:?}", s.as_slice()) });
    }
    if targets.len() != s[0] {
        return Err(NnError::Target { op, message: format!("{} targets for {} rows of shape {:?}", targets.len(), s[0], s.as_slice()) });
    }
    if let Some(bad) = targets.iter().find(|&&t| t >= s[1] && Some(t) != ignore) {
        return Err(NnError::Target { op, message: format!("target {bad} is out of range for {} classes", s[1]) });
    }
    Ok(())
}

/// Negative log-likelihood of log-probabilities `(N, C)`, PyTorch's
/// `F.nll_loss`.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{nll_loss, Reduction};
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let logp = tape.leaf(Tensor::from_vec(vec![-0.1, -2.0, -3.0, -0.2], &[2, 2]));
/// let l = nll_loss(logp, &[0, 1], None, Reduction::Sum).unwrap();
/// assert!((l.value().item() - 0.3).abs() < 1e-12);
/// ```
///
/// # Errors
/// As [`cross_entropy`].
pub fn nll_loss<'t, T: Scalar>(logp: Var<'t, T>, targets: &[usize], ignore: Option<usize>, reduction: Reduction) -> Result<Var<'t, T>> {
    const OP: &str = "nll_loss";
    check_logits(OP, &logp.shape(), targets, ignore)?;
    let n = targets.len();
    let keep: Vec<bool> = targets.iter().map(|&t| Some(t) != ignore).collect();
    let count = keep.iter().filter(|&&k| k).count();
    if count == 0 && reduction == Reduction::Mean {
        return Err(NnError::Target { op: OP, message: "every target is ignored; the mean is undefined".into() });
    }
    let idx: Vec<usize> = targets.iter().zip(&keep).map(|(&t, &k)| if k { t } else { 0 }).collect();
    let picked = logp.try_gather(1, &idx, &[n, 1])?;
    let mask = Tensor::from_vec(keep.iter().map(|&k| if k { T::one() } else { T::zero() }).collect(), &[n, 1]);
    let total = picked.try_mul(logp.tape().constant(mask))?.sum_all().neg();
    Ok(match reduction {
        Reduction::Sum => total,
        Reduction::Mean => total.scale(T::one() / T::from_usize(count).unwrap_or_else(T::nan)),
    })
}

/// Mean squared error `mean((pred - target)²)` (or the sum).
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{mse_loss, Reduction};
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let p = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
/// let l = mse_loss(p, &Tensor::from_vec(vec![0.0, 0.0], &[2]), Reduction::Mean).unwrap();
/// assert_eq!(l.value().item(), 2.5);
/// ```
///
/// # Errors
/// [`NnError::Target`] if the shapes differ.
pub fn mse_loss<'t, T: Scalar>(pred: Var<'t, T>, target: &Tensor<T>, reduction: Reduction) -> Result<Var<'t, T>> {
    if pred.shape().as_slice() != target.shape() {
        return Err(NnError::Target {
            op: "mse_loss",
            message: format!("prediction {:?} and target {:?} differ in shape", pred.shape().as_slice(), target.shape()),
        });
    }
    let sq = pred.try_sub(pred.tape().constant(target.clone()))?.square();
    Ok(match reduction {
        Reduction::Sum => sq.sum_all(),
        Reduction::Mean => sq.mean_all(),
    })
}

/// Binary cross-entropy from logits, PyTorch's
/// `F.binary_cross_entropy_with_logits`: `(1-y)·x - ln σ(x)` per element,
/// stable for logits of ±1000.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{bce_with_logits, Reduction};
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1000.0, -1000.0], &[2]));
/// let l = bce_with_logits(x, &Tensor::from_vec(vec![1.0, 0.0], &[2]), Reduction::Sum).unwrap();
/// assert_eq!(l.value().item(), 0.0);
/// ```
///
/// # Errors
/// [`NnError::Target`] if the shapes differ.
pub fn bce_with_logits<'t, T: Scalar>(logits: Var<'t, T>, target: &Tensor<T>, reduction: Reduction) -> Result<Var<'t, T>> {
    if logits.shape().as_slice() != target.shape() {
        return Err(NnError::Target {
            op: "bce_with_logits",
            message: format!("logits {:?} and target {:?} differ in shape", logits.shape().as_slice(), target.shape()),
        });
    }
    let one_minus_y = logits.tape().constant(target.map(|y| T::one() - y));
    let per = logits.try_mul(one_minus_y)?.try_sub(log_sigmoid(logits)?)?;
    Ok(match reduction {
        Reduction::Sum => per.sum_all(),
        Reduction::Mean => per.mean_all(),
    })
}
