//! Integration tests of tapegrad-tensor, one binary with topical modules.
//! Property tests compare every op against a naive reference written with
//! explicit multi-indices in `reference.rs`.

mod binary;
mod construct;
mod errors;
mod fastmath;
mod index;
mod matmul;
mod reduce;
mod reference;
mod shape;
mod sizes;
mod softmax;
mod unary;
