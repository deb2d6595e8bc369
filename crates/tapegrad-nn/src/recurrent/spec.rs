//! Building recurrent layers: sizes, then named options, then the cells.

use rand::Rng;
use tapegrad_tensor::Scalar;

use super::layer::check_dropout;
use crate::{Activation, Cell, Checkpoint, GruCell, LstmCell, NnError, Result, Rnn, RnnCell, Segments};

/// The shape of a recurrent layer before its cells exist: input and hidden
/// sizes, then layers, directions, dropout and layout by name, then the
/// cells (`lstm`, `gru`, `elman`, or any cell with [`RnnSpec::cells`]).
/// PyTorch's `nn.LSTM(input, hidden, num_layers=2, bidirectional=True)`
/// is `Rnn::spec(input, hidden).layers(2).bidirectional(true).lstm(&mut rng)`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{Activation, LstmCell, Module, Rnn};
/// let mut rng = StdRng::seed_from_u64(0);
/// let lstm = Rnn::spec(3, 4).layers(2).bidirectional(true).dropout(0.1).lstm::<f32, _>(&mut rng);
/// assert_eq!((lstm.num_layers(), lstm.is_bidirectional()), (2, true));
/// let elman = Rnn::spec(3, 4).elman::<f64, _>(Activation::Relu, &mut rng); // one layer, one direction
/// assert_eq!(elman.params().len(), 4);
/// // Any cell: `make` gets each cell's input size.
/// let custom = Rnn::spec(3, 4).layers(3).cells(|i| LstmCell::<f64>::new(i, 4, &mut rng).with_forget_bias(1.0));
/// assert_eq!(custom.num_layers(), 3);
/// assert!(Rnn::spec(3, 4).layers(0).try_cells(|i| LstmCell::<f64>::new(i, 4, &mut rng)).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RnnSpec {
    input: usize,
    hidden: usize,
    layers: usize,
    bidirectional: bool,
    dropout: f64,
    batch_first: bool,
    segments: Segments,
    checkpoint: Checkpoint,
}

impl Rnn<()> {
    /// A layer of `input` features in and `hidden` units per direction,
    /// by default one layer, one direction, no dropout, time-major.
    pub fn spec(input: usize, hidden: usize) -> RnnSpec {
        RnnSpec {
            input,
            hidden,
            layers: 1,
            bidirectional: false,
            dropout: 0.0,
            batch_first: false,
            segments: Segments::Auto,
            checkpoint: Checkpoint::Off,
        }
    }
}

impl RnnSpec {
    /// Stacked layers (PyTorch's `num_layers`; default 1).
    pub fn layers(self, n: usize) -> Self {
        RnnSpec { layers: n, ..self }
    }
    /// A reverse direction per layer, outputs concatenated (default false).
    pub fn bidirectional(self, yes: bool) -> Self {
        RnnSpec { bidirectional: yes, ..self }
    }
    /// Dropout between layers when the pass has dropout on (default 0).
    pub fn dropout(self, p: f64) -> Self {
        RnnSpec { dropout: p, ..self }
    }
    /// `(B, T, F)` inputs and outputs instead of `(T, B, F)` (default false).
    pub fn batch_first(self, yes: bool) -> Self {
        RnnSpec { batch_first: yes, ..self }
    }

    /// Steps per segment (default [`Segments::Auto`]; see [`Rnn::segments`]).
    pub fn segments(self, segments: Segments) -> Self {
        RnnSpec { segments, ..self }
    }
    /// Gradient checkpointing (default off; see [`Rnn::checkpoint`]).
    pub fn checkpoint(self, checkpoint: Checkpoint) -> Self {
        RnnSpec { checkpoint, ..self }
    }

    /// The layer with a cell `make(input_size)` per layer and direction, in
    /// PyTorch's order; checked as [`Rnn::from_cells`] checks (every cell's
    /// input size is what it receives, directions agree in hidden size).
    ///
    /// # Errors
    /// [`NnError::Config`] for zero layers, a dropout outside `[0, 1)`,
    /// segments of zero steps, or cells whose sizes do not fit the spec or
    /// each other.
    pub fn try_cells<T: Scalar, C: Cell<T>>(self, mut make: impl FnMut(usize) -> C) -> Result<Rnn<C>> {
        let bad = |message: String| NnError::Config { op: "Rnn::spec", message };
        if self.layers == 0 {
            return Err(bad("layers must be at least 1".into()));
        }
        let segments = self.segments.check("Rnn::spec")?;
        let dirs = if self.bidirectional { 2 } else { 1 };
        let layers: Vec<(C, Option<C>)> = (0..self.layers)
            .map(|k| {
                let inp = if k == 0 { self.input } else { self.hidden * dirs };
                (make(inp), self.bidirectional.then(|| make(inp)))
            })
            .collect();
        for (k, (f, r)) in layers.iter().enumerate() {
            if let Some(c) = std::iter::once(f).chain(r).find(|c| c.hidden_size() != self.hidden) {
                return Err(bad(format!("layer {k}'s cell has hidden size {}, but {} was asked for", c.hidden_size(), self.hidden)));
            }
        }
        if layers[0].0.input_size() != self.input {
            return Err(bad(format!("layer 0 takes {} features but receives {}", layers[0].0.input_size(), self.input)));
        }
        let layer = Rnn::from_cells(layers)?.dropout(check_dropout(self.dropout)?).batch_first(self.batch_first);
        Ok(layer.segments(segments).checkpoint(self.checkpoint))
    }

    /// Panicking form of [`RnnSpec::try_cells`].
    ///
    /// # Panics
    /// With the message of the error `try_cells` returns.
    #[track_caller]
    pub fn cells<T: Scalar, C: Cell<T>>(self, make: impl FnMut(usize) -> C) -> Rnn<C> {
        self.try_cells(make).unwrap_or_else(|e| panic!("{e}"))
    }

    /// PyTorch's `nn.LSTM` with its default init.
    ///
    /// # Panics
    /// As [`RnnSpec::cells`].
    #[track_caller]
    pub fn lstm<T: Scalar, R: Rng + ?Sized>(self, rng: &mut R) -> Rnn<LstmCell<T>> {
        self.cells(|i| LstmCell::new(i, self.hidden, rng))
    }

    /// PyTorch's `nn.GRU` with its default init.
    ///
    /// # Panics
    /// As [`RnnSpec::cells`].
    #[track_caller]
    pub fn gru<T: Scalar, R: Rng + ?Sized>(self, rng: &mut R) -> Rnn<GruCell<T>> {
        self.cells(|i| GruCell::new(i, self.hidden, rng))
    }

    /// PyTorch's `nn.RNN` with `nonlinearity` = `activation`.
    ///
    /// # Panics
    /// As [`RnnSpec::cells`].
    #[track_caller]
    pub fn elman<T: Scalar, R: Rng + ?Sized>(self, activation: Activation, rng: &mut R) -> Rnn<RnnCell<T>> {
        self.cells(|i| RnnCell::new(i, self.hidden, activation, rng))
    }
}
