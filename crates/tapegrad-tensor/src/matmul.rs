//! Matrix products, 2-D and batched 3-D, through a GEMM crate.
//!
//! Transposed operands are read through strides, never copied, so the
//! backward rules `dA = G·Bᵀ` and `dB = Aᵀ·G` cost one GEMM each.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::or_panic;
use crate::layout::Shape;
use crate::{Result, Scalar, Tensor, TensorError};

/// One strided GEMM call, `C = A·B + beta·C`, with `A` m×k, `B` k×n and `C`
/// m×n; row and column strides are in elements. Internal plumbing between
/// [`Tensor::matmul`] and the GEMM crate, public only because [`Scalar`]
/// names it.
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
    /// C's elements, row-major, contiguous.
    pub c: &'a mut [T],
    /// Multiplier of the old C.
    pub beta: T,
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

/// Threads used by large matrix products (default: the machine's
/// available parallelism). Small products always run on the calling
/// thread: for the products of a recurrent step, starting threads costs
/// more than it saves.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Products with at least this many multiply-adds are split across threads.
const PARALLEL_MIN_MACS: usize = 1 << 24;

/// Sets the number of threads large matrix products may use (1 = never
/// split). Takes effect for the next product.
///
/// ```
/// tapegrad_tensor::set_num_threads(1);
/// assert_eq!(tapegrad_tensor::num_threads(), 1);
/// tapegrad_tensor::set_num_threads(2);
/// ```
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The number of threads large matrix products use.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("TAPEGRAD_NUM_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            THREADS.store(n.max(1), Ordering::Relaxed);
            n.max(1)
        }
        n => n,
    }
}

/// Runs `kernel` on `g`, splitting the rows of A and C between threads when
/// the product is large enough to pay for it. Each part is an independent
/// GEMM of the crate, so results are bit-identical to the unsplit call.
fn dispatch<T: Copy + Send + Sync>(g: Gemm<'_, T>, kernel: fn(Gemm<'_, T>)) {
    let threads = num_threads().min(g.m / 16).max(1);
    if threads == 1 || g.m * g.n * g.k < PARALLEL_MIN_MACS {
        return kernel(g);
    }
    let rows = g.m.div_ceil(threads).next_multiple_of(8);
    let Gemm { m, k, n, a, rsa, csa, b, rsb, csb, c, beta } = g;
    std::thread::scope(|scope| {
        let mut rest = c;
        let mut row = 0;
        let mut parts = Vec::new();
        while row < m {
            let take = rows.min(m - row);
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(take * n);
            rest = tail;
            parts.push(Gemm { m: take, k, n, a: &a[row * rsa..], rsa, csa, b, rsb, csb, c: mine, beta });
            row += take;
        }
        let last = parts.pop();
        for part in parts {
            scope.spawn(move || kernel(part));
        }
        if let Some(part) = last {
            kernel(part);
        }
    });
}

pub(crate) fn gemm_f32(g: Gemm<'_, f32>) {
    dispatch(g, sgemm)
}

pub(crate) fn gemm_f64(g: Gemm<'_, f64>) {
    dispatch(g, dgemm)
}

fn sgemm(g: Gemm<'_, f32>) {
    assert!(g.in_bounds(), "gemm: operand slices too short for {}x{}x{}", g.m, g.k, g.n);
    // SAFETY: `in_bounds` checked that every element the kernel reads or
    // writes lies inside the slices; `c` is exclusively borrowed.
    unsafe {
        matrixmultiply::sgemm(
            g.m,
            g.k,
            g.n,
            1.0,
            g.a.as_ptr(),
            g.rsa as isize,
            g.csa as isize,
            g.b.as_ptr(),
            g.rsb as isize,
            g.csb as isize,
            g.beta,
            g.c.as_mut_ptr(),
            g.n as isize,
            1,
        )
    }
}

fn dgemm(g: Gemm<'_, f64>) {
    assert!(g.in_bounds(), "gemm: operand slices too short for {}x{}x{}", g.m, g.k, g.n);
    // SAFETY: as in `sgemm`.
    unsafe {
        matrixmultiply::dgemm(
            g.m,
            g.k,
            g.n,
            1.0,
            g.a.as_ptr(),
            g.rsa as isize,
            g.csa as isize,
            g.b.as_ptr(),
            g.rsb as isize,
            g.csb as isize,
            g.beta,
            g.c.as_mut_ptr(),
            g.n as isize,
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

impl<T: Scalar> Tensor<T> {
    /// Matrix product `self · other`.
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
    /// assert!(a.try_matmul(&Tensor::ones(&[3, 1])).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Rank`] for an operand that is not 2-D or 3-D,
    /// [`TensorError::ShapeMismatch`] naming both shapes when the inner
    /// dimensions or batch sizes differ.
    pub fn try_matmul(&self, other: &Self) -> Result<Self> {
        self.try_matmul_t(other, false, false)
    }

    /// Panicking form of [`Tensor::try_matmul`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul` would return.
    #[track_caller]
    pub fn matmul(&self, other: &Self) -> Self {
        or_panic(self.try_matmul(other))
    }

    /// Matrix product with either operand transposed in its last two axes,
    /// `op(self) · op(other)` where `op` is identity or transpose as
    /// `trans_a`/`trans_b` say. The transpose is a change of strides, not a
    /// copy.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    /// let ata = a.try_matmul_t(&a, true, false).unwrap(); // Aᵀ·A, 2×2
    /// assert_eq!(ata.data(), &[35.0, 44.0, 44.0, 56.0]);
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::try_matmul`], with the shapes as given (before transposing).
    pub fn try_matmul_t(&self, other: &Self, trans_a: bool, trans_b: bool) -> Result<Self> {
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
        let mut c = vec![T::zero(); out.iter().product()];
        if m * n == 0 || k == 0 {
            return Ok(Tensor::from_parts(c, out));
        }
        match batch {
            // Fold the batch into the rows: one large GEMM is faster than many.
            Some(bs) if a.batch.is_some() && b.batch.is_none() && !trans_a => T::gemm(Gemm {
                m: bs * m,
                k,
                n,
                a: self.data(),
                rsa: a.rs,
                csa: a.cs,
                b: other.data(),
                rsb: b.rs,
                csb: b.cs,
                c: &mut c,
                beta: T::zero(),
            }),
            Some(bs) => {
                for (i, ci) in c.chunks_mut(m * n).enumerate().take(bs) {
                    let ao = if a.batch.is_some() { i * a.batch_stride } else { 0 };
                    let bo = if b.batch.is_some() { i * b.batch_stride } else { 0 };
                    T::gemm(Gemm {
                        m,
                        k,
                        n,
                        a: &self.data()[ao..],
                        rsa: a.rs,
                        csa: a.cs,
                        b: &other.data()[bo..],
                        rsb: b.rs,
                        csb: b.cs,
                        c: ci,
                        beta: T::zero(),
                    });
                }
            }
            None => T::gemm(Gemm {
                m,
                k,
                n,
                a: self.data(),
                rsa: a.rs,
                csa: a.cs,
                b: other.data(),
                rsb: b.rs,
                csb: b.cs,
                c: &mut c,
                beta: T::zero(),
            }),
        }
        Ok(Tensor::from_parts(c, out))
    }

    /// Panicking form of [`Tensor::try_matmul_t`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul_t` would return.
    #[track_caller]
    pub fn matmul_t(&self, other: &Self, trans_a: bool, trans_b: bool) -> Self {
        or_panic(self.try_matmul_t(other, trans_a, trans_b))
    }
}
