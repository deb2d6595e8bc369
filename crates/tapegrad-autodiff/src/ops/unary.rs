//! Elementwise unary ops: forward and derivative side by side.

use tapegrad_tensor::{Scalar, Tensor};

use crate::ops::Op;
use crate::{Val, Var};

/// The unary primitives. `forward` and `backward` below list them in the
/// same order, so each op's `f` and `df` can be read together.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unary<T> {
    Neg,
    Exp,
    Ln,
    Sqrt,
    Tanh,
    Sigmoid,
    Relu,
    Abs,
    Square,
    Recip,
    OneMinus,
    Powf(T),
    Scale(T),
    AddScalar(T),
}

impl<T: Scalar> Unary<T> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sqrt => "sqrt",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Relu => "relu",
            Unary::Abs => "abs",
            Unary::Square => "square",
            Unary::Recip => "recip",
            Unary::OneMinus => "one_minus",
            Unary::Powf(_) => "powf",
            Unary::Scale(_) => "scale",
            Unary::AddScalar(_) => "add_scalar",
        }
    }

    /// `y = f(x)`.
    pub(crate) fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        match *self {
            Unary::Neg => x.neg(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Tanh => x.tanh(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Relu => x.relu(),
            Unary::Abs => x.abs(),
            Unary::Square => x.square(),
            Unary::Recip => x.recip(),
            Unary::OneMinus => x.map(|v| T::one() - v),
            Unary::Powf(p) => x.powf(p),
            Unary::Scale(s) => x.scale(s),
            Unary::AddScalar(s) => x.add_scalar(s),
        }
    }

    /// `dL/dx = g·f'(x)` for the `f'` of each method's doc, written with
    /// differentiable `Val` ops (so it can be differentiated again); uses
    /// `y` where that is cheaper than `x`.
    pub(crate) fn backward<'t>(&self, x: &Val<'t, T>, y: &Val<'t, T>, g: &Val<'t, T>) -> Val<'t, T> {
        match *self {
            Unary::Neg | Unary::OneMinus => g.neg(),
            Unary::Exp => g.mul(y),
            Unary::Ln => g.div(x),
            Unary::Sqrt => g.div(&y.scale(T::one() + T::one())),
            Unary::Tanh => Val::fused_by(g, y, tanh_slope, tanh_slope),
            Unary::Sigmoid => Val::fused_by(g, y, sigmoid_slope, sigmoid_slope),
            Unary::Relu => g.mul_const(&x.value().relu_mask()),
            Unary::Abs => g.mul_const(&x.value().sign()),
            Unary::Square => Val::fused_by(g, x, square_slope, square_slope),
            Unary::Recip => g.mul(&y.square()).neg(),
            Unary::Powf(p) => g.mul(&x.powf(p - T::one()).scale(p)),
            Unary::Scale(s) => g.scale(s),
            Unary::AddScalar(_) => g.clone(),
        }
    }
}

/// `f'` of tanh from its output `y`, on a scalar (one fused pass over
/// tensors) or on a `Val` (composed, differentiable): the same expression.
fn tanh_slope<V: Slope>(y: &V) -> V {
    y.square().one_minus()
}

/// `f'` of the sigmoid from its output `y` (see [`tanh_slope`]).
fn sigmoid_slope<V: Slope>(y: &V) -> V {
    y.times(&y.one_minus())
}

/// `f'` of `x²` (see [`tanh_slope`]).
fn square_slope<V: Slope>(x: &V) -> V {
    x.twice()
}

/// The arithmetic the fused slopes are written in: scalars and `Val`s
/// alike, with the same rounding (`1 − a` is `−a + 1`, `2x` is `x + x`).
trait Slope: Sized {
    fn times(&self, other: &Self) -> Self;
    fn square(&self) -> Self;
    fn one_minus(&self) -> Self;
    fn twice(&self) -> Self;
}

impl<T: Scalar> Slope for T {
    fn times(&self, other: &Self) -> Self {
        *self * *other
    }
    fn square(&self) -> Self {
        *self * *self
    }
    fn one_minus(&self) -> Self {
        T::one() - *self
    }
    fn twice(&self) -> Self {
        *self + *self
    }
}

impl<T: Scalar> Slope for Val<'_, T> {
    fn times(&self, other: &Self) -> Self {
        self.mul(other)
    }
    fn square(&self) -> Self {
        Val::square(self)
    }
    fn one_minus(&self) -> Self {
        self.neg().add_scalar(T::one())
    }
    fn twice(&self) -> Self {
        self.scale(T::one() + T::one())
    }
}

/// Each unary `Var` method records its `Unary` variant; the derivative
/// is stated once, in the method's doc.
macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident $(($p:ident))? => $variant:ident;)*) => {$(
        $(#[$doc])*
        #[track_caller]
        pub fn $name(self $(, $p: T)?) -> Self {
            self.unary(Unary::$variant $(($p))?)
        }
    )*};
}

// `neg` is also reachable as `-x` (the `Neg` impl calls it).
#[allow(clippy::should_implement_trait)]
impl<'t, T: Scalar> Var<'t, T> {
    #[track_caller]
    pub(crate) fn unary(self, op: Unary<T>) -> Self {
        let y = op.forward(&self.value());
        crate::error::or_panic(self.tape.record(y, Op::Unary(op), &[self]))
    }

    unary_methods! {
        /// Elementwise `-x`. Derivative: `-1`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(2.0)).neg().value().item(), -2.0);
        /// ```
        neg => Neg;
        /// Elementwise `eˣ`. Derivative: `eˣ`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(0.0)).exp().value().item(), 1.0);
        /// ```
        exp => Exp;
        /// Elementwise natural logarithm (NaN below 0, -inf at 0). Derivative: `1/x`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(1.0)).ln().value().item(), 0.0);
        /// ```
        ln => Ln;
        /// Elementwise square root. Derivative: `1/(2√x)`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(9.0)).sqrt().value().item(), 3.0);
        /// ```
        sqrt => Sqrt;
        /// Elementwise `tanh`. Derivative: `1 - tanh²(x)`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(0.0)).tanh().value().item(), 0.0);
        /// ```
        tanh => Tanh;
        /// Elementwise logistic sigmoid `1/(1+e⁻ˣ)`, stable for large `|x|`.
        /// Derivative: `σ(x)(1-σ(x))`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// let y = tape.leaf(Tensor::from_vec(vec![0.0, 1000.0, -1000.0], &[3])).sigmoid();
        /// assert_eq!(y.value().data(), &[0.5, 1.0, 0.0]);
        /// ```
        sigmoid => Sigmoid;
        /// Elementwise `max(x, 0)`. Derivative: `1` where `x > 0`, else `0`
        /// (0 at the kink, as PyTorch).
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// let y = tape.leaf(Tensor::from_vec(vec![-1.0, 2.0], &[2])).relu();
        /// assert_eq!(y.value().data(), &[0.0, 2.0]);
        /// ```
        relu => Relu;
        /// Elementwise `|x|`. Derivative: `sign(x)` (0 at 0).
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(-3.0)).abs().value().item(), 3.0);
        /// ```
        abs => Abs;
        /// Elementwise `x²`. Derivative: `2x`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(-3.0)).square().value().item(), 9.0);
        /// ```
        square => Square;
        /// Elementwise `1/x`. Derivative: `-1/x²`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).recip().value().item(), 0.25);
        /// ```
        recip => Recip;
        /// Elementwise `1 - x` (a gate's complement), one op. Derivative: `-1`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(0.25)).one_minus().value().item(), 0.75);
        /// ```
        one_minus => OneMinus;
        /// Elementwise `xᵖ`. Derivative: `p·xᵖ⁻¹`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).powf(1.5).value().item(), 8.0);
        /// ```
        powf(p) => Powf;
        /// Multiplies by a constant: `x·s`. Derivative: `s`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).scale(0.5).value().item(), 2.0);
        /// ```
        scale(s) => Scale;
        /// Adds a constant: `x + s`. Derivative: `1`.
        ///
        /// ```
        /// # use tapegrad_autodiff::{Tape, Tensor};
        /// let tape = Tape::<f64>::new();
        /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).add_scalar(1.0).value().item(), 5.0);
        /// ```
        add_scalar(s) => AddScalar;
    }
}
