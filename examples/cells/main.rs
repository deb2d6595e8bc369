//! Five published recurrent cells written with the `Cell` API (see
//! `cells.rs`, and `PYTORCH.md` for the same cells in PyTorch): each is
//! property-checked with `check_cell` (gradient, batch independence,
//! causality, padding invariance, determinism) and trained briefly on the
//! adding problem (Le et al. 2015), against the mean predictor's MSE.
//!
//! Run: `cargo run --release --example cells -- --steps 1500 --length 10`

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use rand::{rngs::StdRng, SeedableRng};
use tapegrad::nn::{adding_problem, check_cell, AddingVariant, CellCheckOptions};
use tapegrad::prelude::*;

#[path = "cells.rs"]
pub(crate) mod cells;

use cells::{IndRnn, LnLstm, PeepholeLstm, Sru, Ugrnn};

/// Check and train the five cells.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Args {
    /// Sequence length T of the adding problem.
    #[arg(long, default_value_t = 10)]
    pub length: usize,
    /// Training steps per cell.
    #[arg(long, default_value_t = 1500)]
    pub steps: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 32)]
    pub hidden: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.003)]
    pub lr: f64,
    /// `check_cell` cases per property.
    #[arg(long, default_value_t = 8)]
    pub cases: usize,
    /// Seed of data and initialisation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One cell's row of the table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub cell: &'static str,
    pub checked: bool,
    pub report: String,
    pub first_mse: f64,
    pub final_mse: f64,
    pub seconds: f64,
}

/// MSE of the model reading the last step's output; with `opt`, also one clipped training step.
fn mse<C: Cell<f64>>(m: &mut (Rnn<C>, Linear<f64>), x: &Tensor<f64>, y: &Tensor<f64>, opt: Option<&mut Adam<f64>>) -> Result<f64, NnError> {
    let (t, b) = (x.shape()[0], x.shape()[1]);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = m.0.forward(&bind, tape.constant(x.clone()), None, None)?;
    let h_last = out.output.try_narrow(0, t - 1, 1)?.try_reshape(&[b, m.1.weight.shape()[1]])?;
    let loss = mse_loss(m.1.forward(&bind, h_last)?, y, Reduction::Mean)?;
    if let Some(opt) = opt {
        let mut grads = bind.grads(&tape.backward(loss)?);
        clip_grad_norm(&mut grads, 1.0);
        opt.step(m.params_mut(), &grads)?;
    }
    Ok(loss.value().item())
}

/// Checks one cell's properties, then trains it (test MSE before and after).
fn check_and_train<C: Cell<f64>>(cell: &'static str, make: fn(usize, usize, &mut StdRng) -> C, args: &Args) -> Result<Row, Box<dyn Error>> {
    let start = Instant::now();
    let opts = CellCheckOptions { cases: args.cases, seed: args.seed, ..CellCheckOptions::default() };
    let report = check_cell(|i, h, seed| make(i, h, &mut StdRng::seed_from_u64(seed)), &opts)?;
    let variant = AddingVariant::Le2015;
    let test = adding_problem(variant, args.length, 256, &mut StdRng::seed_from_u64(args.seed + 1000))?;
    let mut init = StdRng::seed_from_u64(args.seed);
    let h = args.hidden;
    let mut m = (Rnn::spec(2, h).cells(|i| make(i, h, &mut init)), Linear::new(h, 1, &mut init));
    let first_mse = mse(&mut m, &test.0, &test.1, None)?;
    let (mut data, mut opt) = (StdRng::seed_from_u64(args.seed + 2000), Adam::new(args.lr));
    for _ in 0..args.steps {
        let (x, y) = adding_problem(variant, args.length, args.batch, &mut data)?;
        mse(&mut m, &x, &y, Some(&mut opt))?;
    }
    let final_mse = mse(&mut m, &test.0, &test.1, None)?;
    Ok(Row { cell, checked: report.passed(), report: report.to_string(), first_mse, final_mse, seconds: start.elapsed().as_secs_f64() })
}

/// Every cell, checked and trained.
pub(crate) fn run(args: &Args) -> Result<Vec<Row>, Box<dyn Error>> {
    Ok(vec![
        check_and_train("IndRNN", IndRnn::new, args)?,
        check_and_train("peephole LSTM", PeepholeLstm::new, args)?,
        check_and_train("LN-LSTM", LnLstm::new, args)?,
        check_and_train("SRU", Sru::new, args)?,
        check_and_train("UGRNN", Ugrnn::new, args)?,
    ])
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let rows = run(&args)?;
    let base = AddingVariant::Le2015.mean_predictor_mse();
    println!("adding problem (Le et al. 2015), T = {}, {} steps; the mean predictor scores {base:.4}", args.length, args.steps);
    println!("{:<14} {:>10} {:>10} {:>10} {:>9} {:>7}", "cell", "check_cell", "MSE start", "MSE end", "end/mean", "secs");
    for r in &rows {
        let check = if r.checked { "passed" } else { "FAILED" };
        println!("{:<14} {check:>10} {:>10.4} {:>10.4} {:>9.3} {:>7.1}", r.cell, r.first_mse, r.final_mse, r.final_mse / base, r.seconds);
    }
    for r in rows.iter().filter(|r| !r.checked) {
        println!("\n{}:\n{}", r.cell, r.report);
    }
    Ok(())
}
