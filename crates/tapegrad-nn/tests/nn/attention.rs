//! Attention (additive, dot, general): masking of padded source positions,
//! literal values, gradchecks including the mask, and errors.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{check_fn, gradcheck, GradcheckOptions, Tape, Tensor};
use tapegrad_nn::{Attention, Binding, Module, NnError};

const LENGTHS: [usize; 3] = [5, 2, 3];

/// The three kinds for queries of size 3 and encoder outputs of size 3
/// (dot needs them equal), with hidden size 4 for additive.
fn kinds(seed: u64) -> Vec<(&'static str, Attention<f64>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    vec![("additive", Attention::additive(3, 3, 4, &mut rng)), ("dot", Attention::dot()), ("general", Attention::general(3, 3, &mut rng))]
}

/// Encoder outputs `(5, 3, 3)` whose padding holds large junk values.
fn encoder(seed: u64) -> Tensor<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut enc = Tensor::rand_uniform(&[5, 3, 3], -1.0, 1.0, &mut rng);
    for t in 0..5 {
        for (b, &n) in LENGTHS.iter().enumerate() {
            if t >= n {
                for d in 0..3 {
                    enc.data_mut()[(t * 3 + b) * 3 + d] = 1e3 * (1.0 + d as f64);
                }
            }
        }
    }
    enc
}

#[test]
fn padded_source_positions_get_exactly_zero_weight() {
    for (name, att) in kinds(1) {
        for query_shape in [&[3usize, 3][..], &[2, 3, 3][..]] {
            let tape = Tape::new();
            let q = tape.constant(Tensor::rand_uniform(query_shape, -1.0, 1.0, &mut StdRng::seed_from_u64(2)));
            let out = att.forward(&Binding::new(&tape), q, tape.constant(encoder(3)), Some(&LENGTHS)).unwrap();
            let w = out.weights.value();
            let tq = if query_shape.len() == 2 { 1 } else { query_shape[0] };
            for (b, &n) in LENGTHS.iter().enumerate() {
                for i in 0..tq {
                    let row = &w.data()[(b * tq + i) * 5..(b * tq + i + 1) * 5];
                    assert!(row[n..].iter().all(|&x| x == 0.0), "{name}: sequence {b} row {row:?} not exactly 0 past {n}");
                    assert!(row[..n].iter().all(|&x| x > 0.0), "{name}: {row:?}");
                    assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{name}: {row:?}");
                }
            }
        }
    }
}

#[test]
fn what_padding_holds_changes_neither_weights_nor_context() {
    for (name, att) in kinds(4) {
        let run = |enc: Tensor<f64>| {
            let tape = Tape::new();
            let q = tape.constant(Tensor::rand_uniform(&[3, 3], -1.0, 1.0, &mut StdRng::seed_from_u64(5)));
            let out = att.forward(&Binding::new(&tape), q, tape.constant(enc), Some(&LENGTHS)).unwrap();
            (out.weights.value(), out.context.value())
        };
        let mut nan_padding = encoder(6);
        nan_padding.data_mut()[(4 * 3 + 1) * 3] = f64::NAN; // step 4 of sequence 1 (length 2)
        let (w1, c1) = run(encoder(6));
        let (w2, c2) = run(nan_padding);
        assert_eq!(w1, w2, "{name}");
        assert_eq!(c1, c2, "{name}");
        assert!(c1.all_finite(), "{name}");
    }
}

#[test]
fn dot_attention_matches_hand_computed_weights_and_context() {
    // Encoder outputs h0 = (1, 0), h1 = (0, 1), h2 padding; query (1, 0):
    // scores (1, 0), weights (e/(e+1), 1/(e+1)) = (0.7310585786300049,
    // 0.2689414213699951), context = weights (the h are unit vectors).
    let tape = Tape::<f64>::new();
    let enc = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 7.0, 7.0], &[3, 1, 2]));
    let q = tape.constant(Tensor::from_vec(vec![1.0, 0.0], &[1, 2]));
    let out = Attention::dot().forward(&Binding::new(&tape), q, enc, Some(&[2])).unwrap();
    let (w, c) = (out.weights.value(), out.context.value());
    assert_eq!(w.shape(), &[1, 3]);
    assert_eq!(c.shape(), &[1, 2]);
    for (got, want) in w.data().iter().zip([0.7310585786300049, 0.2689414213699951, 0.0]) {
        assert!((got - want).abs() < 1e-15, "{w:?}");
    }
    for (got, want) in c.data().iter().zip([0.7310585786300049, 0.2689414213699951]) {
        assert!((got - want).abs() < 1e-15, "{c:?}");
    }
}

#[test]
fn general_attention_with_identity_weight_is_dot_attention() {
    let mut att = Attention::<f64>::general(3, 3, &mut StdRng::seed_from_u64(0));
    att.params_mut()[0].1.try_set(Tensor::eye(3)).unwrap();
    let tape = Tape::new();
    let q = tape.constant(Tensor::rand_uniform(&[2, 3, 3], -1.0, 1.0, &mut StdRng::seed_from_u64(7)));
    let enc = tape.constant(encoder(8));
    let bind = Binding::new(&tape);
    let a = att.forward(&bind, q, enc, Some(&LENGTHS)).unwrap();
    let b = Attention::dot().forward(&bind, q, enc, Some(&LENGTHS)).unwrap();
    assert!(a.weights.value().max_abs_diff(&b.weights.value()).unwrap() < 1e-15);
    assert_eq!(a.context.shape().as_slice(), &[2, 3, 3]);
    assert_eq!(a.weights.shape().as_slice(), &[3, 2, 5]);
}

/// Gradchecks context and weights (a fixed random projection of both) with
/// respect to every parameter, the query and the encoder outputs.
fn check_kind(name: &str, att: &Attention<f64>, query_shape: &[usize]) {
    let mut rng = StdRng::seed_from_u64(9);
    let mut inputs: Vec<Tensor<f64>> = att.params().iter().map(|(_, p)| p.value().clone()).collect();
    let np = inputs.len();
    inputs.push(Tensor::rand_uniform(query_shape, -1.0, 1.0, &mut rng));
    inputs.push(encoder(10));
    let f = check_fn(|tape, v| {
        let bind = Binding::new(tape);
        for ((_, p), var) in att.params().iter().zip(v) {
            bind.try_bind(p, *var)?;
        }
        let out = att.forward(&bind, v[np], v[np + 1], Some(&LENGTHS))?;
        let (c, w) = (out.context.flatten(), out.weights.flatten());
        let pc = Tensor::rand_uniform(&c.shape(), -1.0, 1.0, &mut StdRng::seed_from_u64(11));
        let pw = Tensor::rand_uniform(&w.shape(), -1.0, 1.0, &mut StdRng::seed_from_u64(12));
        c.try_mul(tape.constant(pc))?.sum_all().try_add(w.try_mul(tape.constant(pw))?.sum_all())
    });
    let report = gradcheck(f, &inputs, &GradcheckOptions::default()).unwrap();
    assert!(report.passed(), "{name} {query_shape:?}: {report}");
    // The tape's gradient at padded encoder positions is exactly zero.
    let tape = Tape::new();
    let vars: Vec<_> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
    let g = tape.backward(f(&tape, &vars).unwrap()).unwrap();
    let ge = g.get(vars[np + 1]).unwrap();
    for t in 0..5 {
        for (b, &n) in LENGTHS.iter().enumerate() {
            let cell = &ge.data()[(t * 3 + b) * 3..(t * 3 + b + 1) * 3];
            if t >= n {
                assert_eq!(cell, &[0.0, 0.0, 0.0], "{name}: gradient at padded step {t} of sequence {b}");
            } else {
                assert!(cell.iter().any(|&x| x != 0.0), "{name}: no gradient at real step {t} of sequence {b}");
            }
        }
    }
}

#[test]
fn every_attention_kind_passes_gradcheck_and_padding_gets_zero_gradient() {
    for (name, att) in kinds(13) {
        check_kind(name, &att, &[3, 3]);
        check_kind(name, &att, &[2, 3, 3]);
    }
}

#[test]
fn attention_rejects_bad_shapes_and_lengths_with_typed_errors() {
    let tape = Tape::<f64>::new();
    let bind = Binding::new(&tape);
    let enc = tape.constant(Tensor::zeros(&[5, 3, 3]));
    let att = Attention::additive(3, 3, 4, &mut StdRng::seed_from_u64(0));
    let q = tape.constant(Tensor::zeros(&[3, 3]));
    let err = att.forward(&bind, tape.constant(Tensor::zeros(&[3, 2])), enc, None).unwrap_err();
    assert!(matches!(err, NnError::InputShape { op: "Attention", .. }), "{err}");
    assert!(err.to_string().contains("(3, 3)") && err.to_string().contains("[3, 2]"), "{err}");
    let err = att.forward(&bind, q, tape.constant(Tensor::zeros(&[5, 3, 4])), None).unwrap_err();
    assert!(err.to_string().contains("(S, B, 3)") && err.to_string().contains("[5, 3, 4]"), "{err}");
    let err = Attention::dot().forward(&bind, tape.constant(Tensor::zeros(&[3, 2])), enc, None).unwrap_err();
    assert!(matches!(err, NnError::InputShape { .. }), "{err}");
    for (lengths, why) in [(&[5, 0, 1][..], "zero"), (&[5, 6, 1][..], "longer"), (&[5, 1][..], "one length per sequence")] {
        let err = att.forward(&bind, q, enc, Some(lengths)).unwrap_err();
        assert!(matches!(err, NnError::Lengths { .. }) && err.to_string().contains(why), "{err}");
    }
    let err = att.forward(&bind, q, tape.constant(Tensor::zeros(&[0, 3, 3])), None).unwrap_err();
    assert!(matches!(err, NnError::Empty { .. }), "{err}");
    let mut bad = Tensor::zeros(&[5, 3, 3]);
    bad.data_mut()[4] = f64::INFINITY; // step 0, sequence 1: a real position
    let err = att.forward(&bind, q, tape.constant(bad), Some(&[5, 1, 1])).unwrap_err();
    assert!(matches!(err, NnError::NonFinite { index: 4, .. }), "{err}");
}
