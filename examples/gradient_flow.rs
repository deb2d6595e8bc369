//! Gradient flow through time: how much of `h_T`'s gradient reaches each
//! earlier hidden state of an Elman RNN, an LSTM and a GRU, at
//! initialisation and after a short training on the adding problem, in the
//! library's own variant `AddingVariant::FirstTenthFirstHalf` (first marker
//! in the first tenth, second in the first half; kept so these figures
//! reproduce; see `AddingVariant` for the papers' variants). Prints the headline ratio
//! `‖∂h_T/∂h_1‖ / ‖∂h_T/∂h_T‖` for each, draws the curves into an SVG and,
//! with `--dot`, writes the seed notes' unrolled 3-step RNN as a Graphviz
//! graph (render with `dot -Tsvg`).
//!
//! Run: `cargo run --release --example gradient_flow -- --dot rnn_3_steps.dot`

use std::path::{Path, PathBuf};

use clap::Parser;
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::autodiff::DotOptions;
use tapegrad::nn::{adding_problem, gradient_flow, load_state_dict, AddingVariant, GradientFlow};
use tapegrad::prelude::*;

/// The adding problem this example trains on (see the module doc).
const VARIANT: AddingVariant = AddingVariant::FirstTenthFirstHalf;

/// Gradient flow through time in three recurrent cells.
#[derive(Parser, Debug)]
struct Args {
    /// Sequence length of the adding problem.
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 16)]
    hidden: usize,
    /// Training batches (of 32) per model.
    #[arg(long, default_value_t = 1000)]
    train: usize,
    /// Seed of the weights and the data.
    #[arg(long, default_value_t = 2)]
    seed: u64,
    /// Where to write the curves (SVG).
    #[arg(long, default_value = "gradient_flow.svg")]
    plot: PathBuf,
    /// Also write the seed notes' unrolled 3-step RNN here (Graphviz DOT).
    #[arg(long)]
    dot: Option<PathBuf>,
}

/// MSE of `layer` + `head` reading the last step; with `opt`, also one
/// clipped Adam step.
fn adding_step<C: Cell<f64>>(
    layer: &mut Rnn<C>,
    head: &mut Linear<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    opt: Option<&mut Adam<f64>>,
) -> Result<f64, NnError> {
    let (t, b) = (x.shape()[0], x.shape()[1]);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = layer.forward(&bind, tape.constant(x.clone()), None, None)?;
    let h_last = out.output.try_narrow(0, t - 1, 1)?.try_reshape(&[b, head.weight.shape()[1]])?;
    let loss = mse_loss(head.forward(&bind, h_last)?, y, Reduction::Mean)?;
    if let Some(opt) = opt {
        let mut grads = bind.grads(&tape.backward(loss)?);
        // A NaN or infinite gradient norm: skip the step rather than spread it.
        if clip_grad_norm(&mut grads, 1.0).is_finite() {
            let params =
                layer.params_mut().into_iter().chain(head.params_mut().into_iter().map(|(n, p)| (format!("head.{n}"), p))).collect();
            opt.step(params, &grads)?;
        }
    }
    Ok(loss.value().item())
}

/// One model's flows before and after training, and its test MSE.
struct Outcome {
    name: &'static str,
    color: RGBColor,
    init: GradientFlow,
    trained: GradientFlow,
    mse: (f64, f64),
}

fn study<C: Cell<f64>>(
    name: &'static str,
    color: RGBColor,
    mut layer: Rnn<C>,
    args: &Args,
    probe: &Tensor<f64>,
) -> Result<Outcome, NnError> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut head = Linear::new(args.hidden, 1, &mut rng);
    let (tx, ty) = adding_problem(VARIANT, args.steps, 256, &mut StdRng::seed_from_u64(args.seed ^ 0x7e57))?;
    let init = gradient_flow(&layer, probe, None)?;
    let before = adding_step(&mut layer, &mut head, &tx, &ty, None)?;
    let mut opt = Adam::new(0.005);
    for _ in 0..args.train {
        let (x, y) = adding_problem(VARIANT, args.steps, 32, &mut rng)?;
        adding_step(&mut layer, &mut head, &x, &y, Some(&mut opt))?;
    }
    let after = adding_step(&mut layer, &mut head, &tx, &ty, None)?;
    let trained = gradient_flow(&layer, probe, None)?;
    Ok(Outcome { name, color, init, trained, mse: (before, after) })
}

/// Norm against step (1-based, as in the notes), log scale.
fn plot(path: &Path, outcomes: &[Outcome], steps: usize) -> Result<(), Box<dyn std::error::Error>> {
    let all = outcomes.iter().flat_map(|o| o.init.state.iter().chain(&o.trained.state)).copied().filter(|v| *v > 0.0);
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("‖∂h_T/∂h_k‖ on the adding problem (T = {steps}): dashed at init, solid after training"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(1usize..steps, (lo / 2.0..hi * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step k")
        .y_desc("Frobenius norm, RMS over the batch")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for o in outcomes {
        let pts = |f: &GradientFlow| f.state.iter().enumerate().map(|(k, &v)| (k + 1, v.max(lo))).collect::<Vec<_>>();
        chart.draw_series(DashedLineSeries::new(pts(&o.init), 6, 4, o.color.stroke_width(2)))?;
        chart
            .draw_series(LineSeries::new(pts(&o.trained), o.color.stroke_width(3)))?
            .label(o.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], o.color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The seed notes' "hello" network (sigmoid hidden layer, the notes' W_ax,
/// W_aa, W_ya, zero biases) unrolled over "hel" predicting "ell", with its
/// parameters named as in the notes; returns the graph in DOT.
fn seed_notes_graph() -> Result<String, NnError> {
    let m = |rows: [[f64; 4]; 4]| Tensor::from_vec(rows.concat(), &[4, 4]);
    let w_aa = m([[1.0, 1.0, -1.0, -1.0], [1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 1.0, 0.0], [0.0, 0.0, -1.0, 0.5]]);
    let w_ax = m([[0.0, 0.0, 1.0, -1.0], [1.0, 1.0, -1.0, 0.0], [-1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.5]]);
    let w_ya = m([[0.0, 1.0, 0.0, -1.5], [1.0, 0.0, 0.0, 0.0], [0.0, -0.5, 1.0, 0.0], [0.0, 0.0, -1.0, 1.0]]);
    let mut cell = RnnCell::new(4, 4, Activation::Sigmoid, &mut StdRng::seed_from_u64(0));
    let zero = Tensor::zeros(&[4]);
    let sd = [("weight_ih", w_ax), ("weight_hh", w_aa), ("bias_ih", zero.clone()), ("bias_hh", zero.clone())];
    load_state_dict(&mut cell, &sd.map(|(n, t)| (n.to_string(), t)), "seed notes")?;
    let rnn = Rnn::from_cells(vec![(cell, None)])?;
    let head = Linear::from_tensors(w_ya, zero)?;
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let names = ["W_ax", "W_aa", "b_a", "b_a (hh)", "W_ya", "b_y"];
    for ((_, p), name) in rnn.params().into_iter().chain(head.params()).zip(names) {
        bind.try_bind(p, tape.leaf_named(name, p.value().clone()))?;
    }
    let (chars, ids) = (['h', 'e', 'l', 'o'], [0usize, 1, 2, 2]); // "hell": inputs "hel", targets "ell"
    let x = tape.constant(Tensor::try_one_hot(&ids[..3], 4)?.reshape(&[3, 1, 4]));
    let out = rnn.forward(&bind, x, None, None)?;
    let mut losses = Vec::new();
    for t in 0..3 {
        tape.set_step(Some(t)); // the output layer joins its step's cluster
        let logits = head.forward(&bind, out.output.try_narrow(0, t, 1)?.try_reshape(&[1, 4])?)?;
        losses.push(cross_entropy(logits, &ids[t + 1..t + 2], None, Reduction::Sum)?);
    }
    tape.set_step(None);
    let loss = Var::try_stack(&losses, 0)?.sum_all();
    loss.set_name("E = Σ E_t");
    let title = format!(
        "the seed notes' \"hello\" RNN unrolled over \"{}\" (E = {:.4})",
        chars[..3].iter().collect::<String>(),
        loss.value().item()
    );
    Ok(tape.to_dot(&DotOptions::default().title(&title)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (t, h) = (args.steps, args.hidden);
    let probe = adding_problem(VARIANT, t, 64, &mut StdRng::seed_from_u64(args.seed ^ 0xf10))?.0;
    let mut rng = StdRng::seed_from_u64(args.seed);
    println!(
        "adding problem ({VARIANT}), T = {t}, H = {h}, {} Adam steps of batch 32 per model (mean predictor: MSE ≈ {:.3})\n",
        args.train,
        VARIANT.mean_predictor_mse()
    );
    let outcomes = vec![
        study("Elman RNN (tanh)", RED, Rnn::spec(2, h).elman(Activation::Tanh, &mut rng), &args, &probe)?,
        // Forget-gate bias 3: the LSTM's standard remedy for early forgetting.
        study("LSTM (forget bias 3)", BLUE, Rnn::spec(2, h).cells(|i| LstmCell::new(i, h, &mut rng).with_forget_bias(3.0)), &args, &probe)?,
        study("GRU", RGBColor(0, 150, 60), Rnn::spec(2, h).gru(&mut rng), &args, &probe)?,
    ];
    println!("{:<22} {:^19}   ‖∂h_T/∂h_1‖ / ‖∂h_T/∂h_T‖", "", "test MSE");
    println!("{:<22} {:>8} → {:<8}   {:>10} → {:<10}", "model", "init", "trained", "init", "trained");
    for o in &outcomes {
        println!("{:<22} {:>8.4} → {:<8.4}   {:>10.3e} → {:<10.3e}", o.name, o.mse.0, o.mse.1, o.init.ratio(), o.trained.ratio());
    }
    plot(&args.plot, &outcomes, t)?;
    println!("\nwrote {}", args.plot.display());
    if let Some(path) = &args.dot {
        let dot = seed_notes_graph()?;
        std::fs::write(path, &dot)?;
        println!(
            "wrote {} ({} clusters; render with `dot -Tsvg {} -o graph.svg`)",
            path.display(),
            dot.matches("subgraph cluster_step_").count(),
            path.display()
        );
    }
    Ok(())
}
