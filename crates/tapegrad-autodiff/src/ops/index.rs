//! Indexing ops (embedding lookup, gather) and their adjoints (index_add,
//! scatter_add): each pair is the other's derivative.

use std::sync::Arc;

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::error::or_panic;
use crate::ops::Op;
use crate::{Result, Val, Var};

#[derive(Clone, Debug)]
pub(crate) enum IndexOp {
    Select { axis: usize, idx: Arc<[usize]> },
    Add { axis: usize, idx: Arc<[usize]> },
    Gather { axis: usize, idx: Arc<[usize]>, idx_shape: Arc<[usize]> },
    Scatter { axis: usize, idx: Arc<[usize]>, idx_shape: Arc<[usize]> },
}

impl IndexOp {
    /// The indexed value from the inputs (see `Op::forward`).
    pub(crate) fn forward<T: Scalar>(&self, x: &[Tensor<T>]) -> tapegrad_tensor::Result<Tensor<T>> {
        match self {
            IndexOp::Select { axis, idx } => x[0].try_index_select(*axis, idx),
            IndexOp::Add { axis, idx } => x[0].try_index_add(*axis, idx, &x[1]),
            IndexOp::Gather { axis, idx, idx_shape } => x[0].try_gather(*axis, idx, idx_shape),
            IndexOp::Scatter { axis, idx, idx_shape } => x[0].try_scatter_add(*axis, idx, idx_shape, &x[1]),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            IndexOp::Select { .. } => "index_select",
            IndexOp::Add { .. } => "index_add",
            IndexOp::Gather { .. } => "gather",
            IndexOp::Scatter { .. } => "scatter_add",
        }
    }

    pub(crate) fn backward<'t, T: Scalar>(&self, xs: &Shape, g: &Val<'t, T>, wants: &[bool]) -> SmallVec<[Option<Val<'t, T>>; 2]> {
        match self {
            IndexOp::Select { axis, idx } => smallvec::smallvec![Some(g.zeros_like_shape(xs).index_add(*axis, idx, g))],
            IndexOp::Add { axis, idx } => smallvec::smallvec![wants[0].then(|| g.clone()), wants[1].then(|| g.index_select(*axis, idx))],
            IndexOp::Gather { axis, idx, idx_shape } => {
                smallvec::smallvec![Some(g.zeros_like_shape(xs).scatter_add(*axis, idx, idx_shape, g))]
            }
            IndexOp::Scatter { axis, idx, idx_shape } => {
                smallvec::smallvec![wants[0].then(|| g.clone()), wants[1].then(|| g.gather(*axis, idx, idx_shape))]
            }
        }
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Entries `indices` of `axis`, in that order, repeats allowed (an
    /// embedding lookup is `table.index_select(0, &tokens)`). Derivative:
    /// the gradient rows added back at `indices`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let table = tape.leaf(Tensor::from_vec(vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0], &[3, 2]));
    /// let rows = table.try_index_select(0, &[2, 0, 2]).unwrap();
    /// assert_eq!(rows.value().data(), &[2.0, 2.0, 0.0, 0.0, 2.0, 2.0]);
    /// let g = tape.backward(rows.sum_all()).unwrap();
    /// assert_eq!(g.get(table).unwrap().data(), &[1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    ///
    /// # Errors
    /// An index or axis error naming `index_select`.
    #[track_caller]
    pub fn try_index_select(self, axis: usize, indices: &[usize]) -> Result<Self> {
        let y = self.value().try_index_select(axis, indices)?;
        self.tape.record(y, Op::Index(IndexOp::Select { axis, idx: indices.into() }), &[self])
    }
    /// Panicking form of [`Var::try_index_select`].
    ///
    /// # Panics
    /// With the message of the error `try_index_select` returns.
    #[track_caller]
    pub fn index_select(self, axis: usize, indices: &[usize]) -> Self {
        or_panic(self.try_index_select(axis, indices))
    }

    /// `self` with slice `i` of `src` added at entry `indices[i]` of `axis`.
    /// Derivative: `1` for `self`; for `src`, the gradient's rows at `indices`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let base = tape.leaf(Tensor::zeros(&[3]));
    /// let src = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    /// assert_eq!(base.try_index_add(0, &[2, 2], src).unwrap().value().data(), &[0.0, 0.0, 3.0]);
    /// ```
    ///
    /// # Errors
    /// An index, axis or shape error naming `index_add`;
    /// [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_index_add(self, axis: usize, indices: &[usize], src: Var<'t, T>) -> Result<Self> {
        self.same_tape("index_add", &src)?;
        let y = self.value().try_index_add(axis, indices, &src.value())?;
        self.tape.record(y, Op::Index(IndexOp::Add { axis, idx: indices.into() }), &[self, src])
    }
    /// Panicking form of [`Var::try_index_add`].
    ///
    /// # Panics
    /// With the message of the error `try_index_add` returns.
    #[track_caller]
    pub fn index_add(self, axis: usize, indices: &[usize], src: Var<'t, T>) -> Self {
        or_panic(self.try_index_add(axis, indices, src))
    }

    /// `torch.gather`: `out[.., i, ..] = self[.., index[.., i, ..], ..]`
    /// along `axis`, with `index` row-major of shape `index_shape`.
    /// Derivative: the gradient scattered (added) back to the read positions.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let logits = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
    /// let picked = logits.try_gather(1, &[1, 0], &[2, 1]).unwrap();
    /// assert_eq!(picked.value().data(), &[2.0, 3.0]);
    /// ```
    ///
    /// # Errors
    /// An index or shape error naming `gather`.
    #[track_caller]
    pub fn try_gather(self, axis: usize, index: &[usize], index_shape: &[usize]) -> Result<Self> {
        let y = self.value().try_gather(axis, index, index_shape)?;
        self.tape.record(y, Op::Index(IndexOp::Gather { axis, idx: index.into(), idx_shape: index_shape.into() }), &[self])
    }
    /// Panicking form of [`Var::try_gather`].
    ///
    /// # Panics
    /// With the message of the error `try_gather` returns.
    #[track_caller]
    pub fn gather(self, axis: usize, index: &[usize], index_shape: &[usize]) -> Self {
        or_panic(self.try_gather(axis, index, index_shape))
    }

    /// `self` with `src` added at the positions [`Var::try_gather`] would
    /// read. Derivative: `1` for `self`; for `src`, the gathered gradient.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let base = tape.leaf(Tensor::zeros(&[2, 2]));
    /// let src = tape.leaf(Tensor::from_vec(vec![5.0, 7.0], &[2, 1]));
    /// let y = base.try_scatter_add(1, &[1, 0], &[2, 1], src).unwrap();
    /// assert_eq!(y.value().data(), &[0.0, 5.0, 7.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// An index or shape error naming `scatter_add`;
    /// [`crate::AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_scatter_add(self, axis: usize, index: &[usize], index_shape: &[usize], src: Var<'t, T>) -> Result<Self> {
        self.same_tape("scatter_add", &src)?;
        let y = self.value().try_scatter_add(axis, index, index_shape, &src.value())?;
        self.tape.record(y, Op::Index(IndexOp::Scatter { axis, idx: index.into(), idx_shape: index_shape.into() }), &[self, src])
    }
    /// Panicking form of [`Var::try_scatter_add`].
    ///
    /// # Panics
    /// With the message of the error `try_scatter_add` returns.
    #[track_caller]
    pub fn scatter_add(self, axis: usize, index: &[usize], index_shape: &[usize], src: Var<'t, T>) -> Self {
        or_panic(self.try_scatter_add(axis, index, index_shape, src))
    }

    /// An embedding lookup: rows `ids` of this `(vocab, dim)` table as a
    /// `(ids.len(), dim)` variable (an `index_select` on axis 0).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// let table = tape.leaf(Tensor::ones(&[10, 4]));
    /// assert_eq!(table.try_embedding(&[3, 3, 9]).unwrap().shape().as_slice(), &[3, 4]);
    /// assert!(table.try_embedding(&[10]).is_err());
    /// ```
    ///
    /// # Errors
    /// An index error naming `index_select` for an id past the vocabulary.
    #[track_caller]
    pub fn try_embedding(self, ids: &[usize]) -> Result<Self> {
        self.try_index_select(0, ids)
    }
}
