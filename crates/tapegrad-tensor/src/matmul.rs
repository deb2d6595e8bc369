//! Matrix products, 2-D and batched 3-D, through a GEMM crate.
//!
//! Transposed operands are read through strides, never copied, so the
//! backward rules `dA = G·Bᵀ` and `dB = Aᵀ·G` cost one GEMM each.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::error::or_panic;
use crate::layout::Shape;
use crate::{Result, Scalar, Tensor, TensorError};

/// One strided GEMM call, `C = A·B`, with `A` m×k, `B` k×n and `C` m×n
/// (row-major, contiguous, written without being read, so it may start
/// uninitialised); row and column strides are in elements. Internal
/// plumbing between [`Tensor::matmul`] and the GEMM crate, public only
/// because [`Scalar`] names it.
#[doc(hidden)]
pub struct Gemm<'a, T> {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of A, rows of B.
    pub k: usize,
    /// Columns of B and C.
    pub n: usize,
    /// A's elements, strides `(rsa, csa)`.
    pub a: &'a [T],
    /// Row stride of A.
    pub rsa: usize,
    /// Column stride of A.
    pub csa: usize,
    /// B's elements, strides `(rsb, csb)`.
    pub b: &'a [T],
    /// Row stride of B.
    pub rsb: usize,
    /// Column stride of B.
    pub csb: usize,
    /// C's elements, row-major, contiguous; every one is written.
    pub c: &'a mut [MaybeUninit<T>],
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
/// elements of A, B and C, and C's row stride. Built only by [`dispatch`]
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

/// Threads used by large matrix products (default: the machine's
/// available parallelism). Small products always run on the calling
/// thread: for the products of a recurrent step, starting threads costs
/// more than it saves.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Products with at least this many multiply-adds are split across threads.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Sets the number of threads large matrix products and long elementwise
/// loops may use (1 = never split; default: `TAPEGRAD_NUM_THREADS`, else
/// the machine's available parallelism). Never more than the CPUs this
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

/// How many stacked rows a sum of products `Σₜ Xₜᵀ·Yₜ` should gather
/// before it is multiplied out as one product `[X₁;…;Xₖ]ᵀ·[Y₁;…;Yₖ]`:
/// enough for the GEMM to run near its large-product rate, few enough to
/// bound the memory the pending pairs hold. The reverse sweep uses it for
/// the gradient of a weight shared by every time step.
///
/// ```
/// assert!(tapegrad_tensor::stacked_product_rows() >= 1);
/// ```
pub fn stacked_product_rows() -> usize {
    512
}

/// The CPUs this process may run on (1 if that cannot be told).
fn available() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The number of threads large matrix products and long elementwise loops use.
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

/// Runs `kernel` on `g`, splitting C between threads when the product is
/// large enough to pay for it: into bands of rows when C is taller than
/// wide, else into bands of columns, so that each thread packs only its
/// share of the larger operand (for a recurrent step, C is a batch of rows
/// times a wide weight, and splitting rows would make every thread pack
/// the whole weight). The bands run on the thread team (see `team`). Each
/// part is an independent GEMM of the crate over
/// the same inner dimension, so results are bit-identical to the unsplit
/// call.
///
/// # Panics
/// If the slices of `g` are too short for its sizes (an internal bug).
fn dispatch<T: Copy + Send + Sync>(g: Gemm<'_, T>, kernel: unsafe fn(&Part<T>)) {
    assert!(g.in_bounds(), "gemm: operand slices too short for {}x{}x{}", g.m, g.k, g.n);
    let Gemm { m, k, n, a, rsa, csa, b, rsb, csb, c } = g;
    let whole = Part { m, k, n, a: a.as_ptr(), rsa, csa, b: b.as_ptr(), rsb, csb, c: c.as_mut_ptr().cast::<T>(), rsc: n };
    let by_rows = m >= n;
    let (long, quantum) = if by_rows { (m, 8) } else { (n, 16) };
    let threads = num_threads().min(long / quantum).max(1);
    if threads == 1 || m * n * k < PARALLEL_MIN_MACS {
        // SAFETY: `in_bounds` checked every element the kernel touches lies
        // in the slices; `c` is exclusively borrowed for the call.
        return unsafe { kernel(&whole) };
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
    crate::team::run(parts.len(), &|i| {
        // SAFETY: parts are disjoint rectangles of the checked C, each run
        // exactly once, and their reads lie inside the checked A and B.
        unsafe { kernel(&parts[i]) }
    });
}

pub(crate) fn gemm_f32(g: Gemm<'_, f32>) {
    dispatch(g, sgemm)
}

pub(crate) fn gemm_f64(g: Gemm<'_, f64>) {
    dispatch(g, dgemm)
}

/// # Safety
/// Every element of the rectangle `p` describes must lie in live
/// allocations, C's exclusively owned by the caller.
unsafe fn sgemm(p: &Part<f32>) {
    // SAFETY: the caller's contract; β = 0, so C is written, never read.
    unsafe {
        matrixmultiply::sgemm(
            p.m,
            p.k,
            p.n,
            1.0,
            p.a,
            p.rsa as isize,
            p.csa as isize,
            p.b,
            p.rsb as isize,
            p.csb as isize,
            0.0,
            p.c,
            p.rsc as isize,
            1,
        )
    }
}

/// # Safety
/// As [`sgemm`].
unsafe fn dgemm(p: &Part<f64>) {
    // SAFETY: as in `sgemm`.
    unsafe {
        matrixmultiply::dgemm(
            p.m,
            p.k,
            p.n,
            1.0,
            p.a,
            p.rsa as isize,
            p.csa as isize,
            p.b,
            p.rsb as isize,
            p.csb as isize,
            0.0,
            p.c,
            p.rsc as isize,
            1,
        )
    }
}

/// (batch, rows, cols) of an operand as the product sees it, after an
/// optional transpose of its last two axes, with the strides to read it.
struct Operand {
    batch: Option<usize>,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
    batch_stride: usize,
}

fn operand(op: &'static str, shape: &[usize], trans: bool) -> Result<Operand> {
    let (batch, r, c) = match *shape {
        [r, c] => (None, r, c),
        [b, r, c] => (Some(b), r, c),
        _ => return Err(TensorError::Rank { op, shape: Shape::from_slice(shape), expected: "2 or 3" }),
    };
    let (rows, cols, rs, cs) = if trans { (c, r, 1, c) } else { (r, c, c, 1) };
    Ok(Operand { batch, rows, cols, rs, cs, batch_stride: r * c })
}

/// A matrix operand read with its last two axes swapped, without copying:
/// what [`Tensor::t`] (and `Var::t` in tapegrad-autodiff) returns. Products
/// accept it wherever they accept the plain operand, and it has a product
/// of its own for a transposed left operand, so no function takes
/// positional transpose flags. For a materialised transpose use
/// [`Tensor::try_transpose`].
///
/// ```
/// use tapegrad_tensor::Tensor;
/// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
/// assert_eq!(a.t().matmul(&a).data(), &[35.0, 44.0, 44.0, 56.0]); // Aᵀ·A
/// assert_eq!(a.matmul(a.t()).shape(), &[3, 3]); // A·Aᵀ
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transposed<M>(pub M);

/// A right operand of [`Tensor::try_matmul`]: a tensor, or a [`Transposed`]
/// one. Sealed; only the crate's own implementations exist.
pub trait MatmulOperand<'a, T: Scalar>: sealed::Sealed {
    /// The tensor and whether it is read transposed.
    #[doc(hidden)]
    fn operand(self) -> (&'a Tensor<T>, bool);
}

mod sealed {
    pub trait Sealed {}
    impl<T: crate::Scalar> Sealed for &crate::Tensor<T> {}
    impl<T: crate::Scalar> Sealed for super::Transposed<&crate::Tensor<T>> {}
}

impl<'a, T: Scalar> MatmulOperand<'a, T> for &'a Tensor<T> {
    fn operand(self) -> (&'a Tensor<T>, bool) {
        (self, false)
    }
}

impl<'a, T: Scalar> MatmulOperand<'a, T> for Transposed<&'a Tensor<T>> {
    fn operand(self) -> (&'a Tensor<T>, bool) {
        (self.0, true)
    }
}

/// A left operand that can multiply `R` when read transposed: the
/// machinery behind [`Transposed::try_matmul`], implemented for tensors
/// here and for variables in tapegrad-autodiff.
pub trait TransposedMatmul<R> {
    /// The product's type.
    type Output;
    /// The error a bad pair of shapes gives.
    type Error: std::fmt::Display;
    /// `selfᵀ · rhs`.
    ///
    /// # Errors
    /// The implementor's shape error.
    fn try_transposed_matmul(self, rhs: R) -> std::result::Result<Self::Output, Self::Error>;
}

impl<'a, T: Scalar, R: MatmulOperand<'a, T>> TransposedMatmul<R> for &'a Tensor<T> {
    type Output = Tensor<T>;
    type Error = TensorError;
    fn try_transposed_matmul(self, rhs: R) -> Result<Tensor<T>> {
        let (b, tb) = rhs.operand();
        self.product(b, true, tb)
    }
}

impl<M> Transposed<M> {
    /// `Mᵀ · rhs`, the transpose read through strides: see
    /// [`Tensor::try_matmul`] for shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    /// let b = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0], &[2, 2]);
    /// assert_eq!(a.t().try_matmul(b.t()).unwrap_err().to_string(),
    ///     "matmul: shapes [3, 2] and [2, 2] are incompatible: the inner dimensions differ"); // Aᵀ·Bᵀ: 3 ≠ 2
    /// assert_eq!(a.t().try_matmul(&a).unwrap().shape(), &[2, 2]);
    /// ```
    ///
    /// # Errors
    /// As the plain product of the operand (for tensors,
    /// [`Tensor::try_matmul`]), with the shapes as stored.
    pub fn try_matmul<R>(self, rhs: R) -> std::result::Result<M::Output, M::Error>
    where
        M: TransposedMatmul<R>,
    {
        self.0.try_transposed_matmul(rhs)
    }

    /// Panicking form of [`Transposed::try_matmul`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul` returns.
    #[track_caller]
    pub fn matmul<R>(self, rhs: R) -> M::Output
    where
        M: TransposedMatmul<R>,
    {
        match self.0.try_transposed_matmul(rhs) {
            Ok(y) => y,
            Err(e) => panic!("{e}"),
        }
    }
}

impl<T: Scalar> Tensor<T> {
    /// Matrix product `self · other`, where `other` is a tensor or a
    /// [`Transposed`] one (`b.t()`, read through strides, not copied).
    ///
    /// Shapes: `(m,k)·(k,n) → (m,n)`; batched `(b,m,k)·(b,k,n) → (b,m,n)`;
    /// a 2-D operand is broadcast over the other's batch, so
    /// `(b,m,k)·(k,n) → (b,m,n)` (one GEMM over all `b·m` rows).
    ///
    /// Derivative: for `C = A·B`, `dA = G·Bᵀ`, `dB = Aᵀ·G`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// let i = Tensor::eye(2);
    /// assert_eq!(a.try_matmul(&i).unwrap(), a);
    /// assert_eq!(a.matmul(a.t()).data(), &[5.0, 11.0, 11.0, 25.0]); // A·Aᵀ
    /// assert!(a.try_matmul(&Tensor::ones(&[3, 1])).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Rank`] for an operand that is not 2-D or 3-D,
    /// [`TensorError::ShapeMismatch`] naming both shapes (as stored, before
    /// any transpose) when the inner dimensions or batch sizes differ;
    /// [`TensorError::ShapeOverflow`] or [`TensorError::TooLarge`] if the
    /// result cannot exist (empty operands `(m, 0)·(0, n)` make an `(m, n)`
    /// result).
    pub fn try_matmul<'a>(&self, other: impl MatmulOperand<'a, T>) -> Result<Self> {
        let (b, tb) = other.operand();
        self.product(b, false, tb)
    }

    /// Panicking form of [`Tensor::try_matmul`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul` would return.
    #[track_caller]
    pub fn matmul<'a>(&self, other: impl MatmulOperand<'a, T>) -> Self {
        or_panic(self.try_matmul(other))
    }

    /// This matrix (or batch of matrices) read with its last two axes
    /// swapped, as an operand of a product; no copy is made.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let w = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// let x = Tensor::ones(&[1, 3]);
    /// assert_eq!(x.matmul(w.t()).data(), &[6.0, 15.0]); // x·Wᵀ
    /// ```
    pub fn t(&self) -> Transposed<&Self> {
        Transposed(self)
    }

    /// `op(self)·op(other)`, `op` the identity or a transpose of the last
    /// two axes as the flags say, read through strides.
    pub(crate) fn product(&self, other: &Self, trans_a: bool, trans_b: bool) -> Result<Self> {
        const OP: &str = "matmul";
        let a = operand(OP, self.shape(), trans_a)?;
        let b = operand(OP, other.shape(), trans_b)?;
        let mismatch =
            |why| TensorError::ShapeMismatch { op: OP, lhs: Shape::from_slice(self.shape()), rhs: Shape::from_slice(other.shape()), why };
        if a.cols != b.rows {
            return Err(mismatch("the inner dimensions differ"));
        }
        let batch = match (a.batch, b.batch) {
            (Some(x), Some(y)) if x != y => return Err(mismatch("the batch sizes differ")),
            (x, y) => x.or(y),
        };
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let mut out: Shape = Shape::new();
        if let Some(bs) = batch {
            out.push(bs);
        }
        out.extend_from_slice(&[m, n]);
        let len = crate::checked_numel(OP, &out)?;
        if len == 0 || k == 0 {
            return Ok(Tensor::from_parts(crate::size::filled(OP, &out, T::zero())?, out));
        }
        // The GEMM writes every element of C without reading it (β = 0), so
        // C starts uninitialised: no pass to zero it first.
        let mut c: Vec<T> = crate::size::alloc(OP, &out)?;
        let spare = &mut c.spare_capacity_mut()[..len];
        match batch {
            // Fold the batch into the rows: one large GEMM is faster than many.
            Some(bs) if a.batch.is_some() && b.batch.is_none() && !trans_a => {
                T::gemm(Gemm { m: bs * m, k, n, a: self.data(), rsa: a.rs, csa: a.cs, b: other.data(), rsb: b.rs, csb: b.cs, c: spare })
            }
            Some(_) => {
                for (i, ci) in spare.chunks_mut(m * n).enumerate() {
                    let ao = if a.batch.is_some() { i * a.batch_stride } else { 0 };
                    let bo = if b.batch.is_some() { i * b.batch_stride } else { 0 };
                    let (a_data, b_data) = (&self.data()[ao..], &other.data()[bo..]);
                    T::gemm(Gemm { m, k, n, a: a_data, rsa: a.rs, csa: a.cs, b: b_data, rsb: b.rs, csb: b.cs, c: ci });
                }
            }
            // A 2-D right operand may be a weight used at every step: it may
            // be multiplied from a cached packing (f32, small m).
            None => T::gemm_reused(
                Gemm { m, k, n, a: self.data(), rsa: a.rs, csa: a.cs, b: other.data(), rsb: b.rs, csb: b.cs, c: spare },
                other.buffer(),
            ),
        }
        // SAFETY: the products above wrote all `len` elements: the folded
        // GEMM and the unbatched one cover `len` = (bs·)m·n elements, and
        // the batched loop one m·n chunk per batch entry.
        unsafe { c.set_len(len) };
        Ok(Tensor::from_parts(c, out))
    }
}
