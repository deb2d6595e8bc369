//! Sequence to sequence with attention: date intervals, each date written
//! one of five ways ("3 march 2021", "march 3, 2021", "03/03/2021",
//! "3 mar 2021", "3.3.21"), rewritten character by character as ISO 8601
//! intervals: "3.3.21 to april 5, 1999" → "2021-03-03/1999-04-05"
//! (`--dates 1` for single dates).
//!
//! Two encoder–decoders of the same sizes are trained with teacher forcing
//! on the same data: one with attention (by default Luong's dot score;
//! `--attention additive` for Bahdanau's), and the baseline without, whose
//! decoder sees only a fixed summary of the source (the encoder's final
//! states). Each is scored on held-out intervals (source texts never seen
//! in training) by exact match of the whole output, decoded greedily and
//! by beam search. One attention matrix is written as an SVG (rows: output
//! characters, columns: source characters) to `--out`.
//!
//! Run: `cargo run --release --example translate` (`-- --help` for options).

mod data;
mod plot;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tapegrad::nn::{AttentionKind, BeamOptions, Decoded, Seq2Seq};
use tapegrad::prelude::*;

use data::{pairs, Pair, Vocab, BOS, EOS};

/// Rewrite dates as ISO 8601 with an encoder–decoder, with attention and without.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Args {
    /// Training pairs.
    #[arg(long, default_value_t = 8000)]
    pub train: usize,
    /// Held-out pairs (source texts not in training).
    #[arg(long, default_value_t = 500)]
    pub held_out: usize,
    /// Dates per example: 1 (a date) or 2 (an interval, "<date> to <date>" to "<date>/<date>").
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub dates: u8,
    /// Training epochs.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Character embedding size.
    #[arg(long, default_value_t = 16)]
    pub embed: usize,
    /// Encoder hidden units per direction (the decoder has twice as many).
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Pairs per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// The attention model's score.
    #[arg(long, value_enum, default_value_t = Score::Dot)]
    pub attention: Score,
    /// Beam width of the beam-search decoding.
    #[arg(long, default_value_t = 4)]
    pub beam: usize,
    /// GNMT length-penalty exponent of the beam search (0: plain log-probability).
    #[arg(long, default_value_t = 0.0)]
    pub length_penalty: f64,
    /// Directory for the attention-matrix SVG.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Seed of the data, the initialisation and the batches.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No progress lines, no examples.
    #[arg(long)]
    pub quiet: bool,
}

/// The attention model's score function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Score {
    Additive,
    Dot,
    General,
}

/// Held-out exact-match accuracy of one model.
#[derive(Debug, Clone)]
pub(crate) struct ModelScore {
    pub model: String,
    /// Greedy decoding.
    pub greedy: f64,
    /// Beam search of width `--beam`.
    pub beam: f64,
    /// Held-out pairs where beam search found a more probable output than greedy.
    pub beam_more_probable: usize,
    /// Training time.
    pub seconds: f64,
}

/// What a run measured: the attention model, then the baseline.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub attention: ModelScore,
    pub baseline: ModelScore,
    pub held_out: usize,
    /// The attention-matrix SVG written.
    pub svg: PathBuf,
    pub seconds: f64,
}

/// Decoder steps at most: two ISO dates, `/` and `eos`.
const MAX_LEN: usize = 24;

/// Exact-match accuracy of `decoded` against the pairs' targets.
fn exact(decoded: &[Decoded<f32>], test: &[Pair]) -> f64 {
    decoded.iter().zip(test).filter(|(d, p)| d.finished && d.tokens == p.target).count() as f64 / test.len().max(1) as f64
}

/// Trains `m` on `train` with teacher forcing; prints held-out greedy
/// accuracy after each epoch unless quiet.
fn fit(m: &mut Seq2Seq<f32>, name: &str, train: &[Pair], test: &[Pair], args: &Args) -> Result<f64, Box<dyn Error>> {
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5e95);
    let mut opt = Adam::try_new(args.lr)?;
    let mut order: Vec<&Pair> = train.iter().collect();
    for epoch in 1..=args.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(args.batch.max(1)) {
            let sources: Vec<&[usize]> = chunk.iter().map(|p| p.source.as_slice()).collect();
            let targets: Vec<&[usize]> = chunk.iter().map(|p| p.target.as_slice()).collect();
            let tape = Tape::new();
            let bind = Binding::new(&tape);
            let loss = m.loss(&bind, &sources, &targets, Reduction::Mean)?;
            total += loss.value().item() as f64 * chunk.len() as f64;
            let mut grads = bind.grads(&tape.backward(loss)?);
            if clip_grad_norm(&mut grads, 1.0).is_finite() {
                opt.step(m.params_mut(), &grads)?;
            }
        }
        if !args.quiet {
            let acc = exact(&m.greedy(&sources_of(test), MAX_LEN)?, test);
            println!(
                "  {name:<10} epoch {epoch:2}: train loss {:.4} per character, held-out exact match (greedy) {:5.1}%",
                total / train.len() as f64,
                100.0 * acc
            );
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

fn sources_of(pairs: &[Pair]) -> Vec<&[usize]> {
    pairs.iter().map(|p| p.source.as_slice()).collect()
}

/// Scores a trained model greedy and by beam search; prints a few outputs.
fn score(m: &Seq2Seq<f32>, name: &str, seconds: f64, test: &[Pair], args: &Args) -> Result<ModelScore, Box<dyn Error>> {
    let sources = sources_of(test);
    let greedy = m.greedy(&sources, MAX_LEN)?;
    let options = BeamOptions::default().width(args.beam).length_penalty(args.length_penalty).max_len(MAX_LEN);
    let beam = m.beam_search(&sources, &options)?;
    if !args.quiet {
        let (src, tgt) = (Vocab::source(), Vocab::target());
        for (k, p) in test.iter().take(5).enumerate() {
            println!("    {:>20} -> {} (beam {})", src.decode(&p.source), tgt.decode(&greedy[k].tokens), tgt.decode(&beam[k].tokens));
        }
    }
    let beam_more_probable = greedy.iter().zip(&beam).filter(|(g, b)| b.log_prob > g.log_prob + 1e-5).count();
    Ok(ModelScore { model: name.to_string(), greedy: exact(&greedy, test), beam: exact(&beam, test), beam_more_probable, seconds })
}

/// Writes the attention model's weights on one held-out pair written
/// `month d, yyyy` (day and year swap places) to `<out>/translate_attention.svg`.
fn draw(m: &Seq2Seq<f32>, test: &[Pair], args: &Args) -> Result<PathBuf, Box<dyn Error>> {
    let pair = test.iter().find(|p| p.format == 1).unwrap_or(&test[0]);
    let d = &m.greedy(&[pair.source.as_slice()], MAX_LEN)?[0];
    let w = d.attention.as_ref().ok_or("the attention model returned no attention weights")?;
    let (src, tgt) = (Vocab::source(), Vocab::target());
    let columns: Vec<String> = pair.source.iter().map(|&c| src.decode(&[c]).replace(' ', "\u{2423}")).collect();
    let mut rows: Vec<String> = d.tokens.iter().map(|&c| tgt.decode(&[c])).collect();
    if d.finished {
        rows.push("</s>".into());
    }
    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("translate_attention.svg");
    let title = format!("attention: \"{}\" -> \"{}\"", src.decode(&pair.source), tgt.decode(&d.tokens));
    plot::attention_svg(&path, &title, &columns, &rows, w.data())?;
    Ok(path)
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    if args.train == 0 || args.held_out == 0 || args.beam == 0 {
        return Err("--train, --held-out and --beam must be at least 1".into());
    }
    if !(args.length_penalty.is_finite() && args.length_penalty >= 0.0) {
        return Err(format!("--length-penalty must be a finite number >= 0, got {}", args.length_penalty).into());
    }
    let start = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (train, test) = pairs(args.train, args.held_out, usize::from(args.dates), &mut rng);
    if !args.quiet {
        println!("{} training / {} held-out pairs; e.g. {:?}", train.len(), test.len(), Vocab::source().decode(&test[0].source));
    }
    let kind = match args.attention {
        Score::Additive => AttentionKind::Additive,
        Score::Dot => AttentionKind::Dot,
        Score::General => AttentionKind::General,
    };
    let spec = Seq2Seq::spec(Vocab::source().len(), Vocab::target().len()).embed(args.embed).hidden(args.hidden).bos(BOS).eos(EOS);
    let mut init = StdRng::seed_from_u64(args.seed + 1);
    let mut attn = spec.attention(kind).try_build(&mut init)?;
    let mut base = spec.attention(AttentionKind::None).try_build(&mut init)?;
    let name = format!("{:?}", args.attention).to_lowercase();
    let t = fit(&mut attn, &name, &train, &test, args)?;
    let attention = score(&attn, &name, t, &test, args)?;
    let t = fit(&mut base, "none", &train, &test, args)?;
    let baseline = score(&base, "none", t, &test, args)?;
    let svg = draw(&attn, &test, args)?;
    Ok(Summary { attention, baseline, held_out: test.len(), svg, seconds: start.elapsed().as_secs_f64() })
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(s) => {
            println!("held-out exact match ({} pairs), beam width {}:", s.held_out, args.beam);
            println!("  attention   greedy    beam  beam more probable  training");
            for m in [&s.attention, &s.baseline] {
                println!(
                    "  {:<9} {:7.1}% {:6.1}% {:18} {:8.1} s",
                    m.model,
                    100.0 * m.greedy,
                    100.0 * m.beam,
                    m.beam_more_probable,
                    m.seconds
                );
            }
            println!("attention matrix: {}  ({:.1} s in all)", s.svg.display(), s.seconds);
        }
        Err(e) => {
            eprintln!("translate: {e}");
            std::process::exit(1);
        }
    }
}
