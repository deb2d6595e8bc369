//! Research toolkit: Jacobians, VJPs and JVPs against hand values and each
//! other; causality of sequence functions; the DOT export of an unrolled
//! recurrence, in full and summarised.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{
    causality_violation, jacobian, jvp, vjp, AutodiffError, DotOptions, Result, Shape, Tape, Tensor, TensorError, Var,
};

/// f(x) = (x0·x1, e^x0, tanh x1, x0 + 2x1) for x of shape [2]:
/// J = [[x1, x0], [e^x0, 0], [0, 1 - tanh² x1], [1, 2]].
fn f<'t>(_t: &'t Tape<f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>> {
    let (a, b) = (x.try_narrow(0, 0, 1)?, x.try_narrow(0, 1, 1)?);
    Var::try_concat(&[a.try_mul(b)?, a.exp(), b.tanh(), a.try_add(b.scale(2.0))?], 0)
}

#[test]
fn jacobian_of_a_known_function_matches_hand_values() {
    let (x0, x1) = (0.7, -1.3);
    let j = jacobian(f, &Tensor::from_vec(vec![x0, x1], &[2])).unwrap();
    assert_eq!(j.shape(), &[4, 2]);
    let t = f64::tanh(x1);
    let want = [x1, x0, x0.exp(), 0.0, 0.0, 1.0 - t * t, 1.0, 2.0];
    for (k, (g, w)) in j.data().iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-15, "J[{}][{}] = {g}, want {w}", k / 2, k % 2);
    }
}

#[test]
fn jacobian_of_a_matrix_product_is_the_matrix_and_is_generic_over_f32() {
    // y = W·x for x of shape [3] (as a column): J = W exactly.
    let w = Tensor::<f32>::from_vec(vec![1.5, -2.0, 0.25, 3.0, 0.5, -1.0], &[2, 3]);
    let wc = w.clone();
    let j = jacobian(move |t, x| Ok(t.constant(wc.clone()).try_matmul(x.try_reshape(&[3, 1])?)?.flatten()), &Tensor::ones(&[3])).unwrap();
    assert_eq!(j.shape(), &[2, 3]);
    assert_eq!(j.data(), w.data());
    // A constant output has a zero Jacobian, not an error.
    let z = jacobian(|t: &Tape<f32>, _x| Ok(t.constant(Tensor::ones(&[2]))), &Tensor::ones(&[3])).unwrap();
    assert_eq!(z.data(), &[0.0; 6]);
}

/// A smooth function of a (3, 2) tensor with a (2, 4) output mixing every input.
fn g<'t>(t: &'t Tape<f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>> {
    let w = t.constant(Tensor::rand_uniform(&[2, 4], -1.0, 1.0, &mut StdRng::seed_from_u64(7)));
    let h = x.try_transpose(0, 1)?.try_matmul(x)?.tanh(); // (2, 2)
    h.try_matmul(w)?.sigmoid().try_mul(x.try_sum_axis(0, false)?.try_reshape(&[2, 1])?.exp())
}

#[test]
fn jvp_equals_the_jacobian_times_u_and_vjp_equals_v_times_the_jacobian() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::rand_uniform(&[3, 2], -1.0, 1.0, &mut rng);
    let j = jacobian(g, &x).unwrap();
    assert_eq!(j.shape(), &[8, 6]);
    for _ in 0..3 {
        let u = Tensor::rand_uniform(&[3, 2], -1.0, 1.0, &mut rng);
        let (y, ju) = jvp(g, &x, &u).unwrap();
        assert_eq!(y.shape(), &[2, 4]);
        let want = j.matmul(&u.reshape(&[6, 1])).reshape(&[2, 4]);
        assert!(ju.max_abs_diff(&want).unwrap() < 1e-13, "jvp {ju:?} vs J·u {want:?}");
        let v = Tensor::rand_uniform(&[2, 4], -1.0, 1.0, &mut rng);
        let (_, vj) = vjp(g, &x, &v).unwrap();
        let want = v.reshape(&[1, 8]).matmul(&j).reshape(&[3, 2]);
        assert!(vj.max_abs_diff(&want).unwrap() < 1e-13, "vjp {vj:?} vs vᵀJ {want:?}");
    }
}

#[test]
fn jvp_matches_central_differences() {
    let mut rng = StdRng::seed_from_u64(2);
    let x = Tensor::rand_uniform(&[3, 2], -1.0, 1.0, &mut rng);
    let u = Tensor::rand_uniform(&[3, 2], -1.0, 1.0, &mut rng);
    let (_, ju) = jvp(g, &x, &u).unwrap();
    let eps = 1e-6;
    let at = |s: f64| vjp(g, &x.add(&u.scale(s)), &Tensor::zeros(&[2, 4])).unwrap().0;
    let fd = at(eps).sub(&at(-eps)).scale(0.5 / eps);
    assert!(ju.max_abs_diff(&fd).unwrap() < 1e-8, "jvp {ju:?} vs finite differences {fd:?}");
}

#[test]
fn jvp_and_vjp_reject_directions_of_the_wrong_shape() {
    let x = Tensor::ones(&[3, 2]);
    let err = jvp(g, &x, &Tensor::ones(&[6])).unwrap_err();
    assert!(matches!(err, AutodiffError::Tensor(TensorError::ShapeMismatch { op: "jvp", .. })), "{err}");
    assert!(err.to_string().contains("[3, 2]") && err.to_string().contains("[6]"), "{err}");
    let err = vjp(g, &x, &Tensor::ones(&[4, 2])).unwrap_err();
    assert_eq!(err, AutodiffError::SeedShape { op: "vjp", output: Shape::from_slice(&[2, 4]), seed: Shape::from_slice(&[4, 2]) });
}

#[test]
fn jvp_of_a_function_that_ignores_its_input_is_zero() {
    let (y, ju) = jvp(|t: &Tape<f64>, _x| Ok(t.constant(Tensor::ones(&[2]))), &Tensor::ones(&[3]), &Tensor::ones(&[3])).unwrap();
    assert_eq!((y.data(), ju.data()), (&[1.0, 1.0][..], &[0.0, 0.0][..]));
}

/// An Elman recurrence over a (T, 1, 2) input, outputs stacked (T, 1, 3);
/// with `leak`, step t also sees the input of step t + 1.
fn elman<'t>(t: &'t Tape<f64>, x: Var<'t, f64>, leak: bool) -> Result<Var<'t, f64>> {
    let mut rng = StdRng::seed_from_u64(3);
    let u = t.constant(Tensor::rand_uniform(&[2, 3], -1.0, 1.0, &mut rng));
    let w = t.constant(Tensor::rand_uniform(&[3, 3], -1.0, 1.0, &mut rng));
    let steps = x.shape()[0];
    let mut h = t.constant(Tensor::zeros(&[1, 3]));
    let mut out = Vec::new();
    for s in 0..steps {
        let mut xt = x.try_narrow(0, s, 1)?.try_reshape(&[1, 2])?;
        if leak && s + 1 < steps {
            xt = xt.try_add(x.try_narrow(0, s + 1, 1)?.try_reshape(&[1, 2])?.scale(1e-3))?;
        }
        h = xt.try_matmul(u)?.try_add(h.try_matmul(w)?)?.tanh();
        out.push(h.try_reshape(&[1, 1, 3])?);
    }
    Var::try_concat(&out, 0)
}

#[test]
fn causality_violation_finds_a_leak_of_the_next_input_and_nothing_in_a_causal_recurrence() {
    let x = Tensor::rand_uniform(&[4, 1, 2], -1.0, 1.0, &mut StdRng::seed_from_u64(4));
    assert_eq!(causality_violation(|t, x| elman(t, x, false), &x).unwrap(), None);
    let v = causality_violation(|t, x| elman(t, x, true), &x).unwrap().expect("the leak is found");
    assert_eq!((v.output_step, v.input_step), (0, 1));
    assert!(v.magnitude > 0.0 && v.magnitude < 1e-2, "{v}");
    assert!(v.to_string().contains("step 0") && v.to_string().contains("later step 1"), "{v}");
    // Reversing time makes the causal recurrence anti-causal: its first
    // output has seen only the last input.
    let v = causality_violation(|t, x| elman(t, x.try_index_select(0, &[3, 2, 1, 0])?, false), &x).unwrap();
    assert_eq!(v.map(|v| (v.output_step, v.input_step)), Some((0, 3)));
    let err = causality_violation(|_t, x| Ok(x.sum_all()), &x).unwrap_err();
    assert!(err.to_string().contains("time-major"), "{err}");
}

/// The seed notes' unrolled 3-step RNN, s_t = tanh(x_t·U + s_{t-1}·W),
/// ŷ_t = s_t·V, with a squared error E = Σ_t ‖ŷ_t - y_t‖² so that every
/// op is a primitive. Returns the tape's node count per step.
fn three_step_rnn(tape: &Tape<f64>) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(5);
    let u = tape.leaf_named("U", Tensor::rand_uniform(&[4, 3], -1.0, 1.0, &mut rng));
    let w = tape.leaf_named("W", Tensor::rand_uniform(&[3, 3], -1.0, 1.0, &mut rng));
    let v = tape.leaf_named("V", Tensor::rand_uniform(&[3, 4], -1.0, 1.0, &mut rng));
    let mut s = tape.constant(Tensor::zeros(&[1, 3]));
    let mut loss = tape.scalar(0.0);
    let mut per_step = Vec::new();
    for (t, (input, target)) in [(0, 1), (1, 2), (2, 2)].into_iter().enumerate() {
        let before = tape.len();
        tape.set_step(Some(t));
        let x = tape.constant(Tensor::one_hot(&[input], 4));
        s = (x.matmul(u) + s.matmul(w)).tanh();
        let err = s.matmul(v) - tape.constant(Tensor::one_hot(&[target], 4));
        loss = loss + err.square().sum_all();
        per_step.push(tape.len() - before);
    }
    tape.set_step(None);
    loss.set_name("E");
    per_step
}

#[test]
fn dot_of_an_unrolled_three_step_rnn_has_three_clusters_and_shared_parameters() {
    let tape = Tape::new();
    // Per step: 2 constants, 3 matmuls, add, tanh, sub, square, sum_all, add.
    assert_eq!(three_step_rnn(&tape), [11, 11, 11]);
    let dot = tape.to_dot(&DotOptions::default().title("3-step RNN"));
    assert!(dot.starts_with("digraph tape {") && dot.trim_end().ends_with('}'), "{dot}");
    assert!(dot.contains("label=\"3-step RNN\""), "{dot}");
    assert_eq!(dot.matches("subgraph cluster_step_").count(), 3, "{dot}");
    // Each cluster holds exactly the nodes recorded during its step.
    for t in 0..3 {
        let start = dot.find(&format!("subgraph cluster_step_{t} {{")).expect("cluster");
        let body = &dot[start..start + dot[start..].find("\n  }").expect("end of cluster")];
        assert_eq!(body.matches(" [label=").count(), 11, "step {t}:\n{body}");
        assert_eq!(body.matches("tanh\\n[1, 3]").count(), 1, "step {t}:\n{body}");
    }
    // Parameters appear once each, outside every cluster, in the parameter style.
    for name in ["U", "W", "V"] {
        let label = format!("[label=\"{name}\\n[");
        assert_eq!(dot.matches(&label).count(), 1, "{name}:\n{dot}");
        let line = dot.lines().find(|l| l.contains(&label)).unwrap();
        assert!(line.starts_with("  n") && line.contains("doubleoctagon"), "{line}");
    }
    assert!(dot.contains("E: add\\n[]"), "the named loss is labelled:\n{dot}");
    // The initial state and the 0 of the loss are constants outside any step, dimmed.
    assert_eq!(dot.matches("fontcolor=\"#a0a0a0\"").count(), 2 + 3 * 2, "{dot}");
    // One edge per input of each op: per step 2 + 2 + 2 + 1 + 2 + 2 + 1 + 1 + 2.
    assert_eq!(dot.lines().filter(|l| l.contains(" -> ")).count(), 3 * 15, "{dot}");
    // Without constants, no dimmed node and no edge from one.
    let lean = tape.to_dot(&DotOptions::default().constants(false));
    assert!(!lean.contains("#a0a0a0") && !lean.contains("style=dashed];"), "{lean}");
    assert_eq!(lean.lines().filter(|l| l.contains(" -> ")).count(), 3 * 15 - 3 * 2 - 2, "{lean}");
}

#[test]
fn dot_summarises_a_large_graph_by_step_with_op_counts() {
    let tape = Tape::<f64>::new();
    let w = tape.leaf_named("W", Tensor::rand_uniform(&[8, 8], -0.5, 0.5, &mut StdRng::seed_from_u64(6)));
    let mut h = tape.constant(Tensor::ones(&[2, 8]));
    for t in 0..60 {
        tape.set_step(Some(t));
        h = (h.matmul(w) + h).tanh();
    }
    tape.set_step(None);
    let _loss = h.sum_all();
    assert!(tape.len() > 150);
    let full = tape.to_dot(&DotOptions::default());
    assert_eq!(full.matches("subgraph cluster_step_").count(), 60);
    let dot = tape.to_dot(&DotOptions::default().max_nodes(150));
    assert!(dot.starts_with("digraph tape_summary {"), "{dot}");
    assert!(!dot.contains("cluster_step_") && dot.lines().count() < 200, "not a dump:\n{dot}");
    assert!(dot.contains(&format!("{} nodes (more than 150)", tape.len())), "{dot}");
    for t in 0..60 {
        let line = dot.lines().find(|l| l.trim_start().starts_with(&format!("step_{t} [label="))).expect("one box per step");
        assert!(line.contains(&format!("step {t}: 3 nodes")), "{line}");
        for op in ["matmul × 1", "add × 1", "tanh × 1"] {
            assert!(line.contains(op), "{op} in {line}");
        }
    }
    assert!(dot.contains("leaves: 1\\lW\\l"), "{dot}");
    assert!(dot.contains("outside [label=\"outside any step: 2 nodes\\lconstant × 1\\lsum_all × 1\\l\""), "{dot}");
    assert!(dot.contains("step_0 -> step_1 [label=\"2\"]"), "h feeds the next step's matmul and add:\n{dot}");
    assert!(dot.contains("leaves -> step_0 [label=\"1\"]") && dot.contains("step_59 -> outside [label=\"1\"]"), "{dot}");
}

#[test]
fn dot_escapes_quotes_and_backslashes_in_names() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf_named("a \"quoted\" \\ name", Tensor::ones(&[1]));
    let _y = x.exp();
    let dot = tape.to_dot(&DotOptions::default());
    assert!(dot.contains(r#"label="a \"quoted\" \\ name\n[1]""#), "{dot}");
}

#[test]
fn anomaly_mode_inside_a_jacobian_names_the_op_and_call_site() {
    let x = Tensor::from_vec(vec![1.0, -1.0], &[2]);
    // x / (2, 0): the second element is infinite.
    let err = jacobian(
        |t, x| {
            t.set_anomaly_detection(true);
            x.try_div(t.constant(Tensor::from_vec(vec![2.0, 0.0], &[2])))
        },
        &x,
    )
    .unwrap_err();
    let AutodiffError::NonFinite { op, phase, location, .. } = &err else { panic!("{err}") };
    assert_eq!((op.as_str(), *phase), ("div", "forward"));
    assert!(location.contains("research.rs"), "{err}");
}
