//! index_select / index_add and gather / scatter_add, and their adjointness.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, at, indices, offset, tensor};

/// `<select(x), y> == <x, index_add(0, y)>`: the two are adjoint, which is
/// why each is the other's derivative.
fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.data().iter().zip(b.data()).map(|(x, y)| x * y).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn index_select_picks_and_index_add_is_its_adjoint(t in any_tensor(), axis in 0usize..4, picks in prop::collection::vec(0usize..16, 0..6)) {
        let axis = axis % t.ndim();
        let n = t.shape()[axis];
        let idx: Vec<usize> = picks.iter().map(|p| p % n).collect();
        let s = t.try_index_select(axis, &idx).unwrap();
        for out in indices(s.shape()) {
            let mut src = out.clone();
            src[axis] = idx[out[axis]];
            prop_assert_eq!(s.data()[offset(s.shape(), &out)], t.data()[offset(t.shape(), &src)]);
        }
        let y = s.map(|v| v * 0.5 + 1.0);
        let back = Tensor::zeros(t.shape()).try_index_add(axis, &idx, &y).unwrap();
        prop_assert!((dot(&s, &y) - dot(&t, &back)).abs() < 1e-9);
    }

    #[test]
    fn gather_reads_and_scatter_add_is_its_adjoint((t, k, seed) in prop::collection::vec(1usize..=4, 2..=3).prop_flat_map(|s| (tensor(s), 1usize..4, any::<u64>()))) {
        let axis = (seed % t.ndim() as u64) as usize;
        let mut ishape = t.shape().to_vec();
        ishape[axis] = k;
        let n = t.shape()[axis];
        let count: usize = ishape.iter().product();
        let idx: Vec<usize> = (0..count).map(|i| ((seed >> (i % 48)) as usize + i * 7) % n).collect();
        let g = t.try_gather(axis, &idx, &ishape).unwrap();
        for out in indices(&ishape) {
            let mut src = out.clone();
            src[axis] = idx[offset(&ishape, &out)];
            prop_assert_eq!(g.data()[offset(&ishape, &out)], t.data()[offset(t.shape(), &src)]);
        }
        let y = g.map(|v| 1.0 - v);
        let back = Tensor::zeros(t.shape()).try_scatter_add(axis, &idx, &ishape, &y).unwrap();
        prop_assert!((dot(&g, &y) - dot(&t, &back)).abs() < 1e-9);
    }
}

#[test]
fn repeated_indices_accumulate() {
    let base = Tensor::<f64>::zeros(&[2, 2]);
    let src = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let out = base.index_add(0, &[1, 1, 0], &src);
    assert_eq!(out.data(), &[5.0, 6.0, 4.0, 6.0]);
}

#[test]
fn one_hot_rows() {
    let t = Tensor::<f64>::try_one_hot(&[1, 1, 0], 2).unwrap();
    assert_eq!(t.data(), &[0.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
}

/// A tensor of rank 1..=3 (axes 1..=4), an axis, and an index tensor for
/// gather along it: same sizes elsewhere, `k` entries on the axis, random
/// in-range values.
fn gather_case() -> impl Strategy<Value = (Tensor<f64>, usize, Vec<usize>, Vec<usize>)> {
    (prop::collection::vec(1usize..=4, 1..=3), any::<prop::sample::Index>(), 0usize..4).prop_flat_map(|(s, ax, k)| {
        let axis = ax.index(s.len());
        let mut ishape = s.clone();
        ishape[axis] = k;
        let count: usize = ishape.iter().product();
        (tensor(s.clone()), Just(axis), prop::collection::vec(0..s[axis], count), Just(ishape))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn index_add_matches_the_reference(t in any_tensor(), axis in 0usize..4, picks in prop::collection::vec(0usize..16, 0..6), seed in -3.0f64..3.0) {
        let axis = axis % t.ndim();
        let n = t.shape()[axis];
        let idx: Vec<usize> = picks.iter().map(|p| p % n).collect();
        let mut sshape = t.shape().to_vec();
        sshape[axis] = idx.len();
        let src = Tensor::from_vec((0..sshape.iter().product::<usize>()).map(|i| seed + i as f64).collect(), &sshape);
        let got = t.try_index_add(axis, &idx, &src).unwrap();
        let mut want = t.data().to_vec();
        for i in indices(&sshape) {
            let mut dst = i.clone();
            dst[axis] = idx[i[axis]];
            want[offset(t.shape(), &dst)] += at(&src, &i);
        }
        prop_assert_eq!(got.shape(), t.shape());
        for (g, w) in got.data().iter().zip(&want) {
            prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{} vs {}", g, w);
        }
    }

    #[test]
    fn gather_and_scatter_add_match_the_reference((t, axis, idx, ishape) in gather_case()) {
        let g = t.try_gather(axis, &idx, &ishape).unwrap();
        prop_assert_eq!(g.shape(), ishape.as_slice());
        let src = g.map(|v| 2.0 * v + 1.0);
        let base = t.map(|v| -v);
        let sc = base.try_scatter_add(axis, &idx, &ishape, &src).unwrap();
        let mut want = base.data().to_vec();
        for i in indices(&ishape) {
            let mut from = i.clone();
            from[axis] = idx[offset(&ishape, &i)];
            prop_assert_eq!(at(&g, &i), at(&t, &from));
            want[offset(t.shape(), &from)] += at(&src, &i);
        }
        for (s, w) in sc.data().iter().zip(&want) {
            prop_assert!((s - w).abs() <= 1e-12 * (1.0 + w.abs()), "{} vs {}", s, w);
        }
    }

    #[test]
    fn one_hot_matches_the_reference(idx in prop::collection::vec(0usize..5, 0..6), extra in 0usize..3) {
        let classes = idx.iter().max().map_or(0, |m| m + 1) + extra;
        let t = Tensor::<f64>::try_one_hot(&idx, classes).unwrap();
        prop_assert_eq!(t.shape(), &[idx.len(), classes][..]);
        for (r, &i) in idx.iter().enumerate() {
            for c in 0..classes {
                prop_assert_eq!(at(&t, &[r, c]), if c == i { 1.0 } else { 0.0 });
            }
        }
        // A one-hot matrix product is index_select on axis 0.
        if classes > 0 {
            let table = Tensor::<f64>::arange(classes * 3).reshape(&[classes, 3]);
            prop_assert_eq!(t.matmul(&table), table.index_select(0, &idx));
        }
    }
}

#[test]
fn embedding_lookup_in_f32() {
    let table = Tensor::<f32>::arange(8).reshape(&[4, 2]);
    let e = table.index_select(0, &[3, 0, 3]);
    assert_eq!((e.shape(), e.data()), (&[3usize, 2][..], &[6.0, 7.0, 0.0, 1.0, 6.0, 7.0][..]));
    let g = Tensor::<f32>::zeros(&[4, 2]).index_add(0, &[3, 0, 3], &Tensor::ones(&[3, 2]));
    assert_eq!(g.data(), &[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0]);
    assert_eq!(table.index_select(1, &[]).shape(), &[4, 0]);
}

#[test]
fn gather_and_scatter_add_along_axis_zero() {
    let t = Tensor::<f64>::arange(6).reshape(&[2, 3]);
    // out[i][j] = t[index[i][j]][j]
    let g = t.gather(0, &[1, 0, 1], &[1, 3]);
    assert_eq!(g.data(), &[3.0, 1.0, 5.0]);
    let s = Tensor::<f64>::zeros(&[2, 3]).scatter_add(0, &[1, 1, 0, 1, 1, 1], &[2, 3], &Tensor::ones(&[2, 3]));
    assert_eq!(s.data(), &[0.0, 0.0, 1.0, 2.0, 2.0, 1.0]);
}
