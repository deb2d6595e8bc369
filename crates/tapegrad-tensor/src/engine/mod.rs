#![doc = include_str!("threads_and_memory.md")]
//! ## This folder
//!
//! The speed machinery of the crate, private: the ops call it through the
//! `pub(crate)` names below, and users see only the settings, re-exported
//! at the crate root.
//!
//! - this file: the thread settings ([`set_num_threads`], [`num_threads`]);
//! - `team`: the process-wide team of helper threads that runs split ops;
//! - `gemm`: one strided GEMM call, split into bands of C between the team,
//!   each band a call of `matrixmultiply`;
//! - `packed`: f32 products from cached packings of a reused right operand
//!   (`rten-gemm`);
//! - `simd`: elementwise loops built for the widest vector unit, split
//!   between the team when long;
//! - `fastmath`: the vectorizable f32 `exp`, `sigmoid` and `tanh`;
//! - `pool`: per-thread pools of freed buffers and their limit;
//! - `kernels`: the sealed supertrait of [`crate::Scalar`] through which
//!   `f32` and `f64` pick their kernels.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

mod fastmath;
mod gemm;
mod kernels;
mod packed;
mod pool;
mod simd;
mod team;
#[cfg(test)]
mod tests;

pub(crate) use gemm::Gemm;
pub(crate) use kernels::{exp_slice, gemm, gemm_reused, sigmoid_slice, tanh_slice, Sealed};
pub(crate) use pool::{alloc, filled, Buffer};
pub use pool::{buffer_pool_limit, release_buffer_pool, set_buffer_pool_limit};
pub(crate) use simd::{map, zip, zip_rows};

/// Threads used by large matrix products and long elementwise loops
/// (0 until first read: then `TAPEGRAD_NUM_THREADS`, else the machine's
/// available parallelism). Small products always run on the calling
/// thread: for the products of a recurrent step, starting threads costs
/// more than it saves.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the number of threads large matrix products and long elementwise
/// loops may use (1 = never split, and 0 counts as 1; default:
/// `TAPEGRAD_NUM_THREADS`, else the machine's available parallelism).
/// Never more than the CPUs this
/// process may run on (its affinity mask and CPU quota, as
/// [`std::thread::available_parallelism`] reports them): more threads than
/// that only wait for each other. Takes effect for the next op. The extra
/// threads are a team started on first use with the setting of that
/// moment (see the crate docs, "Threads and memory").
///
/// ```
/// tapegrad_tensor::set_num_threads(1);
/// assert_eq!(tapegrad_tensor::num_threads(), 1);
/// tapegrad_tensor::set_num_threads(100_000);
/// assert!(tapegrad_tensor::num_threads() <= std::thread::available_parallelism().unwrap().get());
/// ```
pub fn set_num_threads(n: usize) {
    THREADS.store(n.clamp(1, available()), Ordering::Relaxed);
}

/// The CPUs this process may run on (1 if that cannot be told).
fn available() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The number of threads large matrix products and long elementwise loops
/// use: the last [`set_num_threads`], else `TAPEGRAD_NUM_THREADS`, else the
/// machine's available parallelism, never more than the CPUs this process
/// may run on.
///
/// ```
/// let n = tapegrad_tensor::num_threads();
/// assert!(n >= 1 && n <= std::thread::available_parallelism().map_or(1, |c| c.get()));
/// ```
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("TAPEGRAD_NUM_THREADS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or_else(available);
            let n = n.clamp(1, available());
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}
