//! index_select / index_add and gather / scatter_add, and their adjointness.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, indices, offset, tensor};

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
