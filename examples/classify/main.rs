//! Many-to-one sequence classification where word order decides the label,
//! after the seed notes' "The food was good, not bad at all" (positive) vs
//! "The food was bad, not good at all" (negative).
//!
//! Sentences come in pairs with exactly the same words and opposite labels,
//! so a bag of words cannot tell them apart (it scores 50% by
//! construction); an LSTM reading the order can. The sentences have
//! different lengths and are padded in a batch, with their true `lengths`
//! passed to the layer, so each final state is taken at the sentence's own
//! end. Compares a unidirectional LSTM (final forward `h`), a bidirectional
//! one (forward and reverse final `h` concatenated) and the bag-of-words
//! baseline (mean of embeddings + linear) on held-out sentences.
//!
//! Run: `cargo run --release --example classify`

mod data;
mod model;

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tapegrad::prelude::*;

use data::{batch, sentence_pairs, Example, PROBES};
use model::{accuracy, p_positive, padding_effect, Classifier};

/// Sentiment from word order: unidirectional vs bidirectional LSTM vs a bag of words.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Args {
    /// Sentence pairs to generate (each pair: the same words, opposite labels).
    #[arg(long, default_value_t = 300)]
    pub pairs: usize,
    /// Fraction of the pairs held out for evaluation.
    #[arg(long, default_value_t = 0.25)]
    pub held_out: f64,
    /// Training epochs (passes over the training sentences).
    #[arg(long, default_value_t = 15)]
    pub epochs: usize,
    /// Embedding size.
    #[arg(long, default_value_t = 16)]
    pub embed: usize,
    /// Hidden units per direction.
    #[arg(long, default_value_t = 24)]
    pub hidden: usize,
    /// Sentences per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Seed of the data, the initialisation and the batches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Held-out accuracy of each model, and the data's sizes.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub train: usize,
    pub held_out: usize,
    /// Shortest and longest sentence, in tokens.
    pub lengths: (usize, usize),
    pub unidirectional: f64,
    pub bidirectional: f64,
    pub bag_of_words: f64,
    /// Largest logit change from padding a sentence in a batch (see [`model::padding_effect`]).
    pub padding_effect: f64,
    /// P(positive) of the notes' pair ("good, not bad" then "bad, not good") by LSTM, BiLSTM, bag of words.
    pub notes_pair: Vec<[f64; 3]>,
    pub seconds: f64,
}

/// Trains `model` with Adam and clipping for `args.epochs`; returns held-out accuracy.
fn fit<M: Classifier>(model: &mut M, train: &[&Example], test: &[&Example], args: &Args, name: &str) -> Result<f64, Box<dyn Error>> {
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
    let mut opt = Adam::try_new(args.lr)?; // a bad --lr is an error, not a panic
    let mut order: Vec<&Example> = train.to_vec();
    for epoch in 1..=args.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(args.batch) {
            let b = batch(chunk);
            let tape = Tape::new();
            let bind = Binding::new(&tape);
            let loss = cross_entropy(model.logits(&bind, &b)?, &b.labels, None, Reduction::Mean)?;
            let mut grads = bind.grads(&tape.backward(loss)?);
            // A NaN or infinite gradient norm: skip the step rather than spread it.
            if clip_grad_norm(&mut grads, 1.0).is_finite() {
                opt.step(model.params_mut(), &grads)?;
            }
            total += loss.value().item() as f64 * chunk.len() as f64;
        }
        if epoch <= 3 || epoch % 5 == 0 || epoch == args.epochs {
            let (tr, te) = (accuracy(model, train)?, accuracy(model, test)?);
            println!(
                "  {name:<16} epoch {epoch:3}: loss {:.4}  train {:5.1}%  held-out {:5.1}%",
                total / train.len() as f64,
                100.0 * tr,
                100.0 * te
            );
        }
    }
    Ok(accuracy(model, test)?)
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (mut pairs, probes, vocab) = sentence_pairs(args.pairs, &mut rng);
    pairs.shuffle(&mut rng);
    // Split by pair, so both halves of every pair land on the same side.
    let n_test = ((args.pairs as f64 * args.held_out).round() as usize).clamp(1, args.pairs.saturating_sub(1).max(1));
    let (test_pairs, train_pairs) = pairs.split_at(n_test);
    let flat = |p: &[[Example; 2]]| -> Vec<Example> { p.iter().flat_map(|pair| pair.iter().cloned()).collect() };
    let (train_set, test_set) = (flat(train_pairs), flat(test_pairs));
    let (train, test): (Vec<&Example>, Vec<&Example>) = (train_set.iter().collect(), test_set.iter().collect());
    let lens = train_set.iter().chain(&test_set).map(|e| e.0.len());
    let lengths = (lens.clone().min().unwrap_or(0), lens.max().unwrap_or(0));
    let show = |e: &Example| e.0.iter().map(|&i| vocab[i].as_str()).collect::<Vec<_>>().join(" ");
    println!(
        "{} training and {} held-out sentences, {}–{} tokens, vocabulary {}; e.g.\n  + \"{}\"\n  - \"{}\"",
        train.len(),
        test.len(),
        lengths.0,
        lengths.1,
        vocab.len(),
        show(&train_pairs[0][0]),
        show(&train_pairs[0][1])
    );
    let (v, e, h) = (vocab.len(), args.embed, args.hidden);
    let mut init = StdRng::seed_from_u64(args.seed + 1);
    let uni = (Embedding::new(v, e, &mut init), Rnn::spec(e, h).lstm(&mut init), Linear::new(h, 2, &mut init));
    let bi = (Embedding::new(v, e, &mut init), Rnn::spec(e, h).bidirectional(true).lstm(&mut init), Linear::new(2 * h, 2, &mut init));
    let bow = (Embedding::new(v, e, &mut init), Linear::new(e, 2, &mut init));
    let (mut uni, mut bi, mut bow) = (uni, bi, bow);
    let unidirectional = fit(&mut uni, &train, &test, args, "LSTM")?;
    let bidirectional = fit(&mut bi, &train, &test, args, "BiLSTM")?;
    let bag_of_words = fit(&mut bow, &train, &test, args, "bag of words")?;
    let probes: Vec<&Example> = probes.iter().collect();
    let (pu, pb, pw) = (p_positive(&uni, &probes)?, p_positive(&bi, &probes)?, p_positive(&bow, &probes)?);
    let notes_pair: Vec<[f64; 3]> = (0..PROBES.len()).map(|k| [pu[k], pb[k], pw[k]]).collect();
    let padding_effect = padding_effect(&bi, &test)?.max(padding_effect(&uni, &test)?);
    let seconds = start.elapsed().as_secs_f64();
    Ok(Summary {
        train: train.len(),
        held_out: test.len(),
        lengths,
        unidirectional,
        bidirectional,
        bag_of_words,
        padding_effect,
        notes_pair,
        seconds,
    })
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(s) => {
            println!("P(positive) on the seed notes' own pair:");
            for ((text, _), p) in PROBES.iter().zip(&s.notes_pair) {
                println!("  {text:<36} LSTM {:.3}  BiLSTM {:.3}  bag of words {:.3}", p[0], p[1], p[2]);
            }
            println!("held-out accuracy ({} sentences, chance 50%):", s.held_out);
            println!("  unidirectional LSTM   {:5.1}%", 100.0 * s.unidirectional);
            println!("  bidirectional LSTM    {:5.1}%", 100.0 * s.bidirectional);
            println!("  bag of words          {:5.1}%  (same words, opposite labels: order is all there is)", 100.0 * s.bag_of_words);
            println!(
                "{} training sentences of {}–{} tokens, padded per batch; padding moves no logit by more than {:.1e}; {:.1} s",
                s.train, s.lengths.0, s.lengths.1, s.padding_effect, s.seconds
            );
        }
        Err(e) => {
            eprintln!("classify: {e}");
            std::process::exit(1);
        }
    }
}
