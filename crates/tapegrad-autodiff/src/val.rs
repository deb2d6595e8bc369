//! `Val`: the values backward rules are written with.
//!
//! A backward rule is written once, with the methods below. In an ordinary
//! reverse sweep every `Val` is a plain tensor and nothing is recorded; when
//! a gradient graph is asked for (`create_graph`), every `Val` is a variable
//! and the same rule records its ops onto the tape, so the gradient can be
//! differentiated again.

use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::Var;

/// A value seen by a backward rule: a plain tensor (first-order sweep) or a
/// variable on the tape (higher-order sweep). Its methods mirror the
/// differentiable ops, so a rule written with them is differentiable itself.
///
/// Shapes inside a backward rule are known to agree, so these methods panic
/// (with the typed error's message) instead of returning `Result`; a custom
/// op's returned gradients are shape-checked by the sweep, which reports a
/// mismatch as [`crate::AutodiffError::Custom`].
///
/// ```
/// use tapegrad_autodiff::{Tensor, Val};
/// let g = Val::<f64>::from(Tensor::from_vec(vec![1.0, 2.0], &[2]));
/// let x = Val::from(Tensor::from_vec(vec![3.0, 4.0], &[2]));
/// assert_eq!(g.mul(&x).value().data(), &[3.0, 8.0]);
/// ```
#[derive(Clone, Debug)]
pub enum Val<'t, T: Scalar> {
    /// A plain tensor: nothing is recorded.
    Tensor(Tensor<T>),
    /// A variable: ops are recorded on its tape.
    Var(Var<'t, T>),
}

impl<T: Scalar> From<Tensor<T>> for Val<'_, T> {
    fn from(t: Tensor<T>) -> Self {
        Val::Tensor(t)
    }
}

impl<'t, T: Scalar> From<Var<'t, T>> for Val<'t, T> {
    fn from(v: Var<'t, T>) -> Self {
        Val::Var(v)
    }
}

macro_rules! unary_val {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[track_caller]
        pub fn $name(&self) -> Self {
            match self {
                Val::Tensor(t) => Val::Tensor(t.$name()),
                Val::Var(v) => Val::Var(v.$name()),
            }
        }
    )*};
}

macro_rules! binary_val {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[track_caller]
        pub fn $name(&self, other: &Self) -> Self {
            match (self, other) {
                (Val::Tensor(a), Val::Tensor(b)) => Val::Tensor(a.$name(b)),
                (Val::Var(a), Val::Var(b)) => Val::Var(a.$name(*b)),
                (Val::Var(a), Val::Tensor(b)) => Val::Var(a.$name(a.tape.constant(b.clone()))),
                (Val::Tensor(a), Val::Var(b)) => Val::Var(b.tape.constant(a.clone()).$name(*b)),
            }
        }
    )*};
}

impl<'t, T: Scalar> Val<'t, T> {
    /// The current value as a tensor (a cheap clone).
    pub fn value(&self) -> Tensor<T> {
        match self {
            Val::Tensor(t) => t.clone(),
            Val::Var(v) => v.value(),
        }
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        match self {
            Val::Tensor(t) => Shape::from_slice(t.shape()),
            Val::Var(v) => v.shape(),
        }
    }

    /// The variable, if this is one.
    pub fn as_var(&self) -> Option<Var<'t, T>> {
        match self {
            Val::Var(v) => Some(*v),
            Val::Tensor(_) => None,
        }
    }

    /// A constant of the same kind as `self` (a tensor, or a constant on
    /// `self`'s tape): for masks and other values with no gradient.
    #[track_caller]
    pub fn constant_like(&self, t: Tensor<T>) -> Self {
        match self {
            Val::Tensor(_) => Val::Tensor(t),
            Val::Var(v) => Val::Var(v.tape.constant(t)),
        }
    }

    /// Multiplies by a constant tensor (a mask), broadcasting.
    #[track_caller]
    pub fn mul_const(&self, mask: &Tensor<T>) -> Self {
        self.mul(&self.constant_like(mask.clone()))
    }

    unary_val! {
        /// Elementwise `-x`.
        neg;
        /// Elementwise `eˣ`.
        exp;
        /// Elementwise natural log.
        ln;
        /// Elementwise square root.
        sqrt;
        /// Elementwise `tanh`.
        tanh;
        /// Elementwise logistic sigmoid.
        sigmoid;
        /// Elementwise `x²`.
        square;
        /// Elementwise `1/x`.
        recip;
    }

    binary_val! {
        /// Broadcasting `a + b`.
        add;
        /// Broadcasting `a - b`.
        sub;
        /// Broadcasting `a * b`.
        mul;
        /// Broadcasting `a / b`.
        div;
    }

    /// `x * s`.
    #[track_caller]
    pub fn scale(&self, s: T) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.scale(s)),
            Val::Var(v) => Val::Var(v.scale(s)),
        }
    }

    /// `x + s`.
    #[track_caller]
    pub fn add_scalar(&self, s: T) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.add_scalar(s)),
            Val::Var(v) => Val::Var(v.add_scalar(s)),
        }
    }

    /// `xᵖ`.
    #[track_caller]
    pub fn powf(&self, p: T) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.powf(p)),
            Val::Var(v) => Val::Var(v.powf(p)),
        }
    }

    /// Lifts a tensor to a constant on the tape of `other` (which must be a
    /// variable if `self` is not).
    #[track_caller]
    pub(crate) fn to_var_with(&self, other: &Self) -> Var<'t, T> {
        match (self, other) {
            (Val::Var(v), _) => *v,
            (Val::Tensor(t), Val::Var(o)) => o.tape.constant(t.clone()),
            (Val::Tensor(_), Val::Tensor(_)) => unreachable!("to_var_with needs one variable"),
        }
    }

    /// Swaps two axes.
    #[track_caller]
    pub fn transpose(&self, a1: usize, a2: usize) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.transpose(a1, a2)),
            Val::Var(v) => Val::Var(v.transpose(a1, a2)),
        }
    }

    /// Reshapes (same number of elements).
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.reshape(shape)),
            Val::Var(v) => Val::Var(v.reshape(shape)),
        }
    }

    /// Sums down to `shape` (undoes a broadcast).
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.sum_to(shape)),
            Val::Var(v) => Val::Var(v.sum_to(shape)),
        }
    }

    /// Broadcasts up to `shape`.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.broadcast_to(shape)),
            Val::Var(v) => Val::Var(v.broadcast_to(shape)),
        }
    }

    /// Sums along `axis`.
    #[track_caller]
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.sum_axis(axis, keepdim)),
            Val::Var(v) => Val::Var(v.sum_axis(axis, keepdim)),
        }
    }

    /// `len` entries of `axis` from `start`.
    #[track_caller]
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.narrow(axis, start, len)),
            Val::Var(v) => Val::Var(v.narrow(axis, start, len)),
        }
    }

    /// Zero padding along `axis`.
    #[track_caller]
    pub fn pad_axis(&self, axis: usize, before: usize, after: usize) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.pad_axis(axis, before, after)),
            Val::Var(v) => Val::Var(v.pad_axis(axis, before, after)),
        }
    }

    /// Rows `indices` of `axis`.
    #[track_caller]
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.index_select(axis, indices)),
            Val::Var(v) => Val::Var(v.index_select(axis, indices)),
        }
    }

    /// `self` with `src`'s slices added at `indices` along `axis`.
    #[track_caller]
    pub fn index_add(&self, axis: usize, indices: &[usize], src: &Self) -> Self {
        match (self, src) {
            (Val::Tensor(a), Val::Tensor(s)) => Val::Tensor(a.index_add(axis, indices, s)),
            _ => Val::Var(self.to_var_with(src).index_add(axis, indices, src.to_var_with(self))),
        }
    }

    /// `torch.gather` along `axis`.
    #[track_caller]
    pub fn gather(&self, axis: usize, index: &[usize], index_shape: &[usize]) -> Self {
        match self {
            Val::Tensor(t) => Val::Tensor(t.gather(axis, index, index_shape)),
            Val::Var(v) => Val::Var(v.gather(axis, index, index_shape)),
        }
    }

    /// `self` with `src` added at the positions `gather` would read.
    #[track_caller]
    pub fn scatter_add(&self, axis: usize, index: &[usize], index_shape: &[usize], src: &Self) -> Self {
        match (self, src) {
            (Val::Tensor(a), Val::Tensor(s)) => Val::Tensor(a.scatter_add(axis, index, index_shape, s)),
            _ => Val::Var(self.to_var_with(src).scatter_add(axis, index, index_shape, src.to_var_with(self))),
        }
    }

    /// `g ⊙ f(y)` for an elementwise `f` of a value `y` (an op's input or
    /// output): one fused pass on plain tensors; on variables, the composed
    /// form `composed(g, y)`, which defines the derivative and stays
    /// differentiable. `f` and `composed` must agree; backward rules of the
    /// tanh/sigmoid/square kind use this to avoid temporaries.
    pub(crate) fn fused_by(g: &Self, y: &Self, f: impl Fn(T) -> T + Sync, composed: impl FnOnce(&Self, &Self) -> Self) -> Self {
        match (g, y) {
            (Val::Tensor(gt), Val::Tensor(yt)) if gt.shape() == yt.shape() => {
                // Same shapes (matched above): the zip cannot fail.
                Val::Tensor(gt.try_zip_map("backward", yt, |a, b| a * f(b)).expect("same shapes"))
            }
            _ => composed(g, y),
        }
    }

    /// Zeros of `shape`, as a constant of the same kind as `self`.
    #[track_caller]
    pub fn zeros_like_shape(&self, shape: &[usize]) -> Self {
        self.constant_like(Tensor::zeros(shape))
    }
}
