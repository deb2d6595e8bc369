//! Integration tests of tapegrad-nn, one binary with topical modules.

mod bptt;
mod common;
mod errors;
mod modules;
mod optim;
mod parity;
mod research;
mod seeds;
mod states;
mod threads;
mod training;
mod varlen;
mod weights;
