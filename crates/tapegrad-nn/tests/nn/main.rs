//! Integration tests of tapegrad-nn, one binary with topical modules.

mod bptt;
mod common;
mod seeds;
