//! The recurrent family: the [`Cell`] and [`State`] traits, the built-in
//! cells (Elman [`RnnCell`], [`LstmCell`], [`GruCell`]), and the layer
//! that runs any cell over a sequence ([`Rnn`], built with [`RnnSpec`]):
//! unrolled, stacked, bidirectional, variable-length.

mod cell;
mod elman;
mod gru;
mod layer;
mod lstm;
mod segments;
mod spec;
mod unroll;

pub use cell::{uniform_init, Cell, State};
pub use elman::{Activation, RnnCell};
pub use gru::GruCell;
pub(crate) use layer::dropout;
pub use layer::{Rnn, RnnOutput};
pub use lstm::{LstmCell, LstmState};
pub use segments::{Checkpoint, Segments};
pub use spec::RnnSpec;
pub use unroll::{lengths_from_mask, Sequence};
