//! Matrix products and `linear`: forward and derivative together.
//!
//! A transposed operand is a marker, [`Transposed`] (`w.t()`), consumed by
//! the product, which reads it through strides; no public function takes
//! transpose flags.

use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError, Transposed, TransposedMatmul};

use super::Backward;
use crate::error::or_panic;
use crate::ops::Op;
use crate::sweep::{Contribution, Contributions};
use crate::{AutodiffError, Result, Val, Var};

/// The rule of `C = op(A)·op(B)` (derivatives in [`Var::try_matmul`]'s
/// doc), each product one GEMM reading its operands through strides. In a
/// first-order sweep, a 2-D `B` under a 2-D `A` receives its `Xᵀ·Y` as a
/// deferred pair: summed over all its users (every step of a sequence) as
/// one stacked GEMM when the sweep reaches it.
pub(crate) fn backward<'t, T: Scalar>(ta: bool, tb: bool, cx: &Backward<'_, 't, T>) -> Contributions<'t, T> {
    let ([a, b], g, wants) = (cx.inputs, cx.grad, cx.wants) else { unreachable!("matmul has two inputs") };
    let da = wants[0].then(|| Contribution::Dense(if ta { b.product(tb, g, true) } else { g.product(false, b, !tb) }));
    let db = wants[1].then(|| match (cx.first_order, ta, a, b, g) {
        (true, false, Val::Tensor(at), Val::Tensor(bt), Val::Tensor(gt)) if at.ndim() == 2 && bt.ndim() == 2 => {
            let (x, y) = if tb { (gt.clone(), at.clone()) } else { (at.clone(), gt.clone()) };
            Contribution::Deferred { x, y }
        }
        _ => Contribution::Dense(if tb { g.product(true, a, ta) } else { a.product(!ta, g, false) }),
    });
    smallvec::smallvec![da, db]
}

/// `op(a)·op(b)` on tensors through the public operand markers.
pub(crate) fn tensor_product<T: Scalar>(a: &Tensor<T>, ta: bool, b: &Tensor<T>, tb: bool) -> tapegrad_tensor::Result<Tensor<T>> {
    match (ta, tb) {
        (false, false) => a.try_matmul(b),
        (false, true) => a.try_matmul(b.t()),
        (true, false) => a.t().try_matmul(b),
        (true, true) => a.t().try_matmul(b.t()),
    }
}

/// A right operand of [`Var::try_matmul`]: a variable, or a [`Transposed`]
/// one (`w.t()`). Sealed.
pub trait VarOperand<'t, T: Scalar>: sealed::Sealed {
    /// The variable and whether it is read transposed (callable only
    /// inside this crate: no one else can make the token).
    fn operand(self, _: sealed::Token) -> (Var<'t, T>, bool);
}

/// A right operand of [`Val::matmul`]: a value, or a [`Transposed`] one
/// (`v.t()`). Sealed.
pub trait ValOperand<'a, 't, T: Scalar>: sealed::Sealed {
    /// The value and whether it is read transposed (callable only inside
    /// this crate).
    fn operand(self, _: sealed::Token) -> (&'a Val<'t, T>, bool);
}

mod sealed {
    use super::{Scalar, Transposed, Val, Var};
    /// Proof of being inside the crate, for calling the operand methods.
    pub struct Token(pub(super) ());
    pub trait Sealed {}
    impl<T: Scalar> Sealed for Var<'_, T> {}
    impl<T: Scalar> Sealed for Transposed<Var<'_, T>> {}
    impl<T: Scalar> Sealed for &Val<'_, T> {}
    impl<T: Scalar> Sealed for Transposed<&Val<'_, T>> {}
}

impl<'t, T: Scalar> VarOperand<'t, T> for Var<'t, T> {
    fn operand(self, _: sealed::Token) -> (Var<'t, T>, bool) {
        (self, false)
    }
}
impl<'t, T: Scalar> VarOperand<'t, T> for Transposed<Var<'t, T>> {
    fn operand(self, _: sealed::Token) -> (Var<'t, T>, bool) {
        (self.0, true)
    }
}
impl<'a, 't, T: Scalar> ValOperand<'a, 't, T> for &'a Val<'t, T> {
    fn operand(self, _: sealed::Token) -> (&'a Val<'t, T>, bool) {
        (self, false)
    }
}
impl<'a, 't, T: Scalar> ValOperand<'a, 't, T> for Transposed<&'a Val<'t, T>> {
    fn operand(self, _: sealed::Token) -> (&'a Val<'t, T>, bool) {
        (self.0, true)
    }
}

/// `wᵀ·rhs` for a transposed variable on the left: `w.t().matmul(x)`.
impl<'t, T: Scalar, R: VarOperand<'t, T>> TransposedMatmul<R> for Var<'t, T> {
    type Output = Var<'t, T>;
    type Error = AutodiffError;
    #[track_caller]
    fn try_transposed_matmul(self, rhs: R) -> Result<Var<'t, T>> {
        let (b, tb) = rhs.operand(sealed::Token(()));
        self.product(true, b, tb)
    }
}

/// `vᵀ·rhs` for a transposed value on the left (in backward rules).
impl<'a, 't, T: Scalar, R: ValOperand<'a, 't, T>> TransposedMatmul<R> for &'a Val<'t, T> {
    type Output = Val<'t, T>;
    type Error = AutodiffError;
    #[track_caller]
    fn try_transposed_matmul(self, rhs: R) -> Result<Val<'t, T>> {
        let (b, tb) = rhs.operand(sealed::Token(()));
        self.try_product(true, b, tb)
    }
}

impl<'t, T: Scalar> Val<'t, T> {
    /// Matrix product `self·rhs`, `rhs` a value or a transposed one
    /// (`v.t()`); `v.t().matmul(rhs)` transposes the left operand.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tensor, Val};
    /// let a = Val::<f64>::from(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
    /// assert_eq!(a.matmul(a.t()).value().data(), &[5.0, 11.0, 11.0, 25.0]);
    /// assert_eq!(a.t().matmul(&a).value().data(), &[10.0, 14.0, 14.0, 20.0]);
    /// ```
    ///
    /// # Panics
    /// With the matmul error's message for shapes that do not multiply.
    #[track_caller]
    pub fn matmul<'a>(&self, rhs: impl ValOperand<'a, 't, T>) -> Self
    where
        't: 'a,
    {
        let (b, tb) = rhs.operand(sealed::Token(()));
        or_panic(self.try_product(false, b, tb))
    }

    /// This value read with its last two axes swapped, as a product operand.
    pub fn t(&self) -> Transposed<&Self> {
        Transposed(self)
    }

    /// `op(self)·op(other)` (panicking; shapes in backward rules agree).
    #[track_caller]
    pub(crate) fn product(&self, ta: bool, other: &Self, tb: bool) -> Self {
        or_panic(self.try_product(ta, other, tb))
    }

    #[track_caller]
    fn try_product(&self, ta: bool, other: &Self, tb: bool) -> Result<Self> {
        Ok(match (self, other) {
            (Val::Tensor(a), Val::Tensor(b)) => Val::Tensor(tensor_product(a, ta, b, tb)?),
            _ => Val::Var(self.to_var_with(other).product(ta, other.to_var_with(self), tb)?),
        })
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Matrix product: `(m,k)·(k,n)`, batched `(b,m,k)·(b,k,n)`, or
    /// `(b,m,k)·(k,n)` with the matrix shared across the batch. The right
    /// operand may be transposed, `x.matmul(w.t())`, and so may the left,
    /// `a.t().matmul(b)`; transposes are read through strides, not copied.
    /// Derivative: `dA = G·Bᵀ`, `dB = Aᵀ·G` (summed over the batch for a
    /// shared `B`).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2, 3]));
    /// let w = tape.leaf(Tensor::ones(&[4, 3]));
    /// assert_eq!(x.try_matmul(w.t()).unwrap().shape().as_slice(), &[2, 4]);
    /// assert_eq!(x.t().try_matmul(x).unwrap().shape().as_slice(), &[3, 3]);
    /// assert!(x.try_matmul(w).is_err()); // [2, 3]·[4, 3]
    /// ```
    ///
    /// # Errors
    /// A tensor error naming `matmul` and both shapes as stored (rank,
    /// inner or batch size mismatch); [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_matmul(self, other: impl VarOperand<'t, T>) -> Result<Self> {
        let (b, tb) = other.operand(sealed::Token(()));
        self.product(false, b, tb)
    }
    /// Panicking form of [`Var::try_matmul`].
    ///
    /// # Panics
    /// With the message of the error `try_matmul` returns.
    #[track_caller]
    pub fn matmul(self, other: impl VarOperand<'t, T>) -> Self {
        or_panic(self.try_matmul(other))
    }

    /// This matrix (or batch of matrices) read with its last two axes
    /// swapped, as an operand of [`Var::matmul`]; nothing is recorded or
    /// copied. For a materialised transpose use [`Var::try_transpose`].
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
    /// assert_eq!(a.t().matmul(a).value().data(), &[10.0, 14.0, 14.0, 20.0]);
    /// ```
    pub fn t(self) -> Transposed<Self> {
        Transposed(self)
    }

    /// `op(self)·op(other)`, recorded as one product.
    #[track_caller]
    pub(crate) fn product(self, trans_a: bool, other: Var<'t, T>, trans_b: bool) -> Result<Self> {
        self.same_tape("matmul", &other)?;
        let (a, b) = (self.value(), other.value());
        // A batch of rows against one shared matrix is one 2-D product: the
        // backward then needs no per-batch GEMMs nor a batch sum.
        if a.ndim() == 3 && b.ndim() == 2 && !trans_a {
            return self.on_rows(|rows| rows.product(false, other, trans_b));
        }
        let y = tensor_product(&a, trans_a, &b, trans_b)?;
        self.tape.record(y, Op::MatMul { trans_a, trans_b }, &[self, other])
    }

    /// A linear map `x·Wᵀ + b` with `W` stored `(out, in)` as PyTorch
    /// stores it, the bias optional: `x` is `(…, in)` of rank 2 or more
    /// (leading axes are folded into one product), the result `(…, out)`.
    /// Recorded as one product and one broadcast add; derivatives those of
    /// [`Var::try_matmul`] and [`Var::try_add`].
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[5, 2, 3]));
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 0.0, 0.0, 1.0], &[2, 3]));
    /// let b = tape.leaf(Tensor::from_vec(vec![0.5, -1.0], &[2]));
    /// let y = x.try_linear(w, Some(b)).unwrap();
    /// assert_eq!(y.shape().as_slice(), &[5, 2, 2]);
    /// assert_eq!(&y.value().data()[..2], &[6.5, 0.0]);
    /// assert!(x.try_linear(w.try_transpose(0, 1).unwrap(), None).is_err()); // W is (out, in)
    /// ```
    ///
    /// # Errors
    /// A tensor error naming `linear`: [`TensorError::Rank`] for an `x` of
    /// rank below 2 or a `W` not 2-D, [`TensorError::ShapeMismatch`] when
    /// `x`'s last axis is not `W`'s second or the bias is not `(out,)`;
    /// [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_linear(self, w: Var<'t, T>, bias: Option<Var<'t, T>>) -> Result<Self> {
        let (xs, ws) = (self.shape(), w.shape());
        let rank = |shape: &Shape, expected| TensorError::Rank { op: "linear", shape: shape.clone(), expected };
        if xs.len() < 2 {
            return Err(rank(&xs, "at least 2").into());
        }
        if ws.len() != 2 {
            return Err(rank(&ws, "2 (out, in)").into());
        }
        let mismatch = |rhs: Shape, why| TensorError::ShapeMismatch { op: "linear", lhs: xs.clone(), rhs, why };
        let inp = xs[xs.len() - 1];
        if ws[1] != inp {
            return Err(mismatch(ws, "the input's last axis must equal the weight's second (W is (out, in))").into());
        }
        if let Some(b) = bias {
            if b.shape().as_slice() != [ws[0]] {
                return Err(mismatch(b.shape(), "the bias must be (out,), out the weight's first axis").into());
            }
        }
        self.on_rows(|rows| {
            let y = rows.try_matmul(w.t())?;
            bias.map_or(Ok(y), |b| y.try_add(b))
        })
    }

    /// `f` applied to this value's rows: a `(…, k)` value of rank 3 or
    /// more is read as `(rows, k)` (its leading axes folded into one) and
    /// `f`'s `(rows, n)` result unfolded to `(…, n)`; a 2-D value is passed
    /// as it is. Products of batched rows with one matrix are thus single
    /// 2-D products.
    #[track_caller]
    fn on_rows(self, f: impl FnOnce(Self) -> Result<Self>) -> Result<Self> {
        let shape = self.shape();
        if shape.len() == 2 {
            return f(self);
        }
        let (lead, k) = shape.split_at(shape.len() - 1);
        let y = f(self.try_reshape(&[lead.iter().product(), k[0]])?)?;
        let mut out = shape.clone();
        *out.last_mut().expect("rank ≥ 2") = y.shape()[1];
        y.try_reshape(&out)
    }
    /// Panicking form of [`Var::try_linear`].
    ///
    /// # Panics
    /// With the message of the error `try_linear` returns.
    #[track_caller]
    pub fn linear(self, w: Var<'t, T>, bias: Option<Var<'t, T>>) -> Self {
        or_panic(self.try_linear(w, bias))
    }
}
