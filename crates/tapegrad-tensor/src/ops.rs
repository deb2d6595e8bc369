//! Operator sugar: `&a + &b`, `a * b`, `-a`, `&a * 2.0`.
//!
//! Tensor–tensor operators broadcast and are the panicking forms of
//! `try_add`, `try_sub`, `try_mul` and `try_div`: they panic with the
//! [`crate::TensorError::Broadcast`] message. Any mix of owned and borrowed
//! operands works; borrowing avoids moving a tensor you still need.
//! Tensor–scalar operators (scalar on the right) cannot fail.
//!
//! ```
//! use tapegrad_tensor::Tensor;
//! let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
//! let b = Tensor::from_vec(vec![10.0f64, 20.0], &[2]);
//! assert_eq!((&a + &b).data(), &[11.0, 22.0, 13.0, 24.0]);
//! assert_eq!((&a * 2.0 - 1.0).data(), &[1.0, 3.0, 5.0, 7.0]);
//! assert_eq!((-(a.clone() / &b)).data(), &[-0.1, -0.1, -0.3, -0.2]);
//! ```

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::or_panic;
use crate::{Scalar, Tensor};

macro_rules! tensor_binop {
    ($($trait:ident $method:ident $try:ident $sym:literal;)*) => {$(
        #[doc = concat!("`&a ", $sym, " &b` with broadcasting; panics as `", stringify!($try), "` errors.")]
        impl<T: Scalar> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(rhs))
            }
        }
        #[doc = concat!("`a ", $sym, " b` with broadcasting; panics as `", stringify!($try), "` errors.")]
        impl<T: Scalar> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(&rhs))
            }
        }
        #[doc = concat!("`a ", $sym, " &b` with broadcasting; panics as `", stringify!($try), "` errors.")]
        impl<T: Scalar> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(rhs))
            }
        }
        #[doc = concat!("`&a ", $sym, " b` with broadcasting; panics as `", stringify!($try), "` errors.")]
        impl<T: Scalar> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(&rhs))
            }
        }
        #[doc = concat!("`&a ", $sym, " s` elementwise with a scalar; cannot fail.")]
        impl<T: Scalar> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|v| v.$method(rhs))
            }
        }
        #[doc = concat!("`a ", $sym, " s` elementwise with a scalar; cannot fail.")]
        impl<T: Scalar> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|v| v.$method(rhs))
            }
        }
    )*};
}

tensor_binop! {
    Add add try_add "+";
    Sub sub try_sub "-";
    Mul mul try_mul "*";
    Div div try_div "/";
}

/// `-&a`, elementwise; cannot fail.
impl<T: Scalar> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

/// `-a`, elementwise; cannot fail.
impl<T: Scalar> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}
