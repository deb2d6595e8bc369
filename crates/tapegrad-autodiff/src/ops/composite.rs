//! Ops composed from primitives, with no backward rule of their own: their
//! gradients (and higher derivatives) follow from the primitives'.

use tapegrad_tensor::{Scalar, Tensor};

use crate::error::or_panic;
use crate::{Result, Var};

impl<'t, T: Scalar> Var<'t, T> {
    /// Mean along `axis` (`sum_axis` then `scale`).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 3.0, 5.0, 7.0], &[2, 2]));
    /// assert_eq!(x.try_mean_axis(0, false).unwrap().value().data(), &[3.0, 5.0]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `sum_axis`.
    #[track_caller]
    pub fn try_mean_axis(self, axis: usize, keepdim: bool) -> Result<Self> {
        let n = self.shape().get(axis).copied().unwrap_or(1);
        Ok(self.try_sum_axis(axis, keepdim)?.scale(T::one() / T::from_usize(n).unwrap_or_else(T::nan)))
    }
    /// Panicking form of [`Var::try_mean_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_mean_axis` returns.
    #[track_caller]
    pub fn mean_axis(self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_mean_axis(axis, keepdim))
    }

    /// Mean of all elements, shape `[]` (NaN for an empty tensor).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::arange(5)).mean_all().value().item(), 2.0);
    /// ```
    #[track_caller]
    pub fn mean_all(self) -> Self {
        let n = self.shape().iter().product::<usize>();
        self.sum_all().scale(T::one() / T::from_usize(n).unwrap_or_else(T::nan))
    }

    /// The row maximum along `axis` (kept as an axis of size 1), as a
    /// constant: the shift that keeps `exp` finite. A row whose maximum is
    /// not finite (all `-inf`, a `+inf`, NaN) is shifted by 0 instead, so
    /// it keeps its IEEE limit rather than `inf - inf = NaN`.
    #[track_caller]
    fn row_shift(self, axis: usize) -> Result<Self> {
        let m = self.value().try_max_axis(axis, true)?;
        Ok(self.tape.constant(m.map(|v| if v.is_finite() { v } else { T::zero() })))
    }

    /// `ln Σ exp(x)` along `axis`, computed as `m + ln Σ exp(x - m)` with `m`
    /// the (constant) row maximum, so logits of ±1000 give exact finite
    /// results; the only rounding at the logits' magnitude is the final
    /// `m + ...`. Derivative: `softmax(x)`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1000.0, 1000.0], &[1, 2]));
    /// let l = x.try_logsumexp(1, false).unwrap().value().item();
    /// assert!((l - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `max_axis`.
    #[track_caller]
    pub fn try_logsumexp(self, axis: usize, keepdim: bool) -> Result<Self> {
        let mc = self.row_shift(axis)?;
        let s = self.try_sub(mc)?.exp().try_sum_axis(axis, true)?.ln().try_add(mc)?;
        if keepdim {
            Ok(s)
        } else {
            s.try_squeeze(axis)
        }
    }
    /// Panicking form of [`Var::try_logsumexp`].
    ///
    /// # Panics
    /// With the message of the error `try_logsumexp` returns.
    #[track_caller]
    pub fn logsumexp(self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_logsumexp(axis, keepdim))
    }

    /// `x - logsumexp(x)` along `axis`: stable log-probabilities, computed
    /// as `(x - m) - ln Σ exp(x - m)` with `m` the (constant) row maximum,
    /// as [`Tensor::try_log_softmax`] does. (Subtracting `logsumexp(x)`
    /// itself would round `m + ln Σ` to the precision of the logits first:
    /// in f32, `log_softmax([1e6, 1e6])` would be -0.6875, not -ln 2.)
    /// Derivative: `g - softmax(x)·Σg`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1000.0, -1000.0, 0.0], &[1, 3]));
    /// assert_eq!(x.try_log_softmax(1).unwrap().value().data(), &[0.0, -2000.0, -1000.0]);
    /// let big = tape.leaf(Tensor::from_vec(vec![1e6f64, 1e6], &[1, 2]));
    /// assert_eq!(big.try_log_softmax(1).unwrap().value().data(), &[-(2f64.ln()); 2]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `max_axis`.
    #[track_caller]
    pub fn try_log_softmax(self, axis: usize) -> Result<Self> {
        let z = self.try_sub(self.row_shift(axis)?)?;
        z.try_sub(z.exp().try_sum_axis(axis, true)?.ln())
    }
    /// Panicking form of [`Var::try_log_softmax`].
    ///
    /// # Panics
    /// With the message of the error `try_log_softmax` returns.
    #[track_caller]
    pub fn log_softmax(self, axis: usize) -> Self {
        or_panic(self.try_log_softmax(axis))
    }

    /// Probabilities along `axis`, `exp(x - m) / Σ exp(x - m)` with `m` the
    /// (constant) row maximum, as [`Tensor::try_softmax`]: stable for
    /// ±1000 and exact for equal logits of any magnitude.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1000.0, -1000.0], &[1, 2]));
    /// assert_eq!(x.try_softmax(1).unwrap().value().data(), &[1.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `max_axis`.
    #[track_caller]
    pub fn try_softmax(self, axis: usize) -> Result<Self> {
        let e = self.try_sub(self.row_shift(axis)?)?.exp();
        e.try_div(e.try_sum_axis(axis, true)?)
    }
    /// Panicking form of [`Var::try_softmax`].
    ///
    /// # Panics
    /// With the message of the error `try_softmax` returns.
    #[track_caller]
    pub fn softmax(self, axis: usize) -> Self {
        or_panic(self.try_softmax(axis))
    }

    /// Linear interpolation `self + weight ⊙ (end − self)` (PyTorch's
    /// `torch.lerp(self, end, weight)`), broadcasting; `weight` 0 gives
    /// `self`, 1 gives `end`. Derivative: `1 − weight`, `weight`,
    /// `end − self`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![0.0, 10.0], &[2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![4.0, 20.0], &[2]));
    /// let w = tape.leaf(Tensor::from_vec(vec![0.25, 1.0], &[2]));
    /// assert_eq!(a.try_lerp(b, w).unwrap().value().data(), &[1.0, 20.0]);
    /// ```
    ///
    /// # Errors
    /// A broadcast error naming `sub`, `mul` or `add` and the shapes.
    #[track_caller]
    pub fn try_lerp(self, end: Var<'t, T>, weight: Var<'t, T>) -> Result<Self> {
        self.try_add(weight.try_mul(end.try_sub(self)?)?)
    }
    /// Panicking form of [`Var::try_lerp`].
    ///
    /// # Panics
    /// With the message of the error `try_lerp` returns.
    #[track_caller]
    pub fn lerp(self, end: Var<'t, T>, weight: Var<'t, T>) -> Self {
        or_panic(self.try_lerp(end, weight))
    }

    /// `self` where `mask` is 1 and `other` where it is 0, as
    /// `mask·self + (1-mask)·other` (`mask` a constant 0/1 tensor,
    /// broadcasting). Derivative: `mask`, `1 - mask`. A NaN or infinity
    /// in the unselected operand still propagates (0·NaN), as in the math.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::full(&[2], 1.0));
    /// let b = tape.leaf(Tensor::full(&[2], 9.0));
    /// let m = Tensor::from_vec(vec![1.0, 0.0], &[2]);
    /// assert_eq!(a.try_masked_select(&m, b).unwrap().value().data(), &[1.0, 9.0]);
    /// ```
    ///
    /// # Errors
    /// A broadcast error naming `mul` or `add` and the shapes.
    #[track_caller]
    pub fn try_masked_select(self, mask: &Tensor<T>, other: Var<'t, T>) -> Result<Self> {
        let keep = self.tape.constant(mask.clone());
        let drop = self.tape.constant(mask.map(|m| T::one() - m));
        self.try_mul(keep)?.try_add(other.try_mul(drop)?)
    }
}
