//! Selection between two values by a constant mask: `where`, and what is
//! composed from it (`maximum`, `minimum`, `clamp`, `max_all`).
//!
//! One primitive, `select(w, a, b)`: `a` where `w > 0` and `b` elsewhere
//! (exactly, so a non-finite value in the branch not taken does not leak
//! into the output). The constant `w` recorded with the op is the share of
//! the gradient `a` receives (`b` the rest): 0 or 1 for `where` and
//! `clamp`, and ½ at ties for `maximum`/`minimum` (the derivatives are in
//! their docs).

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Tensor};

use crate::error::or_panic;
use crate::ops::Op;
use crate::{Result, Val, Var};

/// The recorded op: the mask weighting the first operand's gradient, and
/// the public name it was called by.
#[derive(Clone, Debug)]
pub(crate) struct Select<T: Scalar> {
    weight: Tensor<T>,
    name: &'static str,
}

impl<T: Scalar> Select<T> {
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// `a` where the weight is positive, `b` elsewhere, broadcasting.
    pub(crate) fn forward(&self, a: &Tensor<T>, b: &Tensor<T>) -> tapegrad_tensor::Result<Tensor<T>> {
        let cond = self.weight.map(|w| if w > T::zero() { T::one() } else { T::zero() });
        cond.try_where_cond(a, b)
    }

    /// Records this select of `a` and `b`.
    #[track_caller]
    pub(crate) fn replay<'t>(&self, a: Var<'t, T>, b: Var<'t, T>) -> Result<Var<'t, T>> {
        a.same_tape(self.name, &b)?;
        let y = self.forward(&a.value(), &b.value())?;
        a.tape.record(y, Op::Select(self.clone()), &[a, b])
    }

    /// `(dL/da, dL/db)`, the weight's and its complement's shares of the
    /// gradient, at the output shape (the sweep sums them back to the
    /// operands' shapes).
    pub(crate) fn backward<'t>(&self, g: &Val<'t, T>, wants: &[bool]) -> SmallVec<[Option<Val<'t, T>>; 2]> {
        let da = wants[0].then(|| g.mul_const(&self.weight));
        let db = wants[1].then(|| g.mul_const(&self.weight.map(|w| T::one() - w)));
        smallvec::smallvec![da, db]
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Records `select(weight, a, b)`; `weight` broadcasts with both.
    #[track_caller]
    fn select(name: &'static str, weight: Tensor<T>, a: Var<'t, T>, b: Var<'t, T>) -> Result<Self> {
        Select { weight, name }.replay(a, b)
    }

    /// `a` where `cond` is non-zero, `b` elsewhere; `cond`, `a` and `b`
    /// broadcast together (`cond` is a constant: comparisons of values are
    /// not differentiable). Derivative: `g` to `a` where `cond` holds and
    /// to `b` elsewhere. A non-finite value in the branch not taken stays
    /// out of the output, and that branch receives a zero gradient there;
    /// but if an op inside it has an infinite derivative at that point,
    /// `0·∞` is NaN (as in PyTorch and JAX): guard the op's input with a
    /// second `where`, as below.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor, Var};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-4.0, 9.0], &[2]));
    /// let pos = x.value().try_gt(&Tensor::scalar(0.0)).unwrap();
    /// // sqrt where it is defined, 0 elsewhere; sqrt only ever sees positive values.
    /// let root = Var::where_cond(&pos, x, tape.constant(Tensor::scalar(1.0))).sqrt();
    /// let y = Var::where_cond(&pos, root, tape.constant(Tensor::scalar(0.0)));
    /// assert_eq!(y.value().data(), &[0.0, 3.0]);
    /// assert_eq!(tape.backward(y.sum_all()).unwrap().get(x).unwrap().data(), &[0.0, 1.0 / 6.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::AutodiffError::Tensor`] naming `where` and the shapes if
    /// they do not broadcast; [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_where_cond(cond: &Tensor<T>, a: Var<'t, T>, b: Var<'t, T>) -> Result<Self> {
        let weight = cond.map(|c| if c != T::zero() { T::one() } else { T::zero() });
        Self::select("where", weight, a, b)
    }
    /// Panicking form of [`Var::try_where_cond`].
    ///
    /// # Panics
    /// With the message of the error `try_where_cond` returns.
    #[track_caller]
    pub fn where_cond(cond: &Tensor<T>, a: Var<'t, T>, b: Var<'t, T>) -> Self {
        or_panic(Self::try_where_cond(cond, a, b))
    }

    /// Elementwise larger of `self` and `other`, broadcasting.
    /// Derivative: `g` to the larger operand; at ties, `g/2` to each (a
    /// subgradient, as PyTorch's `maximum`).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0, 5.0, 2.0], &[3]));
    /// let b = tape.leaf(Tensor::from_vec(vec![3.0, 4.0, 2.0], &[3]));
    /// let y = a.maximum(b);
    /// assert_eq!(y.value().data(), &[3.0, 5.0, 2.0]);
    /// let g = tape.backward(y.sum_all()).unwrap();
    /// assert_eq!(g.get(a).unwrap().data(), &[0.0, 1.0, 0.5]);
    /// ```
    ///
    /// # Errors
    /// As [`Var::try_add`] (broadcast), naming `maximum`.
    #[track_caller]
    pub fn try_maximum(self, other: Var<'t, T>) -> Result<Self> {
        self.extremum("maximum", other, |a, b| a > b)
    }
    /// Panicking form of [`Var::try_maximum`].
    ///
    /// # Panics
    /// With the message of the error `try_maximum` returns.
    #[track_caller]
    pub fn maximum(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_maximum(other))
    }
    /// Elementwise smaller of `self` and `other`, broadcasting.
    /// Derivative: `g` to the smaller operand; at ties, `g/2` to each.
    ///
    /// # Errors
    /// As [`Var::try_add`] (broadcast), naming `minimum`.
    #[track_caller]
    pub fn try_minimum(self, other: Var<'t, T>) -> Result<Self> {
        self.extremum("minimum", other, |a, b| a < b)
    }
    /// Panicking form of [`Var::try_minimum`].
    ///
    /// # Panics
    /// With the message of the error `try_minimum` returns.
    #[track_caller]
    pub fn minimum(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_minimum(other))
    }

    /// `select` with weight 1 where `first(a, b)`, ½ at ties, 0 elsewhere.
    #[track_caller]
    fn extremum(self, name: &'static str, other: Var<'t, T>, first: fn(T, T) -> bool) -> Result<Self> {
        let half = T::one() / (T::one() + T::one());
        let weight = self.value().try_zip_map(name, &other.value(), |a, b| {
            if first(a, b) {
                T::one()
            } else if a == b {
                half
            } else {
                T::zero()
            }
        })?;
        Self::select(name, weight, self, other)
    }

    /// Elementwise `min(max(self, lo), hi)`. Derivative: 1 where
    /// `lo ≤ self ≤ hi`, 0 outside (as PyTorch's `clamp`).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-3.0, 0.5, 7.0], &[3]));
    /// let y = x.try_clamp(-1.0, 1.0).unwrap();
    /// assert_eq!(y.value().data(), &[-1.0, 0.5, 1.0]);
    /// assert_eq!(tape.backward(y.sum_all()).unwrap().get(x).unwrap().data(), &[0.0, 1.0, 0.0]);
    /// assert!(x.try_clamp(1.0, -1.0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::AutodiffError::Tensor`] holding
    /// [`tapegrad_tensor::TensorError::InvalidBounds`] (naming `clamp` and
    /// both bounds) if `lo > hi` or either is NaN; nothing is recorded then.
    #[track_caller]
    pub fn try_clamp(self, lo: T, hi: T) -> Result<Self> {
        let x = self.value();
        let clamped = x.try_clamp(lo, hi)?;
        let inside = x.map(|v| if v >= lo && v <= hi { T::one() } else { T::zero() });
        let bound = self.tape.constant(clamped);
        Self::select("clamp", inside, self, bound)
    }
    /// Panicking form of [`Var::try_clamp`].
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-3.0, 0.5, 7.0], &[3]));
    /// assert_eq!(x.clamp(-1.0, 1.0).value().data(), &[-1.0, 0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error `try_clamp` returns.
    #[track_caller]
    pub fn clamp(self, lo: T, hi: T) -> Self {
        or_panic(self.try_clamp(lo, hi))
    }

    /// The largest element, as a scalar of shape `[]`. Derivative: `g` to
    /// the largest element, shared equally among ties (as
    /// [`Var::max_axis`]).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 4.0, -2.0, 4.0], &[2, 2]));
    /// let m = x.max_all();
    /// assert_eq!(m.value().item(), 4.0);
    /// assert_eq!(tape.backward(m).unwrap().get(x).unwrap().data(), &[0.0, 0.5, 0.0, 0.5]);
    /// ```
    ///
    /// # Errors
    /// An empty-tensor error naming `max_axis`.
    #[track_caller]
    pub fn try_max_all(self) -> Result<Self> {
        let n = self.value().numel();
        self.try_reshape(&[n])?.try_max_axis(0, false)
    }
    /// Panicking form of [`Var::try_max_all`].
    ///
    /// # Panics
    /// With the message of the error `try_max_all` returns.
    #[track_caller]
    pub fn max_all(self) -> Self {
        or_panic(self.try_max_all())
    }
}
