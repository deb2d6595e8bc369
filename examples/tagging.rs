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

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use tapegrad::prelude::*;

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

const TAGS: [&str; 3] = ["O", "PER", "LOC"];
/// The models `--models` may name, in the order they run.
const MODELS: [&str; 5] = ["gru", "bigru", "lstm", "bilstm", "bilstm-crf"];
/// Target of padded steps, skipped by the loss.
const PAD: usize = TAGS.len();
const AMBIGUOUS: &[&str] = &["jordan", "paris", "georgia", "florence", "sydney", "victoria", "chelsea", "austin", "savannah", "madison"];
const PEOPLE: &[&str] = &["alice", "omar", "mei", "carlos"];
const PLACES: &[&str] = &["london", "cairo", "lima", "oslo"];
const PERSON_DID: &[&str] = &["said hello", "smiled at us", "wrote a letter", "laughed", "sang", "called her mother", "won the race"];
const PLACE_WAS: &[&str] = &["was rainy", "is crowded", "has many parks", "was flooded", "is a big city", "has an old harbour"];
const BEFORE: &[&str] = &["", "", "yesterday", "last summer", "i heard that", "they say", "as usual"];

/// A sentence: token ids, tags, and which tokens are ambiguous names.
#[derive(Debug, Clone)]
struct Tagged {
    ids: Vec<usize>,
    tags: Vec<usize>,
    ambiguous: Vec<bool>,
}

/// Every word the generator can use (id 0 is padding).
fn vocabulary() -> Vec<&'static str> {
    let mut v = vec!["<pad>", "and", "."];
    for list in [AMBIGUOUS, PEOPLE, PLACES, PERSON_DID, PLACE_WAS, BEFORE] {
        for w in list.iter().flat_map(|p| p.split_whitespace()) {
            if !v.contains(&w) {
                v.push(w);
            }
        }
    }
    v
}

/// Tokenises `words` (which must be in `vocab`), tagging every token `tag`.
fn push(s: &mut Tagged, vocab: &[&str], words: &str, tag: usize, ambiguous: bool) {
    for w in words.split_whitespace() {
        s.ids.push(vocab.iter().position(|v| *v == w).expect("generated words are in the vocabulary"));
        s.tags.push(tag);
        s.ambiguous.push(ambiguous);
    }
}

/// One or two clauses "[before] NAME predicate", joined by "and".
fn sentence(vocab: &[&str], rng: &mut StdRng) -> Tagged {
    let mut s = Tagged { ids: vec![], tags: vec![], ambiguous: vec![] };
    for clause in 0..rng.random_range(1..=2) {
        if clause > 0 {
            push(&mut s, vocab, "and", 0, false);
        }
        push(&mut s, vocab, BEFORE.choose(rng).unwrap(), 0, false);
        let person = rng.random_bool(0.5);
        let (tag, known) = if person { (1, PEOPLE) } else { (2, PLACES) };
        let ambiguous = rng.random_bool(0.75);
        push(&mut s, vocab, if ambiguous { AMBIGUOUS } else { known }.choose(rng).unwrap(), tag, ambiguous);
        push(&mut s, vocab, if person { PERSON_DID } else { PLACE_WAS }.choose(rng).unwrap(), 0, false);
    }
    push(&mut s, vocab, ".", 0, false);
    s
}

/// Ids `(T, B)` time-major, lengths, and targets `(T·B)` with padding as [`PAD`].
fn batch(data: &[&Tagged]) -> (Vec<usize>, usize, Vec<usize>, Vec<usize>) {
    let steps = data.iter().map(|s| s.ids.len()).max().unwrap_or(1);
    let ids = (0..steps).flat_map(|t| data.iter().map(move |s| s.ids.get(t).copied().unwrap_or(0))).collect();
    let targets = (0..steps).flat_map(|t| data.iter().map(move |s| s.tags.get(t).copied().unwrap_or(PAD))).collect();
    (ids, steps, data.iter().map(|s| s.ids.len()).collect(), targets)
}

/// Embedding → recurrent layer → linear head at every step.
type Tagger<C> = (Embedding<f32>, Rnn<C>, Linear<f32>);

/// Tag scores `(T·B, 3)` for a batch, time-major.
fn logits<'t, C: Cell<f32>>(
    m: &Tagger<C>,
    bind: &Binding<'t, f32>,
    ids: &[usize],
    steps: usize,
    lengths: &[usize],
) -> Result<Var<'t, f32>, NnError> {
    let x = m.0.forward(bind, ids, &[steps, lengths.len()])?;
    let out = m.1.forward(bind, x, None, Some(lengths))?.output; // (T, B, D·H), zero at padding
    Ok(m.2.forward(bind, out)?.try_reshape(&[steps * lengths.len(), TAGS.len()])?)
}

/// A tagging model: its training loss on a batch, and its predictions.
trait Tags: Module<f32> {
    /// The loss of a batch (ids `(T, B)`, targets `(T·B)` with [`PAD`] at padding).
    fn loss<'t>(
        &self,
        bind: &Binding<'t, f32>,
        ids: &[usize],
        steps: usize,
        lengths: &[usize],
        targets: &[usize],
    ) -> Result<Var<'t, f32>, NnError>;
    /// Predicted tags of each sentence (no gradient).
    fn predict(&self, data: &[&Tagged]) -> Result<Vec<Vec<usize>>, NnError>;
}

/// Per-token cross-entropy; each token's most likely tag.
impl<C: Cell<f32>> Tags for Tagger<C> {
    fn loss<'t>(
        &self,
        bind: &Binding<'t, f32>,
        ids: &[usize],
        steps: usize,
        lengths: &[usize],
        targets: &[usize],
    ) -> Result<Var<'t, f32>, NnError> {
        cross_entropy(logits(self, bind, ids, steps, lengths)?, targets, Some(PAD), Reduction::Mean)
    }
    fn predict(&self, data: &[&Tagged]) -> Result<Vec<Vec<usize>>, NnError> {
        let (ids, steps, lengths, _) = batch(data);
        let tape = Tape::new();
        let pred = tape.no_grad(|| logits(self, &Binding::new(&tape), &ids, steps, &lengths))?.value().argmax(1);
        Ok((0..data.len()).map(|b| (0..lengths[b]).map(|t| pred[t * data.len() + b]).collect()).collect())
    }
}

/// A tagger's scores `(T, B, 3)` as a CRF's emissions: the sequence's NLL;
/// the Viterbi path.
impl<C: Cell<f32>> Tags for (Tagger<C>, Crf<f32>) {
    fn loss<'t>(
        &self,
        bind: &Binding<'t, f32>,
        ids: &[usize],
        steps: usize,
        lengths: &[usize],
        targets: &[usize],
    ) -> Result<Var<'t, f32>, NnError> {
        let emissions = logits(&self.0, bind, ids, steps, lengths)?.try_reshape(&[steps, lengths.len(), TAGS.len()])?;
        self.1.nll(bind, emissions, targets, Some(lengths), Reduction::Mean)
    }
    fn predict(&self, data: &[&Tagged]) -> Result<Vec<Vec<usize>>, NnError> {
        let (ids, steps, lengths, _) = batch(data);
        let tape = Tape::new();
        let emissions = tape.no_grad(|| logits(&self.0, &Binding::new(&tape), &ids, steps, &lengths))?.value();
        self.1.viterbi(&emissions.reshape(&[steps, data.len(), TAGS.len()]), Some(&lengths))
    }
}

/// Accuracy over all real tokens and over the ambiguous names.
fn accuracy<M: Tags>(m: &M, data: &[&Tagged]) -> Result<(f64, f64), NnError> {
    let (mut all, mut amb, mut n_amb, mut n) = (0, 0, 0, 0);
    for (s, p) in data.iter().zip(m.predict(data)?) {
        for ((&t, &a), q) in s.tags.iter().zip(&s.ambiguous).zip(p) {
            n += 1;
            all += usize::from(t == q);
            n_amb += usize::from(a);
            amb += usize::from(a && t == q);
        }
    }
    Ok((all as f64 / n as f64, amb as f64 / n_amb.max(1) as f64))
}

/// Trains a tagger; prints progress, then its tags of `demo`; returns its held-out score.
fn fit<M: Tags>(
    mut m: M,
    name: &str,
    train: &[&Tagged],
    test: &[&Tagged],
    demo: &[&Tagged],
    vocab: &[&str],
    args: &Args,
) -> Result<Score, Box<dyn Error>> {
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x7a9);
    let mut opt = Adam::try_new(args.lr)?; // a bad --lr is an error, not a panic
    let mut order = train.to_vec();
    for epoch in 1..=args.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(args.batch) {
            let (ids, steps, lengths, targets) = batch(chunk);
            let tape = Tape::new();
            let bind = Binding::new(&tape);
            let loss = m.loss(&bind, &ids, steps, &lengths, &targets)?;
            let mut grads = bind.grads(&tape.backward(loss)?);
            // A NaN or infinite gradient norm: skip the step rather than spread it.
            if clip_grad_norm(&mut grads, 1.0).is_finite() {
                opt.step(m.params_mut(), &grads)?;
            }
        }
        if epoch % 4 == 0 || epoch == args.epochs {
            let (all, amb) = accuracy(&m, test)?;
            println!("  {name:<10} epoch {epoch:3}: held-out {:5.1}% of tokens, {:5.1}% of ambiguous names", 100.0 * all, 100.0 * amb);
        }
    }
    for (s, p) in demo.iter().zip(m.predict(demo)?) {
        let words: Vec<String> =
            s.ids.iter().zip(&p).map(|(&i, &t)| if t == 0 { vocab[i].to_string() } else { format!("{}/{}", vocab[i], TAGS[t]) }).collect();
        println!("          {}", words.join(" "));
    }
    let (all, ambiguous) = accuracy(&m, test)?;
    Ok(Score { model: name.to_string(), all, ambiguous })
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
    let (train, test): (Vec<&Tagged>, Vec<&Tagged>) = (train_set.iter().collect(), test_set.iter().collect());
    let tokens = (test_set.iter().map(|s| s.ids.len()).sum(), test_set.iter().flat_map(|s| &s.ambiguous).filter(|&&a| a).count());
    // The same name, then evidence for each reading.
    let mut demo_set = Vec::new();
    for (tag, rest) in [(1, "smiled at us"), (2, "was flooded")] {
        let mut s = Tagged { ids: vec![], tags: vec![], ambiguous: vec![] };
        push(&mut s, &vocab, "yesterday", 0, false);
        push(&mut s, &vocab, "paris", tag, true);
        push(&mut s, &vocab, &format!("{rest} ."), 0, false);
        demo_set.push(s);
    }
    let demo: Vec<&Tagged> = demo_set.iter().collect();
    println!(
        "{} training / {} held-out sentences; {} held-out tokens, {} of them ambiguous names; vocabulary {}",
        train.len(),
        test.len(),
        tokens.0,
        tokens.1,
        vocab.len()
    );
    let (v, e, h) = (vocab.len(), args.embed, args.hidden);
    let wanted = |name: &str| args.models.iter().any(|m| m == name);
    // Every model is drawn from one initialisation stream in a fixed order,
    // whichever of them are trained, so each starts the same in any subset.
    let mut init = StdRng::seed_from_u64(args.seed + 1);
    let mut scores = Vec::new();
    for (i, bidir) in [(0, false), (1, true)] {
        let (d, name) = if bidir { (2, "BiGRU") } else { (1, "GRU") };
        let m = (
            Embedding::new(v, e, &mut init),
            Rnn::spec(e, h).bidirectional(bidir).gru(&mut init),
            Linear::new(d * h, TAGS.len(), &mut init),
        );
        if wanted(MODELS[i]) {
            scores.push(fit(m, name, &train, &test, &demo, &vocab, args)?);
        }
    }
    for (i, bidir) in [(2, false), (3, true)] {
        let (d, name) = if bidir { (2, "BiLSTM") } else { (1, "LSTM") };
        let m = (
            Embedding::new(v, e, &mut init),
            Rnn::spec(e, h).bidirectional(bidir).lstm(&mut init),
            Linear::new(d * h, TAGS.len(), &mut init),
        );
        if wanted(MODELS[i]) {
            scores.push(fit(m, name, &train, &test, &demo, &vocab, args)?);
        }
    }
    // A BiLSTM tagger of the same sizes with a CRF on its tag scores.
    let tagger =
        (Embedding::new(v, e, &mut init), Rnn::spec(e, h).bidirectional(true).lstm(&mut init), Linear::new(2 * h, TAGS.len(), &mut init));
    let crf = Crf::new(TAGS.len(), &mut init);
    if wanted(MODELS[4]) {
        scores.push(fit((tagger, crf), "BiLSTM-CRF", &train, &test, &demo, &vocab, args)?);
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
