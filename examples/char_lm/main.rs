//! The main job: a character-level recurrent language model, trained on
//! tapegrad's own sources and docs (embedded at compile time) unless
//! `--data FILE` is given. Shows progress, prints samples, reports
//! validation bits per character against the unigram baseline, writes a
//! checkpoint (resumable) and an SVG of the loss curves.
//!
//! Run: `cargo run --release --example char_lm` (`-- --help` for options).

mod checkpoint;
mod data;
mod model;
mod plot;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::prelude::*;

use checkpoint::{Config, History};
use data::{batch_windows, val_windows, Corpus};
use model::{CellKind, CharModel};

/// Train a character-level recurrent language model.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub(crate) struct Args {
    /// Text file to train on (UTF-8); default: tapegrad's own sources and docs.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
    pub cell: CellKind,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// Stacked layers.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Characters per training window (truncated BPTT length).
    #[arg(long, default_value_t = 64)]
    pub seq_len: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Training steps in total (a resumed run continues up to this).
    #[arg(long, default_value_t = 3000)]
    pub steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Clip gradients to this global norm.
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    /// Seed of the initialisation, the batches and the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    /// Characters per printed sample (0: no samples).
    #[arg(long, default_value_t = 200)]
    pub sample: usize,
    /// Evaluate (and sample) every this many steps.
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    /// Where to write the checkpoint.
    #[arg(long, default_value = "char_lm.safetensors")]
    pub save: PathBuf,
    /// Resume from this checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Where to write the loss curves (SVG).
    #[arg(long, default_value = "char_lm_loss.svg")]
    pub plot: PathBuf,
    /// Stop after this many steps of this invocation (to simulate an interruption).
    #[arg(long)]
    pub stop_after: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub history: History,
    pub final_val_bits: f64,
    pub unigram_bits: f64,
    pub seconds: f64,
    pub sample: String,
}

fn config(args: &Args, corpus: &Corpus) -> Config {
    vec![
        ("cell", args.cell.name().to_string()),
        ("hidden", args.hidden.to_string()),
        ("layers", args.layers.to_string()),
        ("seq_len", args.seq_len.to_string()),
        ("batch", args.batch.to_string()),
        ("lr", args.lr.to_string()),
        ("clip", args.clip.to_string()),
        ("seed", args.seed.to_string()),
        ("vocab", corpus.vocab_string()),
    ]
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn std::error::Error>> {
    let corpus = match &args.data {
        Some(p) => Corpus::from_file(p)?,
        None => Corpus::embedded(),
    };
    if corpus.val.len() < args.seq_len + 2 || corpus.train.len() < args.seq_len + 2 {
        return Err(format!("--seq-len {} is longer than the validation text ({} characters)", args.seq_len, corpus.val.len()).into());
    }
    let baseline = corpus.unigram_bits();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut model = CharModel::new(args.cell, corpus.vocab.len(), args.hidden, args.layers, &mut rng);
    let mut opt = Adam::new(args.lr);
    let cfg = config(args, &corpus);
    let (mut step, mut history) = match &args.resume {
        Some(p) => checkpoint::load(p, &mut model, &mut opt, &cfg)?,
        None => (0, History::default()),
    };
    let val = val_windows(&corpus.val, 32, args.seq_len);
    // A hidden bar (--quiet, or stderr not a terminal: CI logs, pipes) would swallow
    // `println`, so the evaluations and samples go to stderr directly then.
    let say = |pb: &ProgressBar, s: String| if pb.is_hidden() { eprintln!("{s}") } else { pb.println(s) };
    let pb = ProgressBar::with_draw_target(
        Some(args.steps as u64),
        if args.quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() },
    );
    pb.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} eta {eta}")?);
    pb.set_position(step as u64);
    say(
        &pb,
        format!(
            "corpus: {} train / {} validation characters, vocabulary {}; unigram baseline {baseline:.3} bits/char; {} parameters",
            corpus.train.len(),
            corpus.val.len(),
            corpus.vocab.len(),
            model.num_params()
        ),
    );
    let start = Instant::now();
    let mut done_here = 0;
    let mut sample = String::new();
    while step < args.steps && args.stop_after.is_none_or(|n| done_here < n) {
        let windows = batch_windows(&corpus.train, args.batch, args.seq_len, args.seed, step as u64);
        let tape = Tape::new();
        let bind = Binding::eval(&tape);
        let (logits, targets) = model.logits(&bind, &windows)?;
        let loss = cross_entropy(logits, &targets, None, Reduction::Mean)?;
        let mut grads = bind.grads(&tape.backward(loss)?);
        clip_grad_norm(&mut grads, args.clip);
        opt.step(model.params_mut(), &grads)?;
        // Kept at f32 precision, as the checkpoint stores it, so a resumed
        // history equals an uninterrupted one exactly.
        let bits = (loss.value().item() as f64 / std::f64::consts::LN_2) as f32 as f64;
        history.train_bits.push(bits);
        step += 1;
        done_here += 1;
        let rate = (done_here * args.batch * args.seq_len) as f64 / start.elapsed().as_secs_f64();
        pb.set_position(step as u64);
        pb.set_message(format!("loss {:.3} nats  {bits:.3} bpc  {rate:.0} chars/s", loss.value().item()));
        if step % args.eval_every == 0 || step == args.steps {
            let v = model.bits(&val)? as f32 as f64;
            history.val_bits.push((step, v));
            say(&pb, format!("step {step:5}: validation {v:.3} bits/char (unigram {baseline:.3})"));
            if args.sample > 0 {
                let mut srng = StdRng::seed_from_u64(args.seed ^ step as u64);
                let prefix: Vec<usize> = "fn ".chars().filter_map(|c| corpus.vocab.binary_search(&c).ok()).collect();
                let ids = model.sample(&prefix, args.sample, args.temperature, &mut srng);
                sample = ids.iter().map(|&i| corpus.vocab[i]).collect();
                say(&pb, format!("  sample: fn {}", sample.replace('\n', "\n          ")));
            }
        }
    }
    pb.finish_and_clear();
    checkpoint::save(&args.save, &model, &opt, step, &history, &cfg)?;
    let final_val_bits = match history.val_bits.last() {
        Some(&(s, v)) if s == step => v,
        _ => model.bits(&val)?,
    };
    plot::loss_curves(&args.plot, &history, baseline, &format!("char_lm: {} {}×{}", args.cell.name(), args.layers, args.hidden))?;
    Ok(Summary { history, final_val_bits, unigram_bits: baseline, seconds: start.elapsed().as_secs_f64(), sample })
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(s) => {
            println!(
                "done: {} steps in {:.1} s; validation {:.3} bits/char vs unigram baseline {:.3} ({:.0}% of it)",
                s.history.train_bits.len(),
                s.seconds,
                s.final_val_bits,
                s.unigram_bits,
                100.0 * s.final_val_bits / s.unigram_bits
            );
            if !s.sample.is_empty() {
                println!("last sample (temperature {}): fn {}", args.temperature, s.sample);
            }
            println!("checkpoint: {}   loss curves: {}", args.save.display(), args.plot.display());
        }
        Err(e) => {
            eprintln!("char_lm: {e}");
            std::process::exit(1);
        }
    }
}
