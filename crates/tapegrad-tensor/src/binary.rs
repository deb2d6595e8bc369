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

    /// Elementwise `self + other` with broadcasting.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// assert_eq!(a.try_add(&a).unwrap().data(), &[2.0, 4.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `add` and both shapes.
    pub fn try_add(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("add", other, |x, y| x + y)
    }
    /// Elementwise `self - other` with broadcasting.
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `sub` and both shapes.
    pub fn try_sub(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("sub", other, |x, y| x - y)
    }
    /// Elementwise `self * other` with broadcasting.
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `mul` and both shapes.
    pub fn try_mul(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("mul", other, |x, y| x * y)
    }
    /// Elementwise `self / other` with broadcasting (IEEE: x/0 is ±inf or NaN).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `div` and both shapes.
    pub fn try_div(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("div", other, |x, y| x / y)
    }
    /// Elementwise maximum with broadcasting (NaN if either is NaN).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `maximum` and both shapes.
    pub fn try_maximum(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("maximum", other, |x, y| if x.is_nan() || y.is_nan() { T::nan() } else { x.max(y) })
    }
    /// Elementwise minimum with broadcasting (NaN if either is NaN).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `minimum` and both shapes.
    pub fn try_minimum(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("minimum", other, |x, y| if x.is_nan() || y.is_nan() { T::nan() } else { x.min(y) })
    }

    /// Panicking form of [`Tensor::try_add`].
    ///
    /// # Panics
    /// With the [`crate::TensorError::Broadcast`] message.
    #[track_caller]
    pub fn add(&self, other: &Self) -> Self {
        or_panic(self.try_add(other))
    }
    /// Panicking form of [`Tensor::try_sub`].
    ///
    /// # Panics
    /// With the [`crate::TensorError::Broadcast`] message.
    #[track_caller]
    pub fn sub(&self, other: &Self) -> Self {
        or_panic(self.try_sub(other))
    }
    /// Panicking form of [`Tensor::try_mul`].
    ///
    /// # Panics
    /// With the [`crate::TensorError::Broadcast`] message.
    #[track_caller]
    pub fn mul(&self, other: &Self) -> Self {
        or_panic(self.try_mul(other))
    }
    /// Panicking form of [`Tensor::try_div`].
    ///
    /// # Panics
    /// With the [`crate::TensorError::Broadcast`] message.
    #[track_caller]
    pub fn div(&self, other: &Self) -> Self {
        or_panic(self.try_div(other))
    }

    /// `1` where `self == other`, else `0` (broadcasting).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]);
    /// assert_eq!(a.try_eq(&Tensor::scalar(2.0)).unwrap().data(), &[0.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `eq` and both shapes.
    pub fn try_eq(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("eq", other, |x, y| indicator(x == y))
    }
    /// `1` where `self > other`, else `0` (broadcasting).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `gt` and both shapes.
    pub fn try_gt(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("gt", other, |x, y| indicator(x > y))
    }
    /// `1` where `self >= other`, else `0` (broadcasting).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `ge` and both shapes.
    pub fn try_ge(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("ge", other, |x, y| indicator(x >= y))
    }
    /// `1` where `self < other`, else `0` (broadcasting).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `lt` and both shapes.
    pub fn try_lt(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("lt", other, |x, y| indicator(x < y))
    }
    /// `1` where `self <= other`, else `0` (broadcasting).
    ///
    /// # Errors
    /// [`crate::TensorError::Broadcast`] naming `le` and both shapes.
    pub fn try_le(&self, other: &Self) -> Result<Self> {
        self.try_zip_map("le", other, |x, y| indicator(x <= y))
    }

    /// Picks `a` where `self` (the condition) is nonzero and `b` elsewhere;
    /// all three broadcast together.
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
