//! Integration tests of tapegrad-nn, one binary with topical modules.

mod adding;
mod bptt;
mod common;
mod errors;
mod irnn;
mod modules;
mod parity;
mod research;
mod seeds;
mod states;
mod threads;
mod training;
mod varlen;
mod weights;
