//! The character language model: embedding, a recurrent layer of the
//! chosen cell, and a linear head over the vocabulary.

use rand::rngs::StdRng;
use rand::Rng;
use tapegrad::prelude::*;

/// Which cell the recurrent layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CellKind {
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
    /// Elman RNN with tanh.
    Rnn,
}

impl CellKind {
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
            CellKind::Rnn => "rnn",
        }
    }

    /// Gate blocks per cell: rows of `weight_ih` per hidden unit.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
            CellKind::Rnn => 1,
        }
    }
}

/// The number of parameters [`CharModel::new`] would make, or `None` if it
/// overflows `usize`: computed without allocating anything, so absurd
/// sizes can be refused first.
pub fn param_count(kind: CellKind, vocab: usize, hidden: usize, layers: usize) -> Option<usize> {
    let g = kind.gates();
    // Layer l: weight_ih (gH × in), weight_hh (gH × H), two biases (gH).
    let layer = |input: usize| g.checked_mul(hidden)?.checked_mul(input.checked_add(hidden)?.checked_add(2)?);
    let first = layer(EMBED)?;
    let rest = layer(hidden)?.checked_mul(layers.checked_sub(1)?)?;
    let embed = vocab.checked_mul(EMBED)?;
    let head = hidden.checked_add(1)?.checked_mul(vocab)?;
    first.checked_add(rest)?.checked_add(embed)?.checked_add(head)
}

/// The recurrent layer, one variant per cell kind.
#[derive(Module)]
pub enum Layer {
    Lstm(Rnn<LstmCell<f32>>),
    Gru(Rnn<GruCell<f32>>),
    Rnn(Rnn<RnnCell<f32>>),
}

/// Embedding → recurrent layer → linear head.
#[derive(Module)]
pub struct CharModel {
    pub embed: Embedding<f32>,
    pub rnn: Layer,
    pub head: Linear<f32>,
}

pub const EMBED: usize = 64;

impl CharModel {
    pub fn new(kind: CellKind, vocab: usize, hidden: usize, layers: usize, rng: &mut StdRng) -> CharModel {
        let embed = Embedding::new(vocab, EMBED, rng);
        let rnn = match kind {
            CellKind::Lstm => {
                Layer::Lstm(Rnn::spec(EMBED, hidden).layers(layers).cells(|i| LstmCell::new(i, hidden, rng).with_forget_bias(1.0)))
            }
            CellKind::Gru => Layer::Gru(Rnn::spec(EMBED, hidden).layers(layers).gru(rng)),
            CellKind::Rnn => Layer::Rnn(Rnn::spec(EMBED, hidden).layers(layers).elman(Activation::Tanh, rng)),
        };
        let head = Linear::new(hidden, vocab, rng);
        CharModel { embed, rnn, head }
    }

    /// Logits `(T·B, V)` for windows of `T + 1` ids (time-major), with the
    /// next-character targets in the same order.
    pub fn logits<'t>(&self, bind: &Binding<'t, f32>, windows: &[&[usize]]) -> Result<(Var<'t, f32>, Vec<usize>), NnError> {
        let (b, t) = (windows.len(), windows[0].len() - 1);
        let ids: Vec<usize> = (0..t).flat_map(|s| windows.iter().map(move |w| w[s])).collect();
        let targets: Vec<usize> = (0..t).flat_map(|s| windows.iter().map(move |w| w[s + 1])).collect();
        let x = self.embed.forward(bind, &ids, &[t, b])?;
        let h = match &self.rnn {
            Layer::Lstm(r) => r.forward(bind, x, None, None)?.output,
            Layer::Gru(r) => r.forward(bind, x, None, None)?.output,
            Layer::Rnn(r) => r.forward(bind, x, None, None)?.output,
        };
        let logits = self.head.forward(bind, h)?;
        let v = self.head.weight.shape()[0];
        Ok((logits.try_reshape(&[t * b, v])?, targets))
    }

    /// Mean cross-entropy in bits per character over the windows.
    pub fn bits(&self, windows: &[&[usize]]) -> Result<f64, NnError> {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let (logits, targets) = tape.no_grad(|| self.logits(&bind, windows))?;
        let loss = cross_entropy(logits, &targets, None, Reduction::Mean)?;
        Ok(loss.value().item() as f64 / std::f64::consts::LN_2)
    }

    /// Feeds `prefix`, then samples `n` characters at `temperature`, one step
    /// at a time through the cells (no gradient recorded).
    pub fn sample(&self, prefix: &[usize], n: usize, temperature: f32, rng: &mut StdRng) -> Vec<usize> {
        match &self.rnn {
            Layer::Lstm(r) => sample_with(self, r, prefix, n, temperature, rng),
            Layer::Gru(r) => sample_with(self, r, prefix, n, temperature, rng),
            Layer::Rnn(r) => sample_with(self, r, prefix, n, temperature, rng),
        }
    }
}

fn sample_with<C: Cell<f32>>(m: &CharModel, rnn: &Rnn<C>, prefix: &[usize], n: usize, temperature: f32, rng: &mut StdRng) -> Vec<usize> {
    let tape = Tape::new();
    tape.no_grad(|| {
        let bind = Binding::new(&tape);
        let mut states: Vec<C::State<'_>> = rnn.cells().iter().map(|(c, _)| c.zero_state(&tape, 1)).collect();
        let mut out = Vec::with_capacity(n);
        let mut next = *prefix.first().unwrap_or(&0);
        for k in 0..prefix.len() + n {
            let token = if k < prefix.len() { prefix[k] } else { next };
            if k >= prefix.len() {
                out.push(token);
            }
            let mut x = m.embed.forward(&bind, &[token], &[1]).expect("token in vocabulary");
            for ((cell, _), s) in rnn.cells().iter().zip(states.iter_mut()) {
                *s = cell.forward(&bind, x, s).expect("shapes agree");
                x = s.output();
            }
            let logits = m.head.forward(&bind, x).expect("shapes agree").value();
            let probs = logits.scale(1.0 / temperature.max(1e-3)).softmax(1);
            let u: f32 = rng.random();
            let mut acc = 0.0;
            next = probs
                .data()
                .iter()
                .position(|&p| {
                    acc += p;
                    acc > u
                })
                .unwrap_or(probs.numel() - 1);
        }
        out
    })
}
