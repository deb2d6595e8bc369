//! A user-defined recurrent cell in plain ops: the minimal gated unit (MGU,
//! Zhou et al. 2016). No backward code: it gets every layer (stacked,
//! bidirectional, variable-length), exact BPTT and gradient checks for free.
//!
//! Run: `cargo run --release --example custom_cell`

use rand::{rngs::StdRng, SeedableRng};
use tapegrad::prelude::*;

/// The minimal gated unit:
/// `f = σ(x·W_fᵀ + h·U_fᵀ + b_f)`, `h̃ = tanh(x·W_hᵀ + (f⊙h)·U_hᵀ + b_h)`,
/// `h' = (1 - f)⊙h + f⊙h̃`, with `W = [W_f; W_h]` and `b = [b_f; b_h]`.
#[derive(Debug, Clone, Module)]
pub(crate) struct Mgu {
    w: Param<f64>,
    b: Param<f64>,
    u_f: Param<f64>,
    u_h: Param<f64>,
}

impl Mgu {
    pub(crate) fn new(input: usize, hidden: usize, rng: &mut StdRng) -> Self {
        let mut init = |s: &[usize]| Param::new(tapegrad::nn::uniform_init(s, hidden, rng));
        Mgu { w: init(&[2 * hidden, input]), b: init(&[2 * hidden]), u_f: init(&[hidden, hidden]), u_h: init(&[hidden, hidden]) }
    }
}

impl Cell<f64> for Mgu {
    type State<'t> = Var<'t, f64>;
    fn input_size(&self) -> usize {
        self.w.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.u_f.shape()[0]
    }
    /// Both gates' input terms for every step at once.
    fn project<'t>(&self, p: &Binding<'t, f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        Ok(x.try_linear(p.param(&self.w), Some(p.param(&self.b)))?)
    }
    /// The elementwise ops between the two products run as two fused
    /// regions (one tape node each, gradients derived from the ops' own
    /// rules) when the tape fuses (`Tape::set_fusion(Fusion::On)`); off, the
    /// default, the same code runs op by op.
    fn step<'t>(&self, p: &Binding<'t, f64>, gx: Var<'t, f64>, h: &Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        let (tape, hidden, h) = (h.tape(), self.hidden_size(), *h);
        let hu = h.matmul(p.param(&self.u_f).t());
        let (f, fh) = tape.fused(|| -> Result<_, NnError> {
            let f = (gx.try_narrow(1, 0, hidden)? + hu).sigmoid();
            Ok((f, f * h))
        })?;
        let hc = fh.matmul(p.param(&self.u_h).t());
        tape.fused(|| {
            let cand = (gx.try_narrow(1, hidden, hidden)? + hc).tanh();
            Ok(h + f * (cand - h))
        })
    }
}

pub(crate) fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(0);
    // 1. Gradcheck BPTT through a 2-layer bidirectional MGU on a ragged batch.
    let layer = Rnn::spec(3, 4).layers(2).bidirectional(true).cells(|i| Mgu::new(i, 4, &mut rng));
    let x = Tensor::rand_uniform(&[5, 3, 3], -1.0, 1.0, &mut rng);
    let report = gradcheck_layer(&layer, &x, &LayerCheckOptions::default().lengths(&[5, 2, 4]))?;
    print!("{report}");
    assert!(report.passed());

    // 2. Train it: predict the next character of "hello" (h→e, e→l, l→l, l→o).
    let vocab = ['h', 'e', 'l', 'o'];
    let ids: Vec<usize> = "hello".chars().map(|c| vocab.iter().position(|&v| v == c).unwrap()).collect();
    let mut model = (Rnn::spec(4, 8).cells(|i| Mgu::new(i, 8, &mut rng)), Linear::new(8, 4, &mut rng));
    let mut opt = Adam::new(0.05);
    let inputs = Tensor::try_one_hot(&ids[..4], 4)?.reshape(&[4, 1, 4]); // (T, B, I)
    let mut first = None;
    for step in 0..=60 {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let out = model.0.forward(&bind, tape.constant(inputs.clone()), None, None)?;
        let logits = model.1.forward(&bind, out.output.reshape(&[4, 8]))?;
        let loss = cross_entropy(logits, &ids[1..], None, Reduction::Mean)?;
        let grads = bind.grads(&tape.backward(loss)?);
        opt.step(model.params_mut(), &grads)?;
        let first = *first.get_or_insert(loss.value().item());
        if step % 20 == 0 {
            println!("step {step:3}  loss {:.4}", loss.value().item());
        }
        if step == 60 {
            assert!(loss.value().item() < 0.25 * first, "the MGU should learn \"hello\"");
        }
    }
    Ok(())
}
