//! Shapes, strides and broadcasting rules, shared by every op.

use smallvec::SmallVec;

use crate::{Result, TensorError};

/// A tensor shape: the size of each axis, outermost first. Up to four axes
/// live inline without allocation.
///
/// ```
/// use tapegrad_tensor::{shape, Shape};
/// let s: Shape = shape(&[2, 3, 4]);
/// assert_eq!((s.len(), s.iter().product::<usize>()), (3, 24));
/// assert!(!s.spilled()); // held inline
/// ```
pub type Shape = SmallVec<[usize; 4]>;

/// Builds a [`Shape`] from a slice.
///
/// ```
/// let s = tapegrad_tensor::shape(&[2, 3]);
/// assert_eq!(s.as_slice(), &[2, 3]);
/// ```
pub fn shape(dims: &[usize]) -> Shape {
    Shape::from_slice(dims)
}

/// Row-major (C-order) strides of a contiguous tensor of this shape.
pub(crate) fn strides(shape: &[usize]) -> Shape {
    let mut s: Shape = smallvec::smallvec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The NumPy broadcast of two shapes.
///
/// ```
/// use tapegrad_tensor::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[4, 1, 3], &[2, 1]).unwrap().as_slice(), &[4, 2, 3]);
/// assert!(broadcast_shapes("add", &[2, 3], &[4]).is_err());
/// ```
///
/// # Errors
/// [`TensorError::Broadcast`] naming `op` and both shapes when a pair of
/// trailing dimensions differ and neither is 1;
/// [`TensorError::ShapeOverflow`] naming `op` and the broadcast shape if
/// its element count overflows (two empty operands such as `[0, 2^32, 1]`
/// and `[0, 1, 2^32]`).
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Shape> {
    let n = a.len().max(b.len());
    let mut out: Shape = smallvec::smallvec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
        let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(TensorError::Broadcast { op, lhs: shape(a), rhs: shape(b) });
        };
    }
    crate::checked_numel(op, &out)?;
    Ok(out)
}

/// Strides with which a tensor of shape `src` is read as if broadcast to
/// `dst` (0 on broadcast axes). `src` must broadcast to `dst`.
pub(crate) fn broadcast_strides(src: &[usize], dst: &[usize]) -> Shape {
    let st = strides(src);
    let off = dst.len() - src.len();
    (0..dst.len()).map(|i| if i < off || src[i - off] == 1 { 0 } else { st[i - off] }).collect()
}

/// Checks that `axis` exists in `shape`.
pub(crate) fn check_axis(op: &'static str, axis: usize, shape: &[usize]) -> Result<()> {
    if axis < shape.len() {
        Ok(())
    } else {
        Err(TensorError::Axis { op, axis, shape: Shape::from_slice(shape) })
    }
}

/// Splits a shape around `axis` into (outer, size of axis, inner) element counts.
pub(crate) fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Calls `f(out_index, a_offset, b_offset)` for every element of `dst`,
/// reading `a` and `b` with (possibly zero) strides `sa` and `sb`.
/// The innermost axis runs in a tight loop.
pub(crate) fn for_each_broadcast(dst: &[usize], sa: &[usize], sb: &[usize], mut f: impl FnMut(usize, usize, usize)) {
    let n: usize = dst.iter().product();
    if n == 0 {
        return;
    }
    if dst.is_empty() {
        f(0, 0, 0);
        return;
    }
    let last = dst.len() - 1;
    let inner = dst[last];
    let (ia, ib) = (sa[last], sb[last]);
    let mut idx: Shape = smallvec::smallvec![0; dst.len()];
    let (mut oa, mut ob) = (0usize, 0usize);
    let mut o = 0;
    while o < n {
        for j in 0..inner {
            f(o + j, oa + j * ia, ob + j * ib);
        }
        o += inner;
        // Advance the multi-index over the outer axes.
        let mut ax = last;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            oa += sa[ax];
            ob += sb[ax];
            if idx[ax] < dst[ax] {
                break;
            }
            oa -= sa[ax] * dst[ax];
            ob -= sb[ax] * dst[ax];
            idx[ax] = 0;
        }
    }
}
