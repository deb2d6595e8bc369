//! Softmax, log-softmax and log-sum-exp, max-subtracted so that logits of
//! ±1000 give exact, finite results.

use crate::error::or_panic;
use crate::layout::{check_axis, split_at_axis, Shape};
use crate::{Result, Scalar, Tensor};

impl<T: Scalar> Tensor<T> {
    /// Applies `f(row, out)` to every 1-D slice along `axis` (gathered into
    /// a contiguous buffer when `axis` is not the last).
    fn along_axis(&self, op: &'static str, axis: usize, f: impl Fn(&[T], &mut [T])) -> Result<Self> {
        check_axis(op, axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let x = self.data();
        let mut out = vec![T::zero(); x.len()];
        let (mut row, mut res) = (vec![T::zero(); n], vec![T::zero(); n]);
        for o in 0..outer {
            for i in 0..inner {
                for j in 0..n {
                    row[j] = x[(o * n + j) * inner + i];
                }
                f(&row, &mut res);
                for j in 0..n {
                    out[(o * n + j) * inner + i] = res[j];
                }
            }
        }
        Ok(Tensor::from_parts(out, Shape::from_slice(self.shape())))
    }

    /// `ln Σ exp(x)` along `axis`, as `m + ln Σ exp(x - m)` with `m` the row
    /// maximum. A row of all `-inf` gives `-inf`; a `+inf` gives `+inf`; NaN
    /// propagates. Derivative: `softmax(x)`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f64, 1000.0], &[1, 2]);
    /// let l = t.try_logsumexp(1, false).unwrap();
    /// assert!((l.data()[0] - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Axis`] naming `logsumexp`.
    pub fn try_logsumexp(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("logsumexp", axis, self.shape())?;
        let m = self.try_max_axis(axis, true)?.map(|v| if v.is_finite() { v } else { T::zero() });
        let s = self.try_sub(&m)?.exp().try_sum_axis(axis, true)?.ln().try_add(&m)?;
        if keepdim {
            Ok(s)
        } else {
            s.try_squeeze(axis)
        }
    }
    /// Panicking form of [`Tensor::try_logsumexp`].
    ///
    /// # Panics
    /// With the message of the error `try_logsumexp` returns.
    #[track_caller]
    pub fn logsumexp(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_logsumexp(axis, keepdim))
    }

    /// `softmax(x)_j = exp(x_j - m) / Σ exp(x - m)` along `axis`. A row of all
    /// `-inf` gives NaN, as in PyTorch.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f32, -1000.0, 0.0], &[1, 3]);
    /// assert_eq!(t.try_softmax(1).unwrap().data(), &[1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Axis`] naming `softmax`.
    pub fn try_softmax(&self, axis: usize) -> Result<Self> {
        self.along_axis("softmax", axis, |row, out| {
            let m = row.iter().fold(T::neg_infinity(), |a, &v| if v > a || v.is_nan() { v } else { a });
            let mut s = T::zero();
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - m).exp();
                s = s + *o;
            }
            out.iter_mut().for_each(|o| *o = *o / s);
        })
    }
    /// Panicking form of [`Tensor::try_softmax`].
    ///
    /// # Panics
    /// With the message of the error `try_softmax` returns.
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Self {
        or_panic(self.try_softmax(axis))
    }

    /// `log_softmax(x)_j = x_j - m - ln Σ exp(x - m)` along `axis`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f64, -1000.0, 0.0], &[1, 3]);
    /// assert_eq!(t.try_log_softmax(1).unwrap().data(), &[0.0, -2000.0, -1000.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Axis`] naming `log_softmax`.
    pub fn try_log_softmax(&self, axis: usize) -> Result<Self> {
        self.along_axis("log_softmax", axis, |row, out| {
            let m = row.iter().fold(T::neg_infinity(), |a, &v| if v > a || v.is_nan() { v } else { a });
            let lse = row.iter().fold(T::zero(), |s, &v| s + (v - m).exp()).ln();
            for (o, &v) in out.iter_mut().zip(row) {
                *o = v - m - lse;
            }
        })
    }
    /// Panicking form of [`Tensor::try_log_softmax`].
    ///
    /// # Panics
    /// With the message of the error `try_log_softmax` returns.
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Self {
        or_panic(self.try_log_softmax(axis))
    }
}
