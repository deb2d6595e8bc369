//! The one error type of this crate.

use crate::Shape;

/// Why a tensor operation refused its arguments.
///
/// Every message starts with the name of the operation and names the shapes
/// involved, e.g. `add: shapes [2, 3] and [4] cannot be broadcast together`.
/// The panicking forms of the operations (`a.add(&b)`, `&a + &b`) panic with
/// exactly this message.
///
/// ```
/// use tapegrad_tensor::{Tensor, TensorError};
/// let x = Tensor::<f64>::zeros(&[2, 3]);
/// match x.try_reshape(&[4]) {
///     Err(TensorError::Reshape { op, from, to }) => {
///         assert_eq!((op, from.as_slice(), to.as_slice()), ("reshape", &[2, 3][..], &[4][..]));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(x.try_sum_axis(2, false).unwrap_err().to_string(), "sum_axis: axis 2 is out of range for shape [2, 3]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// Two shapes do not broadcast (NumPy rules: trailing dimensions must be
    /// equal or 1).
    #[error("{op}: shapes {lhs:?} and {rhs:?} cannot be broadcast together")]
    Broadcast {
        /// The operation.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Shape,
        /// Shape of the right operand.
        rhs: Shape,
    },
    /// Two shapes are incompatible for a reason other than broadcasting.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible: {why}")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// Shape of the left (or first) operand.
        lhs: Shape,
        /// Shape of the right (or offending) operand.
        rhs: Shape,
        /// What the operation needed.
        why: &'static str,
    },
    /// A tensor has the wrong number of dimensions.
    #[error("{op}: shape {shape:?} has rank {}, expected {expected}", shape.len())]
    Rank {
        /// The operation.
        op: &'static str,
        /// The offending shape.
        shape: Shape,
        /// What the operation accepts, e.g. `"2 or 3"`.
        expected: &'static str,
    },
    /// An axis does not exist.
    #[error("{op}: axis {axis} is out of range for shape {shape:?}")]
    Axis {
        /// The operation.
        op: &'static str,
        /// The requested axis.
        axis: usize,
        /// The shape it was applied to.
        shape: Shape,
    },
    /// A reshape that changes the number of elements.
    #[error("{op}: cannot reshape {from:?} ({} elements) into {to:?} ({} elements)", count(from), count(to))]
    Reshape {
        /// The operation.
        op: &'static str,
        /// The original shape.
        from: Shape,
        /// The requested shape.
        to: Shape,
    },
    /// A buffer whose length does not match the shape it is given.
    #[error("{op}: {len} values do not fill shape {shape:?} ({} elements)", count(shape))]
    DataLength {
        /// The operation.
        op: &'static str,
        /// Number of values supplied.
        len: usize,
        /// The requested shape.
        shape: Shape,
    },
    /// An index outside an axis.
    #[error("{op}: index {index} is out of bounds for axis {axis} of size {size} in shape {shape:?}")]
    Index {
        /// The operation.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The axis indexed.
        axis: usize,
        /// The size of that axis.
        size: usize,
        /// The full shape.
        shape: Shape,
    },
    /// A range `start..start + len` outside an axis.
    #[error("{op}: range {start}..{} is out of bounds for axis {axis} of size {size} in shape {shape:?}", start.saturating_add(*len))]
    Range {
        /// The operation.
        op: &'static str,
        /// Start of the range.
        start: usize,
        /// Length of the range.
        len: usize,
        /// The axis.
        axis: usize,
        /// The size of that axis.
        size: usize,
        /// The full shape.
        shape: Shape,
    },
    /// A shape whose element count does not fit in `usize`: the product of
    /// its non-zero axes overflows (see [`crate::checked_numel`]).
    #[error("{op}: the product of the axes of shape {shape:?} overflows usize")]
    ShapeOverflow {
        /// The operation.
        op: &'static str,
        /// The shape that was asked for (given, or the result's).
        shape: Shape,
    },
    /// An axis whose length, a sum of lengths (padding, concatenation),
    /// does not fit in `usize`.
    #[error("{op}: lengths {lengths:?} of axis {axis} of shape {shape:?} add up to more than usize::MAX")]
    AxisOverflow {
        /// The operation.
        op: &'static str,
        /// The axis.
        axis: usize,
        /// The (first) operand's shape.
        shape: Shape,
        /// The lengths that were to be added.
        lengths: Vec<usize>,
    },
    /// A result whose buffer cannot be allocated: more than `isize::MAX`
    /// bytes, or a size the system refused.
    #[error("{op}: shape {shape:?} ({numel} elements of {elem_bytes} bytes, {} bytes) cannot be allocated", *numel as u128 * *elem_bytes as u128)]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// The result's shape.
        shape: Shape,
        /// Its number of elements.
        numel: usize,
        /// Bytes per element.
        elem_bytes: usize,
    },
    /// Bounds that do not form an interval: `lo > hi`, or a NaN bound.
    #[error("{op}: bounds lo = {lo} and hi = {hi} do not form an interval (lo must not exceed hi, and neither may be NaN)")]
    InvalidBounds {
        /// The operation.
        op: &'static str,
        /// The lower bound, as printed (`"NaN"`, `"1"`, ...).
        lo: String,
        /// The upper bound, as printed.
        hi: String,
    },
    /// A numeric parameter outside the values the operation accepts (a
    /// NaN mean, a negative standard deviation, an infinite width).
    #[error("{op}: {name} = {value} is invalid: {why}")]
    InvalidParameter {
        /// The operation.
        op: &'static str,
        /// The parameter, as the operation's docs name it.
        name: &'static str,
        /// Its value, as printed (`"NaN"`, `"-1"`, `"inf"`, ...).
        value: String,
        /// What the operation needs of it.
        why: &'static str,
    },
    /// Any other invalid argument, described in words.
    #[error("{op}: {message}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl TensorError {
    /// A size error attributed to `op`, for an op carried out by another
    /// (`mean_axis` by `sum_axis`, `stack` by `concat`) once it has checked
    /// its axes and shapes itself: what the other op can still refuse is a
    /// size (a data length, an overflowing shape, a buffer too large),
    /// and that error must name the op the caller called. Other errors are
    /// returned unchanged.
    pub(crate) fn in_op(mut self, op: &'static str) -> Self {
        use TensorError::*;
        if let DataLength { op: o, .. } | ShapeOverflow { op: o, .. } | AxisOverflow { op: o, .. } | TooLarge { op: o, .. } = &mut self {
            *o = op;
        }
        self
    }
}

/// The element count of `shape` for a message: the number, or a note that
/// it overflows.
fn count(shape: &Shape) -> String {
    match crate::checked_numel("", shape) {
        Ok(n) => n.to_string(),
        Err(_) => "more than usize::MAX".into(),
    }
}

/// Shorthand for results of this crate: `Result<T, TensorError>`.
///
/// ```
/// use tapegrad_tensor::{Result, Tensor};
/// fn row_sums(x: &Tensor<f64>) -> Result<Tensor<f64>> {
///     x.try_sum_axis(1, false)
/// }
/// assert_eq!(row_sums(&Tensor::ones(&[2, 3])).unwrap().data(), &[3.0, 3.0]);
/// assert!(row_sums(&Tensor::ones(&[3])).is_err());
/// ```
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Unwraps a result of a `try_` operation, panicking with the error's message.
///
/// This is how every panicking convenience form is implemented, so the panic
/// message is always the typed error's `Display`.
#[track_caller]
pub(crate) fn or_panic<V>(r: Result<V>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
