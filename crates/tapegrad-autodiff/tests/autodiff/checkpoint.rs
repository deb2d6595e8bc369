//! Gradient checkpointing (`Tape::checkpoint`): the same code with and
//! without checkpoints gives the same values and gradients bit for bit (the
//! dropped values are recomputed with the same kernels, and the sweep adds
//! up the same contributions in the same order), while the tape holds less.

use std::sync::Arc;

use tapegrad_autodiff::{hvp, AutodiffError, CustomOp, Fusion, Result, Scalar, Tape, Tensor, Var};

/// `2x` as a custom op, so a span holds one too.
struct Double;

impl<T: Scalar> CustomOp<T> for Double {
    fn name(&self) -> &str {
        "double"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].scale(T::from_f64_lossy(2.0)))
    }
    fn backward<'t>(
        &self,
        _x: &[tapegrad_autodiff::Val<'t, T>],
        _y: &tapegrad_autodiff::Val<'t, T>,
        g: &tapegrad_autodiff::Val<'t, T>,
    ) -> Result<Vec<Option<tapegrad_autodiff::Val<'t, T>>>> {
        Ok(vec![Some(g.scale(T::from_f64_lossy(2.0)))])
    }
}

/// One step of a recurrence that reaches every op family: a product with a
/// shared weight, broadcasting, unary ops, a layer norm, chunks, a
/// concatenation, a pad and narrow, a transpose, an index op, a select, a
/// reduction, a custom op and a fused region; a constant (a dropout-like
/// mask) made inside.
fn step<'t, T: Scalar>(t: &'t Tape<T>, h: Var<'t, T>, x: Var<'t, T>, w: Var<'t, T>, b: Var<'t, T>, k: usize) -> Result<Var<'t, T>> {
    let n = h.shape()[1];
    let mask = t.constant(Tensor::from_vec((0..n).map(|j| T::from_f64_lossy(((j + k) % 3) as f64 * 0.5)).collect(), &[1, n]));
    let a = h.try_matmul(w.t())?.try_add(b)?.try_add(x)?.try_layer_norm(1, None, None, T::from_f64_lossy(1e-5))?;
    let halves = a.try_chunk(2, 1)?;
    let (u, v) = t.fused(|| (halves[0].tanh(), halves[1].sigmoid().scale(T::from_f64_lossy(0.5)).add_scalar(T::from_f64_lossy(0.25))));
    let uv = Var::try_concat(&[v, u], 1)?.try_pad_axis(1, 1, 1)?.try_narrow(1, 1, n)?;
    let flipped = uv.try_transpose(0, 1)?.try_index_select(0, &(0..n).rev().collect::<Vec<_>>())?.try_transpose(0, 1)?;
    let picked = Var::try_where_cond(&mask.value(), flipped.exp(), flipped.clamp(T::from_f64_lossy(-0.5), T::from_f64_lossy(0.5)))?;
    let scale = picked.try_sum_axis(1, true)?.scale(T::from_f64_lossy(0.1)).tanh();
    let doubled = t.try_custom(Double, &[picked])?;
    doubled.try_mul(mask)?.try_add(scale)?.try_add(h.scale(T::from_f64_lossy(0.5)))
}

/// A loss over `steps` steps from `h0`, run in checkpointed segments of
/// `segment` steps (0: no checkpoint), the per-step outputs stacked after.
fn unrolled<'t, T: Scalar>(t: &'t Tape<T>, v: &[Var<'t, T>], steps: usize, segment: usize) -> Result<Var<'t, T>> {
    let (mut h, xs, w, b) = (v[0], v[1], v[2], v[3]);
    let mut outs = Vec::new();
    let mut k = 0;
    while k < steps {
        let len = if segment == 0 { steps } else { segment.min(steps - k) };
        let run = |h0: Var<'t, T>, outs: &mut Vec<Var<'t, T>>| -> Result<Var<'t, T>> {
            let mut h = h0;
            for j in k..k + len {
                h = step(t, h, xs.try_narrow(0, j, 1)?.try_reshape(&[1, h.shape()[1]])?, w, b, j)?;
                outs.push(h);
            }
            Ok(h)
        };
        h = if segment == 0 { run(h, &mut outs)? } else { t.checkpoint(|| run(h, &mut outs))? };
        k += len;
    }
    let y = Var::try_stack(&outs, 0)?;
    y.square().mean_all().try_add(h.sum_all())
}

fn inputs<T: Scalar>(steps: usize, n: usize) -> Vec<Tensor<T>> {
    let f = |k: usize, s: f64| T::from_f64_lossy(((k as f64 * 0.37 + s).sin()) * 0.8);
    vec![
        Tensor::from_vec((0..n).map(|k| f(k, 0.1)).collect(), &[1, n]),
        Tensor::from_vec((0..steps * n).map(|k| f(k, 0.7)).collect(), &[steps, n]),
        Tensor::from_vec((0..n * n).map(|k| f(k, 1.3) * T::from_f64_lossy(0.5)).collect(), &[n, n]),
        Tensor::from_vec((0..n).map(|k| f(k, 2.1)).collect(), &[n]),
    ]
}

/// The loss, its gradients to every input, and the values the tape held
/// after the forward pass.
fn run<T: Scalar>(fusion: Fusion, segment: usize) -> (Tensor<T>, Vec<Tensor<T>>, usize) {
    let tape = Tape::<T>::new();
    tape.set_fusion(fusion);
    let v: Vec<Var<'_, T>> = inputs::<T>(7, 6).into_iter().map(|x| tape.leaf(x)).collect();
    let y = unrolled(&tape, &v, 7, segment).unwrap();
    let held = tape.held_values();
    let grads = tape.grad(y, &v).unwrap();
    (y.value(), grads, held)
}

fn bit_for_bit<T: Scalar>() {
    for fusion in [Fusion::Off, Fusion::On] {
        let (y0, g0, held0) = run::<T>(fusion, 0);
        for segment in [1, 2, 3, 7] {
            let (y, g, held) = run::<T>(fusion, segment);
            assert_eq!(y.data(), y0.data(), "loss, segment {segment}, {fusion:?}");
            for (k, (a, b)) in g.iter().zip(&g0).enumerate() {
                assert_eq!(a.data(), b.data(), "gradient {k}, segment {segment}, {fusion:?}");
            }
            assert!(held < held0, "segment {segment}, {fusion:?}: {held} values held, {held0} without checkpoints");
        }
    }
}

#[test]
fn checkpointed_gradients_equal_plain_ones_bit_for_bit_f64() {
    bit_for_bit::<f64>();
}

#[test]
fn checkpointed_gradients_equal_plain_ones_bit_for_bit_f32() {
    bit_for_bit::<f32>();
}

#[test]
fn checkpoint_keeps_only_its_outputs_and_drops_them_again_after_the_sweep() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.5; 100], &[100]));
    let before = tape.held_values();
    let (y, inner) = tape.checkpoint(|| {
        let e = x.exp();
        (e.tanh().sum_all(), e)
    });
    // `e` was returned, so it is kept; the tanh is dropped.
    assert_eq!(tape.held_values(), before + 100 + 1);
    let g = tape.backward(y).unwrap().get(x).unwrap().clone();
    assert_eq!(tape.held_values(), before + 101, "the sweep drops what it recomputed");
    let e = 0.5f64.exp();
    let expected = (1.0 - e.tanh().powi(2)) * e;
    assert!(g.data().iter().all(|&v| v == expected), "{:?} vs {expected}", &g.data()[..3]);
    assert_eq!(inner.value().data()[0], e);
}

#[test]
fn reading_a_dropped_value_recomputes_it() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.25, -0.5], &[2]));
    let mut t = None;
    let y = tape.checkpoint(|| {
        let v = x.tanh();
        t = Some(v);
        v.sum_all()
    });
    let held = tape.held_values();
    let t = t.unwrap();
    assert_eq!(t.value().data(), &[0.25f64.tanh(), (-0.5f64).tanh()]);
    assert_eq!(t.shape().as_slice(), &[2]);
    assert_eq!(tape.held_values(), held, "read, then dropped again");
    // An op recorded later on the dropped value sees the recomputed value.
    let z = (t * t).sum_all() + y;
    let g = tape.backward(z).unwrap().get(x).unwrap().clone();
    let expected: Vec<f64> = [0.25f64, -0.5].iter().map(|&v| (1.0 - v.tanh().powi(2)) * (2.0 * v.tanh() + 1.0)).collect();
    assert_eq!(g.data(), expected.as_slice());
}

#[test]
fn second_derivatives_through_a_checkpoint_equal_plain_ones() {
    let f = |ckpt: bool| {
        let tape = Tape::<f64>::new();
        let x = tape.leaf(Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3]));
        let body = || (x.tanh() * x.exp()).sum_all();
        let y = if ckpt { tape.checkpoint(body) } else { body() };
        let g = tape.grad_graph(y, None, &[x]).unwrap()[0];
        tape.grad(g.sum_all(), &[x]).unwrap().remove(0)
    };
    assert_eq!(f(true).data(), f(false).data());
    let h = |ckpt: bool| {
        hvp(
            |t: &Tape<f64>, v| {
                let body = || (v[0].tanh() * v[0].exp()).sum_all();
                Ok(if ckpt { t.checkpoint(body) } else { body() })
            },
            &[Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3])],
            &[Tensor::from_vec(vec![1.0, 0.5, -2.0], &[3])],
        )
        .unwrap()
    };
    assert_eq!(h(true)[0].data(), h(false)[0].data());
}

#[test]
fn anomaly_mode_inside_a_checkpoint_names_the_recomputed_op() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.leaf(Tensor::from_vec(vec![0.0, 1.0], &[2]));
    let y = tape.checkpoint(|| x.sqrt().sum_all()); // d sqrt at 0 is infinite
    match tape.backward(y) {
        Err(AutodiffError::NonFinite { op, phase, .. }) => assert_eq!((op.as_str(), phase), ("sqrt", "backward")),
        other => panic!("expected a non-finite sqrt gradient, got {other:?}"),
    }
    // The failed sweep still dropped what it recomputed.
    let held = tape.held_values();
    assert_eq!(held, 2 + 1);
}

#[test]
fn nested_checkpoints_are_part_of_the_outer_span() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.5, 1.5], &[2]));
    let y = tape.checkpoint(|| tape.checkpoint(|| x.exp().tanh()).square().sum_all());
    assert_eq!(tape.held_values(), 2 + 1, "only the outer span's output is kept");
    let plain = {
        let t = Tape::<f64>::new();
        let x = t.leaf(x.value());
        t.backward(x.exp().tanh().square().sum_all()).unwrap().get(x).unwrap().clone()
    };
    assert_eq!(tape.backward(y).unwrap().get(x).unwrap().clone().data(), plain.data());
}

#[test]
fn a_custom_op_is_recomputed_by_its_forward() {
    let tape = Tape::<f32>::new();
    let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    let op: Arc<dyn CustomOp<f32>> = Arc::new(Double);
    let y = tape.checkpoint(|| tape.try_custom_shared(op, &[x.exp()]).unwrap().tanh().sum_all());
    let g = tape.backward(y).unwrap().get(x).unwrap().clone();
    let expected: Vec<f32> = [1.0f32, 2.0].iter().map(|&v| (1.0 - (2.0 * v.exp()).tanh().powi(2)) * 2.0 * v.exp()).collect();
    for (a, b) in g.data().iter().zip(&expected) {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "{a} vs {b}");
    }
}

#[test]
fn a_stacked_sequence_is_held_once() {
    let tape = Tape::<f64>::new();
    // (Large enough to be worth re-pointing: 4096 scalars stacked.)
    let w = tape.leaf(Tensor::from_vec((0..64).map(|k| 0.5 - 0.01 * k as f64).collect(), &[1, 64]));
    let h0 = Tensor::from_vec((0..16 * 64).map(|k| (k as f64 * 0.1).sin()).collect(), &[16, 64]);
    let mut h = tape.leaf(h0.clone());
    let mut steps = Vec::new();
    for _ in 0..4 {
        h = (h * w).tanh();
        steps.push(h);
    }
    let y = Var::stack(&steps, 0);
    // Every step's value is now a window of the stacked buffer.
    for (k, s) in steps.iter().enumerate() {
        assert!(s.value().shares_buffer(&y.value()), "step {k}");
        assert_eq!(s.value().data(), y.value().narrow(0, k, 1).data());
    }
    let g = tape.grad(y.square().sum_all(), &[w]).unwrap();
    let plain = {
        let t = Tape::<f64>::new();
        let w = t.leaf(w.value());
        let mut h = t.leaf(h0);
        let mut sum = t.scalar(0.0);
        for _ in 0..4 {
            h = (h * w).tanh();
            sum = sum + h.square().sum_all();
        }
        t.grad(sum, &[w]).unwrap()
    };
    for (a, b) in g[0].data().iter().zip(plain[0].data()) {
        assert!((a - b).abs() <= 1e-14 * b.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn stacked_segments_of_a_sequence_are_held_once() {
    let tape = Tape::<f32>::new();
    let w = tape.leaf(Tensor::from_vec((0..64).map(|k| 0.5 - 0.01 * k as f32).collect(), &[1, 64]));
    let mut h = tape.leaf(Tensor::ones(&[16, 64]));
    let (mut steps, mut segments) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let mut seg = Vec::new();
        for _ in 0..4 {
            h = (h * w).tanh();
            seg.push(h);
        }
        segments.push(Var::stack(&seg, 0));
        steps.extend(seg);
    }
    let y = Var::concat(&segments, 0);
    assert_eq!(y.shape().as_slice(), &[12, 16, 64]);
    for (k, s) in steps.iter().chain(&segments).enumerate() {
        assert!(s.value().shares_buffer(&y.value()), "value {k}");
    }
    assert_eq!(steps[4].value().data(), y.value().narrow(0, 4, 1).data());
}

#[test]
fn keep_needed_drops_only_unread_values_and_changes_no_gradient() {
    let run = |lean: bool| {
        let tape = Tape::<f64>::new();
        // Wide enough that the values are worth dropping (small ones are kept).
        let v: Vec<Var<'_, f64>> = inputs::<f64>(5, 512).into_iter().map(|x| tape.leaf(x)).collect();
        let body = || unrolled(&tape, &v, 5, 0);
        let y = if lean { tape.keep_needed(body) } else { body() }.unwrap();
        let held = tape.held_values();
        let g = tape.grad(y, &v).unwrap();
        (g, held, tape.held_values())
    };
    let ((g0, held0, _), (g, held, after)) = (run(false), run(true));
    for (k, (a, b)) in g.iter().zip(&g0).enumerate() {
        assert_eq!(a.data(), b.data(), "gradient {k}");
    }
    assert!(held < held0, "{held} values held, {held0} keeping everything");
    assert_eq!(after, held, "nothing was recomputed and kept");
}

#[test]
fn a_value_keep_needed_dropped_is_recomputed_for_a_later_reader() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.5, -1.5], &[2]));
    let mut sum = None;
    let y = tape.keep_needed(|| {
        let s = x + x.scale(2.0); // read by no rule inside: dropped
        sum = Some(s);
        s.tanh().sum_all()
    });
    let s = sum.unwrap();
    let z = (s * s).sum_all() + y; // the product reads `s` in its rule
    let g = tape.backward(z).unwrap().get(x).unwrap().clone();
    let expected: Vec<f64> = [0.5f64, -1.5].iter().map(|&v| 3.0 * (2.0 * 3.0 * v + (1.0 - (3.0 * v).tanh().powi(2)))).collect();
    for (a, b) in g.data().iter().zip(&expected) {
        assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b}");
    }
}
