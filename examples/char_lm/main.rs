//! The main job: a character-level recurrent language model, trained on
//! tapegrad's own sources and docs (embedded at compile time) unless
//! `--data FILE` is given. Shows progress, prints samples, reports
//! validation bits per character against the unigram baseline, writes a
//! checkpoint (resumable) and an SVG of the loss curves.
//!
//! Run: `cargo run --release --example char_lm` (`-- --help` for options).
//! Every argument is checked before training starts; a checkpoint is
//! written every `--save-every` steps (default 500) and at the end, and a
//! step whose gradient norm is not finite is skipped.

mod checkpoint;
mod checks;
mod data;
pub(crate) mod model;
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
    /// Adam learning rate (> 0).
    #[arg(long, default_value_t = 3e-3, allow_negative_numbers = true)]
    pub lr: f64,
    /// Clip gradients to this global norm (> 0; inf: no clipping).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub clip: f64,
    /// Seed of the initialisation, the batches and the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampling temperature (> 0).
    #[arg(long, default_value_t = 0.7, allow_negative_numbers = true)]
    pub temperature: f32,
    /// Characters per printed sample (0: no samples).
    #[arg(long, default_value_t = 200)]
    pub sample: usize,
    /// Evaluate (and sample) every this many steps.
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    /// Where to write the checkpoint (checked before training starts).
    #[arg(long, default_value = "char_lm.safetensors")]
    pub save: PathBuf,
    /// Also write the checkpoint every this many steps, so a killed run
    /// loses at most this many (a value >= --steps: only at the end).
    #[arg(long, default_value_t = 500)]
    pub save_every: usize,
    /// Resume from this checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Where to write the loss curves (SVG).
    #[arg(long, default_value = "char_lm_loss.svg")]
    pub plot: PathBuf,
    /// Stop after this many steps of this invocation (to simulate an interruption).
    #[arg(long)]
    pub stop_after: Option<usize>,
    /// For tests: end after this many steps of this invocation as a kill
    /// would, with no final checkpoint or plot (an error).
    #[arg(long, hide = true)]
    pub kill_after: Option<usize>,
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
    /// Steps whose update was skipped for a non-finite gradient norm.
    pub skipped_steps: usize,
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

/// Everything a run trains and records, once set up.
struct Setup {
    corpus: Corpus,
    model: CharModel,
    opt: Adam<f32>,
    cfg: Config,
    step: usize,
    history: History,
}

/// Checks every argument and output path, then builds (or resumes) the
/// model and optimizer: nothing is allocated for a refused size.
fn setup(args: &Args) -> Result<Setup, Box<dyn std::error::Error>> {
    checks::check_args(args)?;
    checks::check_output("--save", &args.save)?;
    checks::check_output("--plot", &args.plot)?;
    let corpus = match &args.data {
        Some(p) => Corpus::from_file(p)?,
        None => Corpus::embedded(),
    };
    checks::check_sizes(args, corpus.vocab.len(), corpus.train.len(), corpus.val.len())?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut model = CharModel::new(args.cell, corpus.vocab.len(), args.hidden, args.layers, &mut rng);
    let mut opt = Adam::try_new(args.lr)?;
    let cfg = config(args, &corpus);
    let (step, history) = match &args.resume {
        Some(p) => checkpoint::load(p, &mut model, &mut opt, &cfg)?,
        None => (0, History::default()),
    };
    Ok(Setup { corpus, model, opt, cfg, step, history })
}

/// One training step on the batch of `step`; returns the loss (nats) and
/// whether the update was made: a non-finite gradient norm skips it, so a
/// NaN never reaches the weights.
fn train_step(args: &Args, train: &[usize], model: &mut CharModel, opt: &mut Adam<f32>, step: usize) -> Result<(f32, f64, bool), NnError> {
    let windows = batch_windows(train, args.batch, args.seq_len, args.seed, step as u64);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let (logits, targets) = model.logits(&bind, &windows)?;
    let loss = cross_entropy(logits, &targets, None, Reduction::Mean)?;
    let mut grads = bind.grads(&tape.backward(loss)?);
    let norm = clip_grad_norm(&mut grads, args.clip);
    if norm.is_finite() {
        opt.step(model.params_mut(), &grads)?;
    }
    Ok((loss.value().item(), norm, norm.is_finite()))
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn std::error::Error>> {
    let mut s = setup(args)?;
    let baseline = s.corpus.unigram_bits();
    let val = val_windows(&s.corpus.val, 32, args.seq_len);
    // A hidden bar (--quiet, or stderr not a terminal: CI logs, pipes) would swallow
    // `println`, so the evaluations and samples go to stderr directly then.
    let say = |pb: &ProgressBar, s: String| if pb.is_hidden() { eprintln!("{s}") } else { pb.println(s) };
    let pb = ProgressBar::with_draw_target(
        Some(args.steps as u64),
        if args.quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() },
    );
    pb.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} eta {eta}")?);
    pb.set_position(s.step as u64);
    let c = &s.corpus;
    say(
        &pb,
        format!(
            "corpus: {} train / {} validation characters, vocabulary {}; unigram baseline {baseline:.3} bits/char; {} parameters",
            c.train.len(),
            c.val.len(),
            c.vocab.len(),
            s.model.num_params()
        ),
    );
    let start = Instant::now();
    let (mut done_here, mut skipped) = (0, 0);
    let mut sample = String::new();
    while s.step < args.steps && args.stop_after.is_none_or(|n| done_here < n) {
        if args.kill_after == Some(done_here) {
            return Err(format!("killed after {done_here} steps (--kill-after): no final checkpoint").into());
        }
        let (loss, norm, stepped) = train_step(args, &s.corpus.train, &mut s.model, &mut s.opt, s.step)?;
        // Kept at f32 precision, as the checkpoint stores it, so a resumed
        // history equals an uninterrupted one exactly.
        let bits = (loss as f64 / std::f64::consts::LN_2) as f32 as f64;
        s.history.train_bits.push(bits);
        s.step += 1;
        done_here += 1;
        if !stepped {
            skipped += 1;
            if usize::is_power_of_two(skipped) {
                say(&pb, format!("step {:5}: gradient norm {norm}, update skipped ({skipped} so far)", s.step));
            }
        }
        let rate = (done_here * args.batch * args.seq_len) as f64 / start.elapsed().as_secs_f64();
        pb.set_position(s.step as u64);
        pb.set_message(format!("loss {loss:.3} nats  {bits:.3} bpc  {rate:.0} chars/s"));
        if s.step % args.eval_every == 0 || s.step == args.steps {
            let v = s.model.bits(&val)? as f32 as f64;
            s.history.val_bits.push((s.step, v));
            say(&pb, format!("step {:5}: validation {v:.3} bits/char (unigram {baseline:.3})", s.step));
            if args.sample > 0 {
                sample = draw_sample(args, &s, s.step);
                say(&pb, format!("  sample: fn {}", sample.replace('\n', "\n          ")));
            }
        }
        // Periodic checkpoints: a killed run loses at most --save-every steps.
        if s.step % args.save_every == 0 && s.step < args.steps {
            checkpoint::save(&args.save, &s.model, &s.opt, s.step, &s.history, &s.cfg)?;
        }
    }
    pb.finish_and_clear();
    checkpoint::save(&args.save, &s.model, &s.opt, s.step, &s.history, &s.cfg)?;
    let final_val_bits = match s.history.val_bits.last() {
        Some(&(at, v)) if at == s.step => v,
        _ => s.model.bits(&val)?,
    };
    plot::loss_curves(&args.plot, &s.history, baseline, &format!("char_lm: {} {}×{}", args.cell.name(), args.layers, args.hidden))?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Summary { history: s.history, final_val_bits, unigram_bits: baseline, seconds, sample, skipped_steps: skipped })
}

/// A sample of `args.sample` characters after "fn ", seeded by the step.
fn draw_sample(args: &Args, s: &Setup, step: usize) -> String {
    let mut srng = StdRng::seed_from_u64(args.seed ^ step as u64);
    let vocab = &s.corpus.vocab;
    let prefix: Vec<usize> = "fn ".chars().filter_map(|c| vocab.binary_search(&c).ok()).collect();
    let ids = s.model.sample(&prefix, args.sample, args.temperature, &mut srng);
    ids.iter().map(|&i| vocab[i]).collect()
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
            if s.skipped_steps > 0 {
                println!("{} updates skipped for a non-finite gradient norm (try a smaller --lr)", s.skipped_steps);
            }
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
