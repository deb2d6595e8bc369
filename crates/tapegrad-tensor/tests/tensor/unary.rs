//! Elementwise unary functions, including extreme inputs.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::any_tensor;

/// An op's result and the scalar function it should equal elementwise.
type Case = (Tensor<f64>, fn(f64) -> f64);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unary_ops_apply_elementwise(t in any_tensor()) {
        let cases: Vec<Case> = vec![
            (t.neg(), |x| -x),
            (t.exp(), f64::exp),
            (t.abs(), f64::abs),
            (t.tanh(), f64::tanh),
            (t.sigmoid(), |x| 1.0 / (1.0 + (-x).exp())),
            (t.relu(), |x| x.max(0.0)),
            (t.square(), |x| x * x),
            (t.scale(2.5), |x| 2.5 * x),
            (t.add_scalar(-1.5), |x| x - 1.5),
            (t.clamp(-1.0, 1.0), |x| x.clamp(-1.0, 1.0)),
        ];
        for (got, f) in cases {
            prop_assert_eq!(got.shape(), t.shape());
            for (g, &x) in got.data().iter().zip(t.data()) {
                prop_assert!((g - f(x)).abs() <= 1e-15 * (1.0 + f(x).abs()), "x={x}: {g} vs {}", f(x));
            }
        }
        let pos = t.abs().add_scalar(0.1);
        for (g, &x) in pos.ln().data().iter().zip(pos.data()) { prop_assert_eq!(*g, x.ln()); }
        for (g, &x) in pos.sqrt().data().iter().zip(pos.data()) { prop_assert_eq!(*g, x.sqrt()); }
        for (g, &x) in pos.powf(1.7).data().iter().zip(pos.data()) { prop_assert_eq!(*g, x.powf(1.7)); }
        for (g, &x) in pos.recip().data().iter().zip(pos.data()) { prop_assert_eq!(*g, 1.0 / x); }
    }
}

#[test]
fn sigmoid_is_exact_and_finite_at_extremes() {
    let t = Tensor::from_vec(vec![-1000.0f64, -40.0, 0.0, 40.0, 1000.0], &[5]);
    let s = t.sigmoid();
    assert!(s.all_finite());
    assert_eq!(s.data()[0], 0.0);
    assert_eq!(s.data()[2], 0.5);
    assert_eq!(s.data()[4], 1.0);
    assert!((s.data()[1] - (-40f64).exp()).abs() < 1e-30, "small values keep relative precision");
    let f = t.cast::<f32>().sigmoid();
    assert_eq!((f.data()[0], f.data()[4]), (0.0, 1.0));
}

#[test]
fn sign_and_relu_mask_at_zero_and_nan() {
    let t = Tensor::from_vec(vec![-2.0f64, 0.0, 3.0, f64::NAN], &[4]);
    let s = t.sign();
    assert_eq!(&s.data()[..3], &[-1.0, 0.0, 1.0]);
    assert!(s.data()[3].is_nan());
    assert_eq!(t.relu_mask().data(), &[0.0, 0.0, 1.0, 0.0]);
    assert!(t.relu().data()[3].is_nan(), "relu keeps NaN visible");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn f32_ops_match_f64_within_f32_precision(t in any_tensor()) {
        let f = t.cast::<f32>();
        let pairs: Vec<(Tensor<f32>, Tensor<f64>)> = vec![
            (f.exp(), t.cast::<f32>().cast::<f64>().exp()),
            (f.tanh(), t.cast::<f32>().cast::<f64>().tanh()),
            (f.sigmoid(), t.cast::<f32>().cast::<f64>().sigmoid()),
        ];
        for (g, w) in pairs {
            for (a, b) in g.data().iter().zip(w.data()) {
                prop_assert!((*a as f64 - b).abs() <= 2.5e-7 * (1.0 + b.abs()), "{} vs {}", a, b);
            }
        }
    }

    #[test]
    fn sigmoid_is_symmetric_and_bounded(x in -1000.0f64..1000.0) {
        let s = Tensor::from_vec(vec![x, -x], &[2]).sigmoid();
        let (p, q) = (s.data()[0], s.data()[1]);
        prop_assert!((0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&q));
        prop_assert!((p + q - 1.0).abs() <= 1e-15, "{} + {}", p, q);
    }
}

#[test]
fn nan_stays_nan_through_every_unary_op() {
    let t = Tensor::from_vec(vec![f64::NAN], &[1]);
    let outs = [
        t.neg(),
        t.exp(),
        t.ln(),
        t.sqrt(),
        t.abs(),
        t.sign(),
        t.tanh(),
        t.sigmoid(),
        t.relu(),
        t.powf(2.0),
        t.scale(3.0),
        t.add_scalar(1.0),
        t.square(),
        t.recip(),
        t.clamp(-1.0, 1.0),
    ];
    for (i, o) in outs.iter().enumerate() {
        assert!(o.data()[0].is_nan(), "op #{i} lost the NaN");
    }
    assert_eq!(t.relu_mask().data(), &[0.0], "the mask of NaN is 0 (not > 0)");
}

#[test]
fn extremes_are_exact() {
    let t = Tensor::from_vec(vec![-1000.0f64, 1000.0], &[2]);
    assert_eq!(t.tanh().data(), &[-1.0, 1.0]);
    assert_eq!(t.exp().data(), &[0.0, f64::INFINITY]);
    assert_eq!(t.cast::<f32>().tanh().data(), &[-1.0, 1.0]);
    assert_eq!(t.relu().data(), &[0.0, 1000.0]);
    assert_eq!(t.clamp(-1.0, 2.0).data(), &[-1.0, 2.0]);
    assert_eq!(Tensor::from_vec(vec![0.0f64, -0.0], &[2]).recip().data(), &[f64::INFINITY, f64::NEG_INFINITY]);
    assert_eq!(Tensor::scalar(0.0f64).ln().item(), f64::NEG_INFINITY);
}
