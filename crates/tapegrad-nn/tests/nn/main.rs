//! Integration tests of tapegrad-nn, one binary with topical modules.

mod adding;
mod attention;
mod bookkeeping;
mod bptt;
mod checkpoint;
mod common;
mod crf;
mod errors;
mod fusion;
mod half;
mod irnn;
mod modules;
mod optim;
mod parity;
mod pretrained;
mod research;
mod seeds;
mod seq2seq;
mod state_shapes;
mod states;
mod threads;
mod training;
mod varlen;
mod weights;
