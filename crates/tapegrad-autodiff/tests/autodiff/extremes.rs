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

/// f32 ln 2 (0.6931472), the correctly rounded value PyTorch returns for
/// `-log_softmax([a, a])` at every magnitude of `a`.
const LN2_F32: f32 = std::f32::consts::LN_2;

/// `x - (m + ln Σ)` rounds `m + ln Σ` to the ulp of the logits before
/// subtracting: at a = 1e6 (f32 ulp 0.0625) that gave -0.6875 instead of
/// -0.6931472, and 4e-5 relative error already at ±1000. Computing
/// `(x - m) - ln Σ exp(x - m)` keeps full precision at any magnitude.
#[test]
fn log_softmax_and_softmax_keep_full_precision_for_large_equal_logits() {
    for a in [1000.0f32, -1000.0, 1e4, -1e4, 1e6, 1e30, -1e30] {
        let tape = Tape::<f32>::new();
        let x = tape.leaf(Tensor::from_vec(vec![a, a], &[1, 2]));
        assert_eq!(x.log_softmax(1).value().data(), &[-LN2_F32, -LN2_F32], "f32 log_softmax at {a}");
        assert_eq!(x.softmax(1).value().data(), &[0.5, 0.5], "f32 softmax at {a}");
    }
    for a in [1e12f64, -1e12, 1e300] {
        let tape = Tape::<f64>::new();
        let x = tape.leaf(Tensor::from_vec(vec![a, a, a, a], &[2, 2]));
        let ln2 = 2f64.ln();
        assert_eq!(x.log_softmax(1).value().data(), &[-ln2; 4], "f64 log_softmax at {a}");
        assert_eq!(x.log_softmax(0).value().data(), &[-ln2; 4], "f64 log_softmax along axis 0 at {a}");
        assert_eq!(x.softmax(1).value().data(), &[0.5; 4], "f64 softmax at {a}");
    }
}

/// The autodiff forms agree with the tensor crate's (which computes
/// `(x - m) - ln Σ exp(x - m)` directly) to the last bit in f64, whatever
/// the offset of the logits.
#[test]
fn var_log_softmax_matches_the_tensor_op_bit_for_bit_at_any_offset() {
    let base = [0.3, -1.7, 2.9, 0.0, 1e-3, -4.0];
    for offset in [0.0, 1e3, -1e3, 1e8, 1e15] {
        let t = Tensor::from_vec(base.iter().map(|v| v + offset).collect(), &[2, 3]);
        let tape = Tape::<f64>::new();
        let x = tape.leaf(t.clone());
        for axis in [0, 1] {
            assert_eq!(x.log_softmax(axis).value(), t.log_softmax(axis), "offset {offset}, axis {axis}");
        }
    }
}

/// The loss built on it, in f32: `-mean(log_softmax([a, a])[0])` is ln 2
/// to the last bit (the defect report's 0.6931763 at ±1000, 0.6933594 at
/// 1e4, 0.6875 at 1e6), and its gradient is exactly [-1/2, 1/2].
#[test]
fn picked_log_probability_of_equal_large_logits_is_ln_2_with_exact_gradient() {
    for a in [1000.0f32, -1000.0, 1e4, 1e6] {
        let tape = Tape::<f32>::new();
        let x = tape.leaf(Tensor::from_vec(vec![a, a], &[1, 2]));
        let loss = x.log_softmax(1).gather(1, &[0], &[1, 1]).sum_all().neg();
        assert_eq!(loss.value().item(), LN2_F32, "loss at {a}");
        assert_eq!(tape.backward(loss).unwrap().get(x).unwrap().data(), &[-0.5, 0.5], "gradient at {a}");
    }
}
