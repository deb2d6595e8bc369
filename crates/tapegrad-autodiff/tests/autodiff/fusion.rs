//! Fused regions (`Tape::fused`): the same code fused and unfused gives the
//! same values and gradients bit for bit (the region recomputes its values
//! with the same kernels and runs the same rules in the same order), first
//! and second derivatives are checked against finite differences, and a
//! region records one node.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::tensor;
use tapegrad_autodiff::{gradcheck, gradgradcheck, hvp, AutodiffError, DotOptions, Fusion, GradcheckOptions, Result, Tape, Tensor, Var};

/// An LSTM-like step: a broadcast bias, four strided chunks of the gates,
/// a `where`, scalar ops, and two outputs, one of them used again inside.
fn step<'t>(t: &'t Tape<f64>, v: &[Var<'t, f64>]) -> Result<(Var<'t, f64>, Var<'t, f64>)> {
    let (gates, c0, bias) = (v[0], v[1], v[2]);
    let hidden = gates.shape()[1] / 4;
    let cond = Tensor::from_vec((0..hidden).map(|k| (k % 2) as f64).collect(), &[hidden]);
    t.fused(|| {
        let g = gates.try_add(bias)?.try_chunk(4, 1)?;
        let (i, f, gg, o) = (g[0].sigmoid(), g[1].sigmoid(), g[2].tanh(), g[3].sigmoid());
        let c = f.try_mul(c0)?.try_add(i.try_mul(gg)?)?;
        let h = o.try_mul(Var::try_where_cond(&cond, c.tanh(), c * 0.5 + 0.25)?)?;
        Ok((h, c))
    })
}

/// A scalar loss of both outputs, weighted so every entry counts.
fn loss<'t>(t: &'t Tape<f64>, v: &[Var<'t, f64>]) -> Result<Var<'t, f64>> {
    let (h, c) = step(t, v)?;
    let w = t.constant(Tensor::from_vec((0..h.shape().iter().product::<usize>()).map(|k| 0.3 + 0.1 * k as f64).collect(), &h.shape()));
    Ok(h.try_mul(w)?.try_add(c.square())?.sum_all())
}

/// A tape that fuses its regions (fusion is off by default).
fn fusing() -> Tape<f64> {
    let t = Tape::new();
    t.set_fusion(Fusion::On);
    t
}

fn fused<'t>(t: &'t Tape<f64>, v: &[Var<'t, f64>]) -> Result<Var<'t, f64>> {
    t.set_fusion(Fusion::On);
    loss(t, v)
}

fn unfused<'t>(t: &'t Tape<f64>, v: &[Var<'t, f64>]) -> Result<Var<'t, f64>> {
    t.set_fusion(Fusion::Off);
    loss(t, v)
}

/// Outputs and input gradients of `loss` with fusion `mode`.
fn run(mode: Fusion, inputs: &[Tensor<f64>]) -> (Vec<Tensor<f64>>, Vec<Tensor<f64>>, usize) {
    let tape = fusing();
    tape.set_fusion(mode);
    let xs: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
    let before = tape.len();
    let (h, c) = step(&tape, &xs).unwrap();
    let records = tape.len() - before;
    let y = loss(&tape, &xs).unwrap();
    let grads = tape.grad(y, &xs).unwrap();
    (vec![h.value(), c.value()], grads, records)
}

fn inputs(gates: Tensor<f64>, c0: Tensor<f64>, bias: Tensor<f64>) -> Vec<Tensor<f64>> {
    vec![gates, c0, bias]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn fused_and_unfused_agree_bit_for_bit(g in tensor(&[2, 12], -2.0..2.0), c in tensor(&[2, 3], -1.0..1.0), b in tensor(&[12], -1.0..1.0)) {
        let xs = inputs(g, c, b);
        let (fv, fg, fused_records) = run(Fusion::On, &xs);
        let (uv, ug, unfused_records) = run(Fusion::Off, &xs);
        for (a, b) in fv.iter().chain(&fg).zip(uv.iter().chain(&ug)) {
            prop_assert_eq!(a.shape(), b.shape());
            prop_assert_eq!(a.data(), b.data());
        }
        // One region node and one more output, instead of every op.
        prop_assert_eq!(fused_records, 2);
        prop_assert!(unfused_records >= 15, "{}", unfused_records);
    }

    #[test]
    fn a_region_is_gradchecked_to_second_order(g in tensor(&[2, 8], -2.0..2.0), c in tensor(&[2, 2], -1.0..1.0), b in tensor(&[8], -1.0..1.0)) {
        let xs = inputs(g, c, b);
        let o = GradcheckOptions::default();
        let first = gradcheck(fused, &xs, &o).unwrap();
        prop_assert!(first.passed(), "{}", first);
        let second = gradgradcheck(fused, &xs, &o).unwrap();
        prop_assert!(second.passed(), "{}", second);
    }
}

/// Second derivatives replay the region as ordinary ops, which run the
/// same kernels on the same values; the replayed copy is recorded after the
/// rest of the graph, so the second sweep adds the same terms at the inputs
/// in another order: equal to rounding (≤ 1e-12 relative), not bit for bit.
#[test]
fn hessian_vector_products_equal_the_unfused_ones() {
    let xs = inputs(
        Tensor::from_vec((0..24).map(|k| (k as f64 * 0.37).sin()).collect(), &[2, 12]),
        Tensor::from_vec(vec![0.1, -0.4, 0.3, 0.2, 0.0, -0.7], &[2, 3]),
        Tensor::from_vec((0..12).map(|k| 0.05 * k as f64 - 0.3).collect(), &[12]),
    );
    let vs: Vec<Tensor<f64>> = xs.iter().map(|x| x.map(|v| 1.0 - 0.5 * v)).collect();
    let fused = hvp(fused, &xs, &vs).unwrap();
    let plain = hvp(unfused, &xs, &vs).unwrap();
    for (a, b) in fused.iter().zip(&plain) {
        for (x, y) in a.data().iter().zip(b.data()) {
            assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} vs {y}");
        }
    }
}

#[test]
fn a_value_inside_a_region_cannot_reach_a_matmul() {
    let tape = fusing();
    let x = tape.leaf(Tensor::ones(&[2, 2]));
    let e = tape.fused(|| x.exp().try_matmul(x)).unwrap_err();
    assert!(matches!(e, AutodiffError::InsideFusedRegion { ref op, .. } if op == "matmul"), "{e}");
    assert!(e.to_string().contains("fusion.rs"), "{e}");
}

#[test]
fn a_value_not_returned_does_not_outlive_its_region() {
    let tape = fusing();
    let x = tape.leaf(Tensor::ones(&[2]));
    let mut inner = None;
    let y = tape.fused(|| {
        let e = x.exp();
        inner = Some(e);
        e.tanh()
    });
    let e = y.try_add(inner.unwrap()).unwrap_err();
    assert!(matches!(e, AutodiffError::FusedValueOutlived { ref op, .. } if op == "add"), "{e}");
    // A later region does not mistake it for one of its own values.
    let e = tape.fused(|| inner.unwrap().try_mul(x)).unwrap_err();
    assert!(matches!(e, AutodiffError::FusedValueOutlived { .. }), "{e}");
}

#[test]
fn a_gradient_of_a_value_inside_a_region_is_refused() {
    let tape = fusing();
    let x = tape.leaf(Tensor::ones(&[1]));
    let e = tape.fused(|| tape.backward(x.exp()).map(|_| x)).unwrap_err();
    assert!(matches!(e, AutodiffError::InsideFusedRegion { .. }), "{e}");
    // `.value()` works inside a region.
    let y = tape.fused(|| {
        let e = x.exp();
        assert_eq!(e.value().data(), &[1f64.exp()]);
        e
    });
    assert_eq!(y.value().data(), &[1f64.exp()]);
}

#[test]
fn anomaly_mode_names_the_op_inside_the_region() {
    let tape = fusing();
    tape.set_anomaly_detection(true);
    let x = tape.leaf(Tensor::from_vec(vec![0.0, 4.0], &[2]));
    let line = line!() + 1;
    let y = tape.fused(|| x.sqrt().scale(2.0));
    let e = tape.backward(y.sum_all()).unwrap_err();
    match e {
        AutodiffError::NonFinite { op, phase, location, .. } => {
            assert_eq!((op.as_str(), phase), ("sqrt", "backward"));
            assert!(location.contains(&format!("fusion.rs:{line}")), "{location}");
        }
        e => panic!("{e}"),
    }
    let e = tape.fused(|| x.exp().try_div(x)).unwrap_err();
    assert!(matches!(e, AutodiffError::NonFinite { ref op, phase: "forward", .. } if op == "div"), "{e}");
}

#[test]
fn the_graph_export_shows_a_region_as_one_node_listing_its_ops() {
    let tape = fusing();
    let x = tape.leaf(Tensor::ones(&[2, 4]));
    let (a, b) = tape.fused(|| {
        let g = x.try_chunk(2, 1).unwrap();
        (g[0].sigmoid() * g[1], g[1].tanh())
    });
    let dot = tape.to_dot(&DotOptions::default());
    assert!(dot.contains("fused[narrow, narrow, sigmoid, mul, tanh]"), "{dot}");
    assert!(dot.contains("fused output 1"), "{dot}");
    assert_eq!((a.shape().as_slice(), b.shape().as_slice()), (&[2, 2][..], &[2, 2][..]));
}

#[test]
fn only_one_output_needs_a_gradient() {
    // Only the second output reaches the loss; the first's gradient is zero.
    let xs = inputs(Tensor::ones(&[1, 8]), Tensor::ones(&[1, 2]), Tensor::zeros(&[8]));
    let grads = |mode: Fusion| {
        let tape = fusing();
        tape.set_fusion(mode);
        let v: Vec<Var<'_, f64>> = xs.iter().map(|x| tape.leaf(x.clone())).collect();
        let (_, c) = step(&tape, &v).unwrap();
        tape.grad(c.sum_all(), &v).unwrap()
    };
    let (f, u) = (grads(Fusion::On), grads(Fusion::Off));
    for (a, b) in f.iter().zip(&u) {
        assert_eq!(a.data(), b.data());
    }
}

#[test]
fn a_panic_inside_a_region_leaves_the_tape_usable() {
    let tape = fusing();
    let x = tape.leaf(Tensor::ones(&[2]));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tape.fused(|| -> Var<'_, f64> { panic!("inside") })));
    assert!(r.is_err());
    let y = tape.fused(|| x.exp());
    assert_eq!(tape.backward(y.sum_all()).unwrap().get(x).unwrap().data(), &[1f64.exp(); 2]);
}

/// The gradient with respect to a region's output counts the paths inside
/// the region too (`c` feeds `h` there), even when the differentiated value
/// is an output recorded before it, as unfused.
#[test]
fn gradients_with_respect_to_outputs_include_the_paths_inside_the_region() {
    let xs = inputs(
        Tensor::from_vec((0..8).map(|k| (k as f64 * 0.7).cos()).collect(), &[1, 8]),
        Tensor::from_vec(vec![0.3, -0.2], &[1, 2]),
        Tensor::zeros(&[8]),
    );
    let grads = |mode: Fusion| {
        let tape = fusing();
        tape.set_fusion(mode);
        let v: Vec<Var<'_, f64>> = xs.iter().map(|x| tape.leaf(x.clone())).collect();
        let (h, c) = step(&tape, &v).unwrap();
        let y = h.try_add(c.exp()).unwrap().sum_all();
        let mut got = tape.grad(y, &[h, c, v[0]]).unwrap();
        got.extend(tape.grad(h.sum_all(), &[c, h]).unwrap());
        got
    };
    let (f, u) = (grads(Fusion::On), grads(Fusion::Off));
    assert_eq!(f.len(), 5);
    for (a, b) in f.iter().zip(&u) {
        assert_eq!(a.data(), b.data());
    }
    assert!(f[3].data().iter().any(|&v| v != 0.0), "∂Σh/∂c is not zero");
}
