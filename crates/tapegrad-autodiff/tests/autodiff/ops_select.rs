//! Selection by a constant mask (`where`) and what is composed from it
//! (`maximum`, `minimum`, `clamp`, `max_all`): finite-difference checks
//! away from ties and bounds (kept away by the strategies), the tie rule,
//! and non-finite values in the branch not taken.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{broadcast_pair, check, distinct, shape, tensor};
use tapegrad_autodiff::{gradgradcheck, GradcheckOptions, Tape, Tensor, Var};

/// Two broadcastable tensors whose broadcast pairs differ by at least
/// 0.1 (the second is the first's broadcast part moved by ±[0.1, 1]), so
/// no finite-difference step crosses a tie.
fn apart() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    broadcast_pair(3, 3).prop_flat_map(|(a, b)| {
        let n: usize = b.iter().product();
        let offsets = prop::collection::vec((0.1f64..1.0, any::<bool>()), n)
            .prop_map(move |d| Tensor::from_vec(d.into_iter().map(|(m, s)| if s { m } else { -m }).collect(), &b));
        (tensor(&a, -2.0..2.0), offsets)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn where_routes_the_gradient_by_a_broadcast_mask(
        (a, b) in broadcast_pair(3, 3).prop_flat_map(|(a, b)| (tensor(&a, -2.0..2.0), tensor(&b, -2.0..2.0))),
        keep in prop::collection::vec(any::<bool>(), 3),
        drop in 0usize..3,
        bits: u64,
    ) {
        // The condition broadcasts too: some trailing axes of the output, some of them 1.
        let out = a.try_add(&b).unwrap().shape().to_vec();
        let c: Vec<usize> = out.iter().zip(&keep).map(|(&o, &k)| if k { o } else { 1 }).skip(drop.min(out.len() - 1)).collect();
        let n: usize = c.iter().product();
        let cond = Tensor::from_vec((0..n).map(|i| ((bits >> (i % 64)) & 1) as f64).collect(), &c);
        check(move |_, v| Var::try_where_cond(&cond, v[0], v[1]).map(|y| y.tanh()), &[a, b])?;
    }

    #[test]
    fn maximum_and_minimum_away_from_ties((a, d) in apart()) {
        // `a` against `a + d` (broadcast): every compared pair differs by |d| >= 0.1.
        check(|_, v| { let other = v[0].try_add(v[1])?; Ok(v[0].try_maximum(other)?.tanh()) }, &[a.clone(), d.clone()])?;
        check(|_, v| { let other = v[0].try_add(v[1])?; Ok(v[0].try_minimum(other)?.tanh()) }, &[a, d])?;
    }

    #[test]
    fn clamp_away_from_its_bounds(x in shape(3, 4).prop_flat_map(|s| tensor(&s, -3.0..3.0))) {
        let x = x.map(|v| if (v.abs() - 1.0).abs() < 0.05 { v * 1.2 } else { v });
        check(|_, v| Ok(v[0].clamp(-1.0, 1.0).exp()), &[x])?;
    }

    #[test]
    fn max_all_of_distinct_values(x in shape(3, 4).prop_flat_map(|s| distinct(&s, 0.1))) {
        check(|_, v| v[0].try_max_all(), &[x])?;
    }
}

#[test]
fn ties_share_the_gradient_and_bounds_count_as_inside() {
    let tape = Tape::<f64>::new();
    let a = tape.leaf(Tensor::from_vec(vec![2.0, 2.0], &[2]));
    let b = tape.leaf(Tensor::from_vec(vec![2.0, 1.0], &[2]));
    let g = tape.backward((a.maximum(b) + a.minimum(b)).sum_all()).unwrap();
    assert_eq!(g.get(a).unwrap().data(), &[1.0, 1.0]); // tie: ½ + ½; else max 1 + min 0
    assert_eq!(g.get(b).unwrap().data(), &[1.0, 1.0]);
    let x = tape.leaf(Tensor::from_vec(vec![-1.0, 1.0, 1.5], &[3]));
    assert_eq!(tape.backward(x.clamp(-1.0, 1.0).sum_all()).unwrap().get(x).unwrap().data(), &[1.0, 1.0, 0.0]);
}

/// The branch not taken may be non-finite: `where(x > 0, ln x, 0)` at
/// x = -1 and 0 has a finite output, and the branch gets zero gradient
/// there. But `ln`'s own derivative at 0 is infinite, and 0·∞ is NaN (as
/// in PyTorch and JAX); guarding the branch's input with a second `where`
/// (the "double where") keeps every gradient finite.
#[test]
fn non_finite_values_in_the_branch_not_taken_stay_out_of_the_output() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3]));
    let cond = x.value().try_gt(&Tensor::scalar(0.0)).unwrap();
    let zero = tape.constant(Tensor::scalar(0.0));
    let y = Var::where_cond(&cond, x.ln(), zero);
    assert_eq!(y.value().data(), &[0.0, 0.0, 2f64.ln()]);
    let g = tape.backward(y.sum_all()).unwrap().get(x).unwrap().clone();
    assert_eq!((g.data()[0], g.data()[2]), (0.0, 0.5));
    assert!(g.data()[1].is_nan(), "0 · ln'(0) = 0 · ∞: {:?}", g.data());
    let safe_x = Var::where_cond(&cond, x, tape.constant(Tensor::scalar(1.0)));
    let y = Var::where_cond(&cond, safe_x.ln(), zero);
    let g = tape.backward(y.sum_all()).unwrap().get(x).unwrap().clone();
    assert_eq!(g.data(), &[0.0, 0.0, 0.5]);
}

/// Rules written with ops: second derivatives through `maximum` and
/// `clamp` (piecewise, away from kinks) match finite differences of the
/// gradient.
#[test]
fn second_derivatives_through_selection() {
    let a = Tensor::from_vec(vec![0.3, -1.2, 0.8], &[3]);
    let b = Tensor::from_vec(vec![-0.4, 0.5, 2.0], &[3]);
    let r =
        gradgradcheck(|_, v| Ok((v[0].try_maximum(v[1])? * v[0] * v[1]).clamp(-0.5, 0.5).sum_all()), &[a, b], &GradcheckOptions::default())
            .unwrap();
    assert!(r.passed(), "{r}");
}

#[test]
fn shape_errors_name_the_op() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.leaf(Tensor::ones(&[2, 3])), tape.leaf(Tensor::ones(&[4])));
    assert!(a.try_maximum(b).unwrap_err().to_string().contains("maximum"));
    let e = Var::try_where_cond(&Tensor::ones(&[5]), a, a).unwrap_err().to_string();
    assert!(e.contains("where") && e.contains("[5]"), "{e}");
    assert!(tape.leaf(Tensor::<f64>::zeros(&[0])).try_max_all().is_err());
}
