//! Research tools for new cells: property checks ([`check_cell`]) and
//! gradient flow through time ([`gradient_flow`]), and a synthetic
//! long-range task to train on ([`adding_problem`], in the variants of
//! [`AddingVariant`]).

mod bookkeeping;
mod check;
mod flow;
mod tasks;

pub use check::{check_cell, CellCase, CellCheckOptions, CellCheckReport, CellProperty, Counterexample, PropertyReport};
pub use flow::{gradient_flow, FlowLoss, GradientFlow};
pub use tasks::{adding_problem, AddingVariant};
