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
/// mismatch as [`crate::AutodiffError::GradientShape`].
///
/// ```
/// use tapegrad_autodiff::{Tape, Tensor, Val};
/// let g = Val::<f64>::from(Tensor::from_vec(vec![1.0, 2.0], &[2]));
/// let x = Val::from(Tensor::from_vec(vec![3.0, 4.0], &[2]));
/// assert_eq!(g.mul(&x).value().data(), &[3.0, 8.0]); // two tensors: computed, nothing recorded
/// assert!(g.as_var().is_none());
/// let tape = Tape::new();
/// let v = Val::from(tape.leaf(Tensor::from_vec(vec![3.0, 4.0], &[2])));
/// let n = tape.len();
/// let y = g.mul(&v).tanh().sum_axis(0, false); // a variable: recorded, differentiable
/// assert_eq!(tape.len(), n + 4); // the constant `g`, then mul, tanh, sum
/// assert_eq!(y.shape().as_slice(), &[] as &[usize]);
/// let mask = Tensor::from_vec(vec![0.0, 1.0], &[2]);
/// assert_eq!(v.mul_const(&mask).value().data(), &[0.0, 4.0]);
/// assert!(v.constant_like(mask).as_var().is_some_and(|c| !c.requires_grad()));
/// let z = g.zeros_like_shape(&[2]).index_add(0, &[1], &Val::from(Tensor::from_vec(vec![5.0], &[1])));
/// assert_eq!(z.value().data(), &[0.0, 5.0]);
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

/// A `Val` method that runs the tensor op or records the variable op of the
/// same name and arguments.
macro_rules! forward_val {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        $(#[$doc])*
        #[doc = concat!("\n\nOn a tensor, [`Tensor::", stringify!($name), "`]; on a variable, the recorded [`Var::", stringify!($name), "`] (see their examples).")]
        ///
        /// # Panics
        /// With the op's error message on a bad shape or axis.
        #[track_caller]
        pub fn $name(&self $(, $arg: $ty)*) -> Self {
            match self {
                Val::Tensor(t) => Val::Tensor(t.$name($($arg),*)),
                Val::Var(v) => Val::Var(v.$name($($arg),*)),
            }
        }
    )*};
}

macro_rules! binary_val {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[doc = concat!("\n\nOn two tensors, [`Tensor::", stringify!($name), "`]; when either is a variable, the recorded [`Var::", stringify!($name), "`] (a tensor becomes a constant on the variable's tape).")]
        ///
        /// # Panics
        /// With the op's error message when the shapes do not broadcast.
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
    /// The current value as a tensor (a cheap clone; the type's example
    /// uses it, as it does `shape`, `as_var`, `constant_like` and
    /// `mul_const`).
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

    forward_val! {
        /// Elementwise `-x`.
        neg();
        /// Elementwise `eˣ`.
        exp();
        /// Elementwise natural log.
        ln();
        /// Elementwise square root.
        sqrt();
        /// Elementwise `tanh`.
        tanh();
        /// Elementwise logistic sigmoid.
        sigmoid();
        /// Elementwise `x²`.
        square();
        /// Elementwise `1/x`.
        recip();
        /// `x * s`.
        scale(s: T);
        /// `x + s`.
        add_scalar(s: T);
        /// `xᵖ`.
        powf(p: T);
        /// Swaps two axes.
        transpose(a1: usize, a2: usize);
        /// Reshapes (same number of elements).
        reshape(shape: &[usize]);
        /// Sums down to `shape` (undoes a broadcast).
        sum_to(shape: &[usize]);
        /// Broadcasts up to `shape`.
        broadcast_to(shape: &[usize]);
        /// Sums along `axis`.
        sum_axis(axis: usize, keepdim: bool);
        /// `len` entries of `axis` from `start`.
        narrow(axis: usize, start: usize, len: usize);
        /// Zero padding along `axis`.
        pad_axis(axis: usize, before: usize, after: usize);
        /// Rows `indices` of `axis`.
        index_select(axis: usize, indices: &[usize]);
        /// `torch.gather` along `axis`.
        gather(axis: usize, index: &[usize], index_shape: &[usize]);
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

    /// `self` with `src`'s slices added at `indices` along `axis`
    /// ([`Tensor::index_add`]; recorded as [`Var::index_add`] when either is
    /// a variable; the type's example uses it).
    ///
    /// # Panics
    /// With the op's error message on a bad axis, index or shape.
    #[track_caller]
    pub fn index_add(&self, axis: usize, indices: &[usize], src: &Self) -> Self {
        match (self, src) {
            (Val::Tensor(a), Val::Tensor(s)) => Val::Tensor(a.index_add(axis, indices, s)),
            _ => Val::Var(self.to_var_with(src).index_add(axis, indices, src.to_var_with(self))),
        }
    }

    /// `self` with `src` added at the positions `gather` would read
    /// ([`Tensor::scatter_add`]; recorded as [`Var::scatter_add`] when
    /// either is a variable).
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Val};
    /// let z = Val::<f64>::from(Tensor::zeros(&[3]));
    /// let s = z.scatter_add(0, &[2, 2], &[2], &Val::from(Tensor::from_vec(vec![1.0, 2.0], &[2])));
    /// assert_eq!(s.value().data(), &[0.0, 0.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// With the op's error message on a bad axis, index or shape.
    #[track_caller]
    pub fn scatter_add(&self, axis: usize, index: &[usize], index_shape: &[usize], src: &Self) -> Self {
        match (self, src) {
            (Val::Tensor(a), Val::Tensor(s)) => Val::Tensor(a.scatter_add(axis, index, index_shape, s)),
            _ => Val::Var(self.to_var_with(src).scatter_add(axis, index, index_shape, src.to_var_with(self))),
        }
    }

    /// `g ⊙ f(y)` for an elementwise `f` of a value `y` (an op's input or
    /// output), `f` one expression over scalars (`f`) and over values
    /// (`f_val`): one fused pass on plain tensors; on variables, the
    /// composed form, which stays differentiable. Backward rules of the
    /// tanh/sigmoid/square kind use this to avoid temporaries.
    pub(crate) fn fused_by(g: &Self, y: &Self, f: impl Fn(&T) -> T + Sync, f_val: fn(&Self) -> Self) -> Self {
        match (g, y) {
            (Val::Tensor(gt), Val::Tensor(yt)) if gt.shape() == yt.shape() => {
                // Same shapes (matched above): the zip cannot fail.
                Val::Tensor(gt.try_zip_map("backward", yt, |a, b| a * f(&b)).expect("same shapes"))
            }
            _ => g.mul(&f_val(y)),
        }
    }

    /// Zeros of `shape`, as a constant of the same kind as `self` (the
    /// type's example uses it).
    #[track_caller]
    pub fn zeros_like_shape(&self, shape: &[usize]) -> Self {
        self.constant_like(Tensor::zeros(shape))
    }
}
