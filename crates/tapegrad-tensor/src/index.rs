//! Indexing: index_select / index_add (embeddings) and gather / scatter_add
//! (picking one class per row): in each pair the second adds into the
//! positions the first reads.

use crate::error::or_panic;
use crate::layout::{check_axis, split_at_axis, Shape};
use crate::size::{self, checked_numel};
use crate::{Result, Scalar, Tensor, TensorError};

fn check_indices(op: &'static str, indices: &[usize], axis: usize, shape: &[usize]) -> Result<()> {
    let size = shape[axis];
    match indices.iter().find(|&&i| i >= size) {
        Some(&index) => Err(TensorError::Index { op, index, axis, size, shape: Shape::from_slice(shape) }),
        None => Ok(()),
    }
}

/// Checks an index tensor for gather/scatter: same rank as `shape`, equal
/// sizes on every axis but `axis`, and in-range entries.
fn check_gather(op: &'static str, axis: usize, shape: &[usize], index: &[usize], index_shape: &[usize]) -> Result<()> {
    check_axis(op, axis, shape)?;
    let fits = index_shape.len() == shape.len() && (0..shape.len()).all(|a| a == axis || index_shape[a] == shape[a]);
    if !fits {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: Shape::from_slice(shape),
            rhs: Shape::from_slice(index_shape),
            why: "the index must have the tensor's rank and sizes on every axis but the gathered one",
        });
    }
    if index.len() != checked_numel(op, index_shape)? {
        return Err(TensorError::DataLength { op, len: index.len(), shape: Shape::from_slice(index_shape) });
    }
    check_indices(op, index, axis, shape)
}

impl<T: Scalar> Tensor<T> {
    /// Entries `indices` of `axis`, in that order (repeats allowed): the
    /// result has `indices.len()` on `axis` and `self`'s other sizes.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::<f64>::arange(6).reshape(&[3, 2]);
    /// assert_eq!(t.try_index_select(0, &[2, 0]).unwrap().data(), &[4.0, 5.0, 0.0, 1.0]);
    /// assert!(t.try_index_select(0, &[3]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`]; [`TensorError::Index`] naming `index_select`,
    /// the index, the axis and the shape; [`TensorError::ShapeOverflow`]
    /// or [`TensorError::TooLarge`] if the result cannot exist.
    pub fn try_index_select(&self, axis: usize, indices: &[usize]) -> Result<Self> {
        const OP: &str = "index_select";
        check_axis(OP, axis, self.shape())?;
        check_indices(OP, indices, axis, self.shape())?;
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let mut out = Shape::from_slice(self.shape());
        out[axis] = indices.len();
        let x = self.data();
        let mut d = size::alloc(OP, &out)?;
        if indices.is_empty() || inner == 0 {
            // Nothing to copy (and `outer` may be huge).
            return Ok(Tensor::from_parts(d, out));
        }
        for o in 0..outer {
            for &i in indices {
                let src = (o * n + i) * inner;
                d.extend_from_slice(&x[src..src + inner]);
            }
        }
        Ok(Tensor::from_parts(d, out))
    }
    /// Panicking form of [`Tensor::try_index_select`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let table = Tensor::<f64>::arange(6).reshape(&[3, 2]); // 3 embeddings of width 2
    /// assert_eq!(table.index_select(0, &[1, 1]).data(), &[2.0, 3.0, 2.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_index_select`] returns.
    #[track_caller]
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Self {
        or_panic(self.try_index_select(axis, indices))
    }

    /// A copy of `self` with slice `k` of `src` added at entry `indices[k]`
    /// of `axis` (repeated indices accumulate). `src` has `self`'s shape
    /// with `indices.len()` on `axis`; the result has `self`'s shape. It
    /// adds into the positions [`Tensor::index_select`] reads.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let base = Tensor::<f64>::zeros(&[3]);
    /// let src = Tensor::from_vec(vec![1.0, 2.0, 4.0], &[3]);
    /// assert_eq!(base.try_index_add(0, &[2, 0, 2], &src).unwrap().data(), &[2.0, 0.0, 5.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Axis`], [`TensorError::Index`], or
    /// [`TensorError::ShapeMismatch`] naming `index_add` and both shapes.
    pub fn try_index_add(&self, axis: usize, indices: &[usize], src: &Self) -> Result<Self> {
        const OP: &str = "index_add";
        check_axis(OP, axis, self.shape())?;
        let mut want = Shape::from_slice(self.shape());
        want[axis] = indices.len();
        if src.shape() != want.as_slice() {
            return Err(TensorError::ShapeMismatch {
                op: OP,
                lhs: Shape::from_slice(self.shape()),
                rhs: Shape::from_slice(src.shape()),
                why: "the source must match the tensor except along the indexed axis, which has one entry per index",
            });
        }
        check_indices(OP, indices, axis, self.shape())?;
        if src.numel() == 0 {
            // Nothing to add (and `outer` may be huge).
            return Ok(self.clone());
        }
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let mut out = self.clone();
        let d = out.data_mut();
        let s = src.data();
        let k = indices.len();
        for o in 0..outer {
            for (j, &i) in indices.iter().enumerate() {
                let dst = (o * n + i) * inner;
                let from = (o * k + j) * inner;
                d[dst..dst + inner].iter_mut().zip(&s[from..from + inner]).for_each(|(a, &v)| *a = *a + v);
            }
        }
        Ok(out)
    }
    /// Panicking form of [`Tensor::try_index_add`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let g = Tensor::<f64>::zeros(&[3, 2]).index_add(0, &[1, 1], &Tensor::ones(&[2, 2]));
    /// assert_eq!(g.data(), &[0.0, 0.0, 2.0, 2.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_index_add`] returns.
    #[track_caller]
    pub fn index_add(&self, axis: usize, indices: &[usize], src: &Self) -> Self {
        or_panic(self.try_index_add(axis, indices, src))
    }

    /// `torch.gather`: `out[..., i, ...] = self[..., index[..., i, ...], ...]`
    /// along `axis`, with `index` row-major of shape `index_shape` (same
    /// rank; same sizes on the other axes); the result has `index_shape`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.try_gather(1, &[1, 0], &[2, 1]).unwrap().data(), &[2.0, 3.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::ShapeMismatch`], [`TensorError::ShapeOverflow`] (an
    /// index shape whose element count overflows),
    /// [`TensorError::DataLength`] or [`TensorError::Index`], naming
    /// `gather`.
    pub fn try_gather(&self, axis: usize, index: &[usize], index_shape: &[usize]) -> Result<Self> {
        check_gather("gather", axis, self.shape(), index, index_shape)?;
        if index.is_empty() {
            // Nothing to read (and `outer` may be huge).
            return Ok(Tensor::from_parts(Vec::new(), Shape::from_slice(index_shape)));
        }
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let k = index_shape[axis];
        let x = self.data();
        let mut d = Vec::with_capacity(index.len());
        for o in 0..outer {
            for j in 0..k {
                for i in 0..inner {
                    let src = index[(o * k + j) * inner + i];
                    d.push(x[(o * n + src) * inner + i]);
                }
            }
        }
        Ok(Tensor::from_parts(d, Shape::from_slice(index_shape)))
    }
    /// Panicking form of [`Tensor::try_gather`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let logp = Tensor::from_vec(vec![-0.1f64, -2.0, -3.0, -0.5], &[2, 2]);
    /// assert_eq!(logp.gather(1, &[0, 1], &[2, 1]).data(), &[-0.1, -0.5]); // one class per row
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_gather`] returns.
    #[track_caller]
    pub fn gather(&self, axis: usize, index: &[usize], index_shape: &[usize]) -> Self {
        or_panic(self.try_gather(axis, index, index_shape))
    }

    /// A copy of `self` with `src` (of shape `index_shape`) added at the
    /// positions [`Tensor::gather`] would read (repeats accumulate); the
    /// result has `self`'s shape.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let base = Tensor::<f64>::zeros(&[2, 2]);
    /// let src = Tensor::from_vec(vec![5.0, 7.0], &[2, 1]);
    /// assert_eq!(base.try_scatter_add(1, &[1, 0], &[2, 1], &src).unwrap().data(), &[0.0, 5.0, 7.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::try_gather`], naming `scatter_add`; also
    /// [`TensorError::ShapeMismatch`] if `src` is not of `index_shape`.
    pub fn try_scatter_add(&self, axis: usize, index: &[usize], index_shape: &[usize], src: &Self) -> Result<Self> {
        const OP: &str = "scatter_add";
        check_gather(OP, axis, self.shape(), index, index_shape)?;
        if src.shape() != index_shape {
            return Err(TensorError::ShapeMismatch {
                op: OP,
                lhs: Shape::from_slice(index_shape),
                rhs: Shape::from_slice(src.shape()),
                why: "the source must have the index's shape",
            });
        }
        if index.is_empty() {
            // Nothing to add (and `outer` may be huge).
            return Ok(self.clone());
        }
        let (outer, n, inner) = split_at_axis(self.shape(), axis);
        let k = index_shape[axis];
        let mut out = self.clone();
        let d = out.data_mut();
        let s = src.data();
        for o in 0..outer {
            for j in 0..k {
                for i in 0..inner {
                    let at = (o * k + j) * inner + i;
                    let dst = (o * n + index[at]) * inner + i;
                    d[dst] = d[dst] + s[at];
                }
            }
        }
        Ok(out)
    }
    /// Panicking form of [`Tensor::try_scatter_add`].
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let g = Tensor::<f64>::zeros(&[2, 2]).scatter_add(1, &[0, 1], &[2, 1], &Tensor::ones(&[2, 1]));
    /// assert_eq!(g.data(), &[1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_scatter_add`] returns.
    #[track_caller]
    pub fn scatter_add(&self, axis: usize, index: &[usize], index_shape: &[usize], src: &Self) -> Self {
        or_panic(self.try_scatter_add(axis, index, index_shape, src))
    }

    /// One-hot rows: shape `[indices.len(), classes]`, with a 1 at column
    /// `indices[r]` of row `r`.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::<f32>::try_one_hot(&[2, 0], 3).unwrap();
    /// assert_eq!(t.data(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// assert!(Tensor::<f32>::try_one_hot(&[3], 3).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Index`] naming `one_hot` for an index `>= classes`;
    /// [`TensorError::ShapeOverflow`] or [`TensorError::TooLarge`] if the
    /// result cannot exist.
    pub fn try_one_hot(indices: &[usize], classes: usize) -> Result<Self> {
        const OP: &str = "one_hot";
        let shape = [indices.len(), classes];
        check_indices(OP, indices, 1, &shape)?;
        let mut d = size::filled(OP, &shape, T::zero())?;
        for (r, &i) in indices.iter().enumerate() {
            d[r * classes + i] = T::one();
        }
        Ok(Tensor::from_parts(d, Shape::from_slice(&shape)))
    }

    /// Panicking form of [`Tensor::try_one_hot`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::one_hot(&[1], 2);
    /// assert_eq!((t.shape(), t.data()), (&[1usize, 2][..], &[0.0, 1.0][..]));
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_one_hot`] returns.
    #[track_caller]
    pub fn one_hot(indices: &[usize], classes: usize) -> Self {
        or_panic(Self::try_one_hot(indices, classes))
    }
}
