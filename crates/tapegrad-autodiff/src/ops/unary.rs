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
    fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
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

    /// `dL/dx = g · f'(x)`, written with differentiable `Val` ops (so it can
    /// be differentiated again); uses `y` where that is cheaper than `x`.
    pub(crate) fn backward<'t>(&self, x: &Val<'t, T>, y: &Val<'t, T>, g: &Val<'t, T>) -> Val<'t, T> {
        let two = T::one() + T::one();
        match *self {
            Unary::Neg => g.neg(),               // -1
            Unary::Exp => g.mul(y),              // eˣ = y
            Unary::Ln => g.div(x),               // 1/x
            Unary::Sqrt => g.div(&y.scale(two)), // 1/(2√x)
            // 1 - y², one fused pass on plain tensors
            Unary::Tanh => Val::fused_by(g, y, |y| T::one() - y * y, |g, y| g.mul(&y.square().neg().add_scalar(T::one()))),
            // y(1-y), likewise
            Unary::Sigmoid => Val::fused_by(g, y, |y| y * (T::one() - y), |g, y| g.mul(&y.mul(&y.neg().add_scalar(T::one())))),
            Unary::Relu => g.mul_const(&x.value().relu_mask()), // [x > 0]
            Unary::Abs => g.mul_const(&x.value().sign()),       // sign(x)
            Unary::Square => Val::fused_by(g, x, |x| x + x, |g, x| g.mul(&x.scale(two))), // 2x
            Unary::Recip => g.mul(&y.square()).neg(),           // -1/x² = -y²
            Unary::OneMinus => g.neg(),                         // -1
            Unary::Powf(p) => g.mul(&x.powf(p - T::one()).scale(p)), // p·xᵖ⁻¹
            Unary::Scale(s) => g.scale(s),                      // s
            Unary::AddScalar(_) => g.clone(),                   // 1
        }
    }
}

// `neg` is also reachable as `-x` (the `Neg` impl calls it).
#[allow(clippy::should_implement_trait)]
impl<'t, T: Scalar> Var<'t, T> {
    #[track_caller]
    pub(crate) fn unary(self, op: Unary<T>) -> Self {
        let y = op.forward(&self.value());
        crate::error::or_panic(self.tape.record(y, Op::Unary(op), &[self]))
    }

    /// Elementwise `-x`. Derivative: `-1`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(2.0)).neg().value().item(), -2.0);
    /// ```
    #[track_caller]
    pub fn neg(self) -> Self {
        self.unary(Unary::Neg)
    }
    /// Elementwise `eˣ`. Derivative: `eˣ`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(0.0)).exp().value().item(), 1.0);
    /// ```
    #[track_caller]
    pub fn exp(self) -> Self {
        self.unary(Unary::Exp)
    }
    /// Elementwise natural logarithm (NaN below 0, -inf at 0). Derivative: `1/x`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(1.0)).ln().value().item(), 0.0);
    /// ```
    #[track_caller]
    pub fn ln(self) -> Self {
        self.unary(Unary::Ln)
    }
    /// Elementwise square root. Derivative: `1/(2√x)`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(9.0)).sqrt().value().item(), 3.0);
    /// ```
    #[track_caller]
    pub fn sqrt(self) -> Self {
        self.unary(Unary::Sqrt)
    }
    /// Elementwise `tanh`. Derivative: `1 - tanh²(x)`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(0.0)).tanh().value().item(), 0.0);
    /// ```
    #[track_caller]
    pub fn tanh(self) -> Self {
        self.unary(Unary::Tanh)
    }
    /// Elementwise logistic sigmoid `1/(1+e⁻ˣ)`, stable for large `|x|`.
    /// Derivative: `σ(x)(1-σ(x))`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let y = tape.leaf(Tensor::from_vec(vec![0.0, 1000.0, -1000.0], &[3])).sigmoid();
    /// assert_eq!(y.value().data(), &[0.5, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn sigmoid(self) -> Self {
        self.unary(Unary::Sigmoid)
    }
    /// Elementwise `max(x, 0)`. Derivative: `1` where `x > 0`, else `0`
    /// (0 at the kink, as PyTorch).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let y = tape.leaf(Tensor::from_vec(vec![-1.0, 2.0], &[2])).relu();
    /// assert_eq!(y.value().data(), &[0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn relu(self) -> Self {
        self.unary(Unary::Relu)
    }
    /// Elementwise `|x|`. Derivative: `sign(x)` (0 at 0).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(-3.0)).abs().value().item(), 3.0);
    /// ```
    #[track_caller]
    pub fn abs(self) -> Self {
        self.unary(Unary::Abs)
    }
    /// Elementwise `x²`. Derivative: `2x`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(-3.0)).square().value().item(), 9.0);
    /// ```
    #[track_caller]
    pub fn square(self) -> Self {
        self.unary(Unary::Square)
    }
    /// Elementwise `1/x`. Derivative: `-1/x²`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).recip().value().item(), 0.25);
    /// ```
    #[track_caller]
    pub fn recip(self) -> Self {
        self.unary(Unary::Recip)
    }
    /// Elementwise `1 - x` (a gate's complement), one op. Derivative: `-1`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(0.25)).one_minus().value().item(), 0.75);
    /// ```
    #[track_caller]
    pub fn one_minus(self) -> Self {
        self.unary(Unary::OneMinus)
    }
    /// Elementwise `xᵖ`. Derivative: `p·xᵖ⁻¹`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).powf(1.5).value().item(), 8.0);
    /// ```
    #[track_caller]
    pub fn powf(self, p: T) -> Self {
        self.unary(Unary::Powf(p))
    }
    /// Multiplies by a constant: `x·s`. Derivative: `s`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).scale(0.5).value().item(), 2.0);
    /// ```
    #[track_caller]
    pub fn scale(self, s: T) -> Self {
        self.unary(Unary::Scale(s))
    }
    /// Adds a constant: `x + s`. Derivative: `1`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(4.0)).add_scalar(1.0).value().item(), 5.0);
    /// ```
    #[track_caller]
    pub fn add_scalar(self, s: T) -> Self {
        self.unary(Unary::AddScalar(s))
    }
}
