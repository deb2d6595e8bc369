//! One strided GEMM call, split between the team's threads into bands
//! of C, each band an independent call of `matrixmultiply`'s kernel for
//! the element type.

use std::mem::MaybeUninit;

use crate::Scalar;

/// One strided GEMM call, `C = A·B`, with `A` m×k, `B` k×n and `C` m×n
/// (row-major, contiguous, written without being read, so it may start
/// uninitialised); row and column strides are in elements: what
/// `Tensor::matmul` hands the engine. (`pub` only in name: this module is
/// private, and the sealed kernels of [`Scalar`] take it.)
pub struct Gemm<'a, T> {
    /// Rows of A and C.
    pub(crate) m: usize,
    /// Columns of A, rows of B.
    pub(crate) k: usize,
    /// Columns of B and C.
    pub(crate) n: usize,
    /// A's elements, strides `(rsa, csa)`.
    pub(crate) a: &'a [T],
    /// Row stride of A.
    pub(crate) rsa: usize,
    /// Column stride of A.
    pub(crate) csa: usize,
    /// B's elements, strides `(rsb, csb)`.
    pub(crate) b: &'a [T],
    /// Row stride of B.
    pub(crate) rsb: usize,
    /// Column stride of B.
    pub(crate) csb: usize,
    /// C's elements, row-major, contiguous; every one is written.
    pub(crate) c: &'a mut [MaybeUninit<T>],
}

impl<T> Gemm<'_, T> {
    /// Checks every index the kernel may touch lies inside the slices.
    fn in_bounds(&self) -> bool {
        let last = |r: usize, c: usize, rs: usize, cs: usize| if r == 0 || c == 0 { 0 } else { (r - 1) * rs + (c - 1) * cs + 1 };
        last(self.m, self.k, self.rsa, self.csa) <= self.a.len()
            && last(self.k, self.n, self.rsb, self.csb) <= self.b.len()
            && self.m * self.n <= self.c.len()
    }
}

/// A rectangle of one GEMM for one thread: raw pointers to its first
/// elements of A, B and C, and C's row stride. Built only by [`multiply`]
/// from a bounds-checked [`Gemm`], as disjoint rectangles of C.
struct Part<T> {
    m: usize,
    k: usize,
    n: usize,
    a: *const T,
    rsa: usize,
    csa: usize,
    b: *const T,
    rsb: usize,
    csb: usize,
    c: *mut T,
    rsc: usize,
}

// SAFETY: a part only reads A and B (shared, `Sync` data) and writes its
// own rectangle of C, disjoint from every other part's; each part is run
// by one thread only (`team::run` runs each index once), and the section
// that runs them ends before the borrows they were made from.
unsafe impl<T: Sync> Send for Part<T> {}
// SAFETY: as for `Send`: shared access to a part only hands it to the one
// thread that runs it.
unsafe impl<T: Sync> Sync for Part<T> {}

/// Products with at least this many multiply-adds are split across threads.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Runs `kernel` on `g`, splitting C between threads when the product is
/// large enough to pay for it: into bands of rows when C is taller than
/// wide, else into bands of columns, so that each thread packs only its
/// share of the larger operand (for a recurrent step, C is a batch of rows
/// times a wide weight, and splitting rows would make every thread pack
/// the whole weight). The bands run on the thread team (see `team`). Each
/// part is an independent call of `kernel` over the same inner dimension,
/// so results are bit-identical to the unsplit call.
///
/// # Panics
/// If the slices of `g` are too short for its sizes (an internal bug).
pub(crate) fn multiply<T: Scalar>(g: Gemm<'_, T>, kernel: Kernel<T>) {
    assert!(g.in_bounds(), "gemm: operand slices too short for {}x{}x{}", g.m, g.k, g.n);
    let Gemm { m, k, n, a, rsa, csa, b, rsb, csb, c } = g;
    let whole = Part { m, k, n, a: a.as_ptr(), rsa, csa, b: b.as_ptr(), rsb, csb, c: c.as_mut_ptr().cast::<T>(), rsc: n };
    let by_rows = m >= n;
    let (long, quantum) = if by_rows { (m, 8) } else { (n, 16) };
    let threads = super::num_threads().min(long / quantum).max(1);
    if threads == 1 || m * n * k < PARALLEL_MIN_MACS {
        // SAFETY: `in_bounds` checked every element the kernel touches lies
        // in the slices; `c` is exclusively borrowed for the call.
        return unsafe { run_part(kernel, &whole) };
    }
    let band = long.div_ceil(threads).next_multiple_of(quantum);
    let parts: Vec<Part<T>> = (0..long)
        .step_by(band)
        .map(|start| {
            let len = band.min(long - start);
            // SAFETY (of the offsets): `start < m` (rows) or `start < n`
            // (columns), so each offset stays inside the checked slices.
            unsafe {
                if by_rows {
                    Part { m: len, a: whole.a.add(start * rsa), c: whole.c.add(start * n), ..whole }
                } else {
                    Part { n: len, b: whole.b.add(start * csb), c: whole.c.add(start), ..whole }
                }
            }
        })
        .collect();
    super::team::run(parts.len(), &|i| {
        // SAFETY: parts are disjoint rectangles of the checked C, each run
        // exactly once, and their reads lie inside the checked A and B.
        unsafe { run_part(kernel, &parts[i]) }
    });
}

/// `matrixmultiply`'s GEMM for one element type (`sgemm`, `dgemm`):
/// `C = α·A·B + β·C` with sizes, pointers and strides.
pub(crate) type Kernel<T> = unsafe fn(usize, usize, usize, T, *const T, isize, isize, *const T, isize, isize, T, *mut T, isize, isize);

/// Runs `kernel` on the rectangle `p` with α = 1, β = 0.
///
/// # Safety
/// Every element of the rectangle `p` describes must lie in live
/// allocations, C's exclusively owned by the caller.
unsafe fn run_part<T: Scalar>(kernel: Kernel<T>, p: &Part<T>) {
    let (rsa, csa, rsb, csb, rsc) = (p.rsa as isize, p.csa as isize, p.rsb as isize, p.csb as isize, p.rsc as isize);
    // SAFETY: the caller's contract; β = 0, so C is written, never read.
    unsafe { kernel(p.m, p.k, p.n, T::one(), p.a, rsa, csa, p.b, rsb, csb, T::zero(), p.c, rsc, 1) }
}
