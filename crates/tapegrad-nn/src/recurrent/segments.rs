//! How a recurrent layer runs a sequence: in segments of steps, each
//! projecting its inputs in one product, and optionally checkpointed.

use tapegrad_tensor::Scalar;

use crate::{NnError, Result};

/// How many steps a recurrent layer runs as one segment. Each segment
/// projects the inputs of its steps in one product ([`crate::Cell::project`]);
/// with [`Checkpoint::On`], a segment is also the unit that is recomputed
/// in the backward pass. The segment length changes which products are
/// formed, so results can differ in the last bits between lengths; it
/// never depends on [`Checkpoint`].
///
/// ```
/// use tapegrad_nn::Segments;
/// assert_eq!(Segments::Auto.length(10_000), 100); // ⌈√10000⌉
/// assert_eq!(Segments::Auto.length(50), 32); // at least 32
/// assert_eq!(Segments::Steps(50).length(1000), 50);
/// assert_eq!(Segments::Steps(50).length(20), 20); // one segment
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Segments {
    /// `⌈√T⌉` steps, `T` the longest sequence's length (padding not
    /// counted), but at least [`Segments::MIN_AUTO`]: with checkpointing,
    /// `√T` segment boundaries are kept and one segment of `√T` steps is
    /// recomputed at a time, which makes the memory held for the backward
    /// pass smallest; shorter sequences, which need no checkpointing, run
    /// in few segments (each costs a product of its own: at T = 50, 7
    /// segments instead of 2 cost 2.4% more instructions per step).
    #[default]
    Auto,
    /// This many steps (at least 1; more than `T` means one segment).
    Steps(usize),
}

impl Segments {
    /// The shortest segment [`Segments::Auto`] makes.
    pub const MIN_AUTO: usize = 32;

    /// The segment length for a sequence of `steps` steps.
    pub fn length(self, steps: usize) -> usize {
        let n = match self {
            Segments::Auto => (1..).find(|&k: &usize| k * k >= steps).unwrap_or(1).max(Self::MIN_AUTO),
            Segments::Steps(n) => n,
        };
        n.clamp(1, steps.max(1))
    }

    /// An error unless the length is at least 1.
    pub(crate) fn check(self, op: &'static str) -> Result<Self> {
        match self {
            Segments::Steps(0) => Err(NnError::Config { op, message: "a segment must hold at least one step".into() }),
            s => Ok(s),
        }
    }
}

/// Whether a recurrent layer keeps the intermediate values of every step
/// that the backward pass reads ([`tapegrad_autodiff::Tape::keep_needed`]:
/// an LSTM step keeps its gates' activations and cell state, not the
/// pre-activations or products no rule reads), or only each segment's last
/// state, recomputing a segment's steps when the backward pass reaches it
/// ([`tapegrad_autodiff::Tape::checkpoint`]). Gradients are the same bit
/// for bit; checkpointing trades about one more forward pass for memory
/// that grows with the number of segments instead of the number of steps.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Checkpoint, LstmCell, Rnn, Segments};
/// use tapegrad_tensor::Tensor;
/// let mut rng = StdRng::seed_from_u64(0);
/// let plain = Rnn::spec(3, 8).lstm::<f64, _>(&mut rng);
/// let checkpointed = plain.clone().segments(Segments::Steps(10)).checkpoint(Checkpoint::On);
/// let x = Tensor::from_vec((0..100 * 2 * 3).map(|k| (k as f64 * 0.1).sin()).collect(), &[100, 2, 3]);
/// let run = |layer: &Rnn<LstmCell<f64>>| {
///     let tape = Tape::new();
///     let bind = Binding::new(&tape);
///     let y = layer.forward(&bind, tape.constant(x.clone()), None, None).unwrap().output;
///     let held = tape.held_values();
///     let grads = bind.grads(&tape.backward(y.square().mean_all()).unwrap());
///     (held, grads.get(&layer.cells()[0].0.weight_hh).unwrap().clone())
/// };
/// let ((held_plain, g_plain), (held, g)) = (run(&plain.segments(Segments::Steps(10))), run(&checkpointed));
/// assert_eq!(g_plain, g); // bit for bit
/// assert!(held * 2 < held_plain); // 5752 values against 16632
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Checkpoint {
    /// Keep every step's values that the backward pass reads (the default).
    #[default]
    Off,
    /// Keep each segment's last state; recompute the segment's steps in the
    /// backward pass.
    On,
}

/// A layer's plan for a sequence: its segments and whether they are
/// checkpointed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub(crate) segments: Segments,
    pub(crate) checkpoint: Checkpoint,
}

impl Plan {
    /// The step ranges of `steps` steps whose longest sequence is
    /// `longest` steps long (segments are sized by real steps, so padding
    /// appended to a batch changes no segment with real steps in it).
    pub(crate) fn ranges(&self, steps: usize, longest: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        let len = self.segments.length(longest);
        (0..steps).step_by(len).map(move |a| a..(a + len).min(steps))
    }

    /// Runs `f` as a checkpointed span if the plan says so.
    pub(crate) fn run<'t, T: Scalar, O: tapegrad_autodiff::RegionOutputs<'t, T>>(
        &self,
        tape: &'t tapegrad_autodiff::Tape<T>,
        f: impl FnOnce() -> O,
    ) -> O {
        match self.checkpoint {
            Checkpoint::Off => tape.keep_needed(f),
            Checkpoint::On => tape.checkpoint(f),
        }
    }
}
