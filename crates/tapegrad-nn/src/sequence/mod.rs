//! Sequence models on top of the recurrent layers: [`Attention`] over an
//! encoder's outputs, a linear-chain [`Crf`] over per-step scores, and an
//! encoder–decoder ([`Seq2Seq`]) with teacher forcing, greedy decoding and
//! beam search. All are compositions of autodiff ops.

mod attention;
mod crf;
mod seq2seq;

pub(crate) use attention::check_lengths;
pub use attention::{Attended, Attention};
pub use crf::Crf;
pub use seq2seq::{AttentionKind, BeamOptions, Decoded, Seq2Seq, Seq2SeqSpec, TeacherForced};
