//! Naive references: index arithmetic spelled out, no cleverness.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

/// Row-major flat offset of a multi-index.
pub fn offset(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |o, (&i, &n)| o * n + i)
}

/// Every multi-index of `shape`, in row-major order.
pub fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|mut f| {
            let mut idx = vec![0; shape.len()];
            for a in (0..shape.len()).rev() {
                idx[a] = f % shape[a];
                f /= shape[a];
            }
            idx
        })
        .collect()
}

/// Element of `t` at `idx`, broadcasting size-1 and missing leading axes.
pub fn at_broadcast(t: &Tensor<f64>, idx: &[usize]) -> f64 {
    let s = t.shape();
    let off = idx.len() - s.len();
    let own: Vec<usize> = (0..s.len()).map(|a| if s[a] == 1 { 0 } else { idx[a + off] }).collect();
    t.data()[offset(s, &own)]
}

/// Shapes of rank 1..=4 with axes 1..=4.
pub fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=4, 1..=4)
}

/// A tensor of the given shape with values in [-3, 3].
pub fn tensor(shape: Vec<usize>) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    prop::collection::vec(-3.0f64..3.0, n).prop_map(move |d| Tensor::from_vec(d, &shape))
}

/// A tensor of random shape.
pub fn any_tensor() -> impl Strategy<Value = Tensor<f64>> {
    shape().prop_flat_map(tensor)
}

/// Two shapes that broadcast: some axes of the second set to 1, some of
/// the first, some leading axes of the second dropped.
pub fn broadcast_pair() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    (shape(), 0usize..=4, prop::collection::vec(0u8..3, 4))
        .prop_map(|(full, drop, kinds)| {
            let (mut a, mut b) = (full.clone(), full);
            for (i, k) in kinds.iter().enumerate().take(a.len()) {
                match k {
                    1 => b[i] = 1,
                    2 => a[i] = 1,
                    _ => {}
                }
            }
            let d = drop.min(b.len() - 1);
            (a, b[d..].to_vec())
        })
        .prop_flat_map(|(a, b)| (tensor(a), tensor(b)))
}

/// `|a - b| <= tol` everywhere, same shape.
pub fn assert_close(got: &Tensor<f64>, want: &Tensor<f64>, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "shapes differ");
    for (i, (g, w)) in got.data().iter().zip(want.data()).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()), "element {i}: got {g}, want {w}");
    }
}

/// Shapes of rank 1..=3 whose axes may be empty (0..=3).
pub fn shape_with_empty() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..=3, 1..=3)
}

/// A tensor of small integers in [-2, 2], so that ties are common.
pub fn int_tensor(shape: Vec<usize>) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    prop::collection::vec(-2i8..=2, n).prop_map(move |d| Tensor::from_vec(d.into_iter().map(f64::from).collect(), &shape))
}

/// Element of `t` at multi-index `idx`.
pub fn at(t: &Tensor<f64>, idx: &[usize]) -> f64 {
    t.data()[offset(t.shape(), idx)]
}

/// Entries `start..start + len` of `axis`, copied index by index.
pub fn narrow_ref(t: &Tensor<f64>, axis: usize, start: usize, len: usize) -> Tensor<f64> {
    let mut shape = t.shape().to_vec();
    shape[axis] = len;
    let d = indices(&shape)
        .into_iter()
        .map(|mut i| {
            i[axis] += start;
            at(t, &i)
        })
        .collect();
    Tensor::from_vec(d, &shape)
}

/// Multi-indices of the 1-D rows along `axis`: one `Vec` of offsets per row,
/// rows in row-major order of the other axes.
pub fn rows(shape: &[usize], axis: usize) -> Vec<Vec<usize>> {
    let mut rest = shape.to_vec();
    rest[axis] = 1;
    indices(&rest)
        .into_iter()
        .map(|base| {
            (0..shape[axis])
                .map(|j| {
                    let mut i = base.clone();
                    i[axis] = j;
                    offset(shape, &i)
                })
                .collect()
        })
        .collect()
}
