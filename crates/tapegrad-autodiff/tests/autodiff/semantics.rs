//! What a gradient means: accumulation, detach/no_grad, constants, errors
//! for gradients that do not exist, intermediate values, anomaly mode.

use tapegrad_autodiff::{AutodiffError, Tape, Tensor};

#[test]
fn fan_out_accumulates_the_sum() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::scalar(3.0));
    let y = x * x + x * 2.0 + x; // 2x + 2 + 1 at x = 3 -> 9
    assert_eq!(tape.backward(y).unwrap().get(x).unwrap().item(), 9.0);
}

#[test]
fn detach_and_no_grad_stop_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::scalar(2.0));
    let d = x.detach();
    assert!(!d.requires_grad());
    let inside = tape.no_grad(|| (x * x).exp());
    assert!(!inside.requires_grad());
    assert!(tape.is_grad_enabled());
    let y = x * d + inside;
    assert_eq!(tape.backward(y).unwrap().get(x).unwrap().item(), 2.0);
}

#[test]
fn gradients_that_do_not_exist_are_errors_not_zeros() {
    let tape = Tape::<f64>::new();
    let (x, unused, c) = (tape.leaf(Tensor::scalar(1.0)), tape.leaf(Tensor::scalar(1.0)), tape.constant(Tensor::scalar(5.0)));
    unused.set_name("unused");
    let g = tape.backward(x * c).unwrap();
    let e = g.get(unused).unwrap_err();
    assert!(matches!(e, AutodiffError::NoGradient { .. }) && e.to_string().contains("unused"), "{e}");
    assert!(matches!(g.get(c).unwrap_err(), AutodiffError::NotDifferentiable { .. }));
    assert!(matches!(tape.grad(x * c, &[c]).unwrap_err(), AutodiffError::NotDifferentiable { .. }));
    assert!(matches!(tape.grad(x * c, &[unused]).unwrap_err(), AutodiffError::NoGradient { .. }));
}

#[test]
fn gradients_with_respect_to_intermediate_values() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.5, -0.5], &[2]));
    let h1 = x.tanh();
    let h2 = (h1 * h1).tanh();
    let y = h2.sum_all();
    let g = tape.grad(y, &[h2, h1, x]).unwrap();
    assert_eq!(g[0].data(), &[1.0, 1.0]);
    let dh1: Vec<f64> = h1.value().data().iter().zip(h2.value().data()).map(|(a, b)| (1.0 - b * b) * 2.0 * a).collect();
    assert!((g[1].data()[0] - dh1[0]).abs() < 1e-15);
}

#[test]
fn non_scalar_outputs_need_a_seed_of_their_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::ones(&[2]));
    let y = x.exp();
    assert!(matches!(tape.backward(y).unwrap_err(), AutodiffError::NotScalar { .. }));
    assert!(matches!(tape.vjp(y, &Tensor::ones(&[3]), &[x]).unwrap_err(), AutodiffError::SeedShape { .. }));
    let g = tape.vjp(y, &Tensor::from_vec(vec![1.0, 0.0], &[2]), &[x]).unwrap();
    assert_eq!(g[0].data()[1], 0.0);
}

#[test]
fn two_tapes_do_not_mix() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let (a, b) = (t1.leaf(Tensor::ones(&[1])), t2.leaf(Tensor::ones(&[1])));
    assert!(matches!(a.try_add(b).unwrap_err(), AutodiffError::TapeMismatch { .. }));
    assert!(matches!(t2.backward(a.sum_all()).unwrap_err(), AutodiffError::TapeMismatch { .. }));
    let g = t1.backward(a.sum_all()).unwrap();
    assert!(matches!(g.get(b).unwrap_err(), AutodiffError::TapeMismatch { .. }));
}

/// A training loop makes one tape per step, usually at the same address:
/// gradients kept from step 0 must refuse step 1's leaves, not answer with
/// step 0's gradient for the leaf of the same index.
#[test]
fn gradients_kept_from_an_earlier_tape_refuse_a_later_tapes_leaves() {
    let mut kept: Option<tapegrad_autodiff::Gradients<f64>> = None;
    for step in 0..3 {
        let tape = Tape::<f64>::new();
        let w = tape.leaf(Tensor::scalar(step as f64 + 1.0));
        let grads = tape.backward(w * w).unwrap();
        assert_eq!(grads.get(w).unwrap().item(), 2.0 * (step as f64 + 1.0));
        match &kept {
            None => kept = Some(grads),
            Some(old) => {
                let e = old.get(w).unwrap_err();
                assert!(matches!(e, AutodiffError::TapeMismatch { op: "Gradients::get" }), "step {step}: {e:?}");
            }
        }
    }
}

/// `clear` reuses node indices: a tape cleared and refilled is a new tape
/// to the gradients of its old contents.
#[test]
fn gradients_from_before_a_clear_refuse_the_leaves_recorded_after_it() {
    let mut tape = Tape::<f64>::new();
    let old = {
        let w = tape.leaf(Tensor::scalar(3.0));
        tape.backward(w * w).unwrap()
    };
    tape.clear();
    let w = tape.leaf(Tensor::scalar(5.0));
    assert_eq!(w.index(), 0, "the same index as the old leaf");
    assert!(matches!(old.get(w).unwrap_err(), AutodiffError::TapeMismatch { .. }));
    assert_eq!(tape.backward(w * w).unwrap().get(w).unwrap().item(), 10.0);
}

#[test]
fn gradient_of_a_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::scalar(1.5));
    let dy = tape.grad_graph(x.powf(3.0), None, &[x]).unwrap()[0];
    assert!((dy.value().item() - 3.0 * 1.5 * 1.5).abs() < 1e-12);
    let d2 = tape.grad(dy, &[x]).unwrap()[0].item();
    assert!((d2 - 6.0 * 1.5).abs() < 1e-12);
}

#[test]
fn ordinary_backward_records_nothing() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.1, 0.2, 0.3], &[3]));
    let y = x.tanh().exp().sum_all();
    let n = tape.len();
    tape.backward(y).unwrap();
    assert_eq!(tape.len(), n, "a first-order sweep must not grow the tape");
}

#[test]
fn anomaly_mode_names_the_first_non_finite_op() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.leaf(Tensor::from_vec(vec![1.0, -1.0], &[2]));
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.ln())).unwrap_err();
    let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("ln") && msg.contains("forward") && msg.contains("semantics.rs"), "{msg}");
    // Backward: sqrt at 0 is finite forward, infinite slope backward.
    let z = tape.leaf(Tensor::from_vec(vec![0.0, 4.0], &[2]));
    let e = tape.backward(z.sqrt().sum_all()).unwrap_err();
    assert!(matches!(&e, AutodiffError::NonFinite { op, phase: "backward", .. } if op == "sqrt"), "{e}");
}

/// A shared weight's gradient is multiplied out late (in stacked groups);
/// an infinity there is still reported, naming the product and its site.
#[test]
fn anomaly_mode_reports_a_non_finite_shared_weight_gradient() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let w = tape.leaf(Tensor::from_vec(vec![1e-300, 1e-300], &[1, 2]));
    let x = tape.constant(Tensor::from_vec(vec![1e308, 1e308], &[2, 1]));
    let y = x.matmul(w); // 1e8 everywhere: finite; but dW = xᵀ·1 = 2e308 overflows
    let e = tape.backward(y.sum_all()).unwrap_err();
    assert!(
        matches!(&e, AutodiffError::NonFinite { op, phase: "backward", location, .. } if op == "matmul" && location.contains("semantics.rs")),
        "{e}"
    );
}
