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
    /// A token id outside its vocabulary, in a batch of token sequences.
    #[error("{op}: {what} sequence {sequence} has token {id} at position {position}, outside the vocabulary of {vocab}")]
    TokenId {
        /// The model or op.
        op: &'static str,
        /// `"source"` or `"target"`.
        what: &'static str,
        /// Which sequence of the batch.
        sequence: usize,
        /// Where in it.
        position: usize,
        /// The id given.
        id: usize,
        /// The vocabulary's size.
        vocab: usize,
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
    /// A word-vector text file that cannot be read as one (see
    /// [`crate::WordVectors`]); the problem names the line.
    #[error("{file}: {problem}")]
    VectorFile {
        /// The file (or the name given to parsed text).
        file: String,
        /// What is wrong, and where.
        problem: crate::VectorFileError,
    },
    /// Two entries, or two parameters, under one name: in a weight file
    /// being written, a state dict, a module, or the parameters given to an
    /// optimizer.
    #[error("{context}: two {what} named `{name}`")]
    DuplicateName {
        /// The file, `"state dict"`, or the optimizer and its operation.
        context: String,
        /// `"entries"`, `"model parameters"` or `"parameters"`.
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// An optimizer hyperparameter (learning rate, momentum, betas, ...)
    /// outside its valid range, refused when the optimizer is built.
    #[error("{op}: {name} = {value} is invalid: expected {expected}")]
    Hyperparameter {
        /// The optimizer or function, e.g. `"Adam"`.
        op: &'static str,
        /// The hyperparameter, e.g. `"lr"`.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range, e.g. `"a finite number >= 0"`.
        expected: &'static str,
    },
    /// A gradient whose shape differs from its parameter's.
    #[error("{op}: the gradient of `{param}` has shape {got:?}, the parameter {expected:?}")]
    GradientShape {
        /// The optimizer.
        op: &'static str,
        /// The parameter's name.
        param: String,
        /// The gradient's shape.
        got: Vec<usize>,
        /// The parameter's shape.
        expected: Vec<usize>,
    },
    /// An optimizer state (from a checkpoint) that does not fit this
    /// optimizer or these parameters: a foreign or missing entry, a moment
    /// of the wrong shape or for an unknown parameter, a bad step count.
    #[error("{op} state: {message}")]
    OptimizerState {
        /// The optimizer.
        op: &'static str,
        /// What is wrong, naming the entry (and both shapes).
        message: String,
    },
    /// A parameter that was used in the forward pass (it has a gradient)
    /// but is not among the parameters given to an optimizer: typically a
    /// `Param` the module does not declare (kept where `#[derive(Module)]`
    /// does not look, or marked `#[module(skip)]`), which would silently
    /// never train. To update only part of a model, pass that part's
    /// gradients ([`crate::ParamGrads::only`]).
    #[error(
        "{op} step: {origin} has a gradient but is not among the parameters given (not declared by the module?): it would never be updated"
    )]
    UndeclaredParameter {
        /// The optimizer.
        op: &'static str,
        /// The parameter's shape and where it was bound.
        origin: crate::Origin,
    },
    /// A value given to a parameter (or a variable bound to one) whose
    /// shape is not the parameter's.
    #[error("{op}: a value of shape {got:?} for a parameter of shape {expected:?}")]
    ParameterShape {
        /// The operation (`"Param::try_set"`, `"Binding::try_bind"`).
        op: &'static str,
        /// The parameter's shape.
        expected: Shape,
        /// The shape of the value given.
        got: Shape,
    },
    /// A time step past the end of a sequence.
    #[error("{op}: step {step} is out of range for a sequence of {steps} steps")]
    StepOutOfRange {
        /// The operation.
        op: &'static str,
        /// The step asked for.
        step: usize,
        /// How many steps the sequence has.
        steps: usize,
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
