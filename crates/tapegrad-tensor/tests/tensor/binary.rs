//! Broadcasting binary ops, comparisons and where, against the reference.

use proptest::prelude::*;
use tapegrad_tensor::{broadcast_shapes, Tensor};

use crate::reference::{assert_close, at_broadcast, broadcast_pair, indices};

fn reference(a: &Tensor<f64>, b: &Tensor<f64>, f: impl Fn(f64, f64) -> f64) -> Tensor<f64> {
    let out = broadcast_shapes("ref", a.shape(), b.shape()).unwrap();
    let d = indices(&out).iter().map(|i| f(at_broadcast(a, i), at_broadcast(b, i))).collect();
    Tensor::from_vec(d, &out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arithmetic_broadcasts_like_numpy((a, b) in broadcast_pair()) {
        assert_close(&a.try_add(&b).unwrap(), &reference(&a, &b, |x, y| x + y), 0.0);
        assert_close(&a.try_sub(&b).unwrap(), &reference(&a, &b, |x, y| x - y), 0.0);
        assert_close(&a.try_mul(&b).unwrap(), &reference(&a, &b, |x, y| x * y), 0.0);
        assert_close(&a.try_div(&b).unwrap(), &reference(&a, &b, |x, y| x / y), 0.0);
        // Broadcasting is symmetric.
        assert_close(&b.try_add(&a).unwrap(), &reference(&b, &a, |x, y| x + y), 0.0);
        assert_close(&a.try_maximum(&b).unwrap(), &reference(&a, &b, f64::max), 0.0);
        assert_close(&a.try_minimum(&b).unwrap(), &reference(&a, &b, f64::min), 0.0);
    }

    #[test]
    fn comparisons_and_where((a, b) in broadcast_pair()) {
        let gt = a.try_gt(&b).unwrap();
        assert_close(&gt, &reference(&a, &b, |x, y| (x > y) as u8 as f64), 0.0);
        assert_close(&a.try_le(&b).unwrap(), &reference(&a, &b, |x, y| (x <= y) as u8 as f64), 0.0);
        let w = gt.try_where_cond(&a, &b).unwrap();
        assert_close(&w, &a.try_maximum(&b).unwrap(), 0.0);
    }
}

#[test]
fn operators_match_named_ops() {
    let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    let b = Tensor::from_vec(vec![10.0f64, 20.0], &[2]);
    assert_eq!((&a + &b).data(), &[11.0, 22.0, 13.0, 24.0]);
    assert_eq!((a.clone() - b.clone()).data(), &[-9.0, -18.0, -7.0, -16.0]);
    assert_eq!((&a * 2.0).data(), &[2.0, 4.0, 6.0, 8.0]);
    assert_eq!((-&a).data(), &[-1.0, -2.0, -3.0, -4.0]);
    assert_eq!((&a / &b).data(), &[0.1, 0.1, 0.3, 0.2]);
}

#[test]
fn nan_propagates_through_arithmetic_and_maximum() {
    let a = Tensor::from_vec(vec![f64::NAN, 1.0], &[2]);
    let b = Tensor::from_vec(vec![0.0, f64::NAN], &[2]);
    assert!(a.try_add(&b).unwrap().data().iter().all(|v| v.is_nan()));
    assert!(a.try_maximum(&b).unwrap().data().iter().all(|v| v.is_nan()));
}

#[test]
fn empty_tensors_broadcast_to_empty_results() {
    let a = Tensor::<f64>::zeros(&[0, 3]);
    let b = Tensor::<f64>::ones(&[3]);
    assert_eq!(a.try_add(&b).unwrap().shape(), &[0, 3]);
}

#[test]
fn every_operator_form_matches_the_named_op() {
    let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]);
    let b = Tensor::from_vec(vec![10.0f64, 20.0], &[1, 2]);
    type Named = fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>;
    let cases: [(Named, [Tensor<f64>; 4]); 4] = [
        (Tensor::add, [&a + &b, a.clone() + b.clone(), a.clone() + &b, &a + b.clone()]),
        (Tensor::sub, [&a - &b, a.clone() - b.clone(), a.clone() - &b, &a - b.clone()]),
        (Tensor::mul, [&a * &b, a.clone() * b.clone(), a.clone() * &b, &a * b.clone()]),
        (Tensor::div, [&a / &b, a.clone() / b.clone(), a.clone() / &b, &a / b.clone()]),
    ];
    for (named, forms) in cases {
        for f in forms {
            assert_eq!(f, named(&a, &b));
        }
    }
    assert_eq!((&a + 1.0).data(), &[2.0, 3.0, 4.0, 5.0]);
    assert_eq!((&a - 1.0).data(), &[0.0, 1.0, 2.0, 3.0]);
    assert_eq!((&a / 2.0).data(), &[0.5, 1.0, 1.5, 2.0]);
    assert_eq!((a.clone() * 2.0 + 1.0 - 3.0).data(), &[0.0, 2.0, 4.0, 6.0]);
    assert_eq!(-a.clone(), a.neg());
    let f = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    assert_eq!((&f * 0.5f32 + &f).data(), &[1.5, 3.0]);
}
