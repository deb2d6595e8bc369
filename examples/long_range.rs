//! Long-range memory: the adding problem at growing sequence lengths,
//! Elman RNN vs LSTM vs GRU on the same data and the same budget.
//!
//! By default it runs the variant of Le, Jaitly & Hinton (2015), the usual
//! modern benchmark (`AddingVariant::Le2015`): each step has two inputs, a
//! random value in [0, 1) and a marker; exactly two steps, anywhere in the
//! sequence, are marked, and the target, read from the last step, is the
//! sum of the two marked values. A model that predicts the mean (1.0)
//! scores MSE 1/6 ≈ 0.167; solving it means carrying a value across up to T
//! steps, which BPTT has to reach back through. `--variant hochreiter1997`
//! runs Hochreiter & Schmidhuber's (1997) original instead (values in
//! [-1, 1], markers early, lengths T to 1.1T, target 0.5 + (X1 + X2)/4), and
//! `--variant first-tenth-first-half` the harder variant this example ran
//! before; `AddingVariant` documents each exactly. The variant is printed.
//!
//! Prints a table of final test MSE and, per run, the step from which it
//! counts as solved: the first evaluation after which the test MSE stays
//! below 6% of the mean predictor's (0.01 for Le et al.) through the final
//! one, so a run that ends above the threshold is never reported solved.
//! Writes the learning curves as an SVG (`--plot`).
//!
//! Run: `cargo run --release --example long_range`

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::nn::{adding_problem, AddingVariant};
use tapegrad::prelude::*;

/// The adding problem at growing lengths: Elman RNN vs LSTM vs GRU.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Args {
    /// Which adding problem: le2015 (Le et al. 2015), hochreiter1997
    /// (Hochreiter & Schmidhuber 1997) or first-tenth-first-half.
    #[arg(long, default_value = "le2015", value_parser = parse_variant)]
    pub variant: AddingVariant,
    /// Sequence lengths to try.
    #[arg(long, value_delimiter = ',', default_values_t = [10, 20, 40, 80])]
    pub lengths: Vec<usize>,
    /// Training steps (batches) per model.
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    /// Sequences per training batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.005)]
    pub lr: f64,
    /// Initial bias of the LSTM's forget gate (PyTorch's init would give ~0).
    #[arg(long, default_value_t = 3.0)]
    pub forget_bias: f32,
    /// Evaluate on the test set every this many steps (the plotted curve).
    #[arg(long, default_value_t = 50)]
    pub eval_every: usize,
    /// Seed of the data and the initialisation.
    #[arg(long, default_value_t = 2)]
    pub seed: u64,
    /// Where to write the learning curves (SVG); "-" for none.
    #[arg(long, default_value = "long_range.svg")]
    pub plot: PathBuf,
}

/// `--variant`'s names.
fn parse_variant(name: &str) -> Result<AddingVariant, String> {
    match name {
        "le2015" => Ok(AddingVariant::Le2015),
        "hochreiter1997" => Ok(AddingVariant::Hochreiter1997),
        "first-tenth-first-half" => Ok(AddingVariant::FirstTenthFirstHalf),
        _ => Err(format!("unknown variant {name:?}: expected le2015, hochreiter1997 or first-tenth-first-half")),
    }
}

/// The three cells, in table order.
pub(crate) const CELLS: [&str; 3] = ["Elman", "LSTM", "GRU"];

/// One training run: a cell at one length.
#[derive(Debug, Clone)]
pub(crate) struct Curve {
    pub cell: &'static str,
    pub length: usize,
    /// The task it was trained and tested on (sets the "solved" threshold).
    pub variant: AddingVariant,
    /// `(step, test MSE)`, the last at the final step.
    pub test_mse: Vec<(usize, f64)>,
    pub seconds: f64,
}

impl Curve {
    pub(crate) fn final_mse(&self) -> f64 {
        self.test_mse.last().map_or(f64::NAN, |p| p.1)
    }

    /// The first evaluated step after which the test MSE stays below
    /// [`solved_threshold`] through the final evaluation; `None` if the
    /// final one is not below it (so "solved" always agrees with the final
    /// MSE and the threshold).
    pub(crate) fn solved_at(&self) -> Option<usize> {
        let threshold = solved_threshold(self.variant);
        let from = self.test_mse.iter().rposition(|p| p.1.is_nan() || p.1 >= threshold).map_or(0, |k| k + 1);
        self.test_mse.get(from).map(|p| p.0)
    }
}

/// Every run, by length then cell (Elman, LSTM, GRU).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub curves: Vec<Curve>,
    pub seconds: f64,
}

impl Summary {
    /// The run of `cell` at `length`.
    pub(crate) fn curve(&self, cell: &str, length: usize) -> Option<&Curve> {
        self.curves.iter().find(|c| c.cell == cell && c.length == length)
    }

    /// Final test MSE of `cell` at `length`.
    pub(crate) fn mse(&self, cell: &str, length: usize) -> f64 {
        self.curve(cell, length).map_or(f64::NAN, Curve::final_mse)
    }
}

/// A run counts as solved below this fraction of the mean predictor's MSE.
const SOLVED_FRACTION: f64 = 0.06;

/// Test MSE under which a run counts as solved: 6% of the mean predictor's
/// (the variance of the target), 0.01 for Le et al.'s 1/6.
pub(crate) fn solved_threshold(variant: AddingVariant) -> f64 {
    SOLVED_FRACTION * variant.mean_predictor_mse()
}

/// MSE of the model reading the last step's output; with `opt`, also one clipped training step.
fn mse<C: Cell<f32>>(m: &mut (Rnn<C>, Linear<f32>), x: &Tensor<f32>, y: &Tensor<f32>, opt: Option<&mut Adam<f32>>) -> Result<f64, NnError> {
    let (t, b) = (x.shape()[0], x.shape()[1]);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = m.0.forward(&bind, tape.constant(x.clone()), None, None)?;
    let h_last = out.output.try_narrow(0, t - 1, 1)?.try_reshape(&[b, m.1.weight.shape()[1]])?;
    let loss = mse_loss(m.1.forward(&bind, h_last)?, y, Reduction::Mean)?;
    if let Some(opt) = opt {
        let mut grads = bind.grads(&tape.backward(loss)?);
        // A NaN or infinite gradient norm: skip the step rather than spread it.
        if clip_grad_norm(&mut grads, 1.0).is_finite() {
            opt.step(m.params_mut(), &grads)?;
        }
    }
    Ok(loss.value().item() as f64)
}

/// Trains one model on batches drawn from `seed` (the same for every cell);
/// evaluates on `test` every `args.eval_every` steps and at the end.
fn train<C: Cell<f32>>(
    mut m: (Rnn<C>, Linear<f32>),
    cell: &'static str,
    length: usize,
    test: &(Tensor<f32>, Tensor<f32>),
    args: &Args,
) -> Result<Curve, NnError> {
    let start = Instant::now();
    let mut data = StdRng::seed_from_u64(args.seed * 1000 + length as u64);
    let mut opt = Adam::new(args.lr);
    let mut test_mse = vec![(0, mse(&mut m, &test.0, &test.1, None)?)];
    for step in 1..=args.steps {
        let (x, y) = adding_problem(args.variant, length, args.batch, &mut data)?;
        mse(&mut m, &x, &y, Some(&mut opt))?;
        if step % args.eval_every == 0 || step == args.steps {
            test_mse.push((step, mse(&mut m, &test.0, &test.1, None)?));
        }
    }
    Ok(Curve { cell, length, variant: args.variant, test_mse, seconds: start.elapsed().as_secs_f64() })
}

/// The three cells at one length, from the same initial seed.
fn compare(length: usize, args: &Args) -> Result<Vec<Curve>, NnError> {
    let h = args.hidden;
    let test = adding_problem(args.variant, length, 256, &mut StdRng::seed_from_u64(args.seed.wrapping_sub(1) * 1000 + length as u64))?;
    let mut init = StdRng::seed_from_u64(args.seed);
    let elman = (Rnn::spec(2, h).elman(Activation::Tanh, &mut init), Linear::new(h, 1, &mut init));
    // The forget gate's bias starts at 3 by default (remember by default), the usual
    // remedy for an LSTM that forgets before it has learned what to keep.
    let lstm = (Rnn::spec(2, h).cells(|i| LstmCell::new(i, h, &mut init).with_forget_bias(args.forget_bias)), Linear::new(h, 1, &mut init));
    let gru = (Rnn::spec(2, h).gru(&mut init), Linear::new(h, 1, &mut init));
    Ok(vec![
        train(elman, CELLS[0], length, &test, args)?,
        train(lstm, CELLS[1], length, &test, args)?,
        train(gru, CELLS[2], length, &test, args)?,
    ])
}

pub(crate) fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    let min = args.variant.min_steps();
    if let Some(&t) = args.lengths.iter().find(|&&t| t < min) {
        return Err(format!("--lengths: {t} is too short for the {} adding problem (need T ≥ {min})", args.variant).into());
    }
    let start = Instant::now();
    // One thread per length: the lengths are independent runs.
    let results: Vec<Result<Vec<Curve>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = args.lengths.iter().map(|&t| s.spawn(move || compare(t, args).map_err(|e| e.to_string()))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a training thread panicked".into()))).collect()
    });
    let mut curves = Vec::new();
    for r in results {
        curves.extend(r?);
    }
    if args.plot.as_os_str() != "-" {
        plot(&args.plot, &curves, args)?;
    }
    Ok(Summary { curves, seconds: start.elapsed().as_secs_f64() })
}

/// One panel per length: test MSE (log scale) against the step, one line per cell.
fn plot(path: &std::path::Path, curves: &[Curve], args: &Args) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (380 * args.lengths.len() as u32, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let colors = [RED, BLUE, GREEN];
    let mean_predictor = args.variant.mean_predictor_mse();
    let lo = curves.iter().flat_map(|c| c.test_mse.iter().map(|p| p.1)).fold(mean_predictor, f64::min).max(1e-5) * 0.8;
    for (panel, &t) in root.split_evenly((1, args.lengths.len())).iter().zip(&args.lengths) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("adding problem ({}), T = {t}", args.variant), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0usize..args.steps, (lo..3.0f64).log_scale())?;
        chart.configure_mesh().x_desc("training step").y_desc("test MSE").y_label_formatter(&|v| format!("{v:.0e}")).draw()?;
        for (c, color) in curves.iter().filter(|c| c.length == t).zip(colors) {
            let series = LineSeries::new(c.test_mse.iter().map(|&(s, v)| (s, v.max(lo))), color.stroke_width(2));
            chart.draw_series(series)?.label(c.cell).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        let base = LineSeries::new([(0, mean_predictor), (args.steps, mean_predictor)], BLACK.mix(0.5));
        chart.draw_series(base)?.label("predict the mean").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(s) => {
            println!(
                "adding problem ({:?}, {}): final test MSE after {} steps of {} sequences (predicting the mean: {:.4})",
                args.variant,
                args.variant,
                args.steps,
                args.batch,
                args.variant.mean_predictor_mse()
            );
            println!(
                "(each cell: final MSE, and the step after which the test MSE stayed below {:.4} to the end, or \"-\")",
                solved_threshold(args.variant)
            );
            println!("     T  {:>16}  {:>16}  {:>16}", CELLS[0], CELLS[1], CELLS[2]);
            for &t in &args.lengths {
                let cells: Vec<String> = CELLS
                    .iter()
                    .map(|c| {
                        let solved = s.curve(c, t).and_then(Curve::solved_at).map_or("-".to_string(), |k| format!("step {k}"));
                        format!("{:7.4} {solved:>9}", s.mse(c, t))
                    })
                    .collect();
                println!("  {t:4}  {:>16}  {:>16}  {:>16}", cells[0], cells[1], cells[2]);
            }
            let slowest = s.curves.iter().map(|c| c.seconds).fold(0.0, f64::max);
            println!("{:.1} s in all (longest single run {slowest:.1} s)", s.seconds);
            if args.plot.as_os_str() != "-" {
                println!("learning curves: {}", args.plot.display());
            }
        }
        Err(e) => {
            eprintln!("long_range: {e}");
            std::process::exit(1);
        }
    }
}
