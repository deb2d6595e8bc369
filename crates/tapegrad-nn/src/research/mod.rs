//! Research tools for new cells and layers: property checks
//! ([`check_cell`]), a finite-difference check of a layer's BPTT gradient
//! ([`gradcheck_layer`]), gradient flow through time ([`gradient_flow`]),
//! and a synthetic long-range task to train on ([`adding_problem`], in the
//! variants of [`AddingVariant`]).

mod bookkeeping;
mod check_cell;
mod flow;
mod gradcheck_layer;
mod tasks;

pub use check_cell::{check_cell, CellCase, CellCheckOptions, CellCheckReport, CellProperty, Counterexample, PropertyReport};
pub use flow::{gradient_flow, FlowLoss, GradientFlow};
pub use gradcheck_layer::{gradcheck_layer, LayerCheckOptions};
pub use tasks::{adding_problem, AddingVariant};
