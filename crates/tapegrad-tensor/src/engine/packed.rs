//! f32 products whose right operand comes back again and again: a
//! recurrent weight `W`, used by `h·Wᵀ` at every step of the forward pass
//! and by `G·W` at every step of the backward pass.
//!
//! A GEMM packs its operands into the kernel's panel layout first; with a
//! batch of 8–64 rows against a 512×2048 weight, packing the weight costs
//! as much as the arithmetic, and `matrixmultiply` does it on every call.
//! Here such an operand is packed once (by `rten-gemm`, which can multiply
//! by a prepacked right operand) and the packing is kept in a small
//! per-thread cache until the weight changes.
//!
//! A cache entry is keyed by the operand's buffer (its `Arc` allocation),
//! where the operand starts in it, and its layout, and holds a `Weak` to the
//! buffer. That is sound because a tensor's
//! buffer is never written while shared: `Tensor::data_mut` goes through
//! `Arc::make_mut`, which copies when other `Arc`s exist and, when only
//! `Weak`s do, moves the buffer to a new allocation and leaves the `Weak`s
//! dead. So while an entry's `Weak` is alive the allocation holds exactly
//! the values that were packed, and no other buffer can take its address.
//! (When the last tensor goes, its vector may be recycled into another
//! tensor by the buffer pool, but under a new `Arc` allocation, and the
//! entry, its `Weak` now dead, is dropped before any lookup.)
//! Every eligible product (f32, 2-D, at most [`MAX_ROWS`] rows) takes this
//! path, packing its operand on first use, so a product's rounding never
//! depends on what was multiplied before; other products, and every f64
//! one, go to `matrixmultiply`.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use rten_gemm::{GemmExecutor, GemmInputA, GemmInputB, GemmUninitOptions, PackedBMatrix};
use rten_tensor::NdTensorView;

use super::gemm::{self, Gemm};
use super::pool::Buffer;
use super::{num_threads, team};

/// Products with more rows than this amortise packing by themselves.
const MAX_ROWS: usize = 256;
/// Right operands smaller than this (elements) are cheap to pack anyway
/// (at 4096, the tiny GRU's 32×96 weight was repacked by `matrixmultiply`
/// at every step: a fifth of the step).
const MIN_ELEMENTS: usize = 1024;
/// Cached operands per thread (a few layers, two layouts each).
const CAPACITY: usize = 16;

/// A packed right operand: its buffer, `(start, k, n, rsb, csb)` (where
/// it starts in the buffer, its size and strides), and the packing.
struct Entry {
    owner: Weak<Buffer<f32>>,
    layout: (usize, usize, usize, usize, usize),
    packed: PackedBMatrix<f32>,
}

thread_local! {
    static CACHE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// The GEMM driver (it picks the kernel for this CPU; not `Sync`, so one
    /// per thread, the pool's included). Packings from any of them agree.
    static EXECUTOR: GemmExecutor<f32, f32, f32> = GemmExecutor::default();
}

thread_local! {
    /// A one-thread rayon pool of this thread (made on first use): inside
    /// it `rten-gemm` runs serially, here, as each part of a product split
    /// by the team must. `None` if it cannot be built (this thread already
    /// belongs to a larger rayon pool): products then go to `matrixmultiply`.
    static POOL: RefCell<Option<Option<rayon::ThreadPool>>> = const { RefCell::new(None) };
}

/// Runs `f` where `rten-gemm` sees one rayon thread; `None` if it cannot.
fn serially<R: Send>(f: impl FnOnce() -> R + Send) -> Option<R> {
    if rayon::current_thread_index().is_some() {
        // A team helper (a one-thread pool of its own) or a worker of
        // someone else's pool.
        return (rayon::current_num_threads() == 1).then(f);
    }
    POOL.with(|slot| {
        let mut slot = slot.borrow_mut();
        let pool = slot.get_or_insert_with(|| rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().ok());
        pool.as_ref().map(|p| p.install(f))
    })
}

/// Products with at least this many multiply-adds are split by rows
/// between the team's threads (see the `team` module); a recurrent step's
/// product (32×256 by 256×1024 is 8M) is, a batch of 8 by 128 units is not.
const SPLIT_MIN_MACS: usize = 1 << 20;

/// `C = A·B` for f32, where `owner` is the buffer `g.b` lies in: for an
/// eligible product, from B's cached packing (made now if B is new);
/// otherwise, or if `rten-gemm` declines, through `matrixmultiply`.
pub(crate) fn gemm_f32_reused(g: Gemm<'_, f32>, owner: &Arc<Buffer<f32>>) {
    // Where B starts in the owner's buffer (a window of it may start further in).
    let start = (g.b.as_ptr() as usize).wrapping_sub(owner.as_ptr() as usize) / std::mem::size_of::<f32>();
    let inside = g.b.as_ptr() >= owner.as_ptr() && start + g.b.len() <= owner.len();
    if g.m > MAX_ROWS || g.k * g.n < MIN_ELEMENTS || !inside {
        return gemm::multiply(g, matrixmultiply::sgemm);
    }
    let layout = (start, g.k, g.n, g.rsb, g.csb);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.retain(|e| e.owner.strong_count() > 0);
        let Ok(b) = NdTensorView::from_data_with_strides([g.k, g.n], g.b, [g.rsb, g.csb]) else {
            drop(cache);
            return gemm::multiply(g, matrixmultiply::sgemm);
        };
        let found = cache.iter().position(|e| std::ptr::eq(e.owner.as_ptr(), Arc::as_ptr(owner)) && e.layout == layout);
        let i = found.unwrap_or_else(|| {
            if cache.len() == CAPACITY {
                cache.remove(0);
            }
            let packed = EXECUTOR.with(|ex| ex.prepack_b(b));
            cache.push(Entry { owner: Arc::downgrade(owner), layout, packed });
            cache.len() - 1
        });
        let packed = &cache[i].packed;
        let Ok(a) = NdTensorView::from_data_with_strides([g.m, g.k], g.a, [g.rsa, g.csa]) else {
            drop(cache);
            return gemm::multiply(g, matrixmultiply::sgemm);
        };
        let (m, k, n) = (g.m, g.k, g.n);
        let parts = if m * k * n >= SPLIT_MIN_MACS { num_threads().min(m / 8).max(1) } else { 1 };
        let rows = m.div_ceil(parts);
        let done = {
            // Each part: a band of rows of A and C, against all of B.
            let bands: Vec<Mutex<&mut [MaybeUninit<f32>]>> = g.c[..m * n].chunks_mut(rows * n).map(Mutex::new).collect();
            let failed = AtomicBool::new(false);
            team::run(bands.len(), &|i| {
                let (first, count) = (i * rows, rows.min(m - i * rows));
                let mut guard = bands[i].lock().unwrap_or_else(|e| e.into_inner());
                let c: &mut [MaybeUninit<f32>] = &mut guard;
                let a = a.slice(first..first + count);
                let ok = serially(|| {
                    EXECUTOR.with(|ex| {
                        ex.gemm_uninit(c, GemmInputA::Unpacked(a), GemmInputB::Packed(packed), GemmUninitOptions::default()).is_ok()
                    })
                });
                if ok != Some(true) {
                    failed.store(true, Ordering::Relaxed);
                }
            });
            !failed.load(Ordering::Relaxed)
        };
        if !done {
            drop(cache);
            gemm::multiply(g, matrixmultiply::sgemm);
        }
    })
}

/// How many right operands this thread has packed and kept.
#[cfg(test)]
pub(super) fn packed_operands() -> usize {
    CACHE.with(|c| c.borrow().iter().filter(|e| e.owner.strong_count() > 0).count())
}
