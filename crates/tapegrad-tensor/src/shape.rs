//! Shape ops: reshape, transpose, narrow, pad, concat, stack, split, chunk,
//! squeeze, unsqueeze, flatten.

use crate::error::or_panic;
use crate::layout::{self, check_axis, split_at_axis, Shape};
use crate::size::{self, checked_numel};
use crate::{Result, Scalar, Tensor, TensorError};

impl<T: Scalar> Tensor<T> {
    /// The same elements under a new shape of equal size (shares the
    /// buffer, no copy).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::<f32>::arange(6).try_reshape(&[2, 3]).unwrap();
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert!(t.try_reshape(&[4]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::ShapeOverflow`] if the new shape's element count
    /// overflows; [`TensorError::Reshape`] naming both shapes when the
    /// sizes differ.
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Self> {
        if checked_numel("reshape", shape)? != self.numel() {
            return Err(TensorError::Reshape { op: "reshape", from: Shape::from_slice(self.shape()), to: Shape::from_slice(shape) });
        }
        Ok(self.with_shape(Shape::from_slice(shape)))
    }
    /// Panicking form of [`Tensor::try_reshape`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::arange(6).reshape(&[3, 2]);
    /// assert_eq!(t.shape(), &[3, 2]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_reshape`] returns.
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Self {
        or_panic(self.try_reshape(shape))
    }

    /// Swaps axes `a1` and `a2`: shape `[.., p, .., q, ..]` becomes
    /// `[.., q, .., p, ..]` (a copy, so the result is contiguous).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::<f64>::arange(6).reshape(&[2, 3]);
    /// assert_eq!(t.try_transpose(0, 1).unwrap().data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `transpose` and the shape.
    pub fn try_transpose(&self, a1: usize, a2: usize) -> Result<Self> {
        check_axis("transpose", a1, self.shape())?;
        check_axis("transpose", a2, self.shape())?;
        if a1 == a2 {
            return Ok(self.clone());
        }
        let mut out = Shape::from_slice(self.shape());
        out.swap(a1, a2);
        let mut st = layout::strides(self.shape());
        st.swap(a1, a2);
        let x = self.data();
        let mut d = crate::engine::alloc(self.numel());
        layout::for_each_broadcast(&out, &st, &st, |_, i, _| d.push(x[i]));
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_transpose`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::zeros(&[2, 3, 4]).transpose(0, 2);
    /// assert_eq!(t.shape(), &[4, 3, 2]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_transpose`] returns.
    #[track_caller]
    pub fn transpose(&self, a1: usize, a2: usize) -> Self {
        or_panic(self.try_transpose(a1, a2))
    }

    /// Entries `start..start+len` of `axis`; the axis becomes `len` long.
    /// When the entries are one contiguous block (every axis before `axis`
    /// has length 1, as for rows of a matrix or time steps of a sequence)
    /// the result is a window of this tensor's buffer, not a copy.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::<f64>::arange(6).reshape(&[2, 3]);
    /// assert_eq!(t.try_narrow(1, 1, 2).unwrap().data(), &[1.0, 2.0, 4.0, 5.0]);
    /// let row = t.try_narrow(0, 1, 1).unwrap();
    /// assert_eq!(row.data(), &[3.0, 4.0, 5.0]);
    /// assert!(row.shares_buffer(&t));
    /// assert!(t.try_narrow(1, 2, 2).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], or [`TensorError::Range`] naming `narrow`, the
    /// range and the shape.
    pub fn try_narrow(&self, axis: usize, start: usize, len: usize) -> Result<Self> {
        check_axis("narrow", axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        if start.checked_add(len).is_none_or(|end| end > n) {
            return Err(TensorError::Range { op: "narrow", start, len, axis, size: n, shape: Shape::from_slice(self.shape()) });
        }
        let mut out = Shape::from_slice(self.shape());
        out[axis] = len;
        if start == 0 && len == n {
            return Ok(self.clone());
        }
        if outer == 1 {
            // One contiguous block: a window of the same buffer, no copy.
            return Ok(self.window(start * inner, out));
        }
        if len == 0 || inner == 0 {
            // Nothing to copy (and `outer` may be huge).
            return Ok(Tensor::from_parts(Vec::new(), out));
        }
        let x = self.data();
        let mut d = crate::engine::alloc(outer * len * inner);
        for o in 0..outer {
            let base = o * n * inner;
            d.extend_from_slice(&x[base + start * inner..base + (start + len) * inner]);
        }
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_narrow`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::arange(5).narrow(0, 1, 3);
    /// assert_eq!(t.data(), &[1.0, 2.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_narrow`] returns.
    #[track_caller]
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        or_panic(self.try_narrow(axis, start, len))
    }

    /// `before` zeros, the tensor, then `after` zeros along `axis`: the
    /// inverse of [`Tensor::narrow`] (narrowing the result to
    /// `before..before + n` gives `self` back). The axis grows by
    /// `before + after`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::<f64>::ones(&[2, 1]);
    /// assert_eq!(t.try_pad_axis(1, 1, 1).unwrap().data(), &[0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `pad_axis` and the shape;
    /// [`TensorError::AxisOverflow`] if the axis would be longer than
    /// `usize::MAX`; [`TensorError::ShapeOverflow`] or
    /// [`TensorError::TooLarge`] if the result cannot exist.
    pub fn try_pad_axis(&self, axis: usize, before: usize, after: usize) -> Result<Self> {
        const OP: &str = "pad_axis";
        check_axis(OP, axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let m = size::checked_axis_sum(OP, axis, self.shape(), [n, before, after].into_iter())?;
        let mut out = Shape::from_slice(self.shape());
        out[axis] = m;
        let x = self.data();
        let mut d = size::filled(OP, &out, T::zero())?;
        if self.numel() == 0 {
            // All padding (and `outer` may be huge).
            return Ok(Tensor::from_parts(d, out));
        }
        for o in 0..outer {
            let dst = o * m * inner + before * inner;
            d[dst..dst + n * inner].copy_from_slice(&x[o * n * inner..(o + 1) * n * inner]);
        }
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_pad_axis`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::ones(&[2]).pad_axis(0, 0, 2);
    /// assert_eq!(t.data(), &[1.0, 1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_pad_axis`] returns.
    #[track_caller]
    pub fn pad_axis(&self, axis: usize, before: usize, after: usize) -> Self {
        or_panic(self.try_pad_axis(axis, before, after))
    }

    /// Joins tensors along an existing `axis`; all other axes must agree, and
    /// the result's `axis` is the sum of theirs (the inverse of
    /// [`Tensor::split`]).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::<f64>::zeros(&[2, 1]);
    /// let b = Tensor::<f64>::ones(&[2, 2]);
    /// let c = Tensor::try_concat(&[&a, &b], 1).unwrap();
    /// assert_eq!(c.data(), &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// assert!(Tensor::try_concat(&[&a, &b], 0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Invalid`] for an empty list; [`TensorError::Axis`];
    /// [`TensorError::ShapeMismatch`] naming the first shape and the
    /// offending one; [`TensorError::AxisOverflow`] if the lengths add up
    /// to more than `usize::MAX`; [`TensorError::ShapeOverflow`] or
    /// [`TensorError::TooLarge`] if the result cannot exist.
    pub fn try_concat(tensors: &[&Tensor<T>], axis: usize) -> Result<Tensor<T>> {
        let first = tensors.first().ok_or_else(|| TensorError::Invalid { op: "concat", message: "no tensors to concatenate".into() })?;
        check_axis("concat", axis, first.shape())?;
        for t in tensors {
            let same_rest = t.ndim() == first.ndim() && (0..t.ndim()).all(|a| a == axis || t.shape()[a] == first.shape()[a]);
            if !same_rest {
                return Err(TensorError::ShapeMismatch {
                    op: "concat",
                    lhs: Shape::from_slice(first.shape()),
                    rhs: Shape::from_slice(t.shape()),
                    why: "all axes but the concatenation axis must agree",
                });
            }
        }
        let total = size::checked_axis_sum("concat", axis, first.shape(), tensors.iter().map(|t| t.shape()[axis]))?;
        let (outer, _, inner) = split_at_axis(first.shape(), axis);
        let mut out = Shape::from_slice(first.shape());
        out[axis] = total;
        let mut d = size::alloc("concat", &out)?;
        if tensors.iter().all(|t| t.numel() == 0) {
            // Nothing to copy (and `outer` may be huge).
            return Ok(Tensor::from_parts(d, out));
        }
        for o in 0..outer {
            for t in tensors {
                let block = t.shape()[axis] * inner;
                d.extend_from_slice(&t.data()[o * block..(o + 1) * block]);
            }
        }
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_concat`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::<f64>::arange(2);
    /// assert_eq!(Tensor::concat(&[&a, &a], 0).data(), &[0.0, 1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_concat`] returns.
    #[track_caller]
    pub fn concat(tensors: &[&Tensor<T>], axis: usize) -> Tensor<T> {
        or_panic(Self::try_concat(tensors, axis))
    }

    /// Joins equally shaped tensors along a new axis (`axis <= ndim`):
    /// `k` tensors of shape `s` give `s` with `k` inserted at `axis`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::<f64>::zeros(&[3]);
    /// assert_eq!(Tensor::try_stack(&[&a, &a], 1).unwrap().shape(), &[3, 2]);
    /// assert!(Tensor::try_stack(&[&a, &a], 2).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Invalid`] for an empty list;
    /// [`TensorError::ShapeMismatch`] naming `stack`, the first shape and
    /// the first unequal one; [`TensorError::Axis`] for `axis > ndim`;
    /// [`TensorError::ShapeOverflow`] (naming `stack`) or
    /// [`TensorError::TooLarge`] if the result cannot exist.
    pub fn try_stack(tensors: &[&Tensor<T>], axis: usize) -> Result<Tensor<T>> {
        const OP: &str = "stack";
        let first = tensors.first().ok_or_else(|| TensorError::Invalid { op: OP, message: "no tensors to stack".into() })?;
        if let Some(bad) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(TensorError::ShapeMismatch {
                op: OP,
                lhs: Shape::from_slice(first.shape()),
                rhs: Shape::from_slice(bad.shape()),
                why: "stacked tensors must have equal shapes",
            });
        }
        if axis > first.ndim() {
            return Err(TensorError::Axis { op: OP, axis, shape: Shape::from_slice(first.shape()) });
        }
        let mut out = Shape::from_slice(first.shape());
        out.insert(axis, tensors.len());
        checked_numel(OP, &out)?;
        let parts = tensors.iter().map(|t| t.try_unsqueeze(axis)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Tensor<T>> = parts.iter().collect();
        Self::try_concat(&refs, axis).map_err(|e| e.in_op(OP))
    }
    /// Panicking form of [`Tensor::try_stack`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::<f64>::arange(2);
    /// assert_eq!(Tensor::stack(&[&a, &a], 0).shape(), &[2, 2]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_stack`] returns.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<T>], axis: usize) -> Tensor<T> {
        or_panic(Self::try_stack(tensors, axis))
    }

    /// Cuts `axis` into pieces of the given sizes, which must add up to it;
    /// piece `i` has `sizes[i]` on `axis` (the inverse of
    /// [`Tensor::concat`]).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let parts = Tensor::<f64>::arange(5).try_split(0, &[2, 3]).unwrap();
    /// assert_eq!(parts[1].data(), &[2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`]; [`TensorError::AxisOverflow`] if the sizes
    /// add up to more than `usize::MAX`; [`TensorError::Invalid`] naming
    /// `split` when they do not add up to the axis.
    pub fn try_split(&self, axis: usize, sizes: &[usize]) -> Result<Vec<Self>> {
        let starts = split_starts(self.shape(), axis, sizes)?;
        starts.iter().zip(sizes).map(|(&start, &len)| self.try_narrow(axis, start, len)).collect()
    }
    /// Panicking form of [`Tensor::try_split`].
    ///
    /// ```
    /// let parts = tapegrad_tensor::Tensor::<f64>::zeros(&[2, 5]).split(1, &[1, 4]);
    /// assert_eq!(parts[1].shape(), &[2, 4]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_split`] returns.
    #[track_caller]
    pub fn split(&self, axis: usize, sizes: &[usize]) -> Vec<Self> {
        or_panic(self.try_split(axis, sizes))
    }

    /// Cuts `axis` into pieces of `ceil(n/chunks)` (the last may be smaller,
    /// and there may be fewer than `chunks` pieces), as PyTorch's `chunk`;
    /// an axis of size 0 gives `chunks` empty pieces, as in PyTorch.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let parts = Tensor::<f64>::arange(5).try_chunk(2, 0).unwrap();
    /// assert_eq!((parts[0].numel(), parts[1].numel()), (3, 2));
    /// assert_eq!(Tensor::<f64>::arange(2).try_chunk(4, 0).unwrap().len(), 2);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`]; [`TensorError::Invalid`] naming `chunk` for
    /// `chunks == 0`, or for an empty axis when the list of `chunks`
    /// pieces cannot be allocated.
    pub fn try_chunk(&self, chunks: usize, axis: usize) -> Result<Vec<Self>> {
        self.try_split(axis, &chunk_sizes(self.shape(), chunks, axis)?)
    }
    /// Panicking form of [`Tensor::try_chunk`].
    ///
    /// ```
    /// let gates = tapegrad_tensor::Tensor::<f64>::zeros(&[2, 8]).chunk(4, 1);
    /// assert_eq!((gates.len(), gates[0].shape()), (4, &[2usize, 2][..]));
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_chunk`] returns.
    #[track_caller]
    pub fn chunk(&self, chunks: usize, axis: usize) -> Vec<Self> {
        or_panic(self.try_chunk(chunks, axis))
    }

    /// Inserts an axis of size 1 at `axis` (`axis <= ndim`; no copy).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[3]).try_unsqueeze(1).unwrap().shape(), &[3, 1]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`] naming `unsqueeze`.
    pub fn try_unsqueeze(&self, axis: usize) -> Result<Self> {
        if axis > self.ndim() {
            return Err(TensorError::Axis { op: "unsqueeze", axis, shape: Shape::from_slice(self.shape()) });
        }
        let mut s = Shape::from_slice(self.shape());
        s.insert(axis, 1);
        Ok(self.with_shape(s))
    }
    /// Panicking form of [`Tensor::try_unsqueeze`].
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::zeros(&[3]).unsqueeze(0).shape(), &[1, 3]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_unsqueeze`] returns.
    #[track_caller]
    pub fn unsqueeze(&self, axis: usize) -> Self {
        or_panic(self.try_unsqueeze(axis))
    }

    /// Removes an axis of size 1 (no copy).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[3, 1]).try_squeeze(1).unwrap().shape(), &[3]);
    /// assert!(Tensor::<f64>::zeros(&[3, 2]).try_squeeze(1).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], or [`TensorError::Invalid`] if the axis is not
    /// of size 1.
    pub fn try_squeeze(&self, axis: usize) -> Result<Self> {
        check_axis("squeeze", axis, self.shape())?;
        if self.shape()[axis] != 1 {
            return Err(TensorError::Invalid {
                op: "squeeze",
                message: format!("axis {axis} of shape {:?} is not of size 1", self.shape()),
            });
        }
        let mut s = Shape::from_slice(self.shape());
        s.remove(axis);
        Ok(self.with_shape(s))
    }
    /// Panicking form of [`Tensor::try_squeeze`].
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::zeros(&[1, 3]).squeeze(0).shape(), &[3]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_squeeze`] returns.
    #[track_caller]
    pub fn squeeze(&self, axis: usize) -> Self {
        or_panic(self.try_squeeze(axis))
    }

    /// All elements as one axis of length `numel` (no copy).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::zeros(&[2, 3]).flatten().shape(), &[6]);
    /// ```
    pub fn flatten(&self) -> Self {
        self.with_shape(Shape::from_slice(&[self.numel()]))
    }
}

impl<T: Scalar> Tensor<T> {
    /// Adds `src` into entries `start..start + src.shape()[axis]` of `axis`
    /// in place: `self.narrow(axis, start, len) += src`, without building
    /// the zero-padded copy, so that adding up many pieces of one axis
    /// (the time steps of a sequence) takes linear time.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let mut acc = Tensor::<f64>::zeros(&[2, 3]);
    /// acc.try_narrow_add_assign(1, 1, &Tensor::ones(&[2, 2])).unwrap();
    /// assert_eq!(acc.data(), &[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], [`TensorError::Range`] or
    /// [`TensorError::ShapeMismatch`] naming `narrow_add_assign`.
    pub fn try_narrow_add_assign(&mut self, axis: usize, start: usize, src: &Self) -> Result<()> {
        const OP: &str = "narrow_add_assign";
        check_axis(OP, axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let len = src.shape().get(axis).copied().unwrap_or(0);
        let fits = src.ndim() == self.ndim() && (0..self.ndim()).all(|a| a == axis || src.shape()[a] == self.shape()[a]);
        if !fits {
            return Err(TensorError::ShapeMismatch {
                op: OP,
                lhs: Shape::from_slice(self.shape()),
                rhs: Shape::from_slice(src.shape()),
                why: "the source must match except along the axis",
            });
        }
        if start.checked_add(len).is_none_or(|end| end > n) {
            return Err(TensorError::Range { op: OP, start, len, axis, size: n, shape: Shape::from_slice(self.shape()) });
        }
        if src.numel() == 0 {
            // Nothing to add (and `outer` may be huge).
            return Ok(());
        }
        let s = src.data();
        let d = self.data_mut();
        for o in 0..outer {
            let dst = &mut d[(o * n + start) * inner..(o * n + start + len) * inner];
            let from = &s[o * len * inner..(o + 1) * len * inner];
            dst.iter_mut().zip(from).for_each(|(a, &b)| *a = *a + b);
        }
        Ok(())
    }
    /// Panicking form of [`Tensor::try_narrow_add_assign`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let mut acc = Tensor::<f64>::zeros(&[4]);
    /// acc.narrow_add_assign(0, 2, &Tensor::ones(&[2]));
    /// acc.narrow_add_assign(0, 1, &Tensor::ones(&[2]));
    /// assert_eq!(acc.data(), &[0.0, 1.0, 2.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_narrow_add_assign`]
    /// returns.
    #[track_caller]
    pub fn narrow_add_assign(&mut self, axis: usize, start: usize, src: &Self) {
        or_panic(self.try_narrow_add_assign(axis, start, src))
    }
}

/// Where each piece of a split starts: checks that `sizes` cut `axis` of
/// `shape` exactly ([`Tensor::try_split`]'s rule, shared with the autodiff
/// crate's `split` so both refuse the same inputs with the same errors)
/// and returns the running offsets.
///
/// ```
/// use tapegrad_tensor::split_starts;
/// assert_eq!(split_starts(&[2, 5], 1, &[1, 4]).unwrap(), [0, 1]);
/// assert!(split_starts(&[2, 5], 1, &[1, 3]).unwrap_err().to_string().contains("split"));
/// assert!(split_starts(&[2, 5], 1, &[usize::MAX, 2]).is_err()); // the sum overflows
/// ```
///
/// # Errors
/// [`TensorError::Axis`]; [`TensorError::AxisOverflow`] if the sizes add
/// up to more than `usize::MAX`; [`TensorError::Invalid`] naming `split`
/// when they do not add up to the axis.
pub fn split_starts(shape: &[usize], axis: usize, sizes: &[usize]) -> Result<Vec<usize>> {
    check_axis("split", axis, shape)?;
    if size::checked_axis_sum("split", axis, shape, sizes.iter().copied())? != shape[axis] {
        return Err(TensorError::Invalid {
            op: "split",
            message: format!("sizes {sizes:?} do not add up to axis {axis} of shape {shape:?}"),
        });
    }
    // The sum was checked, so no partial sum overflows.
    Ok(sizes.iter().scan(0, |at, &len| Some(std::mem::replace(at, *at + len))).collect())
}

/// The sizes [`Tensor::try_chunk`] cuts `axis` of `shape` into: pieces of
/// `ceil(n/chunks)`, the last possibly smaller (so possibly fewer than
/// `chunks` pieces); `chunks` zeros for an empty axis, as PyTorch's
/// `chunk`. Shared with the autodiff crate's `chunk`.
///
/// ```
/// use tapegrad_tensor::chunk_sizes;
/// assert_eq!(chunk_sizes(&[2, 5], 2, 1).unwrap(), [3, 2]);
/// assert_eq!(chunk_sizes(&[2], 4, 0).unwrap(), [1, 1]);
/// assert_eq!(chunk_sizes(&[0], 3, 0).unwrap(), [0, 0, 0]);
/// assert!(chunk_sizes(&[4], 0, 0).is_err());
/// ```
///
/// # Errors
/// [`TensorError::Axis`]; [`TensorError::Invalid`] naming `chunk` for
/// `chunks == 0`, or for an empty axis when the list of `chunks` sizes
/// cannot be allocated.
pub fn chunk_sizes(shape: &[usize], chunks: usize, axis: usize) -> Result<Vec<usize>> {
    check_axis("chunk", axis, shape)?;
    if chunks == 0 {
        return Err(TensorError::Invalid { op: "chunk", message: format!("cannot cut axis {axis} of shape {shape:?} into 0 chunks") });
    }
    let n = shape[axis];
    if n == 0 {
        let mut sizes = Vec::new();
        sizes.try_reserve_exact(chunks).map_err(|_| TensorError::Invalid {
            op: "chunk",
            message: format!("the list of {chunks} empty pieces of axis {axis} of shape {shape:?} cannot be allocated"),
        })?;
        sizes.resize(chunks, 0);
        return Ok(sizes);
    }
    let size = n.div_ceil(chunks);
    Ok((0..n).step_by(size).map(|start| size.min(n - start)).collect())
}
