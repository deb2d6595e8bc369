//! Softmax, log-softmax and logsumexp: stability at ±1000 and agreement
//! with the naive formula where that is safe.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, assert_close, rows, shape};

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

/// Reference per row, by offsets: (softmax, log_softmax, logsumexp).
fn row_ref(t: &Tensor<f64>, axis: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let x = t.data();
    let (mut sm, mut ls) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    let mut lse = Vec::new();
    for row in rows(t.shape(), axis) {
        let m = row.iter().map(|&o| x[o]).fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = row.iter().map(|&o| (x[o] - m).exp()).sum();
        for &o in &row {
            sm[o] = (x[o] - m).exp() / z;
            ls[o] = x[o] - m - z.ln();
        }
        lse.push(m + z.ln());
    }
    (sm, ls, lse)
}

/// Logits anywhere in [-1000, 1000], so rows mix huge and tiny terms.
fn wide_logits() -> impl Strategy<Value = Tensor<f64>> {
    shape().prop_flat_map(|s| {
        let n: usize = s.iter().product();
        prop::collection::vec(prop_oneof![-1000.0f64..1000.0, Just(1000.0), Just(-1000.0), -5.0f64..5.0], n)
            .prop_map(move |d| Tensor::from_vec(d, &s))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn wide_logits_match_the_row_reference(t in wide_logits()) {
        for axis in 0..t.ndim() {
            let (sm, ls, lse) = row_ref(&t, axis);
            let s = t.try_softmax(axis).unwrap();
            let l = t.try_log_softmax(axis).unwrap();
            let e = t.try_logsumexp(axis, false).unwrap();
            prop_assert!(s.all_finite() && l.all_finite() && e.all_finite());
            for (g, w) in s.data().iter().zip(&sm) {
                prop_assert!((g - w).abs() <= 1e-15 + 1e-14 * w, "softmax {} vs {}", g, w);
            }
            for (g, w) in l.data().iter().zip(&ls) {
                prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "log_softmax {} vs {}", g, w);
            }
            for (g, w) in e.data().iter().zip(&lse) {
                prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "logsumexp {} vs {}", g, w);
            }
            prop_assert!(l.data().iter().all(|&v| v <= 0.0));
            let sums = s.try_sum_axis(axis, false).unwrap();
            prop_assert!(sums.data().iter().all(|v| (v - 1.0).abs() < 1e-14));
            let kept = t.try_logsumexp(axis, true).unwrap();
            prop_assert_eq!(kept.data(), e.data());
        }
    }

    #[test]
    fn f32_rows_stay_finite_and_close(t in wide_logits()) {
        let f = t.cast::<f32>();
        for axis in 0..t.ndim() {
            let (sm, ls, _) = row_ref(&f.cast::<f64>(), axis);
            let s = f.try_softmax(axis).unwrap();
            let l = f.try_log_softmax(axis).unwrap();
            prop_assert!(s.all_finite() && l.all_finite());
            for (g, w) in s.data().iter().zip(&sm) {
                prop_assert!((*g as f64 - w).abs() <= 1e-6, "softmax {} vs {}", g, w);
            }
            for (g, w) in l.data().iter().zip(&ls) {
                prop_assert!((*g as f64 - w).abs() <= 1e-6 * (1.0 + w.abs()), "log_softmax {} vs {}", g, w);
            }
        }
    }
}

#[test]
fn f32_extremes_are_exact() {
    let t = Tensor::from_vec(vec![1000.0f32, -1000.0, 0.0, 1000.0, 1000.0, 1000.0, -1000.0, -1000.0, -1000.0], &[3, 3]);
    let s = t.softmax(1);
    assert_eq!(&s.data()[..3], &[1.0, 0.0, 0.0]);
    assert!(s.data()[3..].iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-7));
    let l = t.log_softmax(1);
    assert_eq!(&l.data()[..3], &[0.0, -2000.0, -1000.0]);
    assert_eq!(t.logsumexp(1, false).data()[0], 1000.0);
    // Along the first axis too (the gathered-row path).
    let c = t.transpose(0, 1);
    assert_eq!(c.softmax(0).transpose(0, 1), s);
    assert_eq!(c.log_softmax(0).transpose(0, 1), l);
}

#[test]
fn a_nan_poisons_only_its_row() {
    let t = Tensor::from_vec(vec![1.0f64, f64::NAN, 2.0, 0.5, 0.5, 0.5], &[2, 3]);
    for out in [t.softmax(1), t.log_softmax(1)] {
        assert!(out.data()[..3].iter().all(|v| v.is_nan()));
        assert!(out.data()[3..].iter().all(|v| v.is_finite()));
    }
    let l = t.logsumexp(1, false);
    assert!(l.data()[0].is_nan() && l.data()[1].is_finite());
}

#[test]
fn infinities_follow_pytorch() {
    let ninf = Tensor::from_vec(vec![f64::NEG_INFINITY; 2], &[1, 2]);
    assert!(ninf.log_softmax(1).data().iter().all(|v| v.is_nan()));
    // One -inf among finite logits is just a zero probability.
    let t = Tensor::from_vec(vec![f64::NEG_INFINITY, 0.0], &[1, 2]);
    assert_eq!(t.softmax(1).data(), &[0.0, 1.0]);
    assert_eq!(t.log_softmax(1).data(), &[f64::NEG_INFINITY, 0.0]);
    assert_eq!(t.logsumexp(1, false).data(), &[0.0]);
    let pinf = Tensor::from_vec(vec![f64::INFINITY, 0.0], &[1, 2]);
    assert_eq!(pinf.logsumexp(1, false).data(), &[f64::INFINITY]);
    assert!(pinf.softmax(1).data()[0].is_nan());
}

#[test]
fn empty_axes() {
    let t = Tensor::<f64>::zeros(&[2, 0]);
    assert_eq!(t.logsumexp(1, false).data(), &[f64::NEG_INFINITY; 2], "log of an empty sum, as PyTorch");
    assert_eq!(t.logsumexp(1, true).shape(), &[2, 1]);
    assert_eq!(t.softmax(1).shape(), &[2, 0]);
    assert_eq!(t.log_softmax(0).shape(), &[2, 0]);
    assert_eq!(t.logsumexp(0, false).shape(), &[0]);
}
