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
//! (elementwise unary functions) have only the plain form.
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
//! ## Threads and memory
//!
//! Matrix products of 1M multiply-adds or more and elementwise loops of 16K
//! elements or more are split between [`num_threads`] threads (at most the
//! CPUs the process may run on): the calling thread and a process-wide
//! team of helpers. The parts of a split op are claimed by whichever
//! thread is free first, the caller included, so a helper that the OS has
//! descheduled (other programs share the cores) delays nothing: the caller
//! does the work itself. Helpers poll for work for up to 1 ms after a job
//! they took part in, yielding their CPU between polls, then park; a
//! helper that keeps coming too late to take a part stops polling at once.
//! Each element is computed by one thread, the same way, so results do not
//! depend on the thread count. One caller uses the team at a time; others
//! run their ops on their own thread.
//!
//! f32 products with a reused right operand go through `rten-gemm`, which
//! parallelises through rayon; to keep it serial inside tapegrad's parts,
//! a thread that runs such a product outside any rayon pool is made the
//! one worker of a one-thread rayon pool of its own, for good (rayon has no
//! way to undo that). A `par_iter` called later *from that same thread*
//! then runs serially. Inside your own rayon pool (`pool.install(..)`)
//! tapegrad leaves the pool as it is and uses `matrixmultiply` there
//! instead; so run rayon work of your own from another thread, or run the
//! training inside `install`.
//!
//! Freed buffers of 512 KiB or more are kept per thread, up to
//! [`buffer_pool_limit`] bytes, and reused for tensors of the same size, so
//! that a training loop does not return its memory to the OS after every
//! step and fault it back in ([`set_buffer_pool_limit`],
//! [`release_buffer_pool`]).
//!
//! Files are organised by op family: `unary`, `binary`, `reduce`, `matmul`,
//! `shape`, `index`, `softmax`, with operator sugar in `ops`.

mod binary;
mod error;
mod fastmath;
mod index;
#[cfg(feature = "ndarray")]
mod interop;
mod layout;
mod matmul;
mod ops;
mod packed;
mod pool;
mod reduce;
mod scalar;
mod shape;
mod simd;
mod size;
mod softmax;
mod team;
mod tensor;
mod unary;

pub use error::{Result, TensorError};
pub use layout::{broadcast_shapes, shape, Shape};
pub use matmul::{num_threads, set_num_threads, stacked_product_rows, Gemm, MatmulOperand, Transposed, TransposedMatmul};
pub use packed::packed_operands;
pub use pool::{buffer_pool_limit, release_buffer_pool, set_buffer_pool_limit};
pub use scalar::Scalar;
pub use size::checked_numel;
pub use tensor::Tensor;
