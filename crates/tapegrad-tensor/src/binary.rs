//! Elementwise binary ops with NumPy broadcasting, comparisons and `where`.

use crate::error::or_panic;
use crate::layout::{self, broadcast_shapes, broadcast_strides};
use crate::{Result, Scalar, Tensor};

impl<T: Scalar> Tensor<T> {
    /// Applies `f` elementwise to `self` and `other` broadcast together.
    /// The building block of every binary op; fast paths for equal shapes,
    /// a scalar operand, and an operand repeated along leading axes. `f`
    /// is `Sync`: a long tensor is computed in bands on several threads.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2, 1]);
    /// let b = Tensor::from_vec(vec![10.0f64, 20.0, 30.0], &[3]);
    /// let c = a.try_zip_map("plus", &b, |x, y| x + y).unwrap();
    /// assert_eq!(c.shape(), &[2, 3]);
    /// assert_eq!(c.data(), &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    /// assert_eq!(a.try_zip_map("plus", &Tensor::ones(&[3, 1]), |x, y| x + y).unwrap_err().to_string(),
    ///     "plus: shapes [2, 1] and [3, 1] cannot be broadcast together");
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `op` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_zip_map(&self, op: &'static str, other: &Self, f: impl Fn(T, T) -> T + Sync) -> Result<Self> {
        let (a, b) = (self.data(), other.data());
        if self.shape() == other.shape() {
            return Ok(Tensor::from_parts(crate::engine::zip(a, b, f), layout::shape(self.shape())));
        }
        let out = broadcast_shapes(op, self.shape(), other.shape())?;
        if other.numel() == 1 && out.as_slice() == self.shape() {
            let y = b[0];
            return Ok(Tensor::from_parts(crate::engine::map(a, |x| f(x, y)), out));
        }
        if self.numel() == 1 && out.as_slice() == other.shape() {
            let x = a[0];
            return Ok(Tensor::from_parts(crate::engine::map(b, |y| f(x, y)), out));
        }
        // One operand repeated along leading axes (a bias added to every row):
        // whole rows against the short operand, a loop the compiler vectorizes.
        let (ra, rb) = (row_len(self.shape(), &out), row_len(other.shape(), &out));
        if out.as_slice() == self.shape() && rb == b.len() && rb > 1 {
            return Ok(Tensor::from_parts(crate::engine::zip_rows(a, b, false, f), out));
        }
        if out.as_slice() == other.shape() && ra == a.len() && ra > 1 {
            return Ok(Tensor::from_parts(crate::engine::zip_rows(b, a, true, f), out));
        }
        let sa = broadcast_strides(self.shape(), &out);
        let sb = broadcast_strides(other.shape(), &out);
        let mut d = crate::size::filled(op, &out, T::zero())?;
        layout::for_each_broadcast(&out, &sa, &sb, |o, ia, ib| d[o] = f(a[ia], b[ib]));
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_zip_map`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![3.0f64, 4.0], &[2]);
    /// let hyp = a.zip_map("hypot", &Tensor::from_vec(vec![4.0, 3.0], &[2]), |x, y| x.hypot(y));
    /// assert_eq!(hyp.data(), &[5.0, 5.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_zip_map`] returns.
    #[track_caller]
    pub fn zip_map(&self, op: &'static str, other: &Self, f: impl Fn(T, T) -> T + Sync) -> Self {
        or_panic(self.try_zip_map(op, other, f))
    }

    /// Elementwise `self + other` with broadcasting: the result has the
    /// broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// assert_eq!(a.try_add(&a).unwrap().data(), &[2.0, 4.0]);
    /// assert!(a.try_add(&Tensor::ones(&[3])).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `add` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_add(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("add", other, |x, y| x + y)
    }
    /// Panicking form of [`Tensor::try_add`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2, 1]);
    /// assert_eq!(a.add(&Tensor::ones(&[3])).shape(), &[2, 3]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_add`] returns.
    #[track_caller]
    pub fn add(&self, other: &Self) -> Self {
        or_panic(self.try_add(other))
    }

    /// Elementwise `self - other` with broadcasting: the result has the
    /// broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![5.0f64, 7.0], &[2]);
    /// assert_eq!(a.try_sub(&Tensor::scalar(1.0)).unwrap().data(), &[4.0, 6.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `sub` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_sub(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("sub", other, |x, y| x - y)
    }
    /// Panicking form of [`Tensor::try_sub`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![5.0f64, 7.0], &[2]);
    /// assert_eq!(a.sub(&a).data(), &[0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_sub`] returns.
    #[track_caller]
    pub fn sub(&self, other: &Self) -> Self {
        or_panic(self.try_sub(other))
    }

    /// Elementwise `self * other` with broadcasting: the result has the
    /// broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// let col = Tensor::from_vec(vec![10.0f64, 100.0], &[2, 1]);
    /// assert_eq!(a.try_mul(&col).unwrap().data(), &[10.0, 20.0, 300.0, 400.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `mul` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_mul(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("mul", other, |x, y| x * y)
    }
    /// Panicking form of [`Tensor::try_mul`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![3.0f64, -2.0], &[2]);
    /// assert_eq!(a.mul(&a).data(), &[9.0, 4.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_mul`] returns.
    #[track_caller]
    pub fn mul(&self, other: &Self) -> Self {
        or_panic(self.try_mul(other))
    }

    /// Elementwise `self / other` with broadcasting (IEEE: `x/0` is ±inf, `0/0`
    /// NaN): the result has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, -1.0, 0.0], &[3]);
    /// let q = a.try_div(&Tensor::scalar(0.0)).unwrap();
    /// assert_eq!(&q.data()[..2], &[f64::INFINITY, f64::NEG_INFINITY]);
    /// assert!(q.data()[2].is_nan());
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `div` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_div(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("div", other, |x, y| x / y)
    }
    /// Panicking form of [`Tensor::try_div`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 3.0], &[2]);
    /// assert_eq!(a.div(&Tensor::scalar(2.0)).data(), &[0.5, 1.5]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_div`] returns.
    #[track_caller]
    pub fn div(&self, other: &Self) -> Self {
        or_panic(self.try_div(other))
    }

    /// Elementwise maximum with broadcasting (NaN if either is NaN): the result
    /// has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 5.0, f64::NAN], &[3]);
    /// let m = a.try_maximum(&Tensor::scalar(2.0)).unwrap();
    /// assert_eq!(&m.data()[..2], &[2.0, 5.0]);
    /// assert!(m.data()[2].is_nan());
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `maximum` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_maximum(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("maximum", other, |x, y| if x.is_nan() || y.is_nan() { T::nan() } else { x.max(y) })
    }
    /// Panicking form of [`Tensor::try_maximum`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![-1.0f64, 3.0], &[2]);
    /// assert_eq!(a.maximum(&Tensor::zeros(&[])).data(), &[0.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_maximum`] returns.
    #[track_caller]
    pub fn maximum(&self, other: &Self) -> Self {
        or_panic(self.try_maximum(other))
    }

    /// Elementwise minimum with broadcasting (NaN if either is NaN): the result
    /// has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 5.0], &[2]);
    /// assert_eq!(a.try_minimum(&Tensor::scalar(2.0)).unwrap().data(), &[1.0, 2.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `minimum` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_minimum(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("minimum", other, |x, y| if x.is_nan() || y.is_nan() { T::nan() } else { x.min(y) })
    }
    /// Panicking form of [`Tensor::try_minimum`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![-1.0f64, 3.0], &[2]);
    /// assert_eq!(a.minimum(&Tensor::zeros(&[])).data(), &[-1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_minimum`] returns.
    #[track_caller]
    pub fn minimum(&self, other: &Self) -> Self {
        or_panic(self.try_minimum(other))
    }

    /// `1` where `self == other`, else `0` (a comparison with NaN is false),
    /// with broadcasting: the result has the broadcast of both shapes. Its
    /// panicking form is not named `eq`, which is `==` ([`PartialEq`], whole
    /// tensors): use `try_eq(..).unwrap()`, or compare the shapes first.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// assert_eq!(a.try_eq(&Tensor::scalar(2.0)).unwrap().data(), &[0.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `eq` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_eq(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("eq", other, |x, y| indicator(x == y))
    }
    /// `1` where `self > other`, else `0` (a comparison with NaN is false),
    /// with broadcasting: the result has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// assert_eq!(a.try_gt(&Tensor::scalar(2.0)).unwrap().data(), &[0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `gt` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_gt(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("gt", other, |x, y| indicator(x > y))
    }
    /// Panicking form of [`Tensor::try_gt`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, f64::NAN], &[2]);
    /// assert_eq!(a.gt(&Tensor::scalar(0.0)).data(), &[1.0, 0.0]); // NaN compares false
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_gt`] returns.
    #[track_caller]
    pub fn gt(&self, other: &Self) -> Self {
        or_panic(self.try_gt(other))
    }

    /// `1` where `self >= other`, else `0` (a comparison with NaN is false),
    /// with broadcasting: the result has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// assert_eq!(a.try_ge(&Tensor::scalar(2.0)).unwrap().data(), &[0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `ge` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_ge(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("ge", other, |x, y| indicator(x >= y))
    }
    /// Panicking form of [`Tensor::try_ge`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(a.ge(&a).data(), &[1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_ge`] returns.
    #[track_caller]
    pub fn ge(&self, other: &Self) -> Self {
        or_panic(self.try_ge(other))
    }

    /// `1` where `self < other`, else `0` (a comparison with NaN is false),
    /// with broadcasting: the result has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// assert_eq!(a.try_lt(&Tensor::scalar(2.0)).unwrap().data(), &[1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `lt` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_lt(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("lt", other, |x, y| indicator(x < y))
    }
    /// Panicking form of [`Tensor::try_lt`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// assert_eq!(a.lt(&a).data(), &[0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_lt`] returns.
    #[track_caller]
    pub fn lt(&self, other: &Self) -> Self {
        or_panic(self.try_lt(other))
    }

    /// `1` where `self <= other`, else `0` (a comparison with NaN is false),
    /// with broadcasting: the result has the broadcast of both shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// assert_eq!(a.try_le(&Tensor::scalar(2.0)).unwrap().data(), &[1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `le` and both shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_le(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("le", other, |x, y| indicator(x <= y))
    }
    /// Panicking form of [`Tensor::try_le`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 3.0], &[2, 1]);
    /// assert_eq!(a.le(&Tensor::scalar(2.0)).data(), &[1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_le`] returns.
    #[track_caller]
    pub fn le(&self, other: &Self) -> Self {
        or_panic(self.try_le(other))
    }

    /// Picks `a` where `self` (the condition) is nonzero (NaN included) and
    /// `b` elsewhere; all three broadcast together, and the result has the
    /// broadcast of their shapes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let cond = Tensor::from_vec(vec![1.0f32, 0.0], &[2]);
    /// let a = Tensor::full(&[2], 5.0f32);
    /// let b = Tensor::scalar(-1.0f32);
    /// assert_eq!(cond.try_where_cond(&a, &b).unwrap().data(), &[5.0, -1.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `where` and the shapes;
    /// [`crate::TensorError::ShapeOverflow`] or
    /// [`crate::TensorError::TooLarge`] if the broadcast result cannot
    /// exist.
    pub fn try_where_cond(&self, a: &Self, b: &Self) -> Result<Self> {
        const OP: &str = "where";
        let ab = broadcast_shapes(OP, a.shape(), b.shape())?;
        let out = broadcast_shapes(OP, self.shape(), &ab)?;
        let (sc, sa, sb) = (broadcast_strides(self.shape(), &out), broadcast_strides(a.shape(), &out), broadcast_strides(b.shape(), &out));
        // Two passes through the shared walker: `a` where the condition
        // holds, then `b` where it does not.
        let (c, ad, bd) = (self.data(), a.data(), b.data());
        let mut d = crate::size::filled(OP, &out, T::zero())?;
        layout::for_each_broadcast(&out, &sc, &sa, |o, ic, ia| {
            if c[ic] != T::zero() {
                d[o] = ad[ia];
            }
        });
        layout::for_each_broadcast(&out, &sc, &sb, |o, ic, ib| {
            if c[ic] == T::zero() {
                d[o] = bd[ib];
            }
        });
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_where_cond`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![-2.0f64, 3.0], &[2]);
    /// let positive = x.gt(&Tensor::scalar(0.0));
    /// assert_eq!(positive.where_cond(&x, &Tensor::scalar(0.0)).data(), &[0.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_where_cond`] returns.
    #[track_caller]
    pub fn where_cond(&self, a: &Self, b: &Self) -> Self {
        or_panic(self.try_where_cond(a, b))
    }
}

fn indicator<T: Scalar>(b: bool) -> T {
    if b {
        T::one()
    } else {
        T::zero()
    }
}

/// If an operand of `shape` broadcast to `out` is one contiguous row
/// repeated along leading axes (its shape, leading 1s dropped, ends
/// `out`), the row's length; otherwise 0.
fn row_len(shape: &[usize], out: &[usize]) -> usize {
    let kept = &shape[shape.iter().take_while(|&&d| d == 1).count()..];
    if out.ends_with(kept) {
        kept.iter().product()
    } else {
        0
    }
}
