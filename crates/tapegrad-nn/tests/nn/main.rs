//! Integration tests of tapegrad-nn, one binary with topical modules.

mod bptt;
mod common;
mod errors;
mod modules;
mod parity;
mod research;
mod seeds;
mod state_shapes;
mod states;
mod threads;
mod training;
mod varlen;
mod weights;
