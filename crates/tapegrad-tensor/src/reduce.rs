//! Reductions (sum, mean, max, argmax) and the pair broadcast_to / sum_to.

use crate::error::or_panic;
use crate::layout::{self, broadcast_shapes, broadcast_strides, check_axis, split_at_axis, Shape};
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

impl<T: Scalar> Tensor<T> {
    /// Sum along `axis` (kept as size 1 if `keepdim`).
    /// Derivative: ones, broadcast back along `axis`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// assert_eq!(t.try_sum_axis(0, false).unwrap().data(), &[5.0, 7.0, 9.0]);
    /// assert_eq!(t.try_sum_axis(1, true).unwrap().shape(), &[2, 1]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `sum_axis` and the shape.
    pub fn try_sum_axis(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("sum_axis", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let x = self.data();
        let mut out = vec![T::zero(); outer * inner];
        for o in 0..outer {
            let acc = &mut out[o * inner..(o + 1) * inner];
            for j in 0..n {
                let row = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                acc.iter_mut().zip(row).for_each(|(a, &v)| *a = *a + v);
            }
        }
        Ok(Tensor::from_parts(out, reduced(self.shape(), axis, keepdim)))
    }
    /// Panicking form of [`Tensor::try_sum_axis`].
    ///
    /// # Panics
    /// With the [`TensorError::Axis`] message.
    #[track_caller]
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_sum_axis(axis, keepdim))
    }

    /// Sum of all elements (0 for an empty tensor).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f32>::ones(&[2, 3]).sum_all(), 6.0);
    /// ```
    pub fn sum_all(&self) -> T {
        self.data().iter().fold(T::zero(), |a, &v| a + v)
    }

    /// Mean along `axis` (NaN for an axis of size 0).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 3.0], &[1, 2]);
    /// assert_eq!(t.try_mean_axis(1, false).unwrap().data(), &[2.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `mean_axis` and the shape.
    pub fn try_mean_axis(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("mean_axis", axis, self.shape())?;
        let n = T::from_usize(self.shape()[axis]).unwrap_or_else(T::nan);
        Ok(self.try_sum_axis(axis, keepdim)?.map(|v| v / n))
    }
    /// Panicking form of [`Tensor::try_mean_axis`].
    ///
    /// # Panics
    /// With the [`TensorError::Axis`] message.
    #[track_caller]
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Self {
        or_panic(self.try_mean_axis(axis, keepdim))
    }

    /// Mean of all elements (NaN for an empty tensor).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::arange(5).mean_all(), 2.0);
    /// ```
    pub fn mean_all(&self) -> T {
        self.sum_all() / T::from_usize(self.numel()).unwrap_or_else(T::nan)
    }

    /// Maximum along `axis`; NaN if any element compared is NaN.
    /// Derivative: 1 at the maximum (split between ties), 0 elsewhere.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 9.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.try_max_axis(1, false).unwrap().data(), &[9.0, 4.0]);
    /// assert!(Tensor::<f64>::zeros(&[2, 0]).try_max_axis(1, false).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], or [`TensorError::Invalid`] for an axis of size 0.
    pub fn try_max_axis(&self, axis: usize, keepdim: bool) -> Result<Self> {
        check_axis("max_axis", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        if n == 0 {
            return Err(TensorError::Invalid { op: "max_axis", message: format!("axis {axis} of shape {:?} is empty", self.shape()) });
        }
        let x = self.data();
        let mut out = x[..0].to_vec();
        out.reserve(outer * inner);
        for o in 0..outer {
            out.extend_from_slice(&x[o * n * inner..o * n * inner + inner]);
            let acc = &mut out[o * inner..(o + 1) * inner];
            for j in 1..n {
                let row = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                acc.iter_mut().zip(row).for_each(|(a, &v)| {
                    if v > *a || v.is_nan() {
                        *a = if a.is_nan() { *a } else { v };
                    }
                });
            }
        }
        Ok(Tensor::from_parts(out, reduced(self.shape(), axis, keepdim)))
    }
    /// Panicking form of [`Tensor::try_max_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_max_axis` returns.
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
    /// [`TensorError::Invalid`] for an empty tensor.
    pub fn try_max_all(&self) -> Result<T> {
        let x = self.data();
        let first =
            *x.first().ok_or_else(|| TensorError::Invalid { op: "max_all", message: format!("shape {:?} is empty", self.shape()) })?;
        Ok(x.iter().fold(first, |m, &v| if m.is_nan() || v.is_nan() { T::nan() } else { m.max(v) }))
    }

    /// Index of the largest element along `axis` for every position of the
    /// other axes, row-major; the first on ties; a NaN counts as largest.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![0.1f64, 0.7, 0.2, 0.5, 0.5, 0.0], &[2, 3]);
    /// assert_eq!(t.try_argmax(1).unwrap(), vec![1, 0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], or [`TensorError::Invalid`] for an axis of size 0.
    pub fn try_argmax(&self, axis: usize) -> Result<Vec<usize>> {
        check_axis("argmax", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        if n == 0 {
            return Err(TensorError::Invalid { op: "argmax", message: format!("axis {axis} of shape {:?} is empty", self.shape()) });
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
    /// # Panics
    /// With the message of the error `try_argmax` returns.
    #[track_caller]
    pub fn argmax(&self, axis: usize) -> Vec<usize> {
        or_panic(self.try_argmax(axis))
    }

    /// Sums `self` down to `shape`, undoing a broadcast: `shape` must
    /// broadcast to `self.shape()`; extra leading axes are summed away and
    /// axes where `shape` has 1 are summed with keepdim. This is the one
    /// place the autodiff crate undoes broadcasting in gradients.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let g = Tensor::<f64>::ones(&[4, 2, 3]);
    /// assert_eq!(g.try_sum_to(&[1, 3]).unwrap().data(), &[8.0, 8.0, 8.0]);
    /// assert!(g.try_sum_to(&[2, 2]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Broadcast`] naming `sum_to`, the shape and the target
    /// if the target does not broadcast to this shape.
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
            return Ok(Tensor::zeros(shape));
        }
        // Leading axes: add the contiguous blocks together.
        let lead = self.ndim() - shape.len();
        let block: usize = self.shape()[lead..].iter().product();
        let mut acc = self.data()[..block].to_vec();
        for chunk in self.data().chunks(block).skip(1) {
            acc.iter_mut().zip(chunk).for_each(|(a, &v)| *a = *a + v);
        }
        let mut t = Tensor::from_parts(acc, Shape::from_slice(&self.shape()[lead..]));
        for (axis, &d) in shape.iter().enumerate() {
            if d == 1 && t.shape()[axis] != 1 {
                t = t.try_sum_axis(axis, true)?;
            }
        }
        Ok(t)
    }
    /// Panicking form of [`Tensor::try_sum_to`].
    ///
    /// # Panics
    /// With the [`TensorError::Broadcast`] message.
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        or_panic(self.try_sum_to(shape))
    }

    /// A copy repeated along broadcast axes up to exactly `shape`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1]);
    /// assert_eq!(t.try_broadcast_to(&[2, 3]).unwrap().data(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// assert!(t.try_broadcast_to(&[3, 3]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Broadcast`] naming `broadcast_to` and both shapes.
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Self> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let err = || TensorError::Broadcast { op: "broadcast_to", lhs: Shape::from_slice(self.shape()), rhs: Shape::from_slice(shape) };
        if self.ndim() > shape.len() || broadcast_shapes("broadcast_to", self.shape(), shape).map_err(|_| err())?.as_slice() != shape {
            return Err(err());
        }
        let sa = broadcast_strides(self.shape(), shape);
        let n: usize = shape.iter().product();
        let x = self.data();
        let mut out = Vec::with_capacity(n);
        layout::for_each_broadcast(shape, &sa, &sa, |_, ia, _| out.push(x[ia]));
        Ok(Tensor::from_parts(out, Shape::from_slice(shape)))
    }
    /// Panicking form of [`Tensor::try_broadcast_to`].
    ///
    /// # Panics
    /// With the [`TensorError::Broadcast`] message.
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        or_panic(self.try_broadcast_to(shape))
    }
}
