//! # tapegrad
//!
//! Write a recurrent cell as plain tensor ops and get correct gradients,
//! backpropagation through time and a rigorous gradient check, without
//! deriving anything by hand.
//!
//! This facade re-exports the workspace's crates:
//! - [`tensor`]: n-dimensional tensors (`tapegrad-tensor`);
//! - [`autodiff`]: the tape, differentiable ops, `gradcheck` (`tapegrad-autodiff`);
//! - [`nn`]: recurrent cells and layers (`tapegrad-nn`).
//!
//! Most programs need only the [`prelude`]:
//!
//! ```
//! use tapegrad::prelude::*;
//!
//! let tape = Tape::<f64>::new();
//! let w = tape.leaf(Tensor::from_vec(vec![0.5, -0.25], &[2, 1]));
//! let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]));
//! let loss = x.matmul(w).tanh().sum_all();
//! let grads = tape.backward(loss).unwrap();
//! assert_eq!(grads.get(w).unwrap().shape(), &[2, 1]);
//! ```

pub use tapegrad_autodiff as autodiff;
pub use tapegrad_nn as nn;
pub use tapegrad_tensor as tensor;

#[cfg(feature = "proptest")]
pub use tapegrad_autodiff::strategies;
pub use tapegrad_autodiff::{
    check_fn, gradcheck, gradgradcheck, hvp, AutodiffError, CheckMode, CustomOp, GradcheckOptions, GradcheckReport, Gradients, Tape, Val,
    Var,
};
pub use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError};

/// The names most programs use: tensors, the tape, variables, gradcheck,
/// cells, layers, losses and optimizers.
pub mod prelude {
    pub use tapegrad_autodiff::{check_fn, gradcheck, AutodiffError, CheckMode, CustomOp, GradcheckOptions, Tape, Val, Var};
    pub use tapegrad_nn::{
        bce_with_logits, clip_grad_norm, cross_entropy, gradcheck_layer, mse_loss, Activation, Adam, Binding, Cell, Embedding, GruCell,
        Linear, LstmCell, LstmState, Module, NnError, Optimizer, Param, Reduction, Rnn, RnnCell, Sgd, State,
    };
    pub use tapegrad_tensor::{Scalar, Tensor, TensorError};
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
