//! The LSTM cell.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape};

use super::cell::{check_step, project, uniform_init};
use crate::{Binding, Cell, Module, Param, Result, State};

/// The LSTM state: hidden `h` and cell `c`, each `(B, H)`.
#[derive(Debug, Clone, Copy, State)]
#[module(crate = crate)]
pub struct LstmState<'t, T: Scalar> {
    /// Hidden state (the output).
    pub h: Var<'t, T>,
    /// Cell state.
    pub c: Var<'t, T>,
}

/// LSTM cell with PyTorch's equations and gate order (i, f, g, o stacked in
/// the weights):
///
/// ```text
/// [i f g o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh
/// i, f, o = σ(i), σ(f), σ(o);  g = tanh(g)
/// c' = f⊙c + i⊙g;  h' = o⊙tanh(c')
/// ```
///
/// Parameters `weight_ih` (4H×I), `weight_hh` (4H×H), `bias_ih`, `bias_hh` (4H).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Cell, LstmCell};
/// use tapegrad_tensor::Tensor;
/// let cell = LstmCell::<f32>::new(3, 5, &mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let s = cell.forward(&Binding::new(&tape), tape.constant(Tensor::ones(&[2, 3])), &cell.zero_state(&tape, 2)).unwrap();
/// assert_eq!((s.h.shape().as_slice(), s.c.shape().as_slice()), (&[2usize, 5][..], &[2usize, 5][..]));
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct LstmCell<T: Scalar> {
    /// `W_ih`, `(4H, I)`, gates i, f, g, o.
    pub weight_ih: Param<T>,
    /// `W_hh`, `(4H, H)`.
    pub weight_hh: Param<T>,
    /// `b_ih`, `(4H)`.
    pub bias_ih: Param<T>,
    /// `b_hh`, `(4H)`.
    pub bias_hh: Param<T>,
}

impl<T: Scalar> LstmCell<T> {
    /// A cell with PyTorch's default init `U(-1/sqrt(H), 1/sqrt(H))`.
    pub fn new<R: Rng + ?Sized>(input: usize, hidden: usize, rng: &mut R) -> Self {
        LstmCell {
            weight_ih: Param::new(uniform_init(&[4 * hidden, input], hidden, rng)),
            weight_hh: Param::new(uniform_init(&[4 * hidden, hidden], hidden, rng)),
            bias_ih: Param::new(uniform_init(&[4 * hidden], hidden, rng)),
            bias_hh: Param::new(uniform_init(&[4 * hidden], hidden, rng)),
        }
    }
}

impl<T: Scalar> LstmCell<T> {
    /// Sets the forget gate's bias (`bias_ih` entries `H..2H`; `bias_hh`'s
    /// are zeroed) to `value`, the usual remedy for an LSTM that forgets too
    /// fast early in training (Jozefowicz et al., 2015). PyTorch's default
    /// init does not do this; call it explicitly.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// let cell = tapegrad_nn::LstmCell::<f32>::new(2, 3, &mut StdRng::seed_from_u64(0)).with_forget_bias(1.0);
    /// assert_eq!(&cell.bias_ih.value().data()[3..6], &[1.0; 3]);
    /// ```
    pub fn with_forget_bias(mut self, value: T) -> Self {
        let h = self.weight_hh.shape()[1];
        self.bias_ih.data_mut()[h..2 * h].iter_mut().for_each(|b| *b = value);
        self.bias_hh.data_mut()[h..2 * h].iter_mut().for_each(|b| *b = T::zero());
        self
    }
}

/// The op named by the cell's shape errors.
const STEP: &str = "LstmCell::step";

impl<T: Scalar> Cell<T> for LstmCell<T> {
    type State<'t> = LstmState<'t, T>;
    fn input_size(&self) -> usize {
        self.weight_ih.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.weight_hh.shape()[1]
    }
    fn project<'t>(&self, b: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        check_step(STEP, x, self.input_size(), &[], 0)?;
        project(x, b.param(&self.weight_ih), b.param(&self.bias_ih), b.param(&self.bias_hh))
    }
    fn state_shapes(&self, batch: usize) -> Vec<Shape> {
        vec![Shape::from_slice(&[batch, self.hidden_size()]); 2]
    }
    fn step<'t>(&self, b: &Binding<'t, T>, xp: Var<'t, T>, s: &LstmState<'t, T>) -> Result<LstmState<'t, T>> {
        let hidden = self.hidden_size();
        check_step(STEP, xp, 4 * hidden, &[("h", s.h), ("c", s.c)], hidden)?;
        // Both biases are already in `xp` (see `cell::project`).
        let hh = s.h.try_matmul(b.param(&self.weight_hh).t())?;
        // Everything after the product is elementwise: one fused region
        // (one tape node with outputs `h` and `c`).
        let (h, c) = xp.tape().fused(|| -> Result<_> {
            let g = xp.try_add(hh)?.try_chunk(4, 1)?;
            let (i, f, gg, o) = (g[0].sigmoid(), g[1].sigmoid(), g[2].tanh(), g[3].sigmoid());
            let c = f.try_mul(s.c)?.try_add(i.try_mul(gg)?)?;
            Ok((o.try_mul(c.tanh())?, c))
        })?;
        Ok(LstmState { h, c })
    }
}
