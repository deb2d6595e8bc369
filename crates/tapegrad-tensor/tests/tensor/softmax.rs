//! Softmax, log-softmax and logsumexp: stability at ±1000 and agreement
//! with the naive formula where that is safe.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, assert_close};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn match_the_naive_formula_on_moderate_inputs(t in any_tensor()) {
        for axis in 0..t.ndim() {
            let e = t.exp();
            let naive = e.try_div(&e.try_sum_axis(axis, true).unwrap()).unwrap();
            assert_close(&t.try_softmax(axis).unwrap(), &naive, 1e-14);
            assert_close(&t.try_log_softmax(axis).unwrap(), &naive.ln(), 1e-13);
            assert_close(&t.try_logsumexp(axis, false).unwrap(), &e.try_sum_axis(axis, false).unwrap().ln(), 1e-14);
            // Rows sum to one; shifting by a constant changes nothing.
            let s = t.try_softmax(axis).unwrap().try_sum_axis(axis, false).unwrap();
            prop_assert!(s.data().iter().all(|v| (v - 1.0).abs() < 1e-14));
            assert_close(&t.add_scalar(500.0).try_softmax(axis).unwrap(), &t.try_softmax(axis).unwrap(), 1e-12);
        }
    }
}

#[test]
fn logits_of_plus_minus_1000_are_exact() {
    let t = Tensor::from_vec(vec![1000.0f64, -1000.0, 0.0, 1000.0, 1000.0, 1000.0, -1000.0, -1000.0, -1000.0], &[3, 3]);
    let s = t.softmax(1);
    assert_eq!(&s.data()[..3], &[1.0, 0.0, 0.0]);
    for v in &s.data()[3..] {
        assert!((v - 1.0 / 3.0).abs() < 1e-15);
    }
    let l = t.log_softmax(1);
    assert_eq!(&l.data()[..3], &[0.0, -2000.0, -1000.0]);
    assert!((l.data()[3] + 3f64.ln()).abs() < 1e-12 && (l.data()[8] + 3f64.ln()).abs() < 1e-12);
    let lse = t.logsumexp(1, false);
    assert_eq!(lse.data()[0], 1000.0);
    assert!((lse.data()[2] - (-1000.0 + 3f64.ln())).abs() < 1e-12);
    assert!(s.all_finite() && l.all_finite() && lse.all_finite());
    let f = t.cast::<f32>();
    assert!(f.softmax(1).all_finite() && f.log_softmax(1).all_finite());
}

#[test]
fn rows_of_minus_infinity() {
    let t = Tensor::from_vec(vec![f64::NEG_INFINITY; 2], &[1, 2]);
    assert_eq!(t.logsumexp(1, false).data(), &[f64::NEG_INFINITY]);
    assert!(t.softmax(1).data().iter().all(|v| v.is_nan()), "as PyTorch: 0/0");
}
