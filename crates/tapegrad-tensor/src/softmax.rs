//! Softmax, log-softmax and log-sum-exp, max-subtracted so that logits of
//! ±1000 give exact, finite results.
//!
//! Special values follow PyTorch: NaN anywhere in a row makes the row NaN; a
//! row of all `-inf` has logsumexp `-inf` and a NaN softmax / log-softmax
//! (`0/0`); a `+inf` entry gives logsumexp `+inf` and a NaN softmax.

use crate::error::or_panic;
use crate::layout::{check_axis, split_at_axis, Shape};
use crate::{Result, Scalar, Tensor};

/// The row maximum, NaN if any entry is NaN (`-inf` for an empty row).
fn row_max<T: Scalar>(row: &[T]) -> T {
    let mut m = T::neg_infinity();
    for &v in row {
        if v.is_nan() {
            return v;
        }
        if v > m {
            m = v;
        }
    }
    m
}

/// The shift used to exponentiate a row safely: its maximum if finite, else
/// 0 (so that `-inf`, `+inf` and NaN rows produce the IEEE results above).
fn shift<T: Scalar>(row: &[T]) -> T {
    let m = row_max(row);
    if m.is_finite() {
        m
    } else {
        T::zero()
    }
}

/// `ln Σ exp(x)` of one row, as `m + ln Σ exp(x - m)`.
fn row_logsumexp<T: Scalar>(row: &[T]) -> T {
    let m = shift(row);
    m + row.iter().fold(T::zero(), |s, &v| s + (v - m).exp()).ln()
}

impl<T: Scalar> Tensor<T> {
    /// Calls `f(row, out)` for every 1-D slice along `axis`; `out` has
    /// `self`'s shape with `out_len` entries on `axis`. Rows along the last
    /// axis are read in place; others are gathered into a buffer.
    fn along_axis(&self, op: &'static str, axis: usize, out_len: usize, f: impl Fn(&[T], &mut [T])) -> Result<(Vec<T>, Shape)> {
        check_axis(op, axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let mut shape = Shape::from_slice(self.shape());
        shape[axis] = out_len;
        let x = self.data();
        // Larger than `self` for logsumexp over an empty axis.
        let mut out = crate::size::filled(op, &shape, T::zero())?;
        if out.is_empty() {
            // No row to write (and a row to read may be huge).
            return Ok((out, shape));
        }
        if inner == 1 && n > 0 && out_len > 0 {
            x.chunks_exact(n).zip(out.chunks_exact_mut(out_len)).for_each(|(row, res)| f(row, res));
            return Ok((out, shape));
        }
        let (mut row, mut res) = (vec![T::zero(); n], vec![T::zero(); out_len]);
        for o in 0..outer {
            for i in 0..inner {
                for j in 0..n {
                    row[j] = x[(o * n + j) * inner + i];
                }
                f(&row, &mut res);
                for j in 0..out_len {
                    out[(o * out_len + j) * inner + i] = res[j];
                }
            }
        }
        Ok((out, shape))
    }

    /// `ln Σ exp(x)` along `axis`, as `m + ln Σ exp(x - m)` with `m` the row
    /// maximum: shape `[.., n, ..]` becomes `[.., 1, ..]` if `keepdim`, else
    /// `[.., ..]`. A row of all `-inf` (or an empty axis) gives `-inf`; a
    /// `+inf` gives `+inf`; NaN propagates.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f64, 1000.0, 1000.0, -1000.0], &[2, 2]);
    /// let l = t.try_logsumexp(1, false).unwrap();
    /// assert!((l.data()[0] - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// assert_eq!(l.data()[1], 1000.0);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Axis`] naming `logsumexp` and the shape;
    /// [`crate::TensorError::TooLarge`] if the result (over an empty axis:
    /// all `-inf`) cannot be allocated.
    pub fn try_logsumexp(&self, axis: usize, keepdim: bool) -> Result<Self> {
        let (d, mut shape) = self.along_axis("logsumexp", axis, 1, |row, out| out[0] = row_logsumexp(row))?;
        if !keepdim {
            shape.remove(axis);
        }
        Ok(Tensor::from_parts(d, shape))
    }
    /// Panicking form of [`Tensor::try_logsumexp`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::zeros(&[3, 4]);
    /// assert!((t.logsumexp(1, false).data()[0] - 4f64.ln()).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_logsumexp`] returns.
    #[track_caller]
    pub fn logsumexp(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_logsumexp(axis, keepdim))
    }

    /// `softmax(x)_j = exp(x_j - m) / Σ exp(x - m)` along `axis`, with `m`
    /// the row maximum; same shape as `self`. A row of all `-inf` gives NaN,
    /// as in PyTorch, and so does a row with a `+inf` or a NaN.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f32, -1000.0, 0.0], &[1, 3]);
    /// assert_eq!(t.try_softmax(1).unwrap().data(), &[1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Axis`] naming `softmax` and the shape.
    pub fn try_softmax(&self, axis: usize) -> Result<Self> {
        let n = self.shape().get(axis).copied().unwrap_or(0);
        let (d, shape) = self.along_axis("softmax", axis, n, |row, out| {
            let m = row_max(row);
            let mut s = T::zero();
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - m).exp();
                s = s + *o;
            }
            out.iter_mut().for_each(|o| *o = *o / s);
        })?;
        Ok(Tensor::from_parts(d, shape))
    }
    /// Panicking form of [`Tensor::try_softmax`].
    ///
    /// ```
    /// let p = tapegrad_tensor::Tensor::<f64>::zeros(&[2, 4]).softmax(1);
    /// assert_eq!(p.data(), &[0.25; 8]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_softmax`] returns.
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Self {
        or_panic(self.try_softmax(axis))
    }

    /// `log_softmax(x)_j = x_j - m - ln Σ exp(x - m)` along `axis`, with `m`
    /// the row maximum; same shape as `self`. A row of all `-inf` gives
    /// NaN, as in PyTorch, and so does a row with a `+inf` or a NaN.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1000.0f64, -1000.0, 0.0], &[1, 3]);
    /// assert_eq!(t.try_log_softmax(1).unwrap().data(), &[0.0, -2000.0, -1000.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Axis`] naming `log_softmax` and the shape.
    pub fn try_log_softmax(&self, axis: usize) -> Result<Self> {
        let n = self.shape().get(axis).copied().unwrap_or(0);
        let (d, shape) = self.along_axis("log_softmax", axis, n, |row, out| {
            let m = row_max(row);
            let lse = row.iter().fold(T::zero(), |s, &v| s + (v - m).exp()).ln();
            for (o, &v) in out.iter_mut().zip(row) {
                *o = v - m - lse;
            }
        })?;
        Ok(Tensor::from_parts(d, shape))
    }
    /// Panicking form of [`Tensor::try_log_softmax`].
    ///
    /// ```
    /// let l = tapegrad_tensor::Tensor::<f64>::zeros(&[1, 2]).log_softmax(1);
    /// assert_eq!(l.data(), &[-(2f64.ln()); 2]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_log_softmax`] returns.
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Self {
        or_panic(self.try_log_softmax(axis))
    }
}
