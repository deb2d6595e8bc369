//! The linear-chain CRF against brute-force enumeration of every tag path,
//! its NLL gradcheck, padding, and errors.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad_autodiff::{check_fn, gradcheck, GradcheckOptions, Tape, Tensor};
use tapegrad_nn::{Binding, Crf, Module, NnError, Reduction};

const K: usize = 3;
const T: usize = 4;
/// A ragged batch: every length from 1 to 4.
const LENGTHS: [usize; 5] = [4, 2, 1, 3, 4];
const B: usize = LENGTHS.len();

fn crf(seed: u64) -> Crf<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let u = |shape: &[usize], rng: &mut StdRng| Tensor::rand_uniform(shape, -1.5, 1.5, rng);
    let (t, s, e) = (u(&[K, K], &mut rng), u(&[K], &mut rng), u(&[K], &mut rng));
    Crf::from_tensors(t, s, e).unwrap()
}

fn emissions(seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(&[T, B, K], -2.0, 2.0, &mut StdRng::seed_from_u64(seed))
}

/// The score of `path` of sequence `b`, by the definition.
fn path_score(crf: &Crf<f64>, em: &Tensor<f64>, b: usize, path: &[usize]) -> f64 {
    let (tr, st, en) = (crf.transitions.value().data(), crf.start.value().data(), crf.end.value().data());
    let mut s = st[path[0]] + en[path[path.len() - 1]];
    for (t, &y) in path.iter().enumerate() {
        s += em.data()[(t * B + b) * K + y];
        if t > 0 {
            s += tr[path[t - 1] * K + y];
        }
    }
    s
}

/// Every tag path of length `n`.
fn all_paths(n: usize) -> Vec<Vec<usize>> {
    (0..K.pow(n as u32)).map(|mut code| (0..n).map(|_| (code % K, code /= K).0).collect()).collect()
}

fn brute_log_partition(crf: &Crf<f64>, em: &Tensor<f64>, b: usize) -> f64 {
    let scores: Vec<f64> = all_paths(LENGTHS[b]).iter().map(|p| path_score(crf, em, b, p)).collect();
    let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + scores.iter().map(|s| (s - m).exp()).sum::<f64>().ln()
}

/// Random tags `(T·B)`, with `99` (out of range) at padded steps.
fn tags(seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..T * B).map(|i| if i / B < LENGTHS[i % B] { rng.random_range(0..K) } else { 99 }).collect()
}

#[test]
fn log_partition_equals_brute_force_enumeration_on_a_ragged_batch() {
    for seed in 0..5 {
        let (crf, em) = (crf(seed), emissions(100 + seed));
        let tape = Tape::new();
        let z = crf.log_partition(&Binding::new(&tape), tape.constant(em.clone()), Some(&LENGTHS)).unwrap().value();
        assert_eq!(z.shape(), &[B]);
        for b in 0..B {
            let want = brute_log_partition(&crf, &em, b);
            assert!((z.data()[b] - want).abs() < 1e-12, "seed {seed} sequence {b}: {} vs brute force {want}", z.data()[b]);
        }
    }
}

#[test]
fn path_score_equals_the_definition_and_probabilities_sum_to_one() {
    let (crf, em) = (crf(7), emissions(8));
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let tg = tags(9);
    let s = crf.score(&bind, tape.constant(em.clone()), &tg, Some(&LENGTHS)).unwrap().value();
    for b in 0..B {
        let path: Vec<usize> = (0..LENGTHS[b]).map(|t| tg[t * B + b]).collect();
        assert!((s.data()[b] - path_score(&crf, &em, b, &path)).abs() < 1e-12, "sequence {b}");
    }
    // exp(score - ln Z) over every path of sequence 3 (length 3) sums to 1.
    let z = crf.log_partition(&bind, tape.constant(em.clone()), Some(&LENGTHS)).unwrap().value();
    let total: f64 = all_paths(LENGTHS[3]).iter().map(|p| (path_score(&crf, &em, 3, p) - z.data()[3]).exp()).sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
}

#[test]
fn viterbi_finds_the_brute_force_best_path_of_each_sequence() {
    for seed in 0..5 {
        let (crf, em) = (crf(20 + seed), emissions(30 + seed));
        let best = crf.viterbi_with_scores(&em, Some(&LENGTHS)).unwrap();
        for (b, (path, score)) in best.iter().enumerate() {
            let brute =
                all_paths(LENGTHS[b]).into_iter().map(|p| (path_score(&crf, &em, b, &p), p)).max_by(|x, y| x.0.total_cmp(&y.0)).unwrap();
            assert_eq!(path, &brute.1, "seed {seed} sequence {b}");
            assert!((score - brute.0).abs() < 1e-12, "seed {seed} sequence {b}");
        }
        assert_eq!(crf.viterbi(&em, Some(&LENGTHS)).unwrap(), best.into_iter().map(|(p, _)| p).collect::<Vec<_>>());
    }
}

#[test]
fn crf_nll_passes_gradcheck_in_emissions_transitions_start_and_end() {
    let (crf, em, tg) = (crf(40), emissions(41), tags(42));
    let mut inputs: Vec<Tensor<f64>> = crf.params().iter().map(|(_, p)| p.value().clone()).collect();
    inputs.push(em);
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let f = check_fn(|tape, v| {
            let bind = Binding::new(tape);
            for ((_, p), var) in crf.params().iter().zip(v) {
                bind.try_bind(p, *var)?;
            }
            Ok(crf.nll(&bind, v[3], &tg, Some(&LENGTHS), reduction)?)
        });
        let opts = GradcheckOptions::default().names(&["transitions", "start", "end", "emissions"]);
        let report = gradcheck(f, &inputs, &opts).unwrap();
        assert!(report.passed(), "{reduction:?}: {report}");
    }
}

#[test]
fn padded_steps_have_no_effect_on_loss_decoding_or_gradient() {
    let (crf, tg) = (crf(50), tags(51));
    let em = emissions(52);
    let mut junk = em.clone();
    let mut other_tags = tg.clone();
    for t in 0..T {
        for b in 0..B {
            if t >= LENGTHS[b] {
                for k in 0..K {
                    junk.data_mut()[(t * B + b) * K + k] = if k == 0 { f64::NAN } else { 1e6 };
                }
                other_tags[t * B + b] = 0;
            }
        }
    }
    let run = |em: &Tensor<f64>, tg: &[usize]| {
        let tape = Tape::new();
        let x = tape.leaf(em.clone());
        let loss = crf.nll(&Binding::new(&tape), x, tg, Some(&LENGTHS), Reduction::Mean).unwrap();
        let g = tape.backward(loss).unwrap().get(x).unwrap().clone();
        (loss.value().item(), g)
    };
    let (l1, g1) = run(&em, &tg);
    let (l2, g2) = run(&junk, &other_tags);
    assert_eq!(l1, l2);
    assert_eq!(g1, g2);
    for t in 0..T {
        for b in 0..B {
            let cell = &g1.data()[(t * B + b) * K..(t * B + b + 1) * K];
            if t >= LENGTHS[b] {
                assert_eq!(cell, &[0.0; K], "gradient at padded step {t} of sequence {b}");
            }
        }
    }
    assert_eq!(crf.viterbi(&em, Some(&LENGTHS)).unwrap(), crf.viterbi(&junk, Some(&LENGTHS)).unwrap());
    // A batch of one sequence gives the same loss as its row in the batch.
    let tape = Tape::new();
    let one = em.narrow(1, 1, 1).narrow(0, 0, LENGTHS[1]);
    let alone = crf.nll(&Binding::new(&tape), tape.constant(one), &[tg[1], tg[B + 1]], None, Reduction::Sum).unwrap();
    let per_seq = |b: usize| {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let e = tape.constant(em.clone());
        let z = crf.log_partition(&bind, e, Some(&LENGTHS)).unwrap().value().data()[b];
        z - crf.score(&bind, e, &tg, Some(&LENGTHS)).unwrap().value().data()[b]
    };
    assert!((alone.value().item() - per_seq(1)).abs() < 1e-12);
}

#[test]
fn crf_rejects_bad_emissions_tags_and_lengths_with_typed_errors() {
    let crf = crf(60);
    let tape = Tape::<f64>::new();
    let bind = Binding::new(&tape);
    let em = tape.constant(emissions(61));
    let err = crf.log_partition(&bind, tape.constant(Tensor::zeros(&[T, B, 2])), None).unwrap_err();
    assert!(matches!(err, NnError::InputShape { op: "Crf", .. }) && err.to_string().contains("(T, B, 3)"), "{err}");
    let err = crf.nll(&bind, em, &[0; 7], Some(&LENGTHS), Reduction::Mean).unwrap_err();
    assert!(matches!(err, NnError::Target { .. }) && err.to_string().contains("7 tags"), "{err}");
    let mut bad = tags(62);
    bad[B + 3] = 3; // step 1 of sequence 3 (length 3): a real step
    let err = crf.score(&bind, em, &bad, Some(&LENGTHS)).unwrap_err();
    assert_eq!(err.to_string(), "Crf: tag 3 at step 1 of sequence 3 is out of range for 3 tags");
    let err = crf.viterbi(&emissions(61), Some(&[4, 2, 0, 3, 4])).unwrap_err();
    assert!(matches!(err, NnError::Lengths { .. }), "{err}");
    let err = crf.viterbi(&emissions(61), Some(&[4, 2, 5, 3, 4])).unwrap_err();
    assert!(matches!(err, NnError::Lengths { .. }), "{err}");
    let mut nan = emissions(61);
    nan.data_mut()[0] = f64::NAN;
    let err = crf.viterbi(&nan, Some(&LENGTHS)).unwrap_err();
    assert!(matches!(err, NnError::NonFinite { index: 0, .. }), "{err}");
    let mut diverged = crf.clone();
    diverged.transitions.data_mut()[4] = f64::NAN;
    let err = diverged.viterbi(&emissions(61), Some(&LENGTHS)).unwrap_err();
    assert_eq!(err.to_string(), "Crf::viterbi: parameter `transitions` [3, 3] is NaN at element 4");
    let err = crf.log_partition(&bind, tape.constant(Tensor::zeros(&[0, B, K])), None).unwrap_err();
    assert!(matches!(err, NnError::Empty { .. }), "{err}");
}
