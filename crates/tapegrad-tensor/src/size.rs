//! Element counts and output buffers, checked.
//!
//! A shape is valid when the product of its non-zero axes fits in `usize`:
//! then its element count, every stride and every count of sub-blocks
//! (`outer`/`inner` around an axis) is representable, even when another
//! axis is 0 (`[0, 2^32, 2^32]` holds nothing, but its first stride would
//! be 2^64). Every tensor has a valid shape: constructors and every op
//! whose result may be larger than its operands check it with
//! [`checked_numel`], and take the result's buffer from [`alloc`], which
//! turns a size no allocator can provide into an error instead of an abort.

use std::mem;

use crate::layout::Shape;
use crate::{engine, Result, Scalar, TensorError};

/// The number of elements of a tensor of shape `shape`, or
/// [`TensorError::ShapeOverflow`] naming `op` and the shape if the
/// product of its non-zero axes does not fit in `usize` (the shape is
/// then not valid even if another axis is 0: its strides would wrap).
///
/// ```
/// use tapegrad_tensor::{checked_numel, TensorError};
/// assert_eq!(checked_numel("zeros", &[2, 3]), Ok(6));
/// assert_eq!(checked_numel("zeros", &[0, usize::MAX]), Ok(0));
/// assert!(matches!(checked_numel("zeros", &[1 << 32, 1 << 32]), Err(TensorError::ShapeOverflow { op: "zeros", .. })));
/// assert!(checked_numel("zeros", &[0, 1 << 32, 1 << 32]).is_err());
/// ```
///
/// # Errors
/// [`TensorError::ShapeOverflow`], as above.
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    let mut nonzero: usize = 1;
    let mut empty = false;
    for &d in shape {
        if d == 0 {
            empty = true;
        } else {
            nonzero = nonzero.checked_mul(d).ok_or_else(|| TensorError::ShapeOverflow { op, shape: Shape::from_slice(shape) })?;
        }
    }
    Ok(if empty { 0 } else { nonzero })
}

/// The sum of `lengths`, those of one axis (padding, concatenation), or
/// [`TensorError::AxisOverflow`] naming `op`, the axis, the operand's
/// shape and the lengths if it does not fit in `usize`.
pub(crate) fn checked_axis_sum(
    op: &'static str,
    axis: usize,
    shape: &[usize],
    lengths: impl Iterator<Item = usize> + Clone,
) -> Result<usize> {
    lengths.clone().try_fold(0usize, |s, l| s.checked_add(l)).ok_or_else(|| TensorError::AxisOverflow {
        op,
        axis,
        shape: Shape::from_slice(shape),
        lengths: lengths.collect(),
    })
}

/// Buffers from this size up are first requested from the system
/// fallibly, so that one it cannot provide is an error. (Below it, a
/// failed allocation means the process is out of memory, and aborts as any
/// Rust allocation does.)
const PROBE_MIN_BYTES: usize = 64 << 20;

/// An empty vector with room for exactly the elements of `shape` (a valid
/// shape, else [`TensorError::ShapeOverflow`]), for an op's result.
///
/// A buffer that no allocator could provide is [`TensorError::TooLarge`]
/// naming `op` and the shape: more than `isize::MAX` bytes, or, from
/// [`PROBE_MIN_BYTES`] up, a request the system refuses
/// (`Vec::try_reserve_exact`). A buffer the thread's pool may hold (not
/// larger than [`crate::buffer_pool_limit`]) is then taken from the pool
/// as usual: the fallible request was only a probe, which costs an
/// untouched map and unmap of the pages against the milliseconds of
/// writing them.
pub(crate) fn alloc<T: Scalar>(op: &'static str, shape: &[usize]) -> Result<Vec<T>> {
    let (n, fresh) = reserve(op, shape)?;
    Ok(fresh.unwrap_or_else(|| engine::alloc(n)))
}

/// As [`alloc`], filled with `value`.
pub(crate) fn filled<T: Scalar>(op: &'static str, shape: &[usize], value: T) -> Result<Vec<T>> {
    let (n, fresh) = reserve(op, shape)?;
    Ok(match fresh {
        Some(mut v) => {
            v.resize(n, value);
            v
        }
        None => engine::filled(n, value),
    })
}

/// The checks of [`alloc`]: the element count, and the fallibly reserved
/// vector if the buffer is too large for the pool to hold (`None`: take
/// it from the pool).
fn reserve<T: Scalar>(op: &'static str, shape: &[usize]) -> Result<(usize, Option<Vec<T>>)> {
    let n = checked_numel(op, shape)?;
    let elem_bytes = mem::size_of::<T>();
    let too_large = || TensorError::TooLarge { op, shape: Shape::from_slice(shape), numel: n, elem_bytes };
    let bytes = n.checked_mul(elem_bytes).filter(|&b| b <= isize::MAX as usize).ok_or_else(too_large)?;
    if bytes < PROBE_MIN_BYTES {
        return Ok((n, None));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| too_large())?;
    // The pool never keeps a buffer larger than its limit.
    Ok((n, (bytes > engine::buffer_pool_limit()).then_some(v)))
}
