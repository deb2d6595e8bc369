//! The encoder–decoder: gradchecks of the teacher-forced loss (with each
//! attention and without) over padded sources and targets, exact zeros at
//! padded decoder steps, greedy against beam search (width 1 equal, an
//! exhaustive beam against brute force), eos handling, the length
//! penalty, and errors.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{check_fn, gradcheck, GradcheckOptions, Tape, Tensor};
use tapegrad_nn::{AttentionKind, BeamOptions, Binding, Decoded, Module, NnError, Reduction, Seq2Seq};

const KINDS: [AttentionKind; 4] = [AttentionKind::None, AttentionKind::Additive, AttentionKind::Dot, AttentionKind::General];

/// A small model: 6 source tokens, 5 target tokens (bos 0, eos 1).
fn model(kind: AttentionKind, seed: u64) -> Seq2Seq<f64> {
    Seq2Seq::spec(6, 5).embed(3).hidden(2).attention(kind).build(&mut StdRng::seed_from_u64(seed))
}

/// `-ln p(target, eos | source)` under `m`.
fn nll(m: &Seq2Seq<f64>, source: &[usize], target: &[usize]) -> f64 {
    let tape = Tape::new();
    m.loss(&Binding::new(&tape), &[source], &[target], Reduction::Sum).unwrap().value().item()
}

#[test]
fn teacher_forced_loss_passes_gradcheck_with_each_attention_and_without_over_padded_batches() {
    // Sources of lengths 3, 1, 2 and targets of 2, 0 and 3 tokens: both
    // sides padded, one target only `eos`.
    let sources: [&[usize]; 3] = [&[2, 3, 4], &[5], &[1, 0]];
    let targets: [&[usize]; 3] = [&[2, 3], &[], &[4, 4, 2]];
    for kind in KINDS {
        let m = Seq2Seq::spec(6, 5).embed(2).hidden(2).attention(kind).build::<f64, _>(&mut StdRng::seed_from_u64(3));
        let named = m.params();
        let inputs: Vec<Tensor<f64>> = named.iter().map(|(_, p)| p.value().clone()).collect();
        let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
        let f = check_fn(|tape, v| {
            let bind = Binding::new(tape);
            for ((_, p), var) in m.params().iter().zip(v) {
                bind.try_bind(p, *var)?;
            }
            Ok(m.loss(&bind, &sources, &targets, Reduction::Mean)?)
        });
        let report = gradcheck(f, &inputs, &GradcheckOptions::default().names(&names)).unwrap();
        assert!(report.passed(), "{kind:?}: {report}");
        assert_eq!(names.iter().any(|n| n.starts_with("attention.")), matches!(kind, AttentionKind::Additive | AttentionKind::General));
    }
}

#[test]
fn padded_decoder_steps_get_exactly_zero_gradient_and_add_nothing_to_the_loss() {
    let sources: [&[usize]; 2] = [&[2, 3, 4, 5], &[4]];
    let targets: [&[usize]; 2] = [&[3], &[2, 4, 2, 3]];
    for kind in KINDS {
        let m = model(kind, 5);
        let tape = Tape::new();
        let mut tf = m.forward(&Binding::new(&tape), &sources, &targets).unwrap();
        let logits = tape.leaf(tf.logits.value()); // (5, 2, 5)
        tf.logits = logits;
        let g = tape.backward(tf.loss(Reduction::Sum).unwrap()).unwrap();
        let g = g.get(logits).unwrap();
        for t in 0..5 {
            for (b, &n) in tf.lengths.iter().enumerate() {
                let row = &g.data()[(t * 2 + b) * 5..(t * 2 + b + 1) * 5];
                if t >= n {
                    assert_eq!(row, &[0.0; 5], "{kind:?}: gradient at padded step {t} of sequence {b}");
                } else {
                    assert!(row.iter().all(|&x| x != 0.0), "{kind:?}: {row:?} at real step {t} of sequence {b}");
                }
            }
        }
        // The padded batch's summed loss and gradients are those of each
        // pair alone, added.
        let grads = |src: &[&[usize]], tgt: &[&[usize]]| {
            let tape = Tape::new();
            let bind = Binding::new(&tape);
            let loss = m.loss(&bind, src, tgt, Reduction::Sum).unwrap();
            let g = bind.grads(&tape.backward(loss).unwrap());
            let flat: Vec<f64> =
                m.params().iter().flat_map(|(_, p)| g.get(p).map_or(vec![0.0; p.value().numel()], |t| t.data().to_vec())).collect();
            (loss.value().item(), flat)
        };
        let (both, g_both) = grads(&sources, &targets);
        let (a, g_a) = grads(&sources[..1], &targets[..1]);
        let (b, g_b) = grads(&sources[1..], &targets[1..]);
        assert!((both - (a + b)).abs() < 1e-12, "{kind:?}: {both} vs {a} + {b}");
        let worst = g_both.iter().zip(g_a.iter().zip(&g_b)).map(|(x, (y, z))| (x - (y + z)).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-12, "{kind:?}: gradients differ by {worst}");
    }
}

/// Every `Decoded` field of `a` and `b` equal, the numbers within 1e-12.
fn assert_same(a: &Decoded<f64>, b: &Decoded<f64>, what: &str) {
    assert_eq!((&a.tokens, a.finished), (&b.tokens, b.finished), "{what}");
    assert!((a.log_prob - b.log_prob).abs() < 1e-12 && (a.score - b.score).abs() < 1e-12, "{what}: {a:?} vs {b:?}");
    match (&a.attention, &b.attention) {
        (Some(x), Some(y)) => assert!(x.max_abs_diff(y).unwrap() < 1e-12, "{what}"),
        (x, y) => assert_eq!(x.is_none(), y.is_none(), "{what}"),
    }
}

#[test]
fn beam_search_of_width_one_is_greedy_decoding() {
    let sources: [&[usize]; 4] = [&[2, 3, 4], &[5], &[1, 0, 3, 3, 2], &[4, 4]];
    for kind in KINDS {
        for seed in 0..6 {
            let m = model(kind, 100 + seed);
            let greedy = m.greedy(&sources, 7).unwrap();
            let beam = m.beam_search(&sources, &BeamOptions::default().width(1).max_len(7)).unwrap();
            for (i, (g, b)) in greedy.iter().zip(&beam).enumerate() {
                assert_same(g, b, &format!("{kind:?}, seed {seed}, source {i}"));
                assert_eq!(g.score, g.log_prob);
                if g.finished {
                    // Decoding and teacher forcing agree on the likelihood.
                    assert!((g.log_prob + nll(&m, sources[i], &g.tokens)).abs() < 1e-12, "{kind:?}: {g:?}");
                } else {
                    assert_eq!(g.tokens.len(), 7);
                }
                if let Some(w) = &g.attention {
                    assert_eq!(w.shape(), &[g.tokens.len() + usize::from(g.finished), sources[i].len()]);
                    for row in w.data().chunks(sources[i].len()) {
                        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12 && row.iter().all(|&x| x > 0.0), "{row:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn wider_beams_score_at_least_greedy_on_random_models() {
    // Not a theorem for any width (a beam can drop greedy's prefix), but
    // what beam search is for: checked on 60 random models and sources
    // with no length penalty, and for the finished ones the log-probability
    // recomputed by teacher forcing.
    let sources: [&[usize]; 3] = [&[2, 3, 4], &[5, 1], &[1, 0, 3, 3, 2]];
    let (mut better, mut total) = (0, 0);
    for kind in [AttentionKind::None, AttentionKind::Additive] {
        for seed in 0..10 {
            let m = model(kind, 200 + seed);
            let greedy = m.greedy(&sources, 6).unwrap();
            let beam = m.beam_search(&sources, &BeamOptions::default().width(4).max_len(6)).unwrap();
            for (i, (g, b)) in greedy.iter().zip(&beam).enumerate() {
                assert!(b.log_prob >= g.log_prob - 1e-12, "{kind:?}, seed {seed}, source {i}: beam {b:?} below greedy {g:?}");
                assert_eq!(b.score, b.log_prob);
                assert!(!b.tokens.contains(&m.eos()), "a finished hypothesis was extended: {b:?}");
                if b.finished {
                    assert!((b.log_prob + nll(&m, sources[i], &b.tokens)).abs() < 1e-12);
                }
                better += usize::from(b.log_prob > g.log_prob + 1e-12);
                total += 1;
            }
        }
    }
    assert!(better > 0, "beam never beat greedy in {total} decodes: the test shows nothing");
}

/// Every target of `alphabet` tokens up to `max_len` decoder steps with its
/// log-probability by teacher forcing: finished ones (tokens + eos within
/// `max_len` steps) and unfinished ones of exactly `max_len` tokens.
fn every_sequence(m: &Seq2Seq<f64>, source: &[usize], alphabet: &[usize], max_len: usize) -> Vec<(Vec<usize>, bool, f64)> {
    let mut all = vec![];
    let mut prefixes: Vec<Vec<usize>> = vec![vec![]];
    for len in 0..=max_len {
        for y in &prefixes {
            let tape = Tape::new();
            let tf = m.forward(&Binding::new(&tape), &[source], &[y.as_slice()]).unwrap();
            let with_eos = -tf.loss(Reduction::Sum).unwrap().value().item();
            if len < max_len {
                all.push((y.clone(), true, with_eos));
            } else {
                // Drop the last step's eos term: ln p(y) = ln p(y, eos) - ln p(eos | y).
                let last = tf.logits.value().narrow(0, len, 1).reshape(&[1, 5]).log_softmax(1);
                all.push((y.clone(), false, with_eos - last.data()[m.eos()]));
            }
        }
        prefixes = prefixes.iter().flat_map(|p| alphabet.iter().map(move |&a| [p.as_slice(), &[a]].concat())).collect();
    }
    all
}

#[test]
fn an_exhaustive_beam_finds_the_most_probable_sequence_by_brute_force() {
    // Targets over 5 tokens with eos = 1: 4 others. With max_len 3 there
    // are 1 + 4 + 16 finished sequences and 64 unfinished ones; a width of
    // 200 keeps every hypothesis, so the beam is an exact search.
    let alphabet = [0, 2, 3, 4];
    for kind in [AttentionKind::None, AttentionKind::Dot] {
        let m = model(kind, 300);
        let source = [2, 3, 4];
        let all = every_sequence(&m, &source, &alphabet, 3);
        assert_eq!(all.len(), 85);
        for alpha in [0.0, 1.5] {
            let opts = BeamOptions::default().width(200).max_len(3).length_penalty(alpha);
            let best = &m.beam_search(&[&source], &opts).unwrap()[0];
            let score = |y: &[usize], finished: bool, lp: f64| lp / ((5.0 + (y.len() + usize::from(finished)) as f64) / 6.0).powf(alpha);
            let (y, finished, lp) = all.iter().max_by(|a, b| score(&a.0, a.1, a.2).total_cmp(&score(&b.0, b.1, b.2))).unwrap();
            assert_eq!((&best.tokens, best.finished), (y, *finished), "{kind:?}, alpha {alpha}");
            assert!((best.log_prob - lp).abs() < 1e-12 && (best.score - score(y, *finished, *lp)).abs() < 1e-12, "{best:?}");
        }
    }
}

/// `m` with the output bias of `eos` set to `value`.
fn eos_bias(mut m: Seq2Seq<f64>, value: f64) -> Seq2Seq<f64> {
    let eos = m.eos();
    m.output.bias.data_mut()[eos] = value;
    m
}

#[test]
fn hypotheses_ending_in_eos_are_finished_and_never_extended() {
    for kind in [AttentionKind::None, AttentionKind::Additive] {
        // eos almost certain at every step: the empty output, finished.
        let m = eos_bias(model(kind, 7), 60.0);
        let greedy = &m.greedy(&[[2, 3]], 5).unwrap()[0];
        let beam = &m.beam_search(&[[2, 3]], &BeamOptions::default().width(3).max_len(5)).unwrap()[0];
        for d in [greedy, beam] {
            assert_eq!((d.tokens.as_slice(), d.finished), (&[][..], true), "{kind:?}");
            assert!(d.log_prob <= 0.0 && d.log_prob > -1e-20, "{d:?}");
            assert_eq!(d.attention.as_ref().map(|w| w.shape().to_vec()), (kind != AttentionKind::None).then(|| vec![1, 2]));
        }
        // eos impossible in practice: every hypothesis runs to max_len.
        let m = eos_bias(model(kind, 7), -60.0);
        for d in
            m.greedy(&[[2, 3]], 4).unwrap().iter().chain(&m.beam_search(&[[2, 3]], &BeamOptions::default().width(3).max_len(4)).unwrap())
        {
            assert_eq!((d.tokens.len(), d.finished), (4, false), "{kind:?}");
            assert!(!d.tokens.contains(&m.eos()));
        }
    }
}

#[test]
fn length_penalty_is_gnmt_and_favours_longer_outputs() {
    // The penalty only ranks finished hypotheses, so both searches see the
    // same hypotheses; then the penalised best is never shorter than the
    // unpenalised one, nor more probable (if it were shorter and less
    // probable, dividing by its smaller penalty could not lift it).
    let sources: [&[usize]; 3] = [&[2, 3, 4], &[5, 1], &[1, 0, 3, 3, 2]];
    let m = model(AttentionKind::Additive, 9);
    let plain = m.beam_search(&sources, &BeamOptions::default().width(4).max_len(8)).unwrap();
    let long = m.beam_search(&sources, &BeamOptions::default().width(4).max_len(8).length_penalty(4.0)).unwrap();
    for (p, l) in plain.iter().zip(&long) {
        let n = (l.tokens.len() + usize::from(l.finished)) as f64;
        assert_eq!(l.score, l.log_prob / ((5.0 + n) / 6.0).powf(4.0), "{l:?}");
        assert!(l.tokens.len() >= p.tokens.len(), "{p:?} vs {l:?}");
        assert!(l.log_prob <= p.log_prob, "{p:?} vs {l:?}");
    }
    assert!(plain.iter().zip(&long).any(|(p, l)| l.tokens.len() > p.tokens.len()), "{plain:?} {long:?}");
}

#[test]
fn bad_tokens_lengths_and_options_are_typed_errors() {
    let m = model(AttentionKind::Additive, 11);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let err = m.loss(&bind, &[vec![2, 6]], &[vec![1]], Reduction::Mean).unwrap_err();
    assert_eq!(err, NnError::TokenId { op: "Seq2Seq::forward", what: "source", sequence: 0, position: 1, id: 6, vocab: 6 });
    assert!(err.to_string().contains("source sequence 0 has token 6 at position 1, outside the vocabulary of 6"), "{err}");
    let err = m.loss(&bind, &[vec![2], vec![3]], &[vec![1], vec![0, 4, 5]], Reduction::Mean).unwrap_err();
    assert!(matches!(err, NnError::TokenId { what: "target", sequence: 1, position: 2, id: 5, vocab: 5, .. }), "{err}");
    let err = m.loss(&bind, &[vec![2], vec![]], &[vec![1], vec![2]], Reduction::Mean).unwrap_err();
    assert!(matches!(&err, NnError::Lengths { lengths, why: "an empty source sequence", .. } if lengths == &[1, 0]), "{err}");
    let err = m.loss(&bind, &[vec![2], vec![3]], &[vec![1]], Reduction::Mean).unwrap_err();
    assert!(matches!(err, NnError::Lengths { why: "one target sequence per source is needed", .. }), "{err}");
    let none: [Vec<usize>; 0] = [];
    assert!(matches!(m.loss(&bind, &none, &none, Reduction::Mean), Err(NnError::Empty { what: "the batch", .. })));
    assert!(matches!(m.greedy(&[vec![9]], 3), Err(NnError::TokenId { op: "Seq2Seq::greedy", id: 9, .. })));
    assert!(matches!(m.beam_search(&none, &BeamOptions::default()), Err(NnError::Empty { op: "Seq2Seq::beam_search", .. })));
    for (opts, name) in [
        (BeamOptions::default().width(0), "width"),
        (BeamOptions::default().max_len(0), "max_len"),
        (BeamOptions::default().length_penalty(-0.5), "length_penalty"),
        (BeamOptions::default().length_penalty(f64::NAN), "length_penalty"),
    ] {
        let err = m.beam_search(&[vec![2]], &opts).unwrap_err();
        assert!(matches!(err, NnError::Hyperparameter { op: "Seq2Seq::beam_search", name: n, .. } if n == name), "{err}");
    }
    assert!(matches!(m.greedy(&[vec![2]], 0), Err(NnError::Hyperparameter { op: "Seq2Seq::greedy", name: "max_len", .. })));
    let mut rng = StdRng::seed_from_u64(0);
    for (spec, message) in [
        (Seq2Seq::spec(6, 5).eos(5), "eos = 5 is outside the target vocabulary of 5"),
        (Seq2Seq::spec(6, 5).bos(1), "bos and eos are both 1"),
        (Seq2Seq::spec(6, 5).hidden(0), "hidden is zero"),
        (Seq2Seq::spec(0, 5), "source_vocab is zero"),
    ] {
        let err = spec.try_build::<f64, _>(&mut rng).unwrap_err();
        assert_eq!(err, NnError::Config { op: "Seq2Seq::spec", message: message.into() });
        let panic = std::panic::catch_unwind(|| spec.build::<f64, _>(&mut StdRng::seed_from_u64(0))).unwrap_err();
        assert_eq!(panic.downcast_ref::<String>().map(String::as_str), Some(err.to_string().as_str()));
    }
}
