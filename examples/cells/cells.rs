//! Five published recurrent cells, each written as its paper's equations
//! with the `Cell` API: a `#[derive(Module)]` struct, a `new`, and a `Cell`
//! impl whose `project` is the input-only part (run for every step at once)
//! and whose `step` is the recurrence. No backward code anywhere. Generic
//! over the float type, so the same definitions are property-checked in f64
//! and benchmarked in f32. Their PyTorch equivalents are in `PYTORCH.md`.

use rand::rngs::StdRng;
use tapegrad::prelude::*;

/// A `Param` drawn from `U(-1/√hidden, 1/√hidden)`, PyTorch's recurrent init.
fn init<T: Scalar>(shape: &[usize], hidden: usize, rng: &mut StdRng) -> Param<T> {
    Param::new(tapegrad::nn::uniform_init(shape, hidden, rng))
}

/// IndRNN: Li, Li, Cook, Zhu & Gao (2018), *Independently Recurrent Neural
/// Network (IndRNN): Building A Longer and Deeper RNN*, CVPR, eq. (2):
///
/// ```text
/// h' = relu(W·x + u ⊙ h + b)
/// ```
///
/// The recurrent weight is a vector `u`, so each unit only sees its own
/// past; here `u ~ U(0, 1)`.
#[derive(Debug, Clone, Module)]
pub struct IndRnn<T: Scalar> {
    w: Linear<T>,
    u: Param<T>,
}

impl<T: Scalar> IndRnn<T> {
    /// A cell of `input` features and `hidden` units.
    pub fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        IndRnn { w: Linear::new(input, hidden, rng), u: Param::new(Tensor::rand_uniform(&[hidden], T::zero(), T::one(), rng)) }
    }
}

impl<T: Scalar> Cell<T> for IndRnn<T> {
    type State<'t> = Var<'t, T>;
    fn input_size(&self) -> usize {
        self.w.weight.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.u.shape()[0]
    }
    fn project<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        self.w.forward(p, x)
    }
    fn step<'t>(&self, p: &Binding<'t, T>, wx: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        Ok((wx + p.param(&self.u) * *h).relu())
    }
}

/// Peephole LSTM: Gers & Schmidhuber (2000), *Recurrent Nets that Time and
/// Count*, IJCNN; the gates also look at the cell state:
///
/// ```text
/// i = σ(W_i·x + U_i·h + p_i ⊙ c + b_i)      f = σ(W_f·x + U_f·h + p_f ⊙ c + b_f)
/// c' = f ⊙ c + i ⊙ tanh(W_c·x + U_c·h + b_c)
/// o = σ(W_o·x + U_o·h + p_o ⊙ c' + b_o)     h' = o ⊙ tanh(c')
/// ```
#[derive(Debug, Clone, Module)]
pub struct PeepholeLstm<T: Scalar> {
    w: Linear<T>,
    u: Param<T>,
    peep: Param<T>,
}

impl<T: Scalar> PeepholeLstm<T> {
    /// A cell of `input` features and `hidden` units; gates `i, f, c, o`.
    pub fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        PeepholeLstm {
            w: Linear::new(input, 4 * hidden, rng),
            u: init(&[4 * hidden, hidden], hidden, rng),
            peep: init(&[3, hidden], hidden, rng),
        }
    }
}

impl<T: Scalar> Cell<T> for PeepholeLstm<T> {
    type State<'t> = LstmState<'t, T>;
    fn input_size(&self) -> usize {
        self.w.weight.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.u.shape()[1]
    }
    fn project<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        self.w.forward(p, x)
    }
    fn step<'t>(&self, p: &Binding<'t, T>, wx: Var<'t, T>, s: &LstmState<'t, T>) -> Result<LstmState<'t, T>, NnError> {
        let (g, pc) = ((wx + s.h.matmul(p.param(&self.u).t())).try_chunk(4, 1)?, p.param(&self.peep).try_chunk(3, 0)?);
        let c = (g[1] + pc[1] * s.c).sigmoid() * s.c + (g[0] + pc[0] * s.c).sigmoid() * g[2].tanh();
        Ok(LstmState { h: (g[3] + pc[2] * c).sigmoid() * c.tanh(), c })
    }
}

/// Layer-normalised LSTM: Ba, Kiros & Hinton (2016), *Layer Normalization*,
/// arXiv:1607.06450, §A (eq. 20–22):
///
/// ```text
/// (f, i, o, g) = LN(W_x·x; α_x, β) + LN(W_h·h; α_h)
/// c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
/// h' = σ(o) ⊙ tanh(LN(c'; α_c, β_c))
/// ```
///
/// The paper's `β_x`, `β_h` and `b` only ever appear summed, so they are
/// one bias `β` (`ln_x`'s); `ln_h` has none. Gains start at 1, biases at 0.
#[derive(Debug, Clone, Module)]
pub struct LnLstm<T: Scalar> {
    w_x: Param<T>,
    w_h: Param<T>,
    ln_x: LayerNorm<T>,
    ln_h: LayerNorm<T>,
    ln_c: LayerNorm<T>,
}

impl<T: Scalar> LnLstm<T> {
    /// A cell of `input` features and `hidden` units.
    pub fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        let (w_x, w_h) = (init(&[4 * hidden, input], hidden, rng), init(&[4 * hidden, hidden], hidden, rng));
        let (ln_x, ln_h, ln_c) = (LayerNorm::new(&[4 * hidden]), LayerNorm::new(&[4 * hidden]).without_bias(), LayerNorm::new(&[hidden]));
        LnLstm { w_x, w_h, ln_x, ln_h, ln_c }
    }
}

impl<T: Scalar> Cell<T> for LnLstm<T> {
    type State<'t> = LstmState<'t, T>;
    fn input_size(&self) -> usize {
        self.w_x.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.w_h.shape()[1]
    }
    fn project<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        self.ln_x.forward(p, x.try_matmul(p.param(&self.w_x).t())?)
    }
    fn step<'t>(&self, p: &Binding<'t, T>, lx: Var<'t, T>, s: &LstmState<'t, T>) -> Result<LstmState<'t, T>, NnError> {
        let g = (lx + self.ln_h.forward(p, s.h.matmul(p.param(&self.w_h).t()))?).try_chunk(4, 1)?;
        let c = g[0].sigmoid() * s.c + g[1].sigmoid() * g[3].tanh();
        Ok(LstmState { h: g[2].sigmoid() * self.ln_c.forward(p, c)?.tanh(), c })
    }
}

/// The state of an [`Sru`]: the recurrence runs on `c`; the output is `h`.
#[derive(Debug, Clone, Copy, State)]
pub struct SruState<'t, T: Scalar> {
    /// The internal state.
    pub c: Var<'t, T>,
    /// The output (highway mix of `c` and the input).
    #[state(output)]
    pub h: Var<'t, T>,
}

/// SRU: Lei, Zhang, Wang, Dai & Artzi (2018), *Simple Recurrent Units for
/// Highly Parallelizable Recurrence*, EMNLP, eq. (3)–(7):
///
/// ```text
/// f = σ(W_f·x + v_f ⊙ c + b_f)       c' = f ⊙ c + (1 − f) ⊙ (W·x)
/// r = σ(W_r·x + v_r ⊙ c + b_r)       h' = r ⊙ c' + (1 − r) ⊙ (W_h·x)
/// ```
///
/// Every matrix product is input-only (`project`); the step is elementwise.
/// `W_h·x` is the paper's projection of the highway input when the input
/// and hidden sizes differ.
#[derive(Debug, Clone, Module)]
pub struct Sru<T: Scalar> {
    w: Param<T>,
    v: Param<T>,
    b: Param<T>,
}

impl<T: Scalar> Sru<T> {
    /// A cell of `input` features and `hidden` units.
    pub fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        Sru { w: init(&[4 * hidden, input], hidden, rng), v: init(&[2, hidden], hidden, rng), b: Param::new(Tensor::zeros(&[2, hidden])) }
    }
}

impl<T: Scalar> Cell<T> for Sru<T> {
    type State<'t> = SruState<'t, T>;
    fn input_size(&self) -> usize {
        self.w.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.v.shape()[1]
    }
    fn project<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        Ok(x.try_linear(p.param(&self.w), None)?)
    }
    fn step<'t>(&self, p: &Binding<'t, T>, wx: Var<'t, T>, s: &SruState<'t, T>) -> Result<SruState<'t, T>, NnError> {
        let (g, v, b) = (wx.try_chunk(4, 1)?, p.param(&self.v).try_chunk(2, 0)?, p.param(&self.b).try_chunk(2, 0)?);
        let (f, r) = ((g[1] + v[0] * s.c + b[0]).sigmoid(), (g[2] + v[1] * s.c + b[1]).sigmoid());
        let c = g[0].lerp(s.c, f);
        Ok(SruState { h: g[3].lerp(c, r), c })
    }
}

/// UGRNN: Collins, Sohl-Dickstein & Sussillo (2017), *Capacity and
/// Trainability in Recurrent Neural Networks*, ICLR, eq. (5):
///
/// ```text
/// c = tanh(W_c·x + U_c·h + b_c)      g = σ(W_g·x + U_g·h + b_g)
/// h' = g ⊙ h + (1 − g) ⊙ c
/// ```
#[derive(Debug, Clone, Module)]
pub struct Ugrnn<T: Scalar> {
    w: Linear<T>,
    u: Param<T>,
}

impl<T: Scalar> Ugrnn<T> {
    /// A cell of `input` features and `hidden` units.
    pub fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        Ugrnn { w: Linear::new(input, 2 * hidden, rng), u: init(&[2 * hidden, hidden], hidden, rng) }
    }
}

impl<T: Scalar> Cell<T> for Ugrnn<T> {
    type State<'t> = Var<'t, T>;
    fn input_size(&self) -> usize {
        self.w.weight.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.u.shape()[1]
    }
    fn project<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        self.w.forward(p, x)
    }
    fn step<'t>(&self, p: &Binding<'t, T>, wx: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>, NnError> {
        let z = (wx + h.matmul(p.param(&self.u).t())).try_chunk(2, 1)?;
        Ok(z[0].tanh().lerp(*h, z[1].sigmoid()))
    }
}
