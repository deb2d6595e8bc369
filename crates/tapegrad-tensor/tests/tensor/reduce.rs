//! Reductions and broadcast_to / sum_to, against the reference.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{
    any_tensor, assert_close, at, at_broadcast, broadcast_pair, indices, int_tensor, offset, rows, shape, shape_with_empty, tensor,
};

/// Reference reduction along `axis` with keepdim.
fn reduce_ref(t: &Tensor<f64>, axis: usize, init: f64, f: impl Fn(f64, f64) -> f64) -> Tensor<f64> {
    let mut out = t.shape().to_vec();
    out[axis] = 1;
    let mut d = vec![init; out.iter().product()];
    for idx in indices(t.shape()) {
        let mut o = idx.clone();
        o[axis] = 0;
        let k = offset(&out, &o);
        d[k] = f(d[k], t.data()[offset(t.shape(), &idx)]);
    }
    Tensor::from_vec(d, &out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn sum_mean_max_along_every_axis(t in any_tensor()) {
        for axis in 0..t.ndim() {
            let sum = reduce_ref(&t, axis, 0.0, |a, x| a + x);
            assert_close(&t.try_sum_axis(axis, true).unwrap(), &sum, 1e-14);
            let n = t.shape()[axis] as f64;
            assert_close(&t.try_mean_axis(axis, true).unwrap(), &sum.map(|v| v / n), 1e-14);
            assert_close(&t.try_max_axis(axis, true).unwrap(), &reduce_ref(&t, axis, f64::NEG_INFINITY, f64::max), 0.0);
            let dropped = t.try_sum_axis(axis, false).unwrap();
            prop_assert_eq!(dropped.ndim(), t.ndim() - 1);
            prop_assert_eq!(dropped.data(), sum.data());
            // argmax points at the maximum.
            let am = t.try_argmax(axis).unwrap();
            let mx = t.try_max_axis(axis, false).unwrap();
            let inner: usize = t.shape()[axis + 1..].iter().product();
            for (k, &j) in am.iter().enumerate() {
                let (o, i) = (k / inner, k % inner);
                let v = t.data()[(o * t.shape()[axis] + j) * inner + i];
                prop_assert_eq!(v, mx.data()[k]);
            }
        }
        prop_assert!((t.sum_all() - t.data().iter().sum::<f64>()).abs() < 1e-12);
        prop_assert_eq!(t.try_max_all().unwrap(), t.data().iter().cloned().fold(f64::NEG_INFINITY, f64::max));
    }

    #[test]
    fn sum_to_undoes_broadcast_to((a, b) in broadcast_pair()) {
        let out = tapegrad_tensor::broadcast_shapes("t", a.shape(), b.shape()).unwrap();
        let big = a.try_broadcast_to(&out).unwrap();
        // Each element of `a` appears (numel(out) / numel(a)) times.
        let times = (out.iter().product::<usize>() / a.numel()) as f64;
        let back = big.try_sum_to(a.shape()).unwrap();
        assert_close(&back, &a.map(|v| v * times), 1e-13);
        // sum_to of ones counts the broadcast multiplicity.
        let ones = Tensor::<f64>::ones(&out).try_sum_to(b.shape()).unwrap();
        let times_b = (out.iter().product::<usize>() / b.numel()) as f64;
        prop_assert!(ones.data().iter().all(|&v| v == times_b));
    }
}

#[test]
fn argmax_takes_the_first_of_ties() {
    let t = Tensor::from_vec(vec![2.0f64, 5.0, 5.0, 1.0], &[1, 4]);
    assert_eq!(t.argmax(1), vec![1]);
}

#[test]
fn max_propagates_nan() {
    let t = Tensor::from_vec(vec![1.0f64, f64::NAN, 3.0], &[3]);
    assert!(t.max_axis(0, false).data()[0].is_nan());
    assert!(t.try_max_all().unwrap().is_nan());
}

/// Regression: a gradient with zero rows (a batch step where no sequence
/// was active) summed to a non-empty shape must be zeros of that shape.
#[test]
fn sum_to_of_an_empty_tensor_is_zeros_of_the_target() {
    let g = Tensor::<f64>::zeros(&[0, 3]);
    let s = g.try_sum_to(&[3]).unwrap();
    assert_eq!((s.shape(), s.data()), (&[3usize][..], &[0.0, 0.0, 0.0][..]));
    assert_eq!(g.try_sum_to(&[1, 3]).unwrap().data(), &[0.0; 3]);
}

#[test]
fn mean_of_empty_is_nan() {
    assert!(Tensor::<f64>::zeros(&[0]).mean_all().is_nan());
}

/// Reference unbroadcast: every element of `g` added into the target
/// position it was broadcast from.
fn sum_to_ref(g: &Tensor<f64>, target: &[usize]) -> Tensor<f64> {
    let lead = g.ndim() - target.len();
    let mut d = vec![0.0; target.iter().product()];
    for idx in indices(g.shape()) {
        let t: Vec<usize> = (0..target.len()).map(|a| if target[a] == 1 { 0 } else { idx[a + lead] }).collect();
        d[offset(target, &t)] += at(g, &idx);
    }
    Tensor::from_vec(d, target)
}

/// A broadcast pair and a random tensor of their broadcast shape.
fn pair_and_grad() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>, Tensor<f64>)> {
    broadcast_pair().prop_flat_map(|(a, b)| {
        let out = tapegrad_tensor::broadcast_shapes("t", a.shape(), b.shape()).unwrap().to_vec();
        (Just(a), Just(b), tensor(out))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sum_to_matches_the_reference((a, b, g) in pair_and_grad()) {
        assert_close(&g.try_sum_to(a.shape()).unwrap(), &sum_to_ref(&g, a.shape()), 1e-13);
        assert_close(&g.try_sum_to(b.shape()).unwrap(), &sum_to_ref(&g, b.shape()), 1e-13);
        // Summing everything away, with and without keeping axes.
        prop_assert!((g.try_sum_to(&[]).unwrap().item() - g.sum_all()).abs() < 1e-12);
        let ones = vec![1; g.ndim()];
        assert_close(&g.try_sum_to(&ones).unwrap(), &sum_to_ref(&g, &ones), 1e-13);
        prop_assert!(g.try_sum_to(g.shape()).unwrap().shares_buffer(&g), "equal shapes must not copy");
    }

    #[test]
    fn broadcast_to_matches_the_reference((a, b) in broadcast_pair()) {
        let out = tapegrad_tensor::broadcast_shapes("t", a.shape(), b.shape()).unwrap();
        for t in [&a, &b] {
            let got = t.try_broadcast_to(&out).unwrap();
            let want: Vec<f64> = indices(&out).iter().map(|i| at_broadcast(t, i)).collect();
            prop_assert_eq!(got.shape(), out.as_slice());
            prop_assert_eq!(got.data(), want.as_slice());
        }
    }

    #[test]
    fn max_and_argmax_with_ties_match_the_reference(t in shape().prop_flat_map(int_tensor)) {
        for axis in 0..t.ndim() {
            let mut want_max = Vec::new();
            let mut want_arg = Vec::new();
            for row in rows(t.shape(), axis) {
                let vals: Vec<f64> = row.iter().map(|&o| t.data()[o]).collect();
                let m = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                want_max.push(m);
                want_arg.push(vals.iter().position(|&v| v == m).unwrap());
            }
            let got = t.try_max_axis(axis, false).unwrap();
            prop_assert_eq!(got.data(), want_max.as_slice());
            prop_assert_eq!(t.try_argmax(axis).unwrap(), want_arg);
        }
        prop_assert_eq!(t.try_max_all().unwrap(), t.data().iter().cloned().fold(f64::NEG_INFINITY, f64::max));
    }

    #[test]
    fn a_nan_poisons_exactly_the_rows_it_is_in(t in any_tensor(), pos in any::<prop::sample::Index>()) {
        let mut t = t;
        let p = pos.index(t.numel());
        t.data_mut()[p] = f64::NAN;
        for axis in 0..t.ndim() {
            let mx = t.try_max_axis(axis, false).unwrap();
            let am = t.try_argmax(axis).unwrap();
            for (r, row) in rows(t.shape(), axis).iter().enumerate() {
                let has = row.contains(&p);
                prop_assert_eq!(mx.data()[r].is_nan(), has);
                if has {
                    prop_assert_eq!(row[am[r]], p, "argmax points at the NaN");
                }
            }
        }
        prop_assert!(t.try_max_all().unwrap().is_nan());
    }

    #[test]
    fn sum_and_mean_over_empty_axes(t in shape_with_empty().prop_flat_map(tensor)) {
        for axis in 0..t.ndim() {
            let sum = reduce_ref(&t, axis, 0.0, |a, x| a + x);
            assert_close(&t.try_sum_axis(axis, true).unwrap(), &sum, 1e-14);
            let n = t.shape()[axis] as f64;
            assert_close(&t.try_mean_axis(axis, true).unwrap(), &sum.map(|v| v / n), 1e-14);
            if t.shape()[axis] > 0 {
                assert_close(&t.try_max_axis(axis, true).unwrap(), &reduce_ref(&t, axis, f64::NEG_INFINITY, f64::max), 0.0);
            }
        }
    }
}

#[test]
fn sum_to_literal_cases() {
    let g = Tensor::<f64>::arange(24).reshape(&[2, 3, 4]);
    // Over the batch, as for a bias of shape [3, 4].
    assert_eq!(g.sum_to(&[3, 4]).data()[..4], [12.0, 14.0, 16.0, 18.0]);
    // Over the last axis, kept.
    assert_eq!(g.sum_to(&[2, 3, 1]).data(), &[6.0, 22.0, 38.0, 54.0, 70.0, 86.0]);
    // Over the middle axis only.
    assert_eq!(g.sum_to(&[2, 1, 4]).data(), &[12.0, 15.0, 18.0, 21.0, 48.0, 51.0, 54.0, 57.0]);
    // Everything but the middle axis.
    assert_eq!(g.sum_to(&[3, 1]).data(), &[60.0, 92.0, 124.0]);
    assert_eq!(g.sum_to(&[1, 1, 1]).data(), &[276.0]);
    assert_eq!(g.sum_to(&[]).item(), 276.0);
}

#[test]
fn literal_reductions() {
    let t = Tensor::from_vec(vec![1.0f64, -2.0, 3.0, 4.0, 5.0, -6.0], &[2, 3]);
    assert_eq!(t.sum_axis(1, false).data(), &[2.0, 3.0]);
    assert_eq!(t.mean_axis(0, false).data(), &[2.5, 1.5, -1.5]);
    assert_eq!(t.max_axis(0, true).data(), &[4.0, 5.0, 3.0]);
    assert_eq!(t.argmax(0), vec![1, 1, 0]);
    assert_eq!((t.sum_all(), t.mean_all(), t.max_all()), (5.0, 5.0 / 6.0, 5.0));
    let s = Tensor::scalar(2.0f64);
    assert_eq!((s.sum_all(), s.mean_all(), s.max_all()), (2.0, 2.0, 2.0));
}
