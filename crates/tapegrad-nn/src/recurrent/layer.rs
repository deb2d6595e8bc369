//! Recurrent layers over any cell: unrolled, stacked, bidirectional,
//! variable-length.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Tensor};

use super::segments::Plan;
use super::unroll::{check_state, reverse_time, unroll, validate, Place};
use crate::{child_name, Binding, Cell, Checkpoint, Module, NnError, Param, Result, Segments, Sequence};

/// A recurrent layer over any [`Cell`], PyTorch's `nn.RNN`/`nn.LSTM`/`nn.GRU`
/// generalised: `num_layers` stacked, optionally bidirectional (a forward
/// and a reverse cell per layer, outputs concatenated), optional dropout
/// between layers in training, time-major `(T, B, I)` or batch-first input,
/// optional per-sequence lengths.
///
/// Parameters are named as PyTorch names them: the cell's own names with
/// `_l{k}` and, for the reverse direction, `_reverse` appended
/// (`weight_ih_l0`, `bias_hh_l1_reverse`, ...).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Rnn};
/// use tapegrad_tensor::Tensor;
/// let lstm = Rnn::spec(3, 4).layers(2).bidirectional(true).lstm(&mut StdRng::seed_from_u64(0));
/// let tape = Tape::<f64>::new();
/// let bind = Binding::new(&tape);
/// let x = tape.constant(Tensor::ones(&[5, 2, 3])); // (T, B, I)
/// let out = lstm.forward(&bind, x, None, Some(&[5, 3])).unwrap();
/// assert_eq!(out.output.shape().as_slice(), &[5, 2, 8]); // 2 directions × H
/// assert_eq!(out.last.len(), 4); // layers × directions, PyTorch's order
/// ```
#[derive(Debug, Clone)]
pub struct Rnn<C> {
    layers: Vec<(C, Option<C>)>,
    dropout: f64,
    batch_first: bool,
    plan: Plan,
}

/// Everything a forward pass of [`Rnn`] computed.
#[derive(Debug, Clone)]
pub struct RnnOutput<'t, T: Scalar, S> {
    /// The last layer's outputs, `(T, B, D·H)` (or `(B, T, D·H)` batch-first),
    /// zero at padded steps.
    pub output: Var<'t, T>,
    /// Final state of every layer and direction, in PyTorch's order
    /// (layer 0 forward, layer 0 reverse, layer 1 forward, ...), each taken
    /// at the sequence's true end.
    pub last: Vec<S>,
    /// Every step of every layer and direction, same order as `last`.
    pub sequences: Vec<Sequence<'t, T, S>>,
}

impl<C> Rnn<C> {
    /// A layer from explicit cells: per layer, a forward cell and an
    /// optional reverse cell (all layers must agree on having one).
    ///
    /// # Errors
    /// [`NnError::Config`] if there are no layers, directions are mixed, or
    /// a layer's input size is not the previous layer's output size.
    pub fn from_cells<T: Scalar>(layers: Vec<(C, Option<C>)>) -> Result<Self>
    where
        C: Cell<T>,
    {
        check_layers("Rnn::from_cells", &layers)?;
        Ok(Rnn { layers, dropout: 0.0, batch_first: false, plan: Plan::default() })
    }

    /// Dropout probability on the outputs of every layer but the last,
    /// when the pass has dropout on (PyTorch's `dropout`).
    ///
    /// # Panics
    /// If `p` is not in `[0, 1)`.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = check_dropout(p).unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// Inputs and outputs `(B, T, F)` instead of `(T, B, F)` (PyTorch's
    /// `batch_first`).
    pub fn batch_first(mut self, batch_first: bool) -> Self {
        self.batch_first = batch_first;
        self
    }

    /// How many steps run as one segment (default [`Segments::Auto`],
    /// `⌈√T⌉`, at least 32): each segment projects its steps' inputs in one product, and
    /// is the unit [`Rnn::checkpoint`] recomputes.
    ///
    /// # Panics
    /// For `Segments::Steps(0)`.
    pub fn segments(mut self, segments: Segments) -> Self {
        self.plan.segments = segments.check("Rnn::segments").unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// Gradient checkpointing (default [`Checkpoint::Off`]): with
    /// [`Checkpoint::On`], only each segment's last state keeps its value
    /// for the backward pass, which recomputes the segment's steps; the
    /// gradients are the same bit for bit. See [`Checkpoint`].
    pub fn checkpoint(mut self, checkpoint: Checkpoint) -> Self {
        self.plan.checkpoint = checkpoint;
        self
    }

    /// Number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Whether each layer has a reverse direction.
    pub fn is_bidirectional(&self) -> bool {
        self.layers[0].1.is_some()
    }

    /// The cells: per layer, forward and optional reverse.
    pub fn cells(&self) -> &[(C, Option<C>)] {
        &self.layers
    }

    /// Runs the layer. `x` is `(T, B, I)` (or `(B, T, I)` batch-first);
    /// `init` gives one initial state per layer and direction in PyTorch's
    /// order (zeros if `None`); `lengths` gives each sequence's true length
    /// (any order), steps past it being padding that affects nothing.
    ///
    /// # Errors
    /// [`NnError::InputShape`], [`NnError::Empty`], [`NnError::Lengths`],
    /// [`NnError::NonFinite`] for a bad input, showing it as passed
    /// (batch-first or not); [`NnError::Config`] for a wrong number of
    /// initial states, [`NnError::StateShape`] for one of the wrong shape
    /// (each part must be exactly what its cell declares,
    /// [`Cell::state_shapes`]), naming the layer and direction: all
    /// checked before any step runs. [`NnError::StateShape`] naming the
    /// cell, the step, the layer and the direction if a cell's step
    /// returns a state of the wrong shape.
    pub fn forward<'t, T: Scalar>(
        &self,
        bind: &Binding<'t, T>,
        x: Var<'t, T>,
        init: Option<&[C::State<'t>]>,
        lengths: Option<&[usize]>,
    ) -> Result<RnnOutput<'t, T, C::State<'t>>>
    where
        C: Cell<T>,
    {
        const OP: &str = "Rnn::forward";
        let dirs = if self.is_bidirectional() { 2 } else { 1 };
        // Checked as the caller passed it, so errors show that shape.
        validate(OP, &x.value(), self.layers[0].0.input_size(), lengths, self.batch_first)?;
        let mut x = if self.batch_first { x.try_transpose(0, 1)? } else { x };
        if let Some(init) = init {
            self.check_init(init, x.shape()[1])?;
        }
        let mut last = Vec::with_capacity(self.layers.len() * dirs);
        let mut sequences = Vec::with_capacity(self.layers.len() * dirs);
        for (k, (fwd, rev)) in self.layers.iter().enumerate() {
            if k > 0 && self.dropout > 0.0 && bind.dropout_on() {
                x = dropout(bind, x, self.dropout)?;
            }
            let s_f = unroll(fwd, bind, x, init.map(|i| &i[k * dirs]), (lengths, self.plan), Place { layer: k, reverse: false })?;
            let mut out = s_f.output;
            last.push(s_f.last.clone());
            sequences.push(s_f);
            if let Some(rev) = rev {
                let xr = reverse_time(x, lengths)?;
                let at = Place { layer: k, reverse: true };
                let s_r = unroll(rev, bind, xr, init.map(|i| &i[k * dirs + 1]), (lengths, self.plan), at)?;
                let out_r = reverse_time(s_r.output, lengths)?;
                out = Var::try_concat(&[out, out_r], 2)?;
                last.push(s_r.last.clone());
                sequences.push(s_r);
            }
            x = out;
        }
        let output = if self.batch_first { x.try_transpose(0, 1)? } else { x };
        Ok(RnnOutput { output, last, sequences })
    }
}

impl<C> Rnn<C> {
    /// Checks the initial states given to [`Rnn::forward`]: one per layer
    /// and direction, each part exactly of the shape its cell declares
    /// for a batch of `batch`.
    fn check_init<'t, T: Scalar>(&self, init: &[C::State<'t>], batch: usize) -> Result<()>
    where
        C: Cell<T>,
    {
        const OP: &str = "Rnn::forward";
        let dirs = if self.is_bidirectional() { 2 } else { 1 };
        if init.len() != self.layers.len() * dirs {
            return Err(NnError::Config {
                op: OP,
                message: format!("{} initial states given, {} needed (layers × directions)", init.len(), self.layers.len() * dirs),
            });
        }
        for (k, (fwd, rev)) in self.layers.iter().enumerate() {
            for (d, cell) in std::iter::once(fwd).chain(rev).enumerate() {
                let at = Place { layer: k, reverse: d == 1 };
                check_state(OP, &init[k * dirs + d], &cell.state_shapes(batch), || format!("the initial state of {at}"))?;
            }
        }
        Ok(())
    }
}

/// Checks that stacked cells fit together: at least one layer, a reverse
/// cell in all layers or none, both directions of a layer of one hidden
/// size, and each layer's input size the output size of the one below.
fn check_layers<T: Scalar, C: Cell<T>>(op: &'static str, layers: &[(C, Option<C>)]) -> Result<()> {
    let bad = |message: String| NnError::Config { op, message };
    let first = layers.first().ok_or_else(|| bad("no layers".into()))?;
    let bidir = first.1.is_some();
    let mut expect = first.0.input_size();
    for (k, (f, r)) in layers.iter().enumerate() {
        if r.is_some() != bidir {
            return Err(bad(format!("layer {k} differs from layer 0 in having a reverse cell")));
        }
        for c in std::iter::once(f).chain(r) {
            if c.input_size() != expect {
                return Err(bad(format!("layer {k} takes {} features but receives {expect}", c.input_size())));
            }
            if c.hidden_size() != f.hidden_size() {
                return Err(bad(format!("layer {k}'s directions have different hidden sizes")));
            }
        }
        expect = f.hidden_size() * if bidir { 2 } else { 1 };
    }
    Ok(())
}

/// Inverted dropout: zero each element with probability `p` and scale the
/// rest by `1/(1-p)` (a constant mask, so no backward of its own).
pub(crate) fn dropout<'t, T: Scalar>(bind: &Binding<'t, T>, x: Var<'t, T>, p: f64) -> Result<Var<'t, T>> {
    let shape = x.shape();
    let keep = T::from_f64_lossy(1.0 / (1.0 - p));
    let mask = bind.with_rng(|rng| {
        let n = shape.iter().product();
        let d = (0..n).map(|_| if rng.random::<f64>() < p { T::zero() } else { keep }).collect();
        Tensor::from_vec(d, &shape)
    });
    Ok(x.try_mul(bind.tape().constant(mask))?)
}

impl<C> Rnn<C> {
    /// Every cell of every layer and direction, mutably, in PyTorch's
    /// order (layer 0 forward, layer 0 reverse, layer 1 forward, ...), the
    /// order of [`RnnOutput::last`]: for re-initialising or reconfiguring
    /// cells in place (weights, activation, biases) after building.
    ///
    /// The layer's sizes are not checked again: change values and
    /// settings here, not a cell's input or hidden size (a cell replaced
    /// by one of other sizes is not rejected until the forward pass, and a
    /// single-layer bidirectional layer with unequal hidden sizes is not
    /// rejected at all). To assemble cells of new sizes, use
    /// [`Rnn::from_cells`], which checks them.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Activation, Rnn, RnnCell};
    /// use tapegrad_tensor::Tensor;
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let mut layer = Rnn::spec(2, 4).layers(2).bidirectional(true).elman::<f32, _>(Activation::Tanh, &mut rng);
    /// for cell in layer.cells_mut() {
    ///     *cell = RnnCell::irnn(cell.weight_ih.shape()[1], 4, &mut rng);
    /// }
    /// assert_eq!(layer.cells_mut().count(), 4); // 2 layers × 2 directions
    /// assert!(layer.cells().iter().all(|(f, r)| f.weight_hh.value() == &Tensor::eye(4) && r.is_some()));
    /// ```
    pub fn cells_mut(&mut self) -> impl Iterator<Item = &mut C> + '_ {
        self.layers.iter_mut().flat_map(|(fwd, rev)| std::iter::once(fwd).chain(rev.as_mut()))
    }
}

/// Each cell's names with PyTorch's suffixes: `_l{k}` for layer `k`, then
/// `_reverse` for the reverse direction.
impl<T: Scalar, C: Cell<T>> Module<T> for Rnn<C> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>)) {
        for (k, (fwd, rev)) in self.layers.iter().enumerate() {
            fwd.visit("", &mut |n, p| f(&child_name(prefix, &format!("{n}_l{k}")), p));
            rev.visit("", &mut |n, p| f(&child_name(prefix, &format!("{n}_l{k}_reverse")), p));
        }
    }
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>)) {
        for (k, (fwd, rev)) in self.layers.iter_mut().enumerate() {
            fwd.visit_mut("", &mut |n, p| f(&child_name(prefix, &format!("{n}_l{k}")), p));
            rev.visit_mut("", &mut |n, p| f(&child_name(prefix, &format!("{n}_l{k}_reverse")), p));
        }
    }
}

/// A dropout probability in `[0, 1)`.
pub(crate) fn check_dropout(p: f64) -> Result<f64> {
    if (0.0..1.0).contains(&p) {
        Ok(p)
    } else {
        Err(NnError::Config { op: "Rnn::dropout", message: format!("p must be in [0, 1), got {p}") })
    }
}
