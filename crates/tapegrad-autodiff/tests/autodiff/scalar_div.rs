//! `Var / scalar` is a true elementwise division (issue 17, item 2): the
//! value and the gradient equal those of dividing by `tape.scalar(s)`,
//! not of multiplying by the rounded reciprocal `1/s`.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{away_from_zero, check, tensor};
use tapegrad_autodiff::{gradgradcheck, GradcheckOptions, Tape, Tensor};

/// Divisors whose reciprocal is not exact in binary, so `x·(1/s)` and
/// `x/s` differ in the last bit for some `x`.
const DIVISORS: [f64; 5] = [10.0, 3.0, -7.0, 0.1, 1e-3];

#[test]
fn var_divided_by_a_scalar_is_a_true_division() {
    // The tracker's case: 3/10 rounds to the double nearest 0.3, while
    // 3·(1/10) gives 0.30000000000000004 (PyTorch prints 0.3 for both
    // `torch.tensor(3.0) / 10` and `/ torch.tensor(10.0)`).
    let tape = Tape::<f64>::new();
    assert_eq!((tape.leaf(Tensor::scalar(3.0)) / 10.0).value().item(), 0.3);
    // The Tensor-level operator already divides; it stays the reference.
    assert_eq!((Tensor::scalar(3.0f64) / 10.0).item(), 0.3);

    // Elementwise, bit for bit against plain `x / s`, in both float types.
    let xs: Vec<f64> = (1..=200).map(|k| k as f64 * 0.37 - 31.0).collect();
    for s in DIVISORS {
        let tape = Tape::<f64>::new();
        let y = tape.leaf(Tensor::from_vec(xs.clone(), &[200])) / s;
        let want: Vec<f64> = xs.iter().map(|x| x / s).collect();
        assert_eq!(y.value().data(), &want[..], "f64, s = {s}");

        let tape = Tape::<f32>::new();
        let x32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let y = tape.leaf(Tensor::from_vec(x32.clone(), &[200])) / (s as f32);
        let want: Vec<f32> = x32.iter().map(|x| x / s as f32).collect();
        assert_eq!(y.value().data(), &want[..], "f32, s = {s}");
    }
}

#[test]
fn var_divided_by_a_scalar_has_the_gradient_of_dividing_by_a_constant() {
    // d(x/s)/dx = 1/s, propagated as `g / s` (the rule of `div`), not `g·(1/s)`.
    let xs: Vec<f64> = (1..=50).map(|k| k as f64 * 0.61 - 15.0).collect();
    let up: Vec<f64> = (1..=50).map(|k| k as f64 * 0.3 + 0.1).collect();
    for s in DIVISORS {
        let grad = |by_constant: bool| {
            let tape = Tape::<f64>::new();
            let x = tape.leaf(Tensor::from_vec(xs.clone(), &[50]));
            let y = if by_constant { x / tape.scalar(s) } else { x / s };
            let loss = y.try_mul(tape.constant(Tensor::from_vec(up.clone(), &[50]))).unwrap().sum_all();
            tape.backward(loss).unwrap().get(x).unwrap().data().to_vec()
        };
        let want: Vec<f64> = up.iter().map(|g| g / s).collect();
        assert_eq!(grad(false), want, "s = {s}");
        assert_eq!(grad(false), grad(true), "s = {s}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn var_divided_by_a_scalar_matches_finite_differences(x in tensor(&[2, 3], -2.0..2.0), s in away_from_zero(&[], 0.5..2.0)) {
        let s = s.item();
        check(|_, v| Ok(v[0] / s), &[x.clone()])?;
        check(|_, v| Ok((v[0] / s).tanh().sum_all()), &[x])?;
    }

    #[test]
    fn var_divided_by_a_scalar_has_the_right_second_derivative(x in tensor(&[2, 3], -1.5..1.5), s in away_from_zero(&[], 0.5..2.0)) {
        let s = s.item();
        let r = gradgradcheck(|_, v| Ok((v[0].exp() / s).tanh()), &[x], &GradcheckOptions::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(r.passed(), "{r}");
    }
}
