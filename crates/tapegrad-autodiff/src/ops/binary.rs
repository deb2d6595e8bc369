//! Broadcasting binary ops and operator overloading.
//!
//! Rules return the gradient at the broadcast (output) shape; the sweep sums
//! it back to each operand's shape in one place.

use std::ops;

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Tensor};

use crate::error::or_panic;
use crate::ops::Op;
use crate::{Result, Val, Var};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

impl Binary {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }

    /// `y = f(a, b)`.
    pub(crate) fn forward<T: Scalar>(&self, a: &Tensor<T>, b: &Tensor<T>) -> tapegrad_tensor::Result<Tensor<T>> {
        match self {
            Binary::Add => a.try_add(b),
            Binary::Sub => a.try_sub(b),
            Binary::Mul => a.try_mul(b),
            Binary::Div => a.try_div(b),
        }
    }

    /// `(dL/da, dL/db)` for the derivatives of each method's doc, computing
    /// only the ones wanted; `div`'s second uses its output `y = a/b`.
    pub(crate) fn backward<'t, T: Scalar>(
        &self,
        a: &Val<'t, T>,
        b: &Val<'t, T>,
        y: &Val<'t, T>,
        g: &Val<'t, T>,
        wants: &[bool],
    ) -> SmallVec<[Option<Val<'t, T>>; 2]> {
        let (da, db) = match self {
            Binary::Add => (wants[0].then(|| g.clone()), wants[1].then(|| g.clone())),
            Binary::Sub => (wants[0].then(|| g.clone()), wants[1].then(|| g.neg())),
            Binary::Mul => (wants[0].then(|| g.mul(b)), wants[1].then(|| g.mul(a))),
            Binary::Div => (wants[0].then(|| g.div(b)), wants[1].then(|| g.mul(y).div(b).neg())),
        };
        smallvec::smallvec![da, db]
    }
}

// `add`/`sub`/`mul`/`div` are the named panicking forms of the `try_` ops
// (the crate's convention); the operator traits are implemented too and
// call them.
#[allow(clippy::should_implement_trait)]
impl<'t, T: Scalar> Var<'t, T> {
    #[track_caller]
    pub(crate) fn binary(self, op: Binary, other: Var<'t, T>) -> Result<Self> {
        self.same_tape(op.name(), &other)?;
        let y = op.forward(&self.value(), &other.value())?;
        self.tape.record(y, Op::Binary(op), &[self, other])
    }

    /// Broadcasting `self + other`. Derivative: `1` for both (summed over
    /// broadcast axes).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::ones(&[2, 3]));
    /// let b = tape.leaf(Tensor::ones(&[3]));
    /// assert_eq!(a.try_add(b).unwrap().shape().as_slice(), &[2, 3]);
    /// assert!(a.try_add(tape.leaf(Tensor::ones(&[2]))).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::AutodiffError::Tensor`] (broadcast) naming `add` and both
    /// shapes; [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_add(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Add, other)
    }
    /// Broadcasting `self - other`. Derivative: `1`, `-1`.
    ///
    /// # Errors
    /// As [`Var::try_add`].
    #[track_caller]
    pub fn try_sub(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Sub, other)
    }
    /// Broadcasting `self * other`. Derivative: `other`, `self`.
    ///
    /// # Errors
    /// As [`Var::try_add`].
    #[track_caller]
    pub fn try_mul(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Mul, other)
    }
    /// Broadcasting `self / other`. Derivative: `1/other`, `-self/other²`.
    ///
    /// `x / s` with a plain `f32`/`f64` on the right is this same division
    /// by a scalar constant: correctly rounded, not `x·(1/s)`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::scalar(3.0));
    /// assert_eq!((x / 10.0).value().item(), 0.3);
    /// assert_eq!(x.try_div(tape.scalar(10.0)).unwrap().value().item(), 0.3);
    /// assert_eq!(tape.backward(x / 10.0).unwrap().get(x).unwrap().item(), 0.1);
    /// ```
    ///
    /// # Errors
    /// As [`Var::try_add`].
    #[track_caller]
    pub fn try_div(self, other: Var<'t, T>) -> Result<Self> {
        self.binary(Binary::Div, other)
    }
    /// Panicking form of [`Var::try_add`]; also `a + b`.
    ///
    /// # Panics
    /// With the message of the error `try_add` returns.
    #[track_caller]
    pub fn add(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_add(other))
    }
    /// Panicking form of [`Var::try_sub`]; also `a - b`.
    ///
    /// # Panics
    /// With the message of the error `try_sub` returns.
    #[track_caller]
    pub fn sub(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_sub(other))
    }
    /// Panicking form of [`Var::try_mul`]; also `a * b`.
    ///
    /// # Panics
    /// With the message of the error `try_mul` returns.
    #[track_caller]
    pub fn mul(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_mul(other))
    }
    /// Panicking form of [`Var::try_div`]; also `a / b`.
    ///
    /// # Panics
    /// With the message of the error `try_div` returns.
    #[track_caller]
    pub fn div(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_div(other))
    }
}

macro_rules! var_operator {
    ($($trait:ident $method:ident;)*) => {$(
        impl<'t, T: Scalar> ops::$trait<Var<'t, T>> for Var<'t, T> {
            type Output = Var<'t, T>;
            #[track_caller]
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                Var::$method(self, rhs)
            }
        }
    )*};
}
var_operator! { Add add; Sub sub; Mul mul; Div div; }

impl<'t, T: Scalar> ops::Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn neg(self) -> Var<'t, T> {
        Var::neg(self)
    }
}

// `x + s`, `x * s`, `s - x`, ... as scale/add_scalar, which record one
// op and no constant tensor, for any `T: Scalar` (so generic code can
// write `x * T::one()`). `x / s` is the exception: it is a true division
// by a recorded scalar constant (two nodes, the constant costing nothing
// in the sweep), because `x·(1/s)` rounds twice and is not `x/s`
// (`3.0 * (1.0 / 10.0)` is 0.30000000000000004, `3.0 / 10.0` is 0.3). Its
// derivative is `div`'s own rule, `g / s`, so first and second derivatives
// are those of `x / tape.scalar(s)` bit for bit. A scalar on the left
// (`1.0 - x`) is implemented for `f32` and `f64` only: the orphan rule
// forbids it for a generic `T`.
impl<'t, T: Scalar> ops::Add<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn add(self, s: T) -> Self::Output {
        self.add_scalar(s)
    }
}
impl<'t, T: Scalar> ops::Sub<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn sub(self, s: T) -> Self::Output {
        self.add_scalar(-s)
    }
}
impl<'t, T: Scalar> ops::Mul<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn mul(self, s: T) -> Self::Output {
        self.scale(s)
    }
}
impl<'t, T: Scalar> ops::Div<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn div(self, s: T) -> Self::Output {
        self.div(self.tape.scalar(s))
    }
}

macro_rules! scalar_left_operators {
    ($($t:ty),*) => {$(
        impl<'t> ops::Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn add(self, v: Var<'t, $t>) -> Self::Output { v.add_scalar(self) }
        }
        impl<'t> ops::Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn sub(self, v: Var<'t, $t>) -> Self::Output { v.neg().add_scalar(self) }
        }
        impl<'t> ops::Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn mul(self, v: Var<'t, $t>) -> Self::Output { v.scale(self) }
        }
    )*};
}
scalar_left_operators!(f32, f64);
