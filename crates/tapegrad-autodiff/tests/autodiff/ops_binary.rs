//! Broadcasting binary ops: gradients are summed back over broadcast axes.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{broadcast_pair, check, tensor};
use tapegrad_autodiff::Tensor;

/// Two broadcastable tensors; the second is kept away from zero so
/// division is well conditioned.
fn pair() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    broadcast_pair(3, 3).prop_flat_map(|(a, b)| {
        let n: usize = b.iter().product();
        (
            tensor(&a, -2.0..2.0),
            prop::collection::vec((0.5f64..2.0, any::<bool>()), n)
                .prop_map(move |d| Tensor::from_vec(d.into_iter().map(|(m, s)| if s { m } else { -m }).collect(), &b)),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn add_sub_mul_div_broadcast((a, b) in pair()) {
        check(|_, v| v[0].try_add(v[1]), &[a.clone(), b.clone()])?;
        check(|_, v| v[0].try_sub(v[1]), &[a.clone(), b.clone()])?;
        check(|_, v| v[0].try_mul(v[1]), &[a.clone(), b.clone()])?;
        check(|_, v| v[0].try_div(v[1]), &[a.clone(), b.clone()])?;
        // And with the operands swapped (the broadcast side changes).
        check(|_, v| v[1].try_div(v[0].exp()), &[a, b])?;
    }
}

#[test]
fn scalar_operators_record_one_op_each() {
    let tape = tapegrad_autodiff::Tape::<f64>::new();
    let x = tape.leaf(Tensor::scalar(2.0));
    let before = tape.len();
    let y = 3.0 * x + 1.0;
    assert_eq!(tape.len() - before, 2);
    let z = 1.0 - y / 2.0;
    assert_eq!(z.value().item(), 1.0 - 3.5);
    assert_eq!(tape.backward(z).unwrap().get(x).unwrap().item(), -1.5);
}
