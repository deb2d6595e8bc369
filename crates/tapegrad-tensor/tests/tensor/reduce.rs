//! Reductions and broadcast_to / sum_to, against the reference.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, assert_close, broadcast_pair, indices, offset};

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
