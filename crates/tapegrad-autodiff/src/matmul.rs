//! Matrix products: forward and derivative together.

use smallvec::SmallVec;
use tapegrad_tensor::Scalar;

use crate::error::or_panic;
use crate::tape::Op;
use crate::{Result, Val, Var};

/// For `C = op(A)·op(B)` (`op` = identity or transpose of the last two axes):
/// `dA = G·op(B)ᵀ` (transposed back if `A` was), `dB = op(A)ᵀ·G` likewise.
/// Each is one GEMM reading its operands through strides.
pub(crate) fn backward<'t, T: Scalar>(
    ta: bool,
    tb: bool,
    a: &Val<'t, T>,
    b: &Val<'t, T>,
    g: &Val<'t, T>,
    wants: &[bool],
) -> SmallVec<[Option<Val<'t, T>>; 2]> {
    let da = wants[0].then(|| if ta { b.matmul_t(g, tb, true) } else { g.matmul_t(b, false, !tb) });
    let db = wants[1].then(|| if tb { g.matmul_t(a, true, ta) } else { a.matmul_t(g, !ta, false) });
    smallvec::smallvec![da, db]
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Matrix product: `(m,k)·(k,n)`, batched `(b,m,k)·(b,k,n)`, or
    /// `(b,m,k)·(k,n)` with the matrix shared across the batch.
    /// Derivative: `dA = G·Bᵀ`, `dB = Aᵀ·G` (summed over the batch for a
    /// shared `B`).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2, 3]));
    /// let w = tape.leaf(Tensor::ones(&[3, 4]));
    /// assert_eq!(x.try_matmul(w).unwrap().shape().as_slice(), &[2, 4]);
    /// assert!(w.try_matmul(w).is_err()); // [3, 4]·[3, 4]
    /// ```
    ///
    /// # Errors
    /// A tensor error naming `matmul` and both shapes (rank, inner or batch
    /// size mismatch); [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_matmul(self, other: Var<'t, T>) -> Result<Self> {
        self.try_matmul_t(other, false, false)
    }
    /// Panicking form of [`Var::try_matmul`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul` returns.
    #[track_caller]
    pub fn matmul(self, other: Var<'t, T>) -> Self {
        or_panic(self.try_matmul(other))
    }

    /// `op(self)·op(other)`, where `op` transposes the last two axes when its
    /// flag is set, without copying. Derivative as [`Var::try_matmul`].
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2, 3]));
    /// let w = tape.leaf(Tensor::ones(&[4, 3]));
    /// assert_eq!(x.try_matmul_t(w, false, true).unwrap().shape().as_slice(), &[2, 4]);
    /// ```
    ///
    /// # Errors
    /// As [`Var::try_matmul`].
    #[track_caller]
    pub fn try_matmul_t(self, other: Var<'t, T>, trans_a: bool, trans_b: bool) -> Result<Self> {
        self.same_tape("matmul", &other)?;
        let (a, b) = (self.value(), other.value());
        // A batch of rows against one shared matrix is one 2-D product: the
        // backward then needs no per-batch GEMMs nor a batch sum.
        if a.ndim() == 3 && b.ndim() == 2 && !trans_a {
            let s = a.shape();
            let (bs, m, k) = (s[0], s[1], s[2]);
            let flat = self.try_reshape(&[bs * m, k])?;
            let y = flat.try_matmul_t(other, false, trans_b)?;
            let n = y.shape()[1];
            return y.try_reshape(&[bs, m, n]);
        }
        let y = a.try_matmul_t(&b, trans_a, trans_b)?;
        self.tape.record(y, Op::MatMul { trans_a, trans_b }, &[self, other])
    }
    /// Panicking form of [`Var::try_matmul_t`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul_t` returns.
    #[track_caller]
    pub fn matmul_t(self, other: Var<'t, T>, trans_a: bool, trans_b: bool) -> Self {
        or_panic(self.try_matmul_t(other, trans_a, trans_b))
    }
}
