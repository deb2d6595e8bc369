//! The kernels of `f32` and `f64`, sealed inside [`Scalar`].
//!
//! [`Scalar`] is public and generic code calls it, but the kernels it
//! carries are the engine's: they live on the supertrait [`Sealed`], which
//! is `pub` only in name (this module is private), so no other crate can
//! implement `Scalar`. A supertrait's methods can still be called through a
//! `T: Scalar` bound, so every one takes a [`Token`], which only this
//! crate can make ("sealed and unreachable methods"): the functions at the
//! end of this file are the crate's way in.

use std::cell::RefCell;
use std::sync::Arc;

use super::gemm::{self, Gemm};
use super::pool::{Buffer, Pool};
use super::{fastmath, packed, simd};
use crate::Scalar;

/// Proof of being inside the crate: the field is private to the engine.
pub struct Token(());

/// What the engine needs of an element type. Sealed: implemented for
/// `f32` and `f64` here, unreachable and uncallable elsewhere.
pub trait Sealed: Sized {
    /// `C = A·B` for strided matrices; see [`Gemm`].
    fn gemm(_: Token, g: Gemm<'_, Self>);

    /// As [`Sealed::gemm`], for a right operand that is the whole buffer
    /// `owner` or a window of it and may be used again (f32: see the
    /// `packed` module).
    fn gemm_reused(_: Token, g: Gemm<'_, Self>, owner: &Arc<Buffer<Self>>)
    where
        Self: Scalar;

    /// Runs `f` on this thread's pool of freed buffers of this type (see
    /// the `pool` module); `None` once the thread's pool is gone.
    fn with_pool<R>(_: Token, f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R>;

    /// `eˣ` elementwise (vectorized kernel for f32, libm for f64).
    fn exp_slice(_: Token, src: &[Self]) -> Vec<Self>;

    /// Logistic sigmoid elementwise, stable for large `|x|`.
    fn sigmoid_slice(_: Token, src: &[Self]) -> Vec<Self>;

    /// `tanh` elementwise.
    fn tanh_slice(_: Token, src: &[Self]) -> Vec<Self>;
}

impl Sealed for f32 {
    fn gemm(_: Token, g: Gemm<'_, Self>) {
        gemm::multiply(g, matrixmultiply::sgemm)
    }
    fn gemm_reused(_: Token, g: Gemm<'_, Self>, owner: &Arc<Buffer<Self>>) {
        packed::gemm_f32_reused(g, owner)
    }
    fn with_pool<R>(_: Token, f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R> {
        thread_local! {
            static POOL: RefCell<Pool<f32>> = RefCell::default();
        }
        POOL.try_with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p))).ok().flatten()
    }
    fn exp_slice(_: Token, src: &[Self]) -> Vec<Self> {
        simd::map(src, fastmath::exp_f32)
    }
    fn sigmoid_slice(_: Token, src: &[Self]) -> Vec<Self> {
        simd::map(src, fastmath::sigmoid_f32)
    }
    fn tanh_slice(_: Token, src: &[Self]) -> Vec<Self> {
        simd::map(src, fastmath::tanh_f32)
    }
}

impl Sealed for f64 {
    fn gemm(_: Token, g: Gemm<'_, Self>) {
        gemm::multiply(g, matrixmultiply::dgemm)
    }
    fn gemm_reused(_: Token, g: Gemm<'_, Self>, _owner: &Arc<Buffer<Self>>) {
        gemm::multiply(g, matrixmultiply::dgemm)
    }
    fn with_pool<R>(_: Token, f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R> {
        thread_local! {
            static POOL: RefCell<Pool<f64>> = RefCell::default();
        }
        POOL.try_with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p))).ok().flatten()
    }
    fn exp_slice(_: Token, src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| x.exp()).collect()
    }
    fn sigmoid_slice(_: Token, src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }).collect()
    }
    fn tanh_slice(_: Token, src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| x.tanh()).collect()
    }
}

/// `C = A·B` through `T`'s kernel: [`Sealed::gemm`].
pub(crate) fn gemm<T: Scalar>(g: Gemm<'_, T>) {
    T::gemm(Token(()), g)
}

/// `C = A·B` for a right operand that may come back: [`Sealed::gemm_reused`].
pub(crate) fn gemm_reused<T: Scalar>(g: Gemm<'_, T>, owner: &Arc<Buffer<T>>) {
    T::gemm_reused(Token(()), g, owner)
}

/// `f` on this thread's pool of `T` buffers: [`Sealed::with_pool`].
pub(crate) fn with_pool<T: Scalar, R>(f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
    T::with_pool(Token(()), f)
}

/// `eˣ` elementwise: [`Sealed::exp_slice`].
pub(crate) fn exp_slice<T: Scalar>(src: &[T]) -> Vec<T> {
    T::exp_slice(Token(()), src)
}

/// Logistic sigmoid elementwise: [`Sealed::sigmoid_slice`].
pub(crate) fn sigmoid_slice<T: Scalar>(src: &[T]) -> Vec<T> {
    T::sigmoid_slice(Token(()), src)
}

/// `tanh` elementwise: [`Sealed::tanh_slice`].
pub(crate) fn tanh_slice<T: Scalar>(src: &[T]) -> Vec<T> {
    T::tanh_slice(Token(()), src)
}
