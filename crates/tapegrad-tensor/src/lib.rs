//! # tapegrad-tensor
//!
//! N-dimensional tensors for tapegrad: contiguous row-major storage,
//! NumPy-style broadcasting, reductions, shape ops, indexing, numerically
//! stable softmax, and matrix products through a well-kept GEMM crate.
//!
//! Tensors are generic over the element type `T: `[`Scalar`] (`f32` to train,
//! `f64` to check gradients). They are values: every op returns a new tensor
//! and clones share their buffer.
//!
//! ## Fallibility convention
//!
//! Every op that can meet a bad shape, axis or index comes in two forms:
//! `try_x` returns `Result<_, `[`TensorError`]`>`, and `x` panics with the
//! same message (the error's `Display`, which names the op and the shapes).
//! Operator sugar (`&a + &b`) is the panicking form. Ops that cannot fail
//! (elementwise unary functions) have only the plain form, and `try_eq`
//! only the `try_` form (`eq` is `==`, from `PartialEq`).
//!
//! ```
//! use tapegrad_tensor::{Tensor, TensorError};
//! let a = Tensor::<f64>::ones(&[2, 3]);
//! let b = Tensor::<f64>::ones(&[4]);
//! let err = a.try_add(&b).unwrap_err();
//! assert!(matches!(err, TensorError::Broadcast { .. }));
//! assert_eq!(err.to_string(), "add: shapes [2, 3] and [4] cannot be broadcast together");
//! ```
//!
//! Sizes are checked too: a shape is valid when the product of its
//! non-zero axes fits in `usize` ([`checked_numel`]); constructors and ops
//! whose result can outgrow their operands return
//! [`TensorError::ShapeOverflow`] for one that is not, and
//! [`TensorError::TooLarge`] for a result whose buffer cannot be allocated
//! (more than `isize::MAX` bytes, or, from 64 MiB up, a request the system
//! refuses), instead of wrapping around or aborting.
//!
//! ```
//! use tapegrad_tensor::{Tensor, TensorError};
//! let err = Tensor::<f32>::try_zeros(&[1 << 32, 1 << 32]).unwrap_err();
//! assert_eq!(err.to_string(), "zeros: the product of the axes of shape [4294967296, 4294967296] overflows usize");
//! assert!(matches!(Tensor::<f32>::try_zeros(&[1 << 61]), Err(TensorError::TooLarge { .. })));
//! ```
//!
//! With the `ndarray` feature, tensors convert to and from `ndarray`
//! arrays (`Tensor::to_ndarray`, `Tensor::try_from_ndarray`, `From`).
//!
#![doc = include_str!("engine/threads_and_memory.md")]
//! Files are organised by op family: `unary`, `binary`, `reduce`, `matmul`,
//! `shape`, `index`, `softmax`, `random`, with operator sugar in `ops`.
//! The speed
//! machinery behind them (the thread team, the buffer pool, the GEMM
//! dispatch and its cache of packed weights, the vectorized loops and
//! f32 kernels, the thread settings) is the private `engine` folder.

mod binary;
mod engine;
mod error;
mod index;
#[cfg(feature = "ndarray")]
mod interop;
mod layout;
mod matmul;
mod ops;
mod random;
mod reduce;
mod scalar;
mod shape;
mod size;
mod softmax;
mod tensor;
mod unary;

pub use engine::{buffer_pool_limit, num_threads, release_buffer_pool, set_buffer_pool_limit, set_num_threads};
pub use error::{Result, TensorError};
pub use layout::{broadcast_shapes, shape, Shape};
pub use matmul::{stacked_product_rows, MatmulOperand, Transposed, TransposedMatmul};
pub use scalar::Scalar;
pub use shape::{chunk_sizes, split_starts};
pub use size::checked_numel;
pub use tensor::Tensor;
