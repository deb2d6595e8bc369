//! Logits of ±1000: exact, finite values and finite gradients.

use tapegrad_autodiff::{Tape, Tensor};

#[test]
fn softmax_family_at_plus_minus_1000() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![1000.0, -1000.0, 0.0, -1000.0, -1000.0, -1000.0], &[2, 3]));
    let ls = x.log_softmax(1);
    assert_eq!(&ls.value().data()[..3], &[0.0, -2000.0, -1000.0]);
    let third = -(3f64.ln());
    assert!(ls.value().data()[3..].iter().all(|v| (v - third).abs() < 1e-12));
    let c = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 1.0, 0.0, -1.0], &[2, 3]));
    let g = tape.backward(ls.try_mul(c).unwrap().sum_all()).unwrap();
    let g = g.get(x).unwrap();
    assert!(g.all_finite());
    // d/dx Σ c ⊙ log_softmax(x) = c - softmax(x)·Σc; row 0: softmax = [1, 0, 0], Σc = 6.
    assert_eq!(&g.data()[..3], &[1.0 - 6.0, 2.0, 3.0]);
    assert!(g.data()[3..].iter().zip([1.0, 0.0, -1.0]).all(|(gv, cv)| (gv - cv).abs() < 1e-12), "Σc = 0 on row 1");
}

#[test]
fn sigmoid_and_logsumexp_gradients_stay_finite() {
    let tape = Tape::<f32>::new();
    let x = tape.leaf(Tensor::from_vec(vec![1000.0, -1000.0], &[1, 2]));
    let y = x.sigmoid().sum_all() + x.logsumexp(1, false).sum_all();
    let g = tape.backward(y).unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[1.0, 0.0]);
}
