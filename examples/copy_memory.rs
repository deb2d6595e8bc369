//! The copy-memory problem at research length, LSTM vs GRU, trained with
//! gradient checkpointing; prints the memory it saves and writes the
//! learning curves.
//!
//! The task, as Arjovsky, Shah & Bengio (2016, "Unitary evolution
//! recurrent neural networks") define it and as it is commonly
//! implemented: an alphabet of 10 symbols, 8 data symbols `0..8`, the
//! blank `8` and the delimiter `9`. For a delay `T` (`--length`), a
//! sequence is `T + 20` steps long:
//!
//! - input: 10 data symbols drawn uniformly and independently, then
//!   `T - 1` blanks, then the delimiter (at step `T + 9`, counting from
//!   0), then 10 blanks;
//! - target: `T + 10` blanks, then the same 10 data symbols in order.
//!
//! The input is one-hot (10 features, time-major `(T + 20, B, 10)`); the
//! model is one recurrent layer and a linear head to 9 classes (the 8 data
//! symbols and the blank; the delimiter is never a target). The loss is the
//! cross-entropy averaged over every step of every sequence. A memoryless
//! model that outputs the blank until the delimiter and then a uniform
//! guess over the 8 data symbols scores `10 · ln 8 / (T + 20)` (0.0945 at
//! T = 200): that is the baseline to beat, and the recall accuracy (the
//! argmax over the 10 recalled steps) is 1/8 for it.
//!
//! The recurrent layer runs in segments of `⌈√(T + 20)⌉` steps with
//! [`Checkpoint::On`] (`--checkpoint off` to compare): only each segment's
//! last state is kept for the backward pass, which recomputes the segment.
//! The process's peak resident memory is reset before each cell trains
//! and read after (`VmHWM`, Linux only); the test set is evaluated in
//! training-sized batches on a tape that is never swept back, so it needs
//! no more. After training, the values one forward pass of a training
//! batch leaves on the tape are counted with and without checkpointing
//! ([`Tape::held_values`]).
//!
//! Run: `cargo run --release --example copy_memory` (T = 200; `--help`).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::prelude::*;

/// The copy-memory problem (Arjovsky et al. 2016): LSTM vs GRU.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Args {
    /// The delay T: blanks between the symbols and the delimiter, plus one
    /// (sequences are T + 20 steps).
    #[arg(long, default_value_t = 200)]
    pub length: usize,
    /// Training steps (batches) per cell.
    #[arg(long, default_value_t = 1500)]
    pub steps: usize,
    /// Sequences per training batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 128)]
    pub hidden: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Gradients are clipped to this global norm.
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    /// Initial bias of the LSTM's forget gate.
    #[arg(long, default_value_t = 1.0)]
    pub forget_bias: f32,
    /// Checkpointing of the recurrent layer: on or off.
    #[arg(long, default_value = "on", value_parser = parse_checkpoint)]
    pub checkpoint: Checkpoint,
    /// Evaluate on the test set every this many steps (the plotted curve).
    #[arg(long, default_value_t = 50)]
    pub eval_every: usize,
    /// Test sequences.
    #[arg(long, default_value_t = 128)]
    pub test: usize,
    /// Threads of the tensor engine.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Seed of the data and the initialisation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the learning curves (SVG); "-" for none.
    #[arg(long, default_value = "copy_memory.svg")]
    pub plot: PathBuf,
}

/// `--checkpoint`'s names.
fn parse_checkpoint(name: &str) -> Result<Checkpoint, String> {
    match name {
        "on" => Ok(Checkpoint::On),
        "off" => Ok(Checkpoint::Off),
        _ => Err(format!("unknown checkpoint setting {name:?}: expected on or off")),
    }
}

/// Data symbols; the blank and the delimiter follow them.
pub(crate) const DATA_SYMBOLS: usize = 8;
/// The blank symbol.
pub(crate) const BLANK: usize = DATA_SYMBOLS;
/// The delimiter: recall starts after it.
pub(crate) const DELIMITER: usize = DATA_SYMBOLS + 1;
/// Input features (one-hot over the alphabet).
const INPUTS: usize = DATA_SYMBOLS + 2;
/// Output classes: the data symbols and the blank.
const OUTPUTS: usize = DATA_SYMBOLS + 1;
/// Symbols to remember.
pub(crate) const RECALL: usize = 10;

/// The two cells, in table order.
pub(crate) const CELLS: [&str; 2] = ["LSTM", "GRU"];

/// A batch of the copy-memory problem for delay `length`: the one-hot
/// input `(length + 20, batch, 10)` and the targets, time-major (step `t`,
/// sequence `b` at `t · batch + b`).
pub(crate) fn copy_batch(length: usize, batch: usize, rng: &mut StdRng) -> (Tensor<f32>, Vec<usize>) {
    let steps = length + 2 * RECALL;
    let data: Vec<Vec<usize>> = (0..batch).map(|_| (0..RECALL).map(|_| rng.random_range(0..DATA_SYMBOLS)).collect()).collect();
    let mut inputs = Vec::with_capacity(steps * batch);
    let mut targets = Vec::with_capacity(steps * batch);
    for t in 0..steps {
        for seq in &data {
            inputs.push(match t {
                t if t < RECALL => seq[t],
                t if t == length + RECALL - 1 => DELIMITER,
                _ => BLANK,
            });
            targets.push(if t >= length + RECALL { seq[t - length - RECALL] } else { BLANK });
        }
    }
    (Tensor::one_hot(&inputs, INPUTS).reshape(&[steps, batch, INPUTS]), targets)
}

/// Cross-entropy of the memoryless baseline (blanks, then a uniform guess
/// over the data symbols): `10 · ln 8 / (T + 20)`.
pub(crate) fn baseline(length: usize) -> f64 {
    RECALL as f64 * (DATA_SYMBOLS as f64).ln() / (length + 2 * RECALL) as f64
}

/// One evaluation on the test set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Eval {
    pub step: usize,
    pub cross_entropy: f64,
    /// Fraction of the recalled symbols whose argmax is right.
    pub recall_accuracy: f64,
}

/// One cell's training run.
#[derive(Debug, Clone)]
pub(crate) struct Curve {
    pub cell: &'static str,
    /// The training loss of every step, in order.
    pub train_loss: Vec<f64>,
    /// Test evaluations, the first before training, the last at the final step.
    pub test: Vec<Eval>,
    /// Scalars held on the tape after the forward pass of a training batch,
    /// with checkpointing on and off (whatever `--checkpoint` says).
    pub held_checkpointed: usize,
    pub held_plain: usize,
    /// Peak resident memory while this cell trained and was tested (MiB;
    /// Linux only).
    pub peak_mib: Option<f64>,
    /// Mean wall time of a training step (forward, backward, update).
    pub seconds_per_step: f64,
}

impl Curve {
    /// The last evaluation.
    pub(crate) fn last(&self) -> Eval {
        *self.test.last().expect("a run evaluates before training")
    }
}

/// Both cells' runs on the same data.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub length: usize,
    pub curves: Vec<Curve>,
}

impl Summary {
    /// The run of `cell`.
    pub(crate) fn curve(&self, cell: &str) -> &Curve {
        self.curves.iter().find(|c| c.cell == cell).expect("both cells run")
    }
}

type Model<C> = (Rnn<C>, Linear<f32>);

/// Logits `((T + 20) · B, 9)`, time-major like the targets.
fn logits<'t, C: Cell<f32>>(m: &Model<C>, tape: &'t Tape<f32>, bind: &Binding<'t, f32>, x: &Tensor<f32>) -> Result<Var<'t, f32>, NnError> {
    let rows = x.shape()[0] * x.shape()[1];
    let h = m.0.forward(bind, tape.constant(x.clone()), None, None)?.output;
    Ok(m.1.forward(bind, h)?.try_reshape(&[rows, OUTPUTS])?)
}

/// One clipped Adam step; returns the loss.
fn train_step<C: Cell<f32>>(m: &mut Model<C>, batch: &(Tensor<f32>, Vec<usize>), opt: &mut Adam<f32>, clip: f64) -> Result<f64, NnError> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let loss = cross_entropy(logits(m, &tape, &bind, &batch.0)?, &batch.1, None, Reduction::Mean)?;
    let mut grads = bind.grads(&tape.backward(loss)?);
    // A NaN or infinite gradient norm: skip the step rather than spread it.
    if clip_grad_norm(&mut grads, clip).is_finite() {
        opt.step(m.params_mut(), &grads)?;
    }
    Ok(loss.value().item() as f64)
}

/// Scalars held on the tape after the forward pass of `batch` (up to the
/// loss), with checkpointing on and off.
fn held_values<C: Cell<f32> + Clone>(m: &Model<C>, batch: &(Tensor<f32>, Vec<usize>)) -> Result<(usize, usize), NnError> {
    let held = |checkpoint: Checkpoint| -> Result<usize, NnError> {
        let m = (m.0.clone().checkpoint(checkpoint), m.1.clone());
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        cross_entropy(logits(&m, &tape, &bind, &batch.0)?, &batch.1, None, Reduction::Mean)?;
        Ok(tape.held_values())
    };
    Ok((held(Checkpoint::On)?, held(Checkpoint::Off)?))
}

/// A set of copy-memory sequences, drawn in batches.
type Batches = Vec<(Tensor<f32>, Vec<usize>)>;

/// `n` test sequences in batches of at most `batch`.
fn test_set(length: usize, n: usize, batch: usize, rng: &mut StdRng) -> Batches {
    (0..n).step_by(batch).map(|k| copy_batch(length, batch.min(n - k), rng)).collect()
}

/// Test cross-entropy and recall accuracy. Each batch is recorded on a
/// tape as in training (with checkpointing, if on) but never swept back,
/// so the test pass holds no more memory than a training step.
fn evaluate<C: Cell<f32>>(m: &Model<C>, test: &Batches, step: usize) -> Result<Eval, NnError> {
    let (mut total, mut right, mut rows, mut recalled) = (0.0, 0, 0, 0);
    for (x, targets) in test {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let out = logits(m, &tape, &bind, x)?;
        total += cross_entropy(out, targets, None, Reduction::Mean)?.value().item() as f64 * targets.len() as f64;
        let value = out.value();
        let last = (targets.len() - RECALL * x.shape()[1])..targets.len();
        right += last
            .clone()
            .filter(|&r| {
                let row = &value.data()[r * OUTPUTS..(r + 1) * OUTPUTS];
                (0..OUTPUTS).max_by(|&i, &j| row[i].total_cmp(&row[j])) == Some(targets[r])
            })
            .count();
        (rows, recalled) = (rows + targets.len(), recalled + last.len());
    }
    Ok(Eval { step, cross_entropy: total / rows as f64, recall_accuracy: right as f64 / recalled as f64 })
}

/// Resets the process's peak resident memory (Linux: `clear_refs` 5).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").ok();
}

/// The process's peak resident memory since the last reset, in MiB.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

/// Trains one model on batches drawn from `args.seed` (the same for both
/// cells); evaluates on `test` every `args.eval_every` steps and at the end.
fn train<C: Cell<f32>>(m: &mut Model<C>, cell: &'static str, test: &Batches, args: &Args) -> Result<Curve, NnError> {
    let mut data = StdRng::seed_from_u64(args.seed * 1000 + args.length as u64);
    let mut opt = Adam::new(args.lr);
    let mut evals = vec![evaluate(m, test, 0)?];
    let (mut train_loss, mut training) = (Vec::with_capacity(args.steps), 0.0);
    reset_peak();
    for step in 1..=args.steps {
        let batch = copy_batch(args.length, args.batch, &mut data);
        let start = Instant::now();
        train_loss.push(train_step(m, &batch, &mut opt, args.clip)?);
        training += start.elapsed().as_secs_f64();
        if step % args.eval_every == 0 || step == args.steps {
            evals.push(evaluate(m, test, step)?);
            let e = evals[evals.len() - 1];
            eprintln!("{cell} step {step}: test cross-entropy {:.4}, recall {:.1}%", e.cross_entropy, 100.0 * e.recall_accuracy);
        }
    }
    Ok(Curve {
        cell,
        train_loss,
        test: evals,
        held_checkpointed: 0,
        held_plain: 0,
        peak_mib: peak_mib(),
        seconds_per_step: training / args.steps.max(1) as f64,
    })
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    if args.length == 0 || args.steps == 0 || args.batch == 0 || args.eval_every == 0 || args.test == 0 {
        return Err("--length, --steps, --batch, --eval-every and --test must be at least 1".into());
    }
    let h = args.hidden;
    let test =
        test_set(args.length, args.test, args.batch, &mut StdRng::seed_from_u64(args.seed.wrapping_add(7) * 1000 + args.length as u64));
    let mut init = StdRng::seed_from_u64(args.seed);
    let spec = || Rnn::spec(INPUTS, h).segments(Segments::Auto).checkpoint(args.checkpoint);
    let mut lstm =
        (spec().cells(|i| LstmCell::new(i, h, &mut init).with_forget_bias(args.forget_bias)), Linear::new(h, OUTPUTS, &mut init));
    let mut gru = (spec().gru(&mut init), Linear::new(h, OUTPUTS, &mut init));
    let mut curves = vec![train(&mut lstm, CELLS[0], &test, args)?, train(&mut gru, CELLS[1], &test, args)?];
    // Counted after training, so that the pass without checkpointing does
    // not raise the peak memory measured while training.
    let probe = copy_batch(args.length, args.batch, &mut StdRng::seed_from_u64(args.seed));
    let held = [held_values(&lstm, &probe)?, held_values(&gru, &probe)?];
    for (c, (on, off)) in curves.iter_mut().zip(held) {
        (c.held_checkpointed, c.held_plain) = (on, off);
    }
    if args.plot.as_os_str() != "-" {
        plot(&args.plot, &curves, args)?;
    }
    Ok(Summary { length: args.length, curves })
}

/// Two panels: test cross-entropy (log scale) and recall accuracy against
/// the step, one line per cell, the memoryless baseline in grey.
fn plot(path: &Path, curves: &[Curve], args: &Args) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (820, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let colors = [RED, BLUE];
    let base = baseline(args.length);
    let lo = curves.iter().flat_map(|c| c.test.iter().map(|e| e.cross_entropy)).fold(base, f64::min).max(1e-4) * 0.8;
    let hi = curves.iter().flat_map(|c| c.test.iter().map(|e| e.cross_entropy)).fold(base, f64::max) * 1.25;
    let mut ce = ChartBuilder::on(&panels[0])
        .caption(format!("copy memory, T = {}: test cross-entropy", args.length), ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0usize..args.steps, (lo..hi).log_scale())?;
    ce.configure_mesh().x_desc("training step").y_desc("cross-entropy (nats)").y_label_formatter(&|v| format!("{v:.0e}")).draw()?;
    for (c, color) in curves.iter().zip(colors) {
        let series = LineSeries::new(c.test.iter().map(|e| (e.step, e.cross_entropy.max(lo))), color.stroke_width(2));
        ce.draw_series(series)?.label(c.cell).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    let line = LineSeries::new([(0, base), (args.steps, base)], BLACK.mix(0.5));
    ce.draw_series(line)?.label("memoryless baseline").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
    ce.configure_series_labels().position(SeriesLabelPosition::UpperRight).border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    let mut acc = ChartBuilder::on(&panels[1])
        .caption("recall accuracy (10 recalled symbols)", ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(46)
        .build_cartesian_2d(0usize..args.steps, 0.0..1.0f64)?;
    acc.configure_mesh().x_desc("training step").y_desc("accuracy").draw()?;
    for (c, color) in curves.iter().zip(colors) {
        acc.draw_series(LineSeries::new(c.test.iter().map(|e| (e.step, e.recall_accuracy)), color.stroke_width(2)))?;
    }
    acc.draw_series(LineSeries::new([(0, 1.0 / DATA_SYMBOLS as f64), (args.steps, 1.0 / DATA_SYMBOLS as f64)], BLACK.mix(0.5)))?;
    root.present()?;
    Ok(())
}

/// Bytes of `values` f32 scalars, in MiB.
fn mib(values: usize) -> f64 {
    (values * 4) as f64 / (1024.0 * 1024.0)
}

fn print_table(s: &Summary, args: &Args) {
    println!(
        "copy memory, T = {} ({} steps a sequence): {} training steps of {} sequences, hidden {}, checkpointing {:?}, segments of {} steps",
        s.length,
        s.length + 2 * RECALL,
        args.steps,
        args.batch,
        args.hidden,
        args.checkpoint,
        Segments::Auto.length(s.length + 2 * RECALL)
    );
    println!("memoryless baseline: cross-entropy {:.4} nats, recall accuracy {:.3}", baseline(s.length), 1.0 / DATA_SYMBOLS as f64);
    println!(
        "{:<5} {:>9} {:>9} {:>9} {:>8} {:>14} {:>14} {:>6} {:>9} {:>7}",
        "cell", "train CE", "test CE", "/ base", "recall", "held ckpt MiB", "held plain MiB", "ratio", "peak MiB", "s/step"
    );
    for c in CELLS.map(|cell| s.curve(cell)) {
        let e = c.last();
        // The training loss averaged over the last evaluation interval.
        let recent = &c.train_loss[c.train_loss.len().saturating_sub(args.eval_every)..];
        println!(
            "{:<5} {:>9.4} {:>9.4} {:>9.3} {:>7.1}% {:>14.2} {:>14.2} {:>5.1}× {:>9} {:>7.3}",
            c.cell,
            recent.iter().sum::<f64>() / recent.len() as f64,
            e.cross_entropy,
            e.cross_entropy / baseline(s.length),
            100.0 * e.recall_accuracy,
            mib(c.held_checkpointed),
            mib(c.held_plain),
            c.held_plain as f64 / c.held_checkpointed as f64,
            c.peak_mib.map_or("-".to_string(), |m| format!("{m:.1}")),
            c.seconds_per_step
        );
    }
}

fn main() {
    let args = Args::parse();
    tapegrad::tensor::set_num_threads(args.threads);
    let start = Instant::now();
    match run(&args) {
        Ok(s) => {
            print_table(&s, &args);
            println!("{:.1} s in all", start.elapsed().as_secs_f64());
            if args.plot.as_os_str() != "-" {
                println!("learning curves: {}", args.plot.display());
            }
        }
        Err(e) => {
            eprintln!("copy_memory: {e}");
            std::process::exit(1);
        }
    }
}
