//! The Elman RNN cell.

use rand::Rng;
use tapegrad_autodiff::{Tape, Var};
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::cell::{check_step, project, uniform_init};
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
/// let bind = Binding::eval(&tape);
/// let h0 = cell.zero_state(&tape, 2);
/// let h1 = cell.step(&bind, tape.constant(Tensor::ones(&[2, 3])), &h0).unwrap();
/// assert_eq!(h1.shape().as_slice(), &[2, 4]);
/// ```
#[derive(Debug, Clone)]
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
}

impl<T: Scalar> Module<T> for RnnCell<T> {
    fn params(&self) -> Vec<(String, &Param<T>)> {
        vec![
            ("weight_ih".into(), &self.weight_ih),
            ("weight_hh".into(), &self.weight_hh),
            ("bias_ih".into(), &self.bias_ih),
            ("bias_hh".into(), &self.bias_hh),
        ]
    }
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        vec![
            ("weight_ih".into(), &mut self.weight_ih),
            ("weight_hh".into(), &mut self.weight_hh),
            ("bias_ih".into(), &mut self.bias_ih),
            ("bias_hh".into(), &mut self.bias_hh),
        ]
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
    fn zero_state<'t>(&self, tape: &'t Tape<T>, batch: usize) -> Var<'t, T> {
        tape.constant(Tensor::zeros(&[batch, self.hidden_size()]))
    }
    fn state_shapes(&self, batch: usize) -> Vec<Shape> {
        vec![Shape::from_slice(&[batch, self.hidden_size()])]
    }
    fn step<'t>(&self, b: &Binding<'t, T>, x: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>> {
        check_step(STEP, x, self.input_size(), &[], 0)?;
        let xp = project(x, b.param(&self.weight_ih), b.param(&self.bias_ih), b.param(&self.bias_hh))?;
        self.step_projected(b, xp, h)
    }
    fn project_inputs<'t>(&self, b: &Binding<'t, T>, x: Var<'t, T>) -> Result<Option<Var<'t, T>>> {
        Ok(Some(project(x, b.param(&self.weight_ih), b.param(&self.bias_ih), b.param(&self.bias_hh))?))
    }
    fn step_projected<'t>(&self, b: &Binding<'t, T>, xp: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>> {
        let hidden = self.hidden_size();
        check_step(STEP, xp, hidden, &[("h", *h)], hidden)?;
        // Both biases are already in `xp` (see `cell::project`).
        let pre = xp.try_add(h.try_matmul_t(b.param(&self.weight_hh), false, true)?)?;
        Ok(match self.activation {
            Activation::Tanh => pre.tanh(),
            Activation::Relu => pre.relu(),
            Activation::Sigmoid => pre.sigmoid(),
        })
    }
}
