//! # tapegrad-autodiff
//!
//! Reverse-mode automatic differentiation on a tape (a Wengert list) of
//! tensor ops, with higher-order gradients and a gradient checker.
//!
//! - A [`Tape`] records every op as it runs; a [`Var`] is a `Copy` handle to
//!   a recorded value, with operators, so code reads like the math:
//!   `(x.matmul(w) + b).tanh()`.
//! - [`Tape::backward`] walks the tape once in reverse and sums the gradients
//!   of values used more than once. Unrolling a recurrent cell over `T`
//!   steps records `T` copies of its ops; one sweep is backpropagation
//!   through time.
//! - Every backward rule is written once, next to its forward, with [`Val`]
//!   ops. An ordinary sweep runs them on plain tensors and records nothing;
//!   [`Tape::grad_graph`] runs the same rules on variables, so gradients can
//!   be differentiated again ([`hvp`], [`gradgradcheck`]).
//! - [`CustomOp`] defines a new primitive with its own forward and backward.
//! - [`gradcheck`] compares the tape's gradients with central finite
//!   differences and reports the worst element per input. With the
//!   `proptest` feature (on by default), [`strategies`] gives shapes and
//!   well-conditioned values for property tests.
//!
//! ```
//! use tapegrad_autodiff::{gradcheck, GradcheckOptions, Tape, Tensor};
//!
//! // f(x, w, b) = Σ tanh(x·w + b)
//! let tape = Tape::<f64>::new();
//! let x = tape.constant(Tensor::from_vec(vec![0.5, -1.0], &[1, 2]));
//! let w = tape.leaf(Tensor::from_vec(vec![0.1, 0.2, 0.3, 0.4], &[2, 2]));
//! let b = tape.leaf(Tensor::zeros(&[2]));
//! let loss = (x.matmul(w) + b).tanh().sum_all();
//! let grads = tape.backward(loss).unwrap();
//! assert_eq!(grads.get(w).unwrap().shape(), &[2, 2]);
//!
//! let report = gradcheck(|_t, v| Ok((v[0].matmul(v[1]) + v[2]).tanh().sum_all()),
//!     &[x.value(), w.value(), b.value()], &GradcheckOptions::default()).unwrap();
//! assert!(report.passed(), "{report}");
//! ```
//!
//! ## Fallibility convention
//!
//! An op that can meet a bad shape, axis or index has a `try_x` form
//! returning `Result<_, `[`AutodiffError`]`>` and an `x` form that panics
//! with the same message (which names the op and the shapes). Operators
//! (`a + b`) are the panicking form. Ops that cannot fail (elementwise
//! functions) have one form.
//!
//! ## Cost
//!
//! One `RefCell` for the whole tape (none per node), parent lists inline in
//! a `SmallVec`, values shared (`Arc`) rather than copied. Ops whose inputs
//! need no gradient are recorded as constants and skipped by the sweep.

mod check;
mod checkpoint;
mod dot;
mod error;
mod ops;
mod sweep;
mod tape;
mod val;

#[cfg(feature = "proptest")]
pub use check::strategies;
pub use check::{
    causality_violation, check_fn, gradcheck, gradgradcheck, hvp, jacobian, jvp, vjp, CausalityViolation, CheckFn, CheckMode,
    GradcheckOptions, GradcheckReport, InputReport, Mismatch,
};
pub use dot::DotOptions;
pub use error::{AutodiffError, Result};
pub use ops::custom::CustomOp;
pub use ops::fused::{Fusion, RegionOutputs};
pub use ops::matmul::{ValOperand, VarOperand};
pub use ops::norm::Correction;
pub use sweep::Gradients;
pub use tape::{Tape, Var};
pub use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError, Transposed, TransposedMatmul};
pub use val::Val;
