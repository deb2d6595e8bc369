//! # tapegrad
//!
//! Write a recurrent cell as plain tensor ops and get correct gradients,
//! backpropagation through time, stacked and bidirectional layers, and a
//! rigorous gradient check, without deriving anything by hand.
//!
//! This facade re-exports the workspace's crates — [`tensor`]
//! (`tapegrad-tensor`), [`autodiff`] (`tapegrad-autodiff`) and [`nn`]
//! (`tapegrad-nn`) — and a [`prelude`] with the names most programs use.
//!
//! ## A guided tour
//!
//! **Tensors.** [`Tensor<T>`](Tensor) is an n-dimensional array of `f32` (to
//! train) or `f64` (to check gradients) with NumPy broadcasting. Every op
//! that can meet a bad shape has a `try_` form returning a typed error that
//! names the op and the shapes, and a plain form that panics with the same
//! message.
//!
//! ```
//! use tapegrad::prelude::*;
//! let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
//! let b = Tensor::from_vec(vec![10.0f32, 20.0], &[2]);
//! assert_eq!((&a + &b).data(), &[11.0, 22.0, 13.0, 24.0]);
//! assert!(a.try_matmul(&Tensor::ones(&[3, 1])).is_err());
//! ```
//!
//! **The tape.** A [`Tape`] records every op as it runs; a [`Var`] is a
//! `Copy` handle to a recorded value. [`Tape::backward`] walks the records
//! once in reverse and sums the gradients of values used more than once, so
//! a weight shared by every time step receives the sum of its per-step
//! gradients: that is backpropagation through time.
//!
//! ```
//! use tapegrad::prelude::*;
//! let tape = Tape::<f64>::new();
//! let w = tape.leaf(Tensor::scalar(0.5));
//! let mut h = tape.constant(Tensor::scalar(1.0));
//! for _ in 0..3 {
//!     h = (h * w).tanh(); // the same w at every step
//! }
//! let g = tape.backward(h).unwrap();
//! assert!(g.get(w).unwrap().item() > 0.0);
//! ```
//!
//! **Gradient checks.** [`gradcheck`] compares the tape's gradients with
//! central finite differences in `f64` and reports the worst element of
//! each input; [`gradgradcheck`] does the same for second derivatives,
//! which the tape supports because backward rules are themselves written
//! with differentiable ops.
//!
//! ```
//! use tapegrad::prelude::*;
//! let x = Tensor::from_vec(vec![0.3, -1.2, 0.7], &[3]);
//! let r = gradcheck(|_, v| Ok(v[0].sigmoid().log_softmax(0)), &[x], &GradcheckOptions::default()).unwrap();
//! assert!(r.passed(), "{r}");
//! ```
//!
//! **Cells and layers.** A [`Cell`](nn::Cell) is one time step written with
//! ops. [`Rnn`](nn::Rnn) unrolls any cell — stacked, bidirectional, over
//! ragged batches given per-sequence lengths — and
//! [`gradcheck_layer`](nn::gradcheck_layer) checks its BPTT gradient.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad::prelude::*;
//! let mut rng = StdRng::seed_from_u64(0);
//! let lstm = Rnn::spec(2, 3).layers(2).bidirectional(true).lstm::<f64, _>(&mut rng);
//! let x = Tensor::rand_uniform(&[4, 2, 2], -1.0, 1.0, &mut rng);
//! let report = gradcheck_layer(&lstm, &x, &LayerCheckOptions::default().lengths(&[4, 1])).unwrap();
//! assert!(report.passed(), "{report}");
//! ```
//!
//! **Training.** Parameters live outside the tape; a [`Binding`](nn::Binding)
//! makes each one a leaf for one forward pass and collects the gradients;
//! an [`Optimizer`](nn::Optimizer) updates them. There is no `zero_grad`:
//! each step has its own tape.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad::prelude::*;
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut model = (Rnn::spec(1, 8).gru::<f32, _>(&mut rng), Linear::new(8, 1, &mut rng));
//! let mut opt = Adam::new(0.05);
//! let x = Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0], &[4, 1, 1]); // remember the first input
//! let mut losses = vec![];
//! for _ in 0..60 {
//!     let tape = Tape::new();
//!     let bind = Binding::new(&tape);
//!     let out = model.0.forward(&bind, tape.constant(x.clone()), None, None).unwrap();
//!     let y = model.1.forward(&bind, out.last[0]).unwrap();
//!     let loss = mse_loss(y, &Tensor::from_vec(vec![1.0], &[1, 1]), Reduction::Mean).unwrap();
//!     losses.push(loss.value().item());
//!     let grads = bind.grads(&tape.backward(loss).unwrap());
//!     opt.step(model.params_mut(), &grads).unwrap();
//! }
//! assert!(losses[59] < 0.01 * losses[0]);
//! ```

pub use tapegrad_autodiff as autodiff;
pub use tapegrad_nn as nn;
pub use tapegrad_tensor as tensor;

#[cfg(feature = "proptest")]
pub use tapegrad_autodiff::strategies;
pub use tapegrad_autodiff::{
    check_fn, gradcheck, gradgradcheck, hvp, AutodiffError, CheckMode, CustomOp, Fusion, GradcheckOptions, GradcheckReport, Gradients,
    RegionOutputs, Tape, Val, Var,
};
pub use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError};

/// The names most programs use: tensors, the tape, variables, gradcheck,
/// cells, layers (attention, CRF, pretrained embeddings), losses and
/// optimizers.
pub mod prelude {
    pub use tapegrad_autodiff::{check_fn, gradcheck, AutodiffError, CheckMode, CustomOp, Fusion, GradcheckOptions, Tape, Val, Var};
    pub use tapegrad_nn::{
        bce_with_logits, clip_grad_norm, cross_entropy, gradcheck_layer, mse_loss, Activation, Adam, Attention, AttentionKind, BeamOptions,
        Binding, Cell, Checkpoint, Crf, Embedding, GruCell, LayerCheckOptions, LayerNorm, Linear, LstmCell, LstmState, Module, NnError,
        Optimizer, Param, Reduction, Rnn, RnnCell, RnnSpec, Segments, Seq2Seq, Sgd, State, Trainable, WordVectors,
    };
    pub use tapegrad_tensor::{Scalar, Tensor, TensorError};
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
