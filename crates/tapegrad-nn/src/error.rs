//! The one error type of this crate.

use tapegrad_autodiff::AutodiffError;
use tapegrad_tensor::Shape;

/// Why a layer, loss, optimizer or weight file refused its input.
///
/// Messages name the layer or op and the shapes (or the file and the
/// parameter). Panicking forms panic with the same message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// An op inside a layer failed (shape, axis, index, tape).
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// An input whose shape does not fit the layer.
    #[error("{op}: input of shape {got:?} does not fit: expected {expected}")]
    InputShape {
        /// The layer or op.
        op: &'static str,
        /// What it needed, e.g. `"(T, B, 8)"`.
        expected: String,
        /// The shape it got.
        got: Shape,
    },
    /// A recurrent state (or one part of it) of the wrong shape: an
    /// initial state given to a layer, a state given to a cell's step, or
    /// one a cell's step returned.
    #[error("{op}: {what} has shape {got:?}, expected {expected:?}")]
    StateShape {
        /// The layer or cell (`"Rnn::forward"`, `"LstmCell::step"`).
        op: &'static str,
        /// Which state: e.g. `part 1 of 2 of the initial state of layer 0
        /// (reverse)`, or `the state returned by step 3 of cell `Mgu` in
        /// layer 1 (forward)` (boxed, to keep the error small).
        what: Box<str>,
        /// The shape the cell declares for it.
        expected: Shape,
        /// The shape it has.
        got: Shape,
    },
    /// A sequence of length zero, or a batch of size zero.
    #[error("{op}: {what} is empty (input shape {shape:?})")]
    Empty {
        /// The layer.
        op: &'static str,
        /// `"the sequence"` or `"the batch"`.
        what: &'static str,
        /// The input's shape.
        shape: Shape,
    },
    /// Per-sequence lengths that do not fit the batch.
    #[error("{op}: lengths {lengths:?} do not fit input of {steps} steps and batch {batch}: {why}")]
    Lengths {
        /// The layer.
        op: &'static str,
        /// The lengths given.
        lengths: Vec<usize>,
        /// Time steps in the input.
        steps: usize,
        /// Batch size of the input.
        batch: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A NaN or infinity in an input.
    #[error("{op}: input of shape {shape:?} contains NaN or infinity at element {index}")]
    NonFinite {
        /// The layer.
        op: &'static str,
        /// The input's shape.
        shape: Shape,
        /// Flat index of the first bad element.
        index: usize,
    },
    /// A target (class index, mask) that does not fit the prediction.
    #[error("{op}: {message}")]
    Target {
        /// The loss.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A weight file or state dict that does not match the model.
    #[error("{file}: {message}")]
    Weights {
        /// The file (or `"state dict"`).
        file: String,
        /// What is wrong, naming the parameter and both shapes.
        message: String,
    },
    /// Any other invalid configuration.
    #[error("{op}: {message}")]
    Config {
        /// The layer or optimizer.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;

impl From<tapegrad_tensor::TensorError> for NnError {
    fn from(e: tapegrad_tensor::TensorError) -> Self {
        NnError::Autodiff(AutodiffError::Tensor(e))
    }
}
