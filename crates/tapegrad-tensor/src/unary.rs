//! Elementwise unary functions: each maps the contiguous buffer in one pass
//! and keeps the shape. All are infallible except `clamp`, whose bounds
//! must form an interval.

use crate::{Scalar, Tensor};

/// Elementwise unary functions: each result has the shape of `self`, and
/// all but `clamp` are infallible.
impl<T: Scalar> Tensor<T> {
    /// `-x`.
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![1.0f32, -2.0], &[2]);
    /// assert_eq!(t.neg().data(), &[-1.0, 2.0]);
    /// ```
    pub fn neg(&self) -> Self {
        self.map(|v| -v)
    }
    /// `eˣ` (0 at `-inf`, `+inf` where the result overflows, NaN stays NaN).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(0.0f64).exp().item(), 1.0);
    /// ```
    pub fn exp(&self) -> Self {
        Tensor::from_parts(crate::engine::exp_slice(self.data()), crate::Shape::from_slice(self.shape()))
    }
    /// Natural log (NaN below 0, -inf at 0).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(1.0f64).ln().item(), 0.0);
    /// ```
    pub fn ln(&self) -> Self {
        self.map(|v| v.ln())
    }
    /// `√x` (NaN below 0).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(4.0f64).sqrt().item(), 2.0);
    /// ```
    pub fn sqrt(&self) -> Self {
        self.map(|v| v.sqrt())
    }
    /// `|x|`.
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(-4.0f64).abs().item(), 4.0);
    /// ```
    pub fn abs(&self) -> Self {
        self.map(|v| v.abs())
    }
    /// `-1`, `0` or `1` by the sign of `x` (±0 at ±0, NaN stays NaN).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![-3.0f64, 0.0, 2.0], &[3]);
    /// assert_eq!(t.sign().data(), &[-1.0, 0.0, 1.0]);
    /// ```
    pub fn sign(&self) -> Self {
        self.map(|v| {
            if v > T::zero() {
                T::one()
            } else if v < T::zero() {
                -T::one()
            } else {
                v // 0, -0 or NaN
            }
        })
    }
    /// `tanh x` (exactly ±1 in the limits).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(1000.0f32).tanh().item(), 1.0);
    /// ```
    pub fn tanh(&self) -> Self {
        Tensor::from_parts(crate::engine::tanh_slice(self.data()), crate::Shape::from_slice(self.shape()))
    }
    /// Logistic sigmoid `1/(1+e⁻ˣ)`, computed without overflow: exact 0 and 1
    /// in the limits, no NaN at ±1000.
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![-1000.0f32, 0.0, 1000.0], &[3]);
    /// assert_eq!(t.sigmoid().data(), &[0.0, 0.5, 1.0]);
    /// ```
    pub fn sigmoid(&self) -> Self {
        Tensor::from_parts(crate::engine::sigmoid_slice(self.data()), crate::Shape::from_slice(self.shape()))
    }
    /// `max(x, 0)` (NaN stays NaN).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![-1.0f64, 2.0], &[2]);
    /// assert_eq!(t.relu().data(), &[0.0, 2.0]);
    /// ```
    pub fn relu(&self) -> Self {
        self.map(|v| if v < T::zero() { T::zero() } else { v })
    }
    /// The step function: `1` where `x > 0`, else `0` (also at 0 and for
    /// NaN).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![-1.0f64, 0.0, 2.0], &[3]);
    /// assert_eq!(t.relu_mask().data(), &[0.0, 0.0, 1.0]);
    /// ```
    pub fn relu_mask(&self) -> Self {
        self.map(|v| if v > T::zero() { T::one() } else { T::zero() })
    }
    /// `xᵖ` (IEEE `pow`: NaN for a negative `x` and a non-integer `p`).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(9.0f64).powf(0.5).item(), 3.0);
    /// ```
    pub fn powf(&self, p: T) -> Self {
        self.map(|v| v.powf(p))
    }
    /// `x·s`.
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(3.0f64).scale(2.0).item(), 6.0);
    /// ```
    pub fn scale(&self, s: T) -> Self {
        self.map(|v| v * s)
    }
    /// `x + s`.
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(3.0f64).add_scalar(2.0).item(), 5.0);
    /// ```
    pub fn add_scalar(&self, s: T) -> Self {
        self.map(|v| v + s)
    }
    /// `x²`.
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(-3.0f64).square().item(), 9.0);
    /// ```
    pub fn square(&self) -> Self {
        self.map(|v| v * v)
    }
    /// `1/x` (±inf at ±0).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::scalar(4.0f64).recip().item(), 0.25);
    /// ```
    pub fn recip(&self) -> Self {
        self.map(|v| v.recip())
    }
    /// `x` limited to `[lo, hi]` (NaN stays NaN). Infinite bounds are
    /// allowed (`lo = -inf` clamps from above only); `lo == hi` gives a
    /// constant.
    ///
    /// ```
    /// use tapegrad_tensor::{Tensor, TensorError};
    /// let t = Tensor::from_vec(vec![-5.0f64, 0.5, 5.0], &[3]);
    /// assert_eq!(t.try_clamp(-1.0, 1.0).unwrap().data(), &[-1.0, 0.5, 1.0]);
    /// assert!(matches!(t.try_clamp(1.0, -1.0), Err(TensorError::InvalidBounds { .. })));
    /// assert!(t.try_clamp(f64::NAN, 1.0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::InvalidBounds`] naming `clamp` and both bounds
    /// if `lo > hi` or either is NaN.
    pub fn try_clamp(&self, lo: T, hi: T) -> crate::Result<Self> {
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(crate::TensorError::InvalidBounds { op: "clamp", lo: lo.to_string(), hi: hi.to_string() });
        }
        Ok(self.map(|v| {
            if v < lo {
                lo
            } else if v > hi {
                hi
            } else {
                v
            }
        }))
    }
    /// Panicking form of [`Tensor::try_clamp`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![-5.0f64, 0.5, 5.0], &[3]);
    /// assert_eq!(t.clamp(-1.0, 1.0).data(), &[-1.0, 0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::TensorError::InvalidBounds`] message if `lo > hi`
    /// or either bound is NaN.
    #[track_caller]
    pub fn clamp(&self, lo: T, hi: T) -> Self {
        crate::error::or_panic(self.try_clamp(lo, hi))
    }
}
