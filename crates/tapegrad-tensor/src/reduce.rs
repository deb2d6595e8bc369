//! Reductions (sum, mean, max, argmax) and the pair broadcast_to / sum_to.

use crate::error::or_panic;
use crate::layout::{self, broadcast_shapes, broadcast_strides, check_axis, split_at_axis, Shape};
use crate::size::{self, checked_numel};
use crate::{Result, Scalar, Tensor, TensorError};

/// The shape left after reducing `axis`.
fn reduced(shape: &[usize], axis: usize, keepdim: bool) -> Shape {
    let mut s = Shape::from_slice(shape);
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

/// `acc += row`, elementwise over two equally long slices.
fn add_into<T: Scalar>(acc: &mut [T], row: &[T]) {
    acc.iter_mut().zip(row).for_each(|(a, &v)| *a = *a + v);
}

impl<T: Scalar> Tensor<T> {
    /// Sum along `axis`: shape `[.., n, ..]` becomes `[.., 1, ..]` if
    /// `keepdim`, else `[.., ..]`; an empty axis sums to 0.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.try_sum_axis(0, false).unwrap().data(), &[5.0, 7.0, 9.0]);
    /// assert_eq!(t.try_sum_axis(1, true).unwrap().shape(), &[2, 1]);
    /// assert!(t.try_sum_axis(2, false).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `sum_axis` and the shape;
    /// [`TensorError::TooLarge`] if the result (of an empty axis: all
    /// zeros) cannot be allocated.
    pub fn try_sum_axis(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("sum_axis", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let x = self.data();
        let shape = reduced(self.shape(), axis, keepdim);
        let out = if inner == 1 && n > 0 {
            // Innermost axis: one running sum per contiguous row.
            let mut out = crate::engine::alloc(outer);
            out.extend(x.chunks_exact(n).map(|row| row.iter().fold(T::zero(), |a, &v| a + v)));
            out
        } else {
            // Larger than `self` if the axis is empty.
            let mut out = size::filled("sum_axis", &shape, T::zero())?;
            for (o, acc) in out.chunks_exact_mut(inner.max(1)).take(outer).enumerate() {
                for row in x[o * n * inner..(o + 1) * n * inner].chunks_exact(inner.max(1)) {
                    add_into(acc, row);
                }
            }
            out
        };
        Ok(Tensor::from_parts(out, shape))
    }
    /// Panicking form of [`Tensor::try_sum_axis`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::ones(&[2, 3]);
    /// assert_eq!(t.sum_axis(1, false).data(), &[3.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_sum_axis`] returns.
    #[track_caller]
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_sum_axis(axis, keepdim))
    }

    /// Sum of all elements, as a value rather than a tensor (0 for an
    /// empty tensor).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f32>::ones(&[2, 3]).sum_all(), 6.0);
    /// ```
    pub fn sum_all(&self) -> T {
        self.data().iter().fold(T::zero(), |a, &v| a + v)
    }

    /// Mean along `axis` (NaN for an axis of size 0); shapes as
    /// [`Tensor::try_sum_axis`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 3.0], &[1, 2]);
    /// assert_eq!(t.try_mean_axis(1, false).unwrap().data(), &[2.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `mean_axis` and the shape;
    /// [`TensorError::TooLarge`] naming `mean_axis` if the result (of an
    /// empty axis: all NaN) cannot be allocated.
    pub fn try_mean_axis(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("mean_axis", axis, self.shape())?;
        let n = T::from_usize(self.shape()[axis]).unwrap_or_else(T::nan);
        Ok(self.try_sum_axis(axis, keepdim).map_err(|e| e.in_op("mean_axis"))?.map(|v| v / n))
    }
    /// Panicking form of [`Tensor::try_mean_axis`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::arange(4).reshape(&[2, 2]);
    /// assert_eq!(t.mean_axis(0, true).data(), &[1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_mean_axis`] returns.
    #[track_caller]
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_mean_axis(axis, keepdim))
    }

    /// Mean of all elements, as a value rather than a tensor (NaN for an
    /// empty tensor).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::arange(5).mean_all(), 2.0);
    /// assert!(tapegrad_tensor::Tensor::<f64>::zeros(&[0]).mean_all().is_nan());
    /// ```
    pub fn mean_all(&self) -> T {
        self.sum_all() / T::from_usize(self.numel()).unwrap_or_else(T::nan)
    }

    /// Maximum along `axis` (shapes as [`Tensor::try_sum_axis`]); NaN if any
    /// element compared is NaN.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 9.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.try_max_axis(1, false).unwrap().data(), &[9.0, 4.0]);
    /// assert!(Tensor::<f64>::zeros(&[2, 0]).try_max_axis(1, false).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], or [`TensorError::Invalid`] for an axis of
    /// size 0, naming `max_axis` and the shape.
    pub fn try_max_axis(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("max_axis", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        if n == 0 {
            return Err(TensorError::Invalid { op: "max_axis", message: format!("axis {axis} of shape {:?} is empty", self.shape()) });
        }
        let shape = reduced(self.shape(), axis, keepdim);
        if outer * inner == 0 {
            // Nothing to compare (and `outer` may be huge).
            return Ok(Tensor::from_parts(Vec::new(), shape));
        }
        let x = self.data();
        let mut out = crate::engine::alloc(outer * inner);
        for o in 0..outer {
            let block = &x[o * n * inner..(o + 1) * n * inner];
            out.extend_from_slice(&block[..inner]);
            let acc = &mut out[o * inner..(o + 1) * inner];
            for row in block.chunks_exact(inner.max(1)).skip(1) {
                acc.iter_mut().zip(row).for_each(|(a, &v)| {
                    // Once NaN, stays NaN; a NaN `v` replaces any number.
                    if !a.is_nan() && (v > *a || v.is_nan()) {
                        *a = v;
                    }
                });
            }
        }
        Ok(Tensor::from_parts(out, shape))
    }
    /// Panicking form of [`Tensor::try_max_axis`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![1.0f64, 5.0, 2.0], &[3]);
    /// assert_eq!(t.max_axis(0, false).item(), 5.0);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_max_axis`] returns.
    #[track_caller]
    pub fn max_axis(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_max_axis(axis, keepdim))
    }

    /// Largest element; NaN if any is NaN.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::from_vec(vec![1.0f32, 7.0, -2.0], &[3]).try_max_all().unwrap(), 7.0);
    /// assert!(Tensor::<f32>::zeros(&[0]).try_max_all().is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Invalid`] naming `max_all` and the shape for an empty
    /// tensor.
    pub fn try_max_all(&self) -> Result<T> {
        let x = self.data();
        let first =
            *x.first().ok_or_else(|| TensorError::Invalid { op: "max_all", message: format!("shape {:?} is empty", self.shape()) })?;
        Ok(x.iter().fold(first, |m, &v| if m.is_nan() || v.is_nan() { T::nan() } else { m.max(v) }))
    }

    /// Panicking form of [`Tensor::try_max_all`].
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::arange(4).max_all(), 3.0);
    /// ```
    ///
    /// # Panics
    /// With the [`TensorError::Invalid`] message for an empty tensor.
    #[track_caller]
    pub fn max_all(&self) -> T {
        or_panic(self.try_max_all())
    }

    /// Index of the largest element along `axis` for every position of the
    /// other axes, in row-major order over those axes (so
    /// `numel / shape[axis]` indices); the first on ties; a NaN counts as
    /// largest.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![0.1f64, 0.7, 0.2, 0.5, 0.5, 0.0], &[2, 3]);
    /// assert_eq!(t.try_argmax(1).unwrap(), vec![1, 0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], or [`TensorError::Invalid`] for an axis of
    /// size 0, naming `argmax` and the shape.
    pub fn try_argmax(&self, axis: usize) -> Result<Vec<usize>> {
        check_axis("argmax", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        if n == 0 {
            return Err(TensorError::Invalid { op: "argmax", message: format!("axis {axis} of shape {:?} is empty", self.shape()) });
        }
        if outer * inner == 0 {
            // Nothing to compare (and `outer` may be huge).
            return Ok(Vec::new());
        }
        let x = self.data();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| x[(o * n + j) * inner + i];
                let mut best = 0;
                for j in 1..n {
                    if !at(best).is_nan() && (at(j) > at(best) || at(j).is_nan()) {
                        best = j;
                    }
                }
                out.push(best);
            }
        }
        Ok(out)
    }
    /// Panicking form of [`Tensor::try_argmax`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![3.0f64, 1.0, 2.0, 4.0], &[2, 2]);
    /// assert_eq!(t.argmax(0), vec![0, 1]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_argmax`] returns.
    #[track_caller]
    pub fn argmax(&self, axis: usize) -> Vec<usize> {
        or_panic(self.try_argmax(axis))
    }

    /// Sums `self` down to `shape`, undoing a broadcast: `shape` must
    /// broadcast to `self.shape()`; extra leading axes are summed away and
    /// axes where `shape` has 1 are summed with keepdim. The result has
    /// exactly `shape`.
    ///
    /// Equal shapes return a cheap clone; the leading run of summed axes
    /// (e.g. a batch summed into a bias) is added as contiguous blocks.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let g = Tensor::<f64>::ones(&[4, 2, 3]);
    /// assert_eq!(g.try_sum_to(&[1, 3]).unwrap().data(), &[8.0, 8.0, 8.0]);
    /// assert_eq!(g.try_sum_to(&[2, 1]).unwrap().data(), &[12.0, 12.0]);
    /// assert!(g.try_sum_to(&[2, 2]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Broadcast`] naming `sum_to`, the shape and the target
    /// if the target does not broadcast to this shape;
    /// [`TensorError::TooLarge`] if the result (of an empty tensor: all
    /// zeros) cannot be allocated.
    pub fn try_sum_to(&self, shape: &[usize]) -> Result<Self> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let err = || TensorError::Broadcast { op: "sum_to", lhs: Shape::from_slice(self.shape()), rhs: Shape::from_slice(shape) };
        if shape.len() > self.ndim() || broadcast_shapes("sum_to", shape, self.shape()).map_err(|_| err())?.as_slice() != self.shape() {
            return Err(err());
        }
        if self.numel() == 0 {
            // Summing nothing: zeros (the target itself may be non-empty).
            return Ok(Tensor::from_parts(size::filled("sum_to", shape, T::zero())?, Shape::from_slice(shape)));
        }
        let (src, lead) = (self.shape(), self.ndim() - shape.len());
        let summed = |a: usize| a < lead || (shape[a - lead] == 1 && src[a] != 1);
        // The leading run of summed (or size-1) axes: add contiguous blocks.
        let k = (0..src.len()).take_while(|&a| summed(a) || src[a] == 1).count();
        let block: usize = src[k..].iter().product();
        let mut t = if block == self.numel() {
            self.with_shape(Shape::from_slice(&src[k..]))
        } else {
            let x = self.data();
            let mut acc = crate::engine::alloc(block);
            acc.extend_from_slice(&x[..block]);
            x[block..].chunks_exact(block).for_each(|c| add_into(&mut acc, c));
            Tensor::from_parts(acc, Shape::from_slice(&src[k..]))
        };
        // Any other summed axis, one keepdim pass each.
        for a in k..src.len() {
            if summed(a) {
                t = t.try_sum_axis(a - k, true)?;
            }
        }
        Ok(t.with_shape(Shape::from_slice(shape)))
    }
    /// Panicking form of [`Tensor::try_sum_to`].
    ///
    /// ```
    /// let g = tapegrad_tensor::Tensor::<f64>::ones(&[5, 3]);
    /// assert_eq!(g.sum_to(&[3]).data(), &[5.0, 5.0, 5.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_sum_to`] returns.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        or_panic(self.try_sum_to(shape))
    }

    /// A copy repeated along broadcast axes up to exactly `shape` (NumPy
    /// rules: `self.shape()` must broadcast to `shape` and the broadcast
    /// must be `shape` itself).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1]);
    /// assert_eq!(t.try_broadcast_to(&[2, 3]).unwrap().data(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// assert!(t.try_broadcast_to(&[3, 3]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::ShapeOverflow`] if `shape`'s element count overflows;
    /// [`TensorError::Broadcast`] naming `broadcast_to` and both shapes;
    /// [`TensorError::TooLarge`] if the result cannot be allocated.
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        const OP: &str = "broadcast_to";
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let n = checked_numel(OP, shape)?;
        let err = || TensorError::Broadcast { op: "broadcast_to", lhs: Shape::from_slice(self.shape()), rhs: Shape::from_slice(shape) };
        if self.ndim() > shape.len() || broadcast_shapes("broadcast_to", self.shape(), shape).map_err(|_| err())?.as_slice() != shape {
            return Err(err());
        }
        let x = self.data();
        if let [v] = x {
            // One value everywhere: a fill.
            return Ok(Tensor::from_parts(size::filled(OP, shape, *v)?, Shape::from_slice(shape)));
        }
        let lead = shape.len() - self.ndim();
        // Only leading axes broadcast (e.g. a bias over a batch): repeat the buffer.
        let k = (0..shape.len()).take_while(|&a| a < lead || self.shape()[a - lead] == 1).count();
        if self.shape()[k.saturating_sub(lead)..] == shape[k.max(lead)..] {
            let mut out = size::alloc(OP, shape)?;
            while out.len() < n {
                out.extend_from_slice(x);
            }
            return Ok(Tensor::from_parts(out, Shape::from_slice(shape)));
        }
        let sa = broadcast_strides(self.shape(), shape);
        let mut out = size::alloc(OP, shape)?;
        layout::for_each_broadcast(shape, &sa, &sa, |_, ia, _| out.push(x[ia]));
        Ok(Tensor::from_parts(out, Shape::from_slice(shape)))
    }
    /// Panicking form of [`Tensor::try_broadcast_to`].
    ///
    /// ```
    /// let b = tapegrad_tensor::Tensor::<f64>::arange(2).broadcast_to(&[2, 2]);
    /// assert_eq!(b.data(), &[0.0, 1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_broadcast_to`] returns.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        or_panic(self.try_broadcast_to(shape))
    }
}
