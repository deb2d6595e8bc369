//! Reductions and their inverse (broadcast): forward and derivative together.

use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::error::or_panic;
use crate::ops::Op;
use crate::{Result, Val, Var};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Reduce {
    SumAxis { axis: usize, keepdim: bool },
    SumAll,
    MaxAxis { axis: usize, keepdim: bool },
    SumTo,
    BroadcastTo,
}

impl Reduce {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Reduce::SumAxis { .. } => "sum_axis",
            Reduce::SumAll => "sum_all",
            Reduce::MaxAxis { .. } => "max_axis",
            Reduce::SumTo => "sum_to",
            Reduce::BroadcastTo => "broadcast_to",
        }
    }

    /// The reduced (or broadcast) value, of the recorded `shape` (see
    /// `Op::forward`).
    pub(crate) fn forward<T: Scalar>(&self, x: &Tensor<T>, shape: &Shape) -> tapegrad_tensor::Result<Tensor<T>> {
        match *self {
            Reduce::SumAxis { axis, keepdim } => x.try_sum_axis(axis, keepdim),
            Reduce::SumAll => Ok(Tensor::scalar(x.sum_all())),
            Reduce::MaxAxis { axis, keepdim } => x.try_max_axis(axis, keepdim),
            Reduce::SumTo => x.try_sum_to(shape),
            Reduce::BroadcastTo => x.try_broadcast_to(shape),
        }
    }

    /// `dL/dx` from the output gradient `g`, for the derivative of each
    /// method's doc.
    pub(crate) fn backward<'t, T: Scalar>(&self, x: &Val<'t, T>, xs: &Shape, y: &Val<'t, T>, g: &Val<'t, T>) -> Val<'t, T> {
        match *self {
            Reduce::SumAxis { axis, keepdim } => keep_axis(g, axis, keepdim, xs).broadcast_to(xs),
            Reduce::SumAll => g.broadcast_to(xs),
            Reduce::MaxAxis { axis, keepdim } => {
                let ymax = keep_axis(y, axis, keepdim, xs).value();
                let hit = x.value().try_eq(&ymax).expect("max_axis backward: the maximum broadcasts against its input");
                let count = hit.sum_axis(axis, true);
                keep_axis(g, axis, keepdim, xs).broadcast_to(xs).mul_const(&hit.div(&count))
            }
            Reduce::SumTo => g.broadcast_to(xs),
            Reduce::BroadcastTo => g.sum_to(xs),
        }
    }
}

/// Reinserts a reduced axis as size 1, so the value broadcasts against the input.
fn keep_axis<'t, T: Scalar>(v: &Val<'t, T>, axis: usize, keepdim: bool, xs: &[usize]) -> Val<'t, T> {
    if keepdim {
        v.clone()
    } else {
        let mut s = Shape::from_slice(xs);
        s[axis] = 1;
        v.reshape(&s)
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    #[track_caller]
    fn reduce(self, op: Reduce, y: tapegrad_tensor::Result<Tensor<T>>) -> Result<Self> {
        self.tape.record(y?, Op::Reduce(op), &[self])
    }

    /// Sum along `axis` (removed unless `keepdim`). Derivative: ones,
    /// broadcast back along `axis`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2, 3]));
    /// assert_eq!(x.try_sum_axis(1, false).unwrap().value().data(), &[3.0, 3.0]);
    /// assert!(x.try_sum_axis(2, false).is_err());
    /// ```
    ///
    /// # Errors
    /// An axis error naming `sum_axis` and the shape.
    #[track_caller]
    pub fn try_sum_axis(self, axis: usize, keepdim: bool) -> Result<Self> {
        let y = self.value().try_sum_axis(axis, keepdim);
        self.reduce(Reduce::SumAxis { axis, keepdim }, y)
    }
    /// Panicking form of [`Var::try_sum_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_sum_axis` returns.
    #[track_caller]
    pub fn sum_axis(self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_sum_axis(axis, keepdim))
    }

    /// Sum of all elements, shape `[]`. Derivative: ones of the input's shape.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let s = tape.leaf(Tensor::ones(&[2, 3])).sum_all();
    /// assert_eq!((s.shape().len(), s.value().item()), (0, 6.0));
    /// ```
    #[track_caller]
    pub fn sum_all(self) -> Self {
        let y = Tensor::scalar(self.value().sum_all());
        or_panic(self.reduce(Reduce::SumAll, Ok(y)))
    }

    /// Maximum along `axis`. Derivative: `1` at the maximum (split evenly
    /// between exact ties), `0` elsewhere.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0], &[2, 2]));
    /// assert_eq!(x.try_max_axis(1, false).unwrap().value().data(), &[5.0, 2.0]);
    /// ```
    ///
    /// # Errors
    /// An axis error, or an empty axis, naming `max_axis`.
    #[track_caller]
    pub fn try_max_axis(self, axis: usize, keepdim: bool) -> Result<Self> {
        let y = self.value().try_max_axis(axis, keepdim);
        self.reduce(Reduce::MaxAxis { axis, keepdim }, y)
    }
    /// Panicking form of [`Var::try_max_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_max_axis` returns.
    #[track_caller]
    pub fn max_axis(self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_max_axis(axis, keepdim))
    }

    /// Sums down to `shape`, which must broadcast to this shape (the inverse
    /// of [`Var::broadcast_to`]). Derivative: broadcast back.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[4, 3]));
    /// assert_eq!(x.try_sum_to(&[1, 3]).unwrap().value().data(), &[4.0; 3]);
    /// ```
    ///
    /// # Errors
    /// A broadcast error naming `sum_to` and both shapes.
    #[track_caller]
    pub fn try_sum_to(self, shape: &[usize]) -> Result<Self> {
        let y = self.value().try_sum_to(shape);
        self.reduce(Reduce::SumTo, y)
    }
    /// Panicking form of [`Var::try_sum_to`].
    ///
    /// # Panics
    /// With the message of the error `try_sum_to` returns.
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Self {
        or_panic(self.try_sum_to(shape))
    }

    /// Repeats along broadcast axes up to `shape`. Derivative: sum back down.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2, 1]));
    /// assert_eq!(x.try_broadcast_to(&[2, 2]).unwrap().value().data(), &[1.0, 1.0, 2.0, 2.0]);
    /// ```
    ///
    /// # Errors
    /// A broadcast error naming `broadcast_to` and both shapes.
    #[track_caller]
    pub fn try_broadcast_to(self, shape: &[usize]) -> Result<Self> {
        let y = self.value().try_broadcast_to(shape);
        self.reduce(Reduce::BroadcastTo, y)
    }
    /// Panicking form of [`Var::try_broadcast_to`].
    ///
    /// # Panics
    /// With the message of the error `try_broadcast_to` returns.
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        or_panic(self.try_broadcast_to(shape))
    }
}
