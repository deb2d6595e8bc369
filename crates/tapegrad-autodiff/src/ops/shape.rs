//! Shape ops (reshape, transpose, narrow, pad, concat) and the ones composed
//! from them (stack, split, chunk, squeeze, unsqueeze, flatten).

use tapegrad_tensor::{Scalar, Shape, Tensor};

use super::Backward;
use crate::error::or_panic;
use crate::ops::Op;
use crate::sweep::{dense, Contribution, Contributions};
use crate::{AutodiffError, Result, Val, Var};

#[derive(Clone, Copy, Debug)]
pub(crate) enum ShapeOp {
    Reshape,
    Transpose(usize, usize),
    Narrow { axis: usize, start: usize },
    Pad { axis: usize, before: usize },
    Concat { axis: usize },
}

impl ShapeOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ShapeOp::Reshape => "reshape",
            ShapeOp::Transpose(..) => "transpose",
            ShapeOp::Narrow { .. } => "narrow",
            ShapeOp::Pad { .. } => "pad_axis",
            ShapeOp::Concat { .. } => "concat",
        }
    }

    /// Each is a pure rearrangement, so its derivative is the inverse
    /// rearrangement of the gradient. A narrow's gradient is its input's
    /// gradient zero-padded; a first-order sweep takes it as a slice of the
    /// input's gradient instead, with no padding.
    pub(crate) fn backward<'t, T: Scalar>(&self, cx: &Backward<'_, 't, T>) -> Contributions<'t, T> {
        let g = cx.grad;
        let xs = &cx.shapes[0];
        let gx = match *self {
            ShapeOp::Reshape => g.reshape(xs),
            ShapeOp::Transpose(a1, a2) => g.transpose(a1, a2),
            ShapeOp::Narrow { axis, start } => match (cx.first_order, g) {
                (true, Val::Tensor(grad)) => return smallvec::smallvec![Some(Contribution::Slice { axis, start, grad: grad.clone() })],
                _ => g.pad_axis(axis, start, xs[axis] - start - g.shape()[axis]),
            },
            ShapeOp::Pad { axis, before } => g.narrow(axis, before, xs[axis]),
            ShapeOp::Concat { axis } => {
                let mut start = 0;
                return dense(cx.shapes.iter().zip(cx.wants).map(|(x, &w)| {
                    let len = x[axis];
                    let gx = w.then(|| g.narrow(axis, start, len));
                    start += len;
                    gx
                }));
            }
        };
        dense([Some(gx)])
    }
}

/// The smallest concatenation (in scalars) whose parts are re-pointed at it.
const ALIAS_MIN: usize = 4096;

impl<T: Scalar> crate::Tape<T> {
    /// After a concatenation `whole` whose parts are contiguous blocks of
    /// it (along its first axis, or one whose leading axes are all 1),
    /// points each part's value at its block of `whole` (a window of the
    /// same buffer, equal bit for bit), and likewise the value a part
    /// reshapes (a stacked step's output, unsqueezed): the parts' own
    /// buffers are freed, so a stacked sequence is held once, not twice.
    fn alias_blocks(&self, whole: u32, parts: &[Var<'_, T>]) {
        let mut inner = self.inner.borrow_mut();
        let y = inner.nodes[whole as usize].value.clone();
        let flat = y.reshape(&[y.numel()]);
        let mut start = 0;
        for v in parts.iter().filter(|v| v.id & crate::ops::fused::LOCAL == 0) {
            let n = inner.nodes[v.id as usize].shape().iter().product::<usize>();
            repoint(&mut inner.nodes, v.id, &flat.narrow(0, start, n));
            start += n;
        }
    }
}

/// Points node `id`'s value at `block` (its elements, flat), and through a
/// reshape or a leading-axis concatenation whose inputs share its old
/// buffer, theirs too (a step's output inside a stacked segment).
fn repoint<T: Scalar>(nodes: &mut [crate::tape::Node<T>], id: u32, block: &Tensor<T>) {
    let node = &nodes[id as usize];
    if node.released || !node.requires_grad || matches!(node.op, Op::Leaf) {
        return;
    }
    let old = node.value.clone();
    let shares = |p: u32| nodes[p as usize].value.shares_buffer(&old);
    let through: Vec<(u32, usize)> = match node.op {
        Op::Shape(ShapeOp::Reshape) => node.parents.iter().filter(|&&p| shares(p)).map(|&p| (p, 0)).collect(),
        Op::Shape(ShapeOp::Concat { axis }) if node.shape()[..axis].iter().all(|&d| d == 1) => {
            let mut start = 0;
            let mut inputs = Vec::new();
            for &p in &node.parents {
                if shares(p) {
                    inputs.push((p, start));
                }
                start += nodes[p as usize].shape().iter().product::<usize>();
            }
            inputs
        }
        _ => Vec::new(),
    };
    let node = &mut nodes[id as usize];
    node.value = block.reshape(old.shape());
    drop(old);
    for (p, start) in through {
        let n = nodes[p as usize].shape().iter().product::<usize>();
        repoint(nodes, p, &block.narrow(0, start, n));
    }
}

impl ShapeOp {
    /// The rearranged value, of the recorded `shape` (see `Op::forward`).
    pub(crate) fn forward<T: Scalar>(&self, x: &[Tensor<T>], shape: &Shape) -> tapegrad_tensor::Result<Tensor<T>> {
        match *self {
            ShapeOp::Reshape => x[0].try_reshape(shape),
            ShapeOp::Transpose(a1, a2) => x[0].try_transpose(a1, a2),
            ShapeOp::Narrow { axis, start } => x[0].try_narrow(axis, start, shape[axis]),
            ShapeOp::Pad { axis, before } => x[0].try_pad_axis(axis, before, shape[axis] - x[0].shape()[axis] - before),
            ShapeOp::Concat { axis } => Tensor::try_concat(&x.iter().collect::<Vec<_>>(), axis),
        }
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    #[track_caller]
    fn shape_op(self, op: ShapeOp, y: tapegrad_tensor::Result<Tensor<T>>) -> Result<Self> {
        self.tape.record(y?, Op::Shape(op), &[self])
    }

    /// Same elements, new shape (no copy). Derivative: reshape back.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2, 3]));
    /// assert_eq!(x.try_reshape(&[3, 2]).unwrap().shape().as_slice(), &[3, 2]);
    /// assert!(x.try_reshape(&[4]).is_err());
    /// ```
    ///
    /// # Errors
    /// A reshape error naming both shapes.
    #[track_caller]
    pub fn try_reshape(self, shape: &[usize]) -> Result<Self> {
        let y = self.value().try_reshape(shape);
        self.shape_op(ShapeOp::Reshape, y)
    }
    /// Panicking form of [`Var::try_reshape`].
    ///
    /// # Panics
    /// With the message of the error `try_reshape` returns.
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Self {
        or_panic(self.try_reshape(shape))
    }

    /// Swaps two axes. Derivative: swap them back.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2, 3, 4]));
    /// assert_eq!(x.try_transpose(0, 2).unwrap().shape().as_slice(), &[4, 3, 2]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `transpose` and the shape.
    #[track_caller]
    pub fn try_transpose(self, a1: usize, a2: usize) -> Result<Self> {
        let y = self.value().try_transpose(a1, a2);
        self.shape_op(ShapeOp::Transpose(a1, a2), y)
    }
    /// Panicking form of [`Var::try_transpose`].
    ///
    /// # Panics
    /// With the message of the error `try_transpose` returns.
    #[track_caller]
    pub fn transpose(self, a1: usize, a2: usize) -> Self {
        or_panic(self.try_transpose(a1, a2))
    }

    /// Entries `start..start+len` of `axis`. Derivative: the gradient
    /// zero-padded back to the input's shape.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::arange(5));
    /// assert_eq!(x.try_narrow(0, 1, 2).unwrap().value().data(), &[1.0, 2.0]);
    /// assert!(x.try_narrow(0, 4, 2).is_err());
    /// ```
    ///
    /// # Errors
    /// A range or axis error naming `narrow`.
    #[track_caller]
    pub fn try_narrow(self, axis: usize, start: usize, len: usize) -> Result<Self> {
        let y = self.value().try_narrow(axis, start, len);
        self.shape_op(ShapeOp::Narrow { axis, start }, y)
    }
    /// Panicking form of [`Var::try_narrow`].
    ///
    /// # Panics
    /// With the message of the error `try_narrow` returns.
    #[track_caller]
    pub fn narrow(self, axis: usize, start: usize, len: usize) -> Self {
        or_panic(self.try_narrow(axis, start, len))
    }

    /// Zero padding: `before` zeros then the input then `after` zeros along
    /// `axis`. Derivative: the middle of the gradient (a narrow).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2]));
    /// assert_eq!(x.try_pad_axis(0, 1, 1).unwrap().value().data(), &[0.0, 1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `pad_axis`.
    #[track_caller]
    pub fn try_pad_axis(self, axis: usize, before: usize, after: usize) -> Result<Self> {
        let y = self.value().try_pad_axis(axis, before, after);
        self.shape_op(ShapeOp::Pad { axis, before }, y)
    }
    /// Panicking form of [`Var::try_pad_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_pad_axis` returns.
    #[track_caller]
    pub fn pad_axis(self, axis: usize, before: usize, after: usize) -> Self {
        or_panic(self.try_pad_axis(axis, before, after))
    }

    /// Joins variables along an existing axis. Derivative: each input gets
    /// its slice of the gradient.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor, Var};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::ones(&[2, 1]));
    /// let b = tape.leaf(Tensor::zeros(&[2, 2]));
    /// assert_eq!(Var::try_concat(&[a, b], 1).unwrap().shape().as_slice(), &[2, 3]);
    /// assert!(Var::try_concat(&[a, b], 0).is_err());
    /// ```
    ///
    /// # Errors
    /// Empty list, mismatched shapes or bad axis, naming `concat`;
    /// [`AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_concat(vars: &[Var<'t, T>], axis: usize) -> Result<Self> {
        let first = vars.first().ok_or(AutodiffError::Tensor(tapegrad_tensor::TensorError::Invalid {
            op: "concat",
            message: "no tensors to concatenate".into(),
        }))?;
        for v in vars {
            first.same_tape("concat", v)?;
        }
        let values: Vec<Tensor<T>> = vars.iter().map(|v| v.value()).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let y = Tensor::try_concat(&refs, axis)?;
        let whole = first.tape.record(y, Op::Shape(ShapeOp::Concat { axis }), vars)?;
        drop(values);
        // (Not worth it for small values: their copies cost less than the bookkeeping.)
        if first.shape()[..axis].iter().all(|&d| d == 1) && whole.shape().iter().product::<usize>() >= ALIAS_MIN {
            whole.tape.alias_blocks(whole.id, vars);
        }
        Ok(whole)
    }
    /// Panicking form of [`Var::try_concat`].
    ///
    /// # Panics
    /// With the message of the error `try_concat` returns.
    #[track_caller]
    pub fn concat(vars: &[Var<'t, T>], axis: usize) -> Self {
        or_panic(Self::try_concat(vars, axis))
    }

    /// Joins variables along a new axis (composed: unsqueeze, then concat).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor, Var};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.leaf(Tensor::ones(&[3]));
    /// assert_eq!(Var::try_stack(&[a, a], 0).unwrap().shape().as_slice(), &[2, 3]);
    /// ```
    ///
    /// # Errors
    /// As [`Var::try_concat`]; the axis may be at most the inputs' rank.
    #[track_caller]
    pub fn try_stack(vars: &[Var<'t, T>], axis: usize) -> Result<Self> {
        if let Some(first) = vars.first() {
            let s0 = first.shape();
            if let Some(bad) = vars.iter().map(|v| v.shape()).find(|s| *s != s0) {
                return Err(tapegrad_tensor::TensorError::ShapeMismatch {
                    op: "stack",
                    lhs: s0,
                    rhs: bad,
                    why: "stacked tensors must have equal shapes",
                }
                .into());
            }
        }
        let parts = vars.iter().map(|v| v.try_unsqueeze(axis)).collect::<Result<Vec<_>>>()?;
        Self::try_concat(&parts, axis)
    }
    /// Panicking form of [`Var::try_stack`].
    ///
    /// # Panics
    /// With the message of the error `try_stack` returns.
    #[track_caller]
    pub fn stack(vars: &[Var<'t, T>], axis: usize) -> Self {
        or_panic(Self::try_stack(vars, axis))
    }

    /// Splits `axis` into pieces of the given sizes (composed of narrows).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let parts = tape.leaf(Tensor::arange(5)).try_split(0, &[2, 3]).unwrap();
    /// assert_eq!(parts[1].value().data(), &[2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Errors
    /// An axis error, or sizes that do not add up to the axis, naming `split`.
    #[track_caller]
    pub fn try_split(self, axis: usize, sizes: &[usize]) -> Result<Vec<Self>> {
        let starts = tapegrad_tensor::split_starts(&self.shape(), axis, sizes)?;
        starts.iter().zip(sizes).map(|(&start, &len)| self.try_narrow(axis, start, len)).collect()
    }

    /// Splits `axis` into `chunks` pieces of `ceil(n/chunks)` (the last may
    /// be smaller), as PyTorch's `chunk`. Handy for the gates of a cell.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let gates = tape.leaf(Tensor::ones(&[2, 8])).try_chunk(4, 1).unwrap();
    /// assert_eq!((gates.len(), gates[0].shape().as_slice()), (4, &[2usize, 2][..]));
    /// ```
    ///
    /// # Errors
    /// An axis error, or `chunks == 0`, naming `chunk`.
    #[track_caller]
    pub fn try_chunk(self, chunks: usize, axis: usize) -> Result<Vec<Self>> {
        self.try_split(axis, &tapegrad_tensor::chunk_sizes(&self.shape(), chunks, axis)?)
    }

    /// Inserts an axis of size 1 at `axis` (a reshape).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::ones(&[3])).try_unsqueeze(0).unwrap().shape().as_slice(), &[1, 3]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `unsqueeze` if `axis` exceeds the rank.
    #[track_caller]
    pub fn try_unsqueeze(self, axis: usize) -> Result<Self> {
        let mut s: Shape = self.shape();
        if axis > s.len() {
            return Err(tapegrad_tensor::TensorError::Axis { op: "unsqueeze", axis, shape: s }.into());
        }
        s.insert(axis, 1);
        self.try_reshape(&s)
    }

    /// Removes an axis of size 1 (a reshape).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::ones(&[3, 1])).try_squeeze(1).unwrap().shape().as_slice(), &[3]);
    /// ```
    ///
    /// # Errors
    /// An axis error naming `squeeze`, or an axis whose size is not 1.
    #[track_caller]
    pub fn try_squeeze(self, axis: usize) -> Result<Self> {
        let mut s: Shape = self.shape();
        if axis >= s.len() || s[axis] != 1 {
            return Err(tapegrad_tensor::TensorError::Invalid {
                op: "squeeze",
                message: format!("axis {axis} of shape {s:?} is not of size 1"),
            }
            .into());
        }
        s.remove(axis);
        self.try_reshape(&s)
    }

    /// All elements as one axis (a reshape).
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// assert_eq!(tape.leaf(Tensor::ones(&[2, 3])).flatten().shape().as_slice(), &[6]);
    /// ```
    #[track_caller]
    pub fn flatten(self) -> Self {
        let n = self.shape().iter().product::<usize>();
        self.reshape(&[n])
    }
}
