//! Research tools for new cells: property checks ([`check_cell`]) and
//! gradient flow through time ([`gradient_flow`]).

mod check;
mod flow;

pub use check::{check_cell, CellCase, CellCheckOptions, CellCheckReport, CellProperty, Counterexample, PropertyReport};
pub use flow::{gradient_flow, FlowLoss, GradientFlow};
