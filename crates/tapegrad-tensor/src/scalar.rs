//! The element types a tensor can hold.

use std::fmt::{Debug, Display};

use num_traits::{Float, FromPrimitive};

/// A floating-point element type: `f32` (to train) or `f64` (to check
/// gradients).
///
/// This is `num_traits::Float` plus what a tensor library needs of its
/// elements: thread safety, printing, lossless-enough conversion from `f64`
/// and its kernels (GEMM, vectorized `exp`/`sigmoid`/`tanh`, a pool of
/// freed buffers), which are private to this crate. It is sealed; `f32`
/// and `f64` implement it.
///
/// ```
/// use tapegrad_tensor::Scalar;
/// assert_eq!(<f64 as Scalar>::from_f64_lossy(0.5), 0.5);
/// assert_eq!(<f32 as Scalar>::NAME, "f32");
/// assert_eq!(<f32 as Scalar>::from_f64_lossy(0.1), 0.1f32); // rounded
/// assert_eq!(0.1f32.to_f64_lossless(), 0.1f32 as f64); // exact
/// ```
pub trait Scalar: Float + FromPrimitive + Debug + Display + Default + Send + Sync + 'static + crate::engine::Sealed {
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64_lossy(v: f64) -> Self;

    /// Converts to `f64` (exact for both implementors).
    fn to_f64_lossless(self) -> f64;
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    fn from_f64_lossy(v: f64) -> Self {
        v as f32
    }
    fn to_f64_lossless(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    fn from_f64_lossy(v: f64) -> Self {
        v
    }
    fn to_f64_lossless(self) -> f64 {
        self
    }
}
