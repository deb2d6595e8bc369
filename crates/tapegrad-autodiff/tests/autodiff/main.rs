//! Integration tests of tapegrad-autodiff, one binary with topical modules.
//! Every differentiable op is gradchecked against finite differences over
//! random shapes (size-1 and broadcast axes included) and values; kinks
//! and ties are kept away by the strategies, not by tolerances.

// Test inputs are passed as `&[x.clone()]` for uniformity with the
// many-input cases.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod checker;
mod checkpoint;
mod compositions;
mod errors;
mod extremes;
mod fusion;
mod higher_order;
mod ops_binary;
mod ops_index;
mod ops_matmul;
mod ops_reduce;
mod ops_research;
mod ops_select;
mod ops_shape;
mod ops_unary;
mod research;
mod scalar_div;
mod semantics;
