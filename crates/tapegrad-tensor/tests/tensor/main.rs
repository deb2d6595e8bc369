//! Integration tests of tapegrad-tensor, one binary with topical modules.
//! Property tests compare every op against a naive reference written with
//! explicit multi-indices in `reference.rs`.

mod binary;
mod construct;
mod errors;
mod fastmath;
mod hostile;
mod index;
mod matmul;
mod reduce;
mod reference;
mod shape;
mod sizes;
mod softmax;
mod threads;
mod unary;

/// Held by the tests that change the process-wide thread setting, so that
/// they do not change it under each other.
static THREAD_SETTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
