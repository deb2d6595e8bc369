//! Reductions and broadcasts.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{broadcast_pair, check, distinct, shape, tensor_of};
use tapegrad_autodiff::Tensor;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn sums_and_means(x in tensor_of(shape(3, 4), -2.0..2.0), axis in 0usize..3, keep: bool) {
        let axis = axis % x.ndim();
        check(|_, v| v[0].try_sum_axis(axis, keep), &[x.clone()])?;
        check(|_, v| v[0].try_mean_axis(axis, keep), &[x.clone()])?;
        check(|_, v| Ok(v[0].sum_all()), &[x.clone()])?;
        check(|_, v| Ok(v[0].mean_all()), &[x])?;
    }

    /// Distinct values: no ties, so the max is differentiable and a step
    /// of 1e-6 cannot change which element is largest.
    #[test]
    fn max_without_ties(x in shape(3, 4).prop_flat_map(|s| distinct(&s, 0.1)), axis in 0usize..3, keep: bool) {
        let axis = axis % x.ndim();
        check(|_, v| v[0].try_max_axis(axis, keep), &[x])?;
    }

    #[test]
    fn broadcast_to_and_sum_to((a, b) in broadcast_pair(3, 3)) {
        let out = tapegrad_autodiff::Tensor::<f64>::zeros(&a).try_add(&Tensor::zeros(&b)).unwrap().shape().to_vec();
        let x = Tensor::from_vec((0..a.iter().product::<usize>()).map(|i| (i as f64 * 0.37).sin()).collect(), &a);
        let o2 = out.clone();
        check(move |_, v| v[0].try_broadcast_to(&o2), &[x])?;
        let big = Tensor::from_vec((0..out.iter().product::<usize>()).map(|i| (i as f64 * 0.21).cos()).collect(), &out);
        check(move |_, v| v[0].try_sum_to(&b), &[big])?;
    }
}

#[test]
fn max_splits_the_gradient_between_exact_ties() {
    let tape = tapegrad_autodiff::Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![3.0, 1.0, 3.0], &[1, 3]));
    let g = tape.backward(x.max_axis(1, false).sum_all()).unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[0.5, 0.0, 0.5]);
}
