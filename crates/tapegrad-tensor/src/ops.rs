//! Operator sugar: `&a + &b`, `a * b`, `-a`, `&a * 2.0`. These are the
//! panicking forms and panic with the `try_` error's message.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::or_panic;
use crate::{Scalar, Tensor};

macro_rules! tensor_binop {
    ($($trait:ident $method:ident $try:ident;)*) => {$(
        impl<T: Scalar> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(rhs))
            }
        }
        impl<T: Scalar> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(&rhs))
            }
        }
        impl<T: Scalar> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(rhs))
            }
        }
        impl<T: Scalar> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                or_panic(self.$try(&rhs))
            }
        }
        impl<T: Scalar> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|v| v.$method(rhs))
            }
        }
        impl<T: Scalar> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|v| v.$method(rhs))
            }
        }
    )*};
}

tensor_binop! {
    Add add try_add;
    Sub sub try_sub;
    Mul mul try_mul;
    Div div try_div;
}

impl<T: Scalar> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

impl<T: Scalar> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}
