//! Checking tools: finite-difference gradient checks, Jacobians and
//! products with them, and (feature `proptest`) strategies for property
//! tests.

mod gradcheck;
mod jacobian;
#[cfg(feature = "proptest")]
pub mod strategies;

pub use gradcheck::{
    check_fn, gradcheck, gradgradcheck, hvp, CheckFn, CheckMode, GradcheckOptions, GradcheckReport, InputReport, Mismatch,
};
pub use jacobian::{causality_violation, jacobian, jvp, vjp, CausalityViolation};
