//! # tapegrad-nn
//!
//! Recurrent cells (Elman RNN, LSTM, GRU) and layers (unrolled, stacked,
//! bidirectional, variable-length) built only from `tapegrad-autodiff`
//! ops: backpropagation through time falls out of unrolling, and this crate
//! contains no backward code at all. A cell you write yourself gets the same
//! layers, the same BPTT and the same gradient checks.
//!
//! - [`Cell`]: `project` (the input-only part, for all steps at once) and
//!   `step`, `(projected x_t, state) -> state`; [`RnnCell`], [`LstmCell`]
//!   (state [`LstmState`] `{ h, c }`), [`GruCell`], with PyTorch's
//!   equations, gate order and parameter names.
//! - [`Module`]: a module's parameters, declared once by
//!   `#[derive(Module)]` (and a state's parts by `#[derive(State)]`);
//!   [`check_cell`] reports a parameter used but not declared.
//! - [`Rnn`]: any cell unrolled, stacked, bidirectional, with per-sequence
//!   lengths ([`Rnn::spec`]); every step's state is kept
//!   ([`Sequence::state_at`]).
//! - [`Linear`], [`Embedding`] (also from pretrained [`WordVectors`],
//!   optionally [`Trainable::Frozen`]), [`Dropout`]; [`Attention`]
//!   (additive, dot, general) over padded encoder outputs; a linear-chain
//!   [`Crf`] (forward algorithm, NLL loss, Viterbi); an encoder–decoder
//!   [`Seq2Seq`] (bidirectional encoder, attention or none, teacher
//!   forcing, greedy and beam-search decoding); losses ([`cross_entropy`],
//!   [`nll_loss`], [`mse_loss`], [`bce_with_logits`]); optimizers ([`Sgd`],
//!   [`Adam`] / AdamW, [`RmsProp`]) and clipping; safetensors weights with
//!   PyTorch's names, stored as F32, F64, F16 or BF16 ([`Storage`]).
//! - Parameters ([`Param`]) live outside the tape; a [`Binding`] makes each
//!   one a single leaf per forward pass, so a weight used at every step
//!   receives the sum of its per-step gradients.
//!
//! ## Fallibility convention
//!
//! Layers and losses return `Result<_, `[`NnError`]`>`; a bad input
//! (wrong feature size, empty sequence or batch, lengths past `T`, NaN) is
//! reported before any step runs. Errors name the layer and the shapes.

mod error;
mod io;
mod layers;
mod loss;
mod optim;
mod param;
mod recurrent;
mod research;
mod sequence;

pub use error::{NnError, Result};
pub use layers::{Dropout, Embedding, LayerNorm, Linear};
pub use loss::{bce_with_logits, cross_entropy, log_sigmoid, mse_loss, nll_loss, Reduction};
pub use optim::{clip_grad_norm, clip_grad_value, try_clip_grad_norm, try_clip_grad_value, Adam, Optimizer, RmsProp, Sgd};
pub use param::{child_name, load_state_dict, state_dict, Binding, Module, Origin, Param, ParamGrads, ParamId, Trainable};
pub use tapegrad_derive::{Module, State};

pub use io::{
    from_safetensors_bytes, load_module, load_safetensors, save_module, save_module_as, save_safetensors, to_safetensors_bytes,
    to_safetensors_bytes_as, Metadata, NamedTensors, Storage, VectorFileError, WordVectors,
};
pub use recurrent::{
    lengths_from_mask, uniform_init, Activation, Cell, Checkpoint, GruCell, LstmCell, LstmState, Rnn, RnnCell, RnnOutput, RnnSpec,
    Segments, Sequence, State,
};
pub use research::{
    adding_problem, check_cell, gradcheck_layer, gradient_flow, AddingVariant, CellCase, CellCheckOptions, CellCheckReport, CellProperty,
    Counterexample, FlowLoss, GradientFlow, LayerCheckOptions, PropertyReport,
};
pub use sequence::{Attended, Attention, AttentionKind, BeamOptions, Crf, Decoded, Seq2Seq, Seq2SeqSpec, TeacherForced};

/// What the derives' generated code names; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use smallvec::{smallvec, SmallVec};
    pub use tapegrad_autodiff::Var;
}
