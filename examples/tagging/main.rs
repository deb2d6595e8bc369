//! Many-to-many labelling where a word's tag depends on the words to its
//! RIGHT: names that are both people and places ("jordan", "paris",
//! "georgia", ...) are tagged PER or LOC by what follows them ("paris
//! smiled at us" vs "paris was flooded"); everything to their left is drawn
//! independently of the tag. A unidirectional layer must tag the name
//! before it has seen the evidence, so it can only guess (~50% on those
//! words); a bidirectional layer reads the rest of the sentence backwards
//! and gets them right.
//!
//! Each model is embedding → recurrent layer → linear head on every step of
//! `out.output` `(T, B, D·H)`, trained with cross-entropy whose ignore index
//! skips the padding of a ragged batch (passed to the layer as `lengths`).
//!
//! The BiLSTM-CRF puts a linear-chain [`Crf`] on the BiLSTM's per-step tag
//! scores: it is trained on the negative log-likelihood of each whole tag
//! sequence (the forward algorithm, differentiated by the tape) and decodes
//! with Viterbi, so it also learns which tag may follow which.
//!
//! Run: `cargo run --release --example tagging` (`--models bilstm,bilstm-crf`
//! for a subset)

mod data;
mod model;

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tapegrad::prelude::*;

use data::{batch, demo, sentence, vocabulary, Tagged, TAGS};
use model::{accuracy, Tags};

/// Tag names as people or places from their right context: uni- vs bidirectional GRU and LSTM, and a BiLSTM-CRF.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Args {
    /// Training sentences.
    #[arg(long, default_value_t = 800)]
    pub train: usize,
    /// Held-out sentences.
    #[arg(long, default_value_t = 200)]
    pub held_out: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 12)]
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
    /// Models to train, in this order: gru, bigru, lstm, bilstm, bilstm-crf.
    #[arg(long, value_delimiter = ',', default_value = "gru,bigru,lstm,bilstm,bilstm-crf")]
    pub models: Vec<String>,
}

/// Held-out per-token accuracy of one model.
#[derive(Debug, Clone)]
pub(crate) struct Score {
    pub model: String,
    /// Over every real (unpadded) token.
    pub all: f64,
    /// Over the ambiguous names only, whose tag only the right context decides.
    pub ambiguous: f64,
}

/// What a run measured: one [`Score`] per model asked for (GRU, BiGRU,
/// LSTM, BiLSTM, BiLSTM-CRF, in that order).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub scores: Vec<Score>,
    /// Held-out tokens, and how many of them are ambiguous names.
    pub tokens: (usize, usize),
    pub seconds: f64,
}

/// The models `--models` may name, in the order they run.
const MODELS: [&str; 5] = ["gru", "bigru", "lstm", "bilstm", "bilstm-crf"];

/// The sentences a tagger learns from, is scored on and shows its tags
/// of, and the words their ids stand for.
struct Sets<'a> {
    train: Vec<&'a Tagged>,
    test: Vec<&'a Tagged>,
    demo: Vec<&'a Tagged>,
    vocab: &'a [&'a str],
}

/// Trains a tagger; prints progress, then its tags of the demo sentences;
/// returns its held-out score.
fn fit<M: Tags>(mut m: M, name: &str, sets: &Sets, args: &Args) -> Result<Score, Box<dyn Error>> {
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x7a9);
    let mut opt = Adam::try_new(args.lr)?; // a bad --lr is an error, not a panic
    let mut order = sets.train.to_vec();
    for epoch in 1..=args.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(args.batch) {
            let tape = Tape::new();
            let bind = Binding::new(&tape);
            let loss = m.loss(&bind, &batch(chunk))?;
            let mut grads = bind.grads(&tape.backward(loss)?);
            // A NaN or infinite gradient norm: skip the step rather than spread it.
            if clip_grad_norm(&mut grads, 1.0).is_finite() {
                opt.step(m.params_mut(), &grads)?;
            }
        }
        if epoch % 4 == 0 || epoch == args.epochs {
            let (all, amb) = accuracy(&m, &sets.test)?;
            println!("  {name:<10} epoch {epoch:3}: held-out {:5.1}% of tokens, {:5.1}% of ambiguous names", 100.0 * all, 100.0 * amb);
        }
    }
    let vocab = sets.vocab;
    for (s, p) in sets.demo.iter().zip(m.predict(&sets.demo)?) {
        let words: Vec<String> =
            s.ids.iter().zip(&p).map(|(&i, &t)| if t == 0 { vocab[i].to_string() } else { format!("{}/{}", vocab[i], TAGS[t]) }).collect();
        println!("          {}", words.join(" "));
    }
    let (all, ambiguous) = accuracy(&m, &sets.test)?;
    Ok(Score { model: name.to_string(), all, ambiguous })
}

/// Whether `--models` names `model` (one of [`MODELS`]).
fn wanted(args: &Args, model: &str) -> bool {
    args.models.iter().any(|m| m == model)
}

/// The unidirectional, then the bidirectional tagger of one cell, whose
/// layer `layer` makes from a spec: both drawn from `init`, each trained
/// (and scored, as `names`) if `--models` names it (`MODELS[first]`,
/// `MODELS[first + 1]`).
fn uni_and_bi<C: Cell<f32>>(
    first: usize,
    names: [&str; 2],
    layer: impl Fn(RnnSpec, &mut StdRng) -> Rnn<C>,
    init: &mut StdRng,
    sets: &Sets,
    args: &Args,
) -> Result<Vec<Score>, Box<dyn Error>> {
    let (v, e, h) = (sets.vocab.len(), args.embed, args.hidden);
    let mut scores = Vec::new();
    for (k, bidir) in [(0, false), (1, true)] {
        let d = if bidir { 2 } else { 1 };
        let m = (Embedding::new(v, e, init), layer(Rnn::spec(e, h).bidirectional(bidir), init), Linear::new(d * h, TAGS.len(), init));
        if wanted(args, MODELS[first + k]) {
            scores.push(fit(m, names[k], sets, args)?);
        }
    }
    Ok(scores)
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    if let Some(bad) = args.models.iter().find(|m| !MODELS.contains(&m.as_str())) {
        return Err(format!("unknown model `{bad}` (known: {})", MODELS.join(", ")).into());
    }
    let start = Instant::now();
    let vocab = vocabulary();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let train_set: Vec<Tagged> = (0..args.train).map(|_| sentence(&vocab, &mut rng)).collect();
    let test_set: Vec<Tagged> = (0..args.held_out).map(|_| sentence(&vocab, &mut rng)).collect();
    let tokens = (test_set.iter().map(|s| s.ids.len()).sum(), test_set.iter().flat_map(|s| &s.ambiguous).filter(|&&a| a).count());
    let demo_set = demo(&vocab);
    let sets = Sets { train: train_set.iter().collect(), test: test_set.iter().collect(), demo: demo_set.iter().collect(), vocab: &vocab };
    println!(
        "{} training / {} held-out sentences; {} held-out tokens, {} of them ambiguous names; vocabulary {}",
        sets.train.len(),
        sets.test.len(),
        tokens.0,
        tokens.1,
        vocab.len()
    );
    let (v, e, h) = (vocab.len(), args.embed, args.hidden);
    // Every model is drawn from one initialisation stream in a fixed order,
    // whichever of them are trained, so each starts the same in any subset.
    let mut init = StdRng::seed_from_u64(args.seed + 1);
    let mut scores = uni_and_bi(0, ["GRU", "BiGRU"], |spec, r| spec.gru(r), &mut init, &sets, args)?;
    scores.extend(uni_and_bi(2, ["LSTM", "BiLSTM"], |spec, r| spec.lstm(r), &mut init, &sets, args)?);
    // A BiLSTM tagger of the same sizes with a CRF on its tag scores.
    let tagger =
        (Embedding::new(v, e, &mut init), Rnn::spec(e, h).bidirectional(true).lstm(&mut init), Linear::new(2 * h, TAGS.len(), &mut init));
    let crf = Crf::new(TAGS.len(), &mut init);
    if wanted(args, MODELS[4]) {
        scores.push(fit((tagger, crf), "BiLSTM-CRF", &sets, args)?);
    }
    Ok(Summary { scores, tokens, seconds: start.elapsed().as_secs_f64() })
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(s) => {
            println!("held-out per-token accuracy ({} tokens, {} ambiguous names):", s.tokens.0, s.tokens.1);
            println!("  model       all tokens  ambiguous names");
            for sc in &s.scores {
                println!("  {:<10}  {:9.1}%  {:14.1}%", sc.model, 100.0 * sc.all, 100.0 * sc.ambiguous);
            }
            println!(
                "(a unidirectional layer tags a name before it sees what follows: a coin flip on the ambiguous ones)  {:.1} s",
                s.seconds
            );
        }
        Err(e) => {
            eprintln!("tagging: {e}");
            std::process::exit(1);
        }
    }
}
