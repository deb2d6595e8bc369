//! The element types a tensor can hold.

use std::fmt::{Debug, Display};

use num_traits::{Float, FromPrimitive};

/// A floating-point element type: `f32` (to train) or `f64` (to check
/// gradients).
///
/// This is `num_traits::Float` plus what a tensor library needs of its
/// elements: thread safety, printing, lossless-enough conversion from `f64`
/// and a GEMM kernel. It is sealed; `f32` and `f64` implement it.
///
/// ```
/// use tapegrad_tensor::Scalar;
/// assert_eq!(<f64 as Scalar>::from_f64_lossy(0.5), 0.5);
/// assert_eq!(<f32 as Scalar>::NAME, "f32");
/// ```
pub trait Scalar: Float + FromPrimitive + Debug + Display + Default + Send + Sync + 'static + sealed::Sealed {
    /// `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64_lossy(v: f64) -> Self;

    /// Converts to `f64` (exact for both implementors).
    fn to_f64_lossless(self) -> f64;

    /// `C = A·B` for strided matrices; see [`crate::Gemm`].
    #[doc(hidden)]
    fn gemm(g: crate::matmul::Gemm<'_, Self>);

    /// As [`Scalar::gemm`], for a right operand that is the whole buffer
    /// `owner` and may be used again (f32: see the `packed` module).
    #[doc(hidden)]
    fn gemm_reused(g: crate::matmul::Gemm<'_, Self>, owner: &std::sync::Arc<crate::pool::Buffer<Self>>);

    /// Runs `f` on this thread's pool of freed buffers of this type (see
    /// the `pool` module); `None` once the thread's pool is gone.
    #[doc(hidden)]
    fn with_pool<R>(f: impl FnOnce(&mut crate::pool::Pool<Self>) -> R) -> Option<R>;

    /// `eˣ` elementwise (vectorized kernel for f32, libm for f64).
    #[doc(hidden)]
    fn exp_slice(src: &[Self]) -> Vec<Self>;
    /// Logistic sigmoid elementwise, stable for large `|x|`.
    #[doc(hidden)]
    fn sigmoid_slice(src: &[Self]) -> Vec<Self>;
    /// `tanh` elementwise.
    #[doc(hidden)]
    fn tanh_slice(src: &[Self]) -> Vec<Self>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    fn from_f64_lossy(v: f64) -> Self {
        v as f32
    }
    fn to_f64_lossless(self) -> f64 {
        self as f64
    }
    fn gemm(g: crate::matmul::Gemm<'_, Self>) {
        crate::matmul::gemm_f32(g)
    }
    fn gemm_reused(g: crate::matmul::Gemm<'_, Self>, owner: &std::sync::Arc<crate::pool::Buffer<Self>>) {
        crate::packed::gemm_f32_reused(g, owner)
    }
    fn with_pool<R>(f: impl FnOnce(&mut crate::pool::Pool<Self>) -> R) -> Option<R> {
        thread_local! {
            static POOL: std::cell::RefCell<crate::pool::Pool<f32>> = std::cell::RefCell::default();
        }
        POOL.try_with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p))).ok().flatten()
    }
    fn exp_slice(src: &[Self]) -> Vec<Self> {
        crate::simd::map(src, crate::fastmath::exp_f32)
    }
    fn sigmoid_slice(src: &[Self]) -> Vec<Self> {
        crate::simd::map(src, crate::fastmath::sigmoid_f32)
    }
    fn tanh_slice(src: &[Self]) -> Vec<Self> {
        crate::simd::map(src, crate::fastmath::tanh_f32)
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
    fn gemm(g: crate::matmul::Gemm<'_, Self>) {
        crate::matmul::gemm_f64(g)
    }
    fn gemm_reused(g: crate::matmul::Gemm<'_, Self>, _owner: &std::sync::Arc<crate::pool::Buffer<Self>>) {
        crate::matmul::gemm_f64(g)
    }
    fn with_pool<R>(f: impl FnOnce(&mut crate::pool::Pool<Self>) -> R) -> Option<R> {
        thread_local! {
            static POOL: std::cell::RefCell<crate::pool::Pool<f64>> = std::cell::RefCell::default();
        }
        POOL.try_with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p))).ok().flatten()
    }
    fn exp_slice(src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| x.exp()).collect()
    }
    fn sigmoid_slice(src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }).collect()
    }
    fn tanh_slice(src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| x.tanh()).collect()
    }
}
