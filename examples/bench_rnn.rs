//! Benchmark harness: one training step of a recurrent layer (forward over
//! the whole sequence, loss = mean(y²), backward to every parameter) timed
//! over repeated iterations; prints one JSON line. `scripts/bench_reference.py`
//! runs the same steps in PyTorch and JAX/Flax; see BENCHMARKS.md.
//!
//! Run: `cargo run --release --example bench_rnn -- --cell lstm --seq 50 --batch 8 --input 64 --hidden 128 --threads 2`
//!
//! Long sequences (issue 16): `--seq 10000 --batch 32 --input 128 --hidden 256
//! --checkpoint 100 --warmup 1 --iters 2` checkpoints segments of 100 steps;
//! the line then also gives the peak resident memory of the whole process
//! (`peak_mib`), the part above what it held before the first step
//! (`step_peak_mib`: the input and weights excluded) and the values the tape
//! held after the forward pass (`held_mib`, views counted once per node).

use std::time::Instant;

use clap::Parser;
use rand::{rngs::StdRng, SeedableRng};
use tapegrad::prelude::*;

/// Cells the harness can time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CellArg {
    /// The built-in LSTM.
    Lstm,
    /// The built-in GRU.
    Gru,
    /// The built-in Elman RNN (tanh).
    Rnn,
    /// An LSTM written as a user-defined cell in this file.
    #[value(name = "custom_lstm")]
    CustomLstm,
    /// The peephole LSTM of `examples/cells/` (Gers & Schmidhuber 2000), user-written.
    #[value(name = "peephole_lstm")]
    PeepholeLstm,
    /// The layer-normalised LSTM of `examples/cells/` (Ba et al. 2016), user-written.
    #[value(name = "ln_lstm")]
    LnLstm,
}

/// The published cells of `examples/cells/`, written as any user would.
#[allow(dead_code)]
#[path = "cells/cells.rs"]
mod cells;

/// Time one training step of a recurrent layer.
#[derive(Parser, Debug)]
struct Args {
    /// Which cell.
    #[arg(long, value_enum, default_value_t = CellArg::Lstm)]
    cell: CellArg,
    /// Sequence length T.
    #[arg(long, default_value_t = 50)]
    seq: usize,
    /// Batch size B.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Input features I.
    #[arg(long, default_value_t = 64)]
    input: usize,
    /// Hidden units H.
    #[arg(long, default_value_t = 128)]
    hidden: usize,
    /// Bidirectional layer.
    #[arg(long)]
    bidirectional: bool,
    /// Timed iterations (after the warm-up iterations).
    #[arg(long, default_value_t = 20)]
    iters: usize,
    /// Warm-up iterations, not timed.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Freed tensor buffers kept for reuse per thread, in MiB (default: the
    /// library's, 1024).
    #[arg(long)]
    pool_mib: Option<usize>,
    /// Gradient checkpointing with segments of this many steps (0: off).
    #[arg(long, default_value_t = 0)]
    checkpoint: usize,
    /// Segments of this many steps without checkpointing (0: the layer's
    /// default, ⌈√T⌉ steps, at least 32).
    #[arg(long, default_value_t = 0)]
    segments: usize,
    /// Threads for large matrix products.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Instead of a layer, time an N×N×N f32 matrix product (GFLOP/s).
    #[arg(long)]
    gemm: Option<usize>,
}

/// The user-defined LSTM: same equations as the built-in, written here as
/// any user would, with the input projection hoisted out of the time loop
/// through `Cell::project`.
#[derive(Debug, Clone, Module)]
struct CustomLstm {
    w_ih: Param<f32>,
    w_hh: Param<f32>,
    b: Param<f32>,
}

impl CustomLstm {
    fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        let init = |s: &[usize], r: &mut StdRng| Param::new(tapegrad::nn::uniform_init(s, hidden, r));
        CustomLstm { w_ih: init(&[4 * hidden, input], rng), w_hh: init(&[4 * hidden, hidden], rng), b: init(&[4 * hidden], rng) }
    }
}

impl Cell<f32> for CustomLstm {
    type State<'t> = LstmState<'t, f32>;
    fn input_size(&self) -> usize {
        self.w_ih.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.w_hh.shape()[1]
    }
    fn project<'t>(&self, p: &Binding<'t, f32>, x: Var<'t, f32>) -> Result<Var<'t, f32>, NnError> {
        Ok(x.try_matmul(p.param(&self.w_ih).t())?)
    }
    fn step<'t>(&self, p: &Binding<'t, f32>, xp: Var<'t, f32>, s: &LstmState<'t, f32>) -> Result<LstmState<'t, f32>, NnError> {
        let g = (xp + s.h.try_matmul(p.param(&self.w_hh).t())? + p.param(&self.b)).try_chunk(4, 1)?;
        let c = g[1].sigmoid() * s.c + g[0].sigmoid() * g[2].tanh();
        Ok(LstmState { h: g[3].sigmoid() * c.tanh(), c })
    }
}

/// What [`time`] measured: the timed iterations (ms), the forward pass's
/// tape records per time step and direction (the layer's whole forward,
/// divided by `T · directions`; parameter leaves and the input included),
/// and the MiB of values the tape held after the forward pass.
struct Timing {
    times: Vec<f64>,
    records_per_step: f64,
    held_mib: f64,
}

fn time<C: Cell<f32>>(layer: &Rnn<C>, x: &Tensor<f32>, a: &Args) -> Timing {
    let step = || {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let out = layer.forward(&bind, tape.constant(x.clone()), None, None).expect("valid input");
        let (records, held) = (tape.len(), tape.held_values());
        // mean(y²), keeping no value its backward does not read (not y²).
        let loss = tape.keep_needed(|| out.output.square().mean_all());
        let grads = bind.grads(&tape.backward(loss).expect("scalar loss"));
        assert_eq!(grads.len(), layer.params().len());
        (records, held)
    };
    let (mut records, mut held) = (0, 0);
    for _ in 0..a.warmup {
        (records, held) = step();
    }
    let times = (0..a.iters)
        .map(|_| {
            let s = Instant::now();
            (records, held) = step();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let records_per_step = records as f64 / (x.shape()[0] * if layer.is_bidirectional() { 2 } else { 1 }) as f64;
    Timing { times, records_per_step, held_mib: (held * 4) as f64 / (1 << 20) as f64 }
}

/// A memory figure of this process in MiB (Linux), if known: `VmHWM`
/// (peak resident) or `VmRSS` (resident now).
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn main() {
    let a = Args::parse();
    tapegrad::tensor::set_num_threads(a.threads);
    if let Some(mib) = a.pool_mib {
        tapegrad::tensor::set_buffer_pool_limit(mib << 20);
    }
    if let Some(n) = a.gemm {
        let mut rng = StdRng::seed_from_u64(0);
        let (x, y) = (Tensor::<f32>::rand_uniform(&[n, n], -1.0, 1.0, &mut rng), Tensor::<f32>::rand_uniform(&[n, n], -1.0, 1.0, &mut rng));
        let mut t: Vec<f64> = (0..a.iters + 3)
            .map(|_| {
                let s = Instant::now();
                std::hint::black_box(x.matmul(&y));
                s.elapsed().as_secs_f64()
            })
            .skip(3)
            .collect();
        t.sort_by(|p, q| p.partial_cmp(q).expect("finite"));
        let med = t[t.len() / 2];
        println!(
            "{{\"framework\": \"tapegrad\", \"gemm\": {n}, \"threads\": {}, \"median_ms\": {:.3}, \"gflops\": {:.1}}}",
            a.threads,
            med * 1e3,
            2.0 * (n as f64).powi(3) / med / 1e9
        );
        return;
    }
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<f32>::rand_uniform(&[a.seq, a.batch, a.input], -1.0, 1.0, &mut rng);
    let h = a.hidden;
    let mut spec = Rnn::spec(a.input, h).bidirectional(a.bidirectional);
    if a.segments > 0 {
        spec = spec.segments(Segments::Steps(a.segments));
    }
    if a.checkpoint > 0 {
        spec = spec.segments(Segments::Steps(a.checkpoint)).checkpoint(Checkpoint::On);
    }
    // Resident memory before the first step: the input and the weights.
    let base = status_mib("VmRSS:");
    let mut m = match a.cell {
        CellArg::Lstm => time(&spec.lstm::<f32, _>(&mut rng), &x, &a),
        CellArg::Gru => time(&spec.gru::<f32, _>(&mut rng), &x, &a),
        CellArg::Rnn => time(&spec.elman::<f32, _>(Activation::Tanh, &mut rng), &x, &a),
        CellArg::CustomLstm => time(&spec.cells(|inp| CustomLstm::new(inp, h, &mut rng)), &x, &a),
        CellArg::PeepholeLstm => time(&spec.cells(|inp| cells::PeepholeLstm::new(inp, h, &mut rng)), &x, &a),
        CellArg::LnLstm => time(&spec.cells(|inp| cells::LnLstm::new(inp, h, &mut rng)), &x, &a),
    };
    let t = &mut m.times;
    t.sort_by(|p, q| p.partial_cmp(q).expect("finite times"));
    let peak = status_mib("VmHWM:");
    let cell = match a.cell {
        CellArg::CustomLstm => "custom_lstm".to_string(),
        CellArg::PeepholeLstm => "peephole_lstm".to_string(),
        CellArg::LnLstm => "ln_lstm".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    println!(
        "{{\"framework\": \"tapegrad\", \"cell\": \"{cell}\", \"seq\": {}, \"batch\": {}, \"input\": {}, \"hidden\": {}, \"bidirectional\": {}, \"threads\": {}, \"iters\": {}, \"median_ms\": {:.4}, \"min_ms\": {:.4}, \"max_ms\": {:.4}, \"peak_mib\": {}, \"step_peak_mib\": {}, \"held_mib\": {:.1}, \"checkpoint\": {}, \"records_per_step\": {:.1}}}",
        a.seq,
        a.batch,
        a.input,
        a.hidden,
        a.bidirectional,
        a.threads,
        a.iters,
        t[t.len() / 2],
        t[0],
        t[t.len() - 1],
        peak.map_or("null".to_string(), |m| format!("{m:.1}")),
        peak.zip(base).map_or("null".to_string(), |(p, b)| format!("{:.1}", p - b)),
        m.held_mib,
        a.checkpoint,
        m.records_per_step
    );
}
