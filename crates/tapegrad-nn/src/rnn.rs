//! Recurrent layers over any cell: unrolled, stacked, bidirectional,
//! variable-length.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Tensor};

use crate::unroll::{check_state, reverse_time, unroll, validate, Place};
use crate::{Activation, Binding, Cell, GruCell, LstmCell, Module, NnError, Param, Result, RnnCell, Sequence};

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
/// let lstm = Rnn::<_>::lstm(3, 4, 2, true, &mut StdRng::seed_from_u64(0));
/// let tape = Tape::<f64>::new();
/// let bind = Binding::eval(&tape);
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
        Ok(Rnn { layers, dropout: 0.0, batch_first: false })
    }

    /// A layer of `num_layers` cells made by `make(input_size)`, twice per
    /// layer if `bidirectional` (forward, then reverse), validated as
    /// [`Rnn::from_cells`] validates, and each cell's hidden size checked
    /// against `hidden`.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{LstmCell, Rnn};
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let ok = Rnn::try_build(3, 4, 2, true, |i| LstmCell::<f32>::new(i, 4, &mut rng)).unwrap();
    /// assert_eq!(ok.num_layers(), 2);
    /// let e = Rnn::try_build(3, 4, 1, false, |i| LstmCell::<f32>::new(i, 5, &mut rng)).unwrap_err();
    /// assert_eq!(e.to_string(), "Rnn::build: layer 0's cell has hidden size 5, but 4 was asked for");
    /// ```
    ///
    /// # Errors
    /// [`NnError::Config`] naming `Rnn::build` if `num_layers` is 0, a cell
    /// has another hidden size than `hidden`, or a cell's input size is not
    /// what its layer receives (`input` for layer 0, `hidden` times the
    /// number of directions above it).
    pub fn try_build<T: Scalar>(
        input: usize,
        hidden: usize,
        num_layers: usize,
        bidirectional: bool,
        mut make: impl FnMut(usize) -> C,
    ) -> Result<Self>
    where
        C: Cell<T>,
    {
        const OP: &str = "Rnn::build";
        if num_layers == 0 {
            return Err(NnError::Config { op: OP, message: "num_layers must be at least 1".into() });
        }
        let dirs = if bidirectional { 2 } else { 1 };
        let layers: Vec<(C, Option<C>)> = (0..num_layers)
            .map(|k| {
                let inp = if k == 0 { input } else { hidden * dirs };
                (make(inp), bidirectional.then(|| make(inp)))
            })
            .collect();
        for (k, (f, r)) in layers.iter().enumerate() {
            if let Some(c) = std::iter::once(f).chain(r).find(|c| c.hidden_size() != hidden) {
                return Err(NnError::Config {
                    op: OP,
                    message: format!("layer {k}'s cell has hidden size {}, but {hidden} was asked for", c.hidden_size()),
                });
            }
        }
        if layers[0].0.input_size() != input {
            return Err(NnError::Config {
                op: OP,
                message: format!("layer 0 takes {} features but receives {input}", layers[0].0.input_size()),
            });
        }
        check_layers(OP, &layers)?;
        Ok(Rnn { layers, dropout: 0.0, batch_first: false })
    }

    /// Panicking form of [`Rnn::try_build`].
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{LstmCell, Rnn};
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let layer = Rnn::build(3, 4, 2, true, |i| LstmCell::<f32>::new(i, 4, &mut rng));
    /// assert!(layer.is_bidirectional());
    /// ```
    ///
    /// # Panics
    /// With the message of the error `try_build` returns.
    #[track_caller]
    pub fn build<T: Scalar>(input: usize, hidden: usize, num_layers: usize, bidirectional: bool, make: impl FnMut(usize) -> C) -> Self
    where
        C: Cell<T>,
    {
        match Self::try_build(input, hidden, num_layers, bidirectional, make) {
            Ok(layer) => layer,
            Err(e) => panic!("{e}"),
        }
    }

    /// Dropout probability on the outputs of every layer but the last, in
    /// training mode only (PyTorch's `dropout`).
    ///
    /// # Panics
    /// If `p` is not in `[0, 1)`.
    pub fn with_dropout(mut self, p: f64) -> Self {
        assert!((0.0..1.0).contains(&p), "Rnn::with_dropout: p must be in [0, 1), got {p}");
        self.dropout = p;
        self
    }

    /// Inputs and outputs are `(B, T, F)` instead of `(T, B, F)`.
    pub fn with_batch_first(mut self, batch_first: bool) -> Self {
        self.batch_first = batch_first;
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
            if k > 0 && self.dropout > 0.0 && bind.is_training() {
                x = dropout(bind, x, self.dropout)?;
            }
            let s_f = unroll(fwd, bind, x, init.map(|i| &i[k * dirs]), lengths, Place { layer: k, reverse: false })?;
            let mut out = s_f.output;
            last.push(s_f.last.clone());
            sequences.push(s_f);
            if let Some(rev) = rev {
                let xr = reverse_time(x, lengths)?;
                let s_r = unroll(rev, bind, xr, init.map(|i| &i[k * dirs + 1]), lengths, Place { layer: k, reverse: true })?;
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

impl<T: Scalar, C: Cell<T>> Module<T> for Rnn<C> {
    fn params(&self) -> Vec<(String, &Param<T>)> {
        let mut out = Vec::new();
        for (k, (f, r)) in self.layers.iter().enumerate() {
            out.extend(f.params().into_iter().map(|(n, p)| (format!("{n}_l{k}"), p)));
            if let Some(r) = r {
                out.extend(r.params().into_iter().map(|(n, p)| (format!("{n}_l{k}_reverse"), p)));
            }
        }
        out
    }
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        let mut out = Vec::new();
        for (k, (f, r)) in self.layers.iter_mut().enumerate() {
            out.extend(f.params_mut().into_iter().map(|(n, p)| (format!("{n}_l{k}"), p)));
            if let Some(r) = r {
                out.extend(r.params_mut().into_iter().map(|(n, p)| (format!("{n}_l{k}_reverse"), p)));
            }
        }
        out
    }
}

impl<T: Scalar> Rnn<LstmCell<T>> {
    /// PyTorch's `nn.LSTM(input, hidden, num_layers, bidirectional=...)`.
    pub fn lstm<R: Rng + ?Sized>(input: usize, hidden: usize, num_layers: usize, bidirectional: bool, rng: &mut R) -> Self {
        Rnn::build(input, hidden, num_layers, bidirectional, |i| LstmCell::new(i, hidden, rng))
    }
}

impl<T: Scalar> Rnn<GruCell<T>> {
    /// PyTorch's `nn.GRU(input, hidden, num_layers, bidirectional=...)`.
    pub fn gru<R: Rng + ?Sized>(input: usize, hidden: usize, num_layers: usize, bidirectional: bool, rng: &mut R) -> Self {
        Rnn::build(input, hidden, num_layers, bidirectional, |i| GruCell::new(i, hidden, rng))
    }
}

impl<T: Scalar> Rnn<RnnCell<T>> {
    /// PyTorch's `nn.RNN(input, hidden, num_layers, nonlinearity=..., bidirectional=...)`.
    pub fn elman<R: Rng + ?Sized>(
        input: usize,
        hidden: usize,
        num_layers: usize,
        bidirectional: bool,
        activation: Activation,
        rng: &mut R,
    ) -> Self {
        Rnn::build(input, hidden, num_layers, bidirectional, |i| RnnCell::new(i, hidden, activation, rng))
    }
}
