//! Matrix products, 2-D and batched 3-D, through the engine's GEMM.
//!
//! Transposed operands are read through strides, never copied, so `A·Bᵀ`
//! and `Aᵀ·B` cost one GEMM each.

use crate::engine::{self, Gemm};
use crate::error::or_panic;
use crate::layout::Shape;
use crate::{Result, Scalar, Tensor, TensorError};

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
///
/// ```
/// use tapegrad_tensor::{MatmulOperand, Tensor};
/// fn times<'a>(a: &Tensor<f64>, b: impl MatmulOperand<'a, f64>) -> Vec<usize> {
///     a.matmul(b).shape().to_vec()
/// }
/// let (a, b) = (Tensor::<f64>::ones(&[2, 3]), Tensor::<f64>::ones(&[4, 3]));
/// assert_eq!(times(&a, b.t()), vec![2, 4]);
/// assert_eq!(times(&a, &Tensor::ones(&[3, 5])), vec![2, 5]);
/// ```
pub trait MatmulOperand<'a, T: Scalar>: sealed::Sealed {
    /// The tensor and whether it is read transposed (callable only inside
    /// this crate: no one else can make the token).
    fn operand(self, _: sealed::Token) -> (&'a Tensor<T>, bool);
}

mod sealed {
    /// Proof of being inside the crate, for calling [`super::MatmulOperand::operand`].
    pub struct Token(pub(super) ());
    pub trait Sealed {}
    impl<T: crate::Scalar> Sealed for &crate::Tensor<T> {}
    impl<T: crate::Scalar> Sealed for super::Transposed<&crate::Tensor<T>> {}
}

impl<'a, T: Scalar> MatmulOperand<'a, T> for &'a Tensor<T> {
    fn operand(self, _: sealed::Token) -> (&'a Tensor<T>, bool) {
        (self, false)
    }
}

impl<'a, T: Scalar> MatmulOperand<'a, T> for Transposed<&'a Tensor<T>> {
    fn operand(self, _: sealed::Token) -> (&'a Tensor<T>, bool) {
        (self.0, true)
    }
}

/// A left operand that can multiply `R` when read transposed: the
/// machinery behind [`Transposed::try_matmul`], implemented for tensors
/// here and for variables in tapegrad-autodiff.
///
/// ```
/// use tapegrad_tensor::{Tensor, TransposedMatmul};
/// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
/// let ata = (&a).try_transposed_matmul(&a).unwrap(); // what `a.t().try_matmul(&a)` calls
/// assert_eq!(ata.data(), &[35.0, 44.0, 44.0, 56.0]);
/// ```
pub trait TransposedMatmul<R> {
    /// The product's type.
    type Output;
    /// The error a bad pair of shapes gives.
    type Error: std::fmt::Display;
    /// `selfᵀ · rhs`, the transpose of the last two axes of `self`.
    ///
    /// ```
    /// use tapegrad_tensor::{Tensor, TransposedMatmul};
    /// let x = Tensor::<f64>::ones(&[4, 2]);
    /// assert_eq!((&x).try_transposed_matmul(&Tensor::ones(&[4, 3])).unwrap().shape(), &[2, 3]);
    /// ```
    ///
    /// # Errors
    /// The implementor's shape error.
    fn try_transposed_matmul(self, rhs: R) -> std::result::Result<Self::Output, Self::Error>;
}

impl<'a, T: Scalar, R: MatmulOperand<'a, T>> TransposedMatmul<R> for &'a Tensor<T> {
    type Output = Tensor<T>;
    type Error = TensorError;
    fn try_transposed_matmul(self, rhs: R) -> Result<Tensor<T>> {
        let (b, tb) = rhs.operand(sealed::Token(()));
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
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let x = Tensor::<f64>::arange(6).reshape(&[3, 2]);
    /// assert_eq!(x.t().matmul(&Tensor::ones(&[3, 1])).data(), &[6.0, 9.0]); // column sums
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Transposed::try_matmul`] returns.
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
        let (b, tb) = other.operand(sealed::Token(()));
        self.product(b, false, tb)
    }

    /// Panicking form of [`Tensor::try_matmul`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let x = Tensor::<f64>::ones(&[5, 2, 3]); // a batch of 5
    /// let w = Tensor::<f64>::ones(&[3, 4]);
    /// assert_eq!(x.matmul(&w).shape(), &[5, 2, 4]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_matmul`] returns.
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
            Some(bs) if a.batch.is_some() && b.batch.is_none() && !trans_a => engine::gemm(Gemm {
                m: bs * m,
                k,
                n,
                a: self.data(),
                rsa: a.rs,
                csa: a.cs,
                b: other.data(),
                rsb: b.rs,
                csb: b.cs,
                c: spare,
            }),
            Some(_) => {
                for (i, ci) in spare.chunks_mut(m * n).enumerate() {
                    let ao = if a.batch.is_some() { i * a.batch_stride } else { 0 };
                    let bo = if b.batch.is_some() { i * b.batch_stride } else { 0 };
                    let (a_data, b_data) = (&self.data()[ao..], &other.data()[bo..]);
                    engine::gemm(Gemm { m, k, n, a: a_data, rsa: a.rs, csa: a.cs, b: b_data, rsb: b.rs, csb: b.cs, c: ci });
                }
            }
            // A 2-D right operand may be a weight used at every step: it may
            // be multiplied from a cached packing (f32, small m).
            None => engine::gemm_reused(
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
