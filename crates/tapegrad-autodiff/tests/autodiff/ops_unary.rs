//! Unary ops and composites of one input, gradchecked on tensor outputs
//! (vector-Jacobian products with a random seed vector).

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{away_from_zero, check, positive, shape, tensor, tensor_of};
use tapegrad_autodiff::Tensor;

fn smooth() -> impl Strategy<Value = Tensor<f64>> {
    tensor_of(shape(3, 4), -2.0..2.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn smooth_unary_ops(x in smooth()) {
        smooth_unary_ops_gradcheck(x)?;
    }

    #[test]
    fn ops_with_poles_on_positive_inputs(x in shape(3, 4).prop_flat_map(|s| positive(&s, 0.3..3.0))) {
        check(|_, v| Ok(v[0].ln()), &[x.clone()])?;
        check(|_, v| Ok(v[0].sqrt()), &[x.clone()])?;
        check(|_, v| Ok(v[0].recip()), &[x.clone()])?;
        check(|_, v| Ok(v[0].powf(2.5)), &[x.clone()])?;
        check(|_, v| Ok(v[0].powf(-0.7)), &[x])?;
    }

    #[test]
    fn kinked_ops_away_from_the_kink(x in shape(3, 4).prop_flat_map(|s| away_from_zero(&s, 0.05..2.0))) {
        check(|_, v| Ok(v[0].relu()), &[x.clone()])?;
        check(|_, v| Ok(v[0].abs()), &[x])?;
    }

    #[test]
    fn softmax_family_along_every_axis(x in smooth(), axis in 0usize..3) {
        let axis = axis % x.ndim();
        check(|_, v| v[0].try_softmax(axis), &[x.clone()])?;
        check(|_, v| v[0].try_log_softmax(axis), &[x.clone()])?;
        check(|_, v| v[0].try_logsumexp(axis, false), &[x.clone()])?;
        check(|_, v| v[0].try_logsumexp(axis, true), &[x])?;
    }

    #[test]
    fn masked_select_takes_each_side(x in tensor(&[3, 4], -2.0..2.0), y in tensor(&[3, 4], -2.0..2.0), mask in tensor(&[1, 4], 0.0..1.0)) {
        let m = mask.map(|v| if v > 0.5 { 1.0 } else { 0.0 });
        check(move |_, v| v[0].try_masked_select(&m, v[1]), &[x, y])?;
    }
}

fn smooth_unary_ops_gradcheck(x: Tensor<f64>) -> Result<(), TestCaseError> {
    check(|_, v| Ok(v[0].neg()), &[x.clone()])?;
    check(|_, v| Ok(v[0].exp()), &[x.clone()])?;
    check(|_, v| Ok(v[0].tanh()), &[x.clone()])?;
    check(|_, v| Ok(v[0].sigmoid()), &[x.clone()])?;
    check(|_, v| Ok(v[0].square()), &[x.clone()])?;
    check(|_, v| Ok(v[0].scale(-1.7)), &[x.clone()])?;
    check(|_, v| Ok(v[0].add_scalar(0.3)), &[x.clone()])?;
    check(|_, v| Ok(v[0] * 2.0 - 1.0), &[x])
}

/// Once found by proptest: a one-element input at 0 (the smallest shape,
/// where tanh, sigmoid and square have their symmetric point).
#[test]
fn smooth_unary_ops_on_a_single_zero() {
    smooth_unary_ops_gradcheck(Tensor::from_vec(vec![0.0], &[1])).unwrap();
}

#[test]
fn relu_gradient_at_the_kink_is_zero_as_in_pytorch() {
    let tape = tapegrad_autodiff::Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.0, -1.0, 2.0], &[3]));
    let g = tape.backward(x.relu().sum_all()).unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[0.0, 0.0, 1.0]);
}
