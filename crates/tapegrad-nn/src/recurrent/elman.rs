//! The Elman RNN cell.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use super::cell::{check_step, project, uniform_init};
use crate::{Binding, Cell, Module, Param, Result};

/// The activation of an Elman cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `tanh` (PyTorch's default).
    Tanh,
    /// `max(0, x)`.
    Relu,
    /// Logistic sigmoid (as in the seed notes' "hello" example).
    Sigmoid,
}

/// Elman RNN cell, PyTorch's `nn.RNNCell`:
/// `h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)`.
/// Parameters `weight_ih` (H×I), `weight_hh` (H×H), `bias_ih`, `bias_hh` (H).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Activation, Binding, Cell, RnnCell};
/// use tapegrad_tensor::Tensor;
/// let cell = RnnCell::<f64>::new(3, 4, Activation::Tanh, &mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let bind = Binding::new(&tape);
/// let h0 = cell.zero_state(&tape, 2);
/// let h1 = cell.forward(&bind, tape.constant(Tensor::ones(&[2, 3])), &h0).unwrap();
/// assert_eq!(h1.shape().as_slice(), &[2, 4]);
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct RnnCell<T: Scalar> {
    /// `W_ih`, `(H, I)`.
    pub weight_ih: Param<T>,
    /// `W_hh`, `(H, H)`.
    pub weight_hh: Param<T>,
    /// `b_ih`, `(H)`.
    pub bias_ih: Param<T>,
    /// `b_hh`, `(H)`.
    pub bias_hh: Param<T>,
    /// The activation.
    #[module(skip)]
    pub activation: Activation,
}

impl<T: Scalar> RnnCell<T> {
    /// A cell with PyTorch's default init `U(-1/sqrt(H), 1/sqrt(H))`.
    pub fn new<R: Rng + ?Sized>(input: usize, hidden: usize, activation: Activation, rng: &mut R) -> Self {
        RnnCell {
            weight_ih: Param::new(uniform_init(&[hidden, input], hidden, rng)),
            weight_hh: Param::new(uniform_init(&[hidden, hidden], hidden, rng)),
            bias_ih: Param::new(uniform_init(&[hidden], hidden, rng)),
            bias_hh: Param::new(uniform_init(&[hidden], hidden, rng)),
            activation,
        }
    }

    /// The IRNN of Le, Jaitly & Hinton (2015), *A Simple Way to Initialize
    /// Recurrent Networks of Rectified Linear Units* (arXiv:1504.00941): a
    /// ReLU cell whose recurrent weight `W_hh` starts as the identity, both
    /// biases at zero, and input weights `W_ih` drawn from a Gaussian with
    /// mean 0 and standard deviation 0.001 (the paper's setting for its
    /// toy problems). With zero input a non-negative state is carried
    /// unchanged, which is what lets it remember across long sequences.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Activation, RnnCell};
    /// use tapegrad_tensor::Tensor;
    /// let cell = RnnCell::<f64>::irnn(2, 3, &mut StdRng::seed_from_u64(0));
    /// assert_eq!(cell.activation, Activation::Relu);
    /// assert_eq!(cell.weight_hh.value(), &Tensor::eye(3));
    /// assert_eq!(cell.bias_ih.value(), &Tensor::zeros(&[3]));
    /// assert!(cell.weight_ih.value().data().iter().all(|w| w.abs() < 0.01));
    /// ```
    pub fn irnn<R: Rng + ?Sized>(input: usize, hidden: usize, rng: &mut R) -> Self {
        let std = T::from_f64_lossy(0.001);
        RnnCell {
            weight_ih: Param::new(Tensor::rand_normal(&[hidden, input], T::zero(), std, rng)),
            weight_hh: Param::new(Tensor::eye(hidden)),
            bias_ih: Param::new(Tensor::zeros(&[hidden])),
            bias_hh: Param::new(Tensor::zeros(&[hidden])),
            activation: Activation::Relu,
        }
    }
}

/// The op named by the cell's shape errors.
const STEP: &str = "RnnCell::step";

impl<T: Scalar> Cell<T> for RnnCell<T> {
    type State<'t> = Var<'t, T>;
    fn input_size(&self) -> usize {
        self.weight_ih.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.weight_ih.shape()[0]
    }
    fn project<'t>(&self, b: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        check_step(STEP, x, self.input_size(), &[], 0)?;
        project(x, b.param(&self.weight_ih), b.param(&self.bias_ih), b.param(&self.bias_hh))
    }
    fn state_shapes(&self, batch: usize) -> Vec<Shape> {
        vec![Shape::from_slice(&[batch, self.hidden_size()])]
    }
    fn step<'t>(&self, b: &Binding<'t, T>, xp: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>> {
        let hidden = self.hidden_size();
        check_step(STEP, xp, hidden, &[("h", *h)], hidden)?;
        // Both biases are already in `xp` (see `cell::project`).
        let hh = h.try_matmul(b.param(&self.weight_hh).t())?;
        // The sum and the activation: one fused region.
        xp.tape().fused(|| {
            let pre = xp.try_add(hh)?;
            Ok(match self.activation {
                Activation::Tanh => pre.tanh(),
                Activation::Relu => pre.relu(),
                Activation::Sigmoid => pre.sigmoid(),
            })
        })
    }
}
