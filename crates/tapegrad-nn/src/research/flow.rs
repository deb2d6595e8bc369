//! [`gradient_flow`]: how strongly a gradient reaches each earlier step.

use tapegrad_autodiff::{AutodiffError, Tape, Var};
use tapegrad_tensor::{Scalar, Tensor};

use crate::{Binding, Cell, Result, Rnn, State};

/// How strongly a target's gradient reaches each earlier step, from
/// [`gradient_flow`]. Step `k` is 0-based: `k = 0` is the first step.
///
/// ```
/// use tapegrad_nn::GradientFlow;
/// let flow = GradientFlow { state: vec![0.02, 0.2, 2.0], parts: vec![vec![0.02, 0.2, 2.0], vec![0.5, 1.0, 1.0]], output_part: Some(0), input: vec![] };
/// assert_eq!(flow.ratio(), 0.01); // the headline: the output, which is part 0
/// assert_eq!(flow.part_ratio(1), Some(0.5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradientFlow {
    /// `‖∂target/∂h_k‖` per step, `h_k` the state's output after step `k`
    /// ([`State::output`], the hidden state of the built-in cells).
    pub state: Vec<f64>,
    /// The same per part of the state (`parts[p][k]`; for an LSTM, `h`
    /// then `c`; for an SRU, `c` then `h`).
    pub parts: Vec<Vec<f64>>,
    /// Which part of the state the output (and so [`GradientFlow::state`],
    /// the headline) is, `None` if it is none of them. A cell whose output
    /// does not feed the next step (an SRU's `h`) has a headline of exactly
    /// 0 before the last step: read the recurrent part in `parts` instead.
    pub output_part: Option<usize>,
    /// `‖∂target/∂x_k‖` for the layer's input at each step.
    pub input: Vec<f64>,
}

impl GradientFlow {
    /// `state[0] / state[T-1]`: with the default target, `‖∂h_T/∂h_1‖ /
    /// ‖∂h_T/∂h_T‖`, how much of the gradient survives the whole sequence
    /// (≪ 1: vanishing, ≫ 1: exploding).
    pub fn ratio(&self) -> f64 {
        match (self.state.first(), self.state.last()) {
            (Some(a), Some(b)) => a / b,
            _ => f64::NAN,
        }
    }
    /// `parts[p][0] / parts[p][T-1]`, the same ratio for part `p` of the
    /// state; `None` past the last part.
    pub fn part_ratio(&self, p: usize) -> Option<f64> {
        let v = self.parts.get(p)?;
        Some(v.first()? / v.last()?)
    }
}

/// A scalar loss of a layer's output, for [`gradient_flow`].
///
/// ```
/// use tapegrad_nn::FlowLoss;
/// let mean: FlowLoss<'_, f64> = &|y| Ok(y.mean_all());
/// # let _ = mean;
/// ```
pub type FlowLoss<'a, T> = &'a dyn for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>;

/// Gradient flow through time: the norm of the gradient of a target with
/// respect to the hidden state (and the input) at every step, for the last
/// layer's forward direction, through [`crate::Sequence::state_at`] and
/// gradients with respect to those intermediate values.
///
/// The target is, with `loss` `None`, the last step's output `h_T`: the
/// norms are Frobenius norms of the Jacobians `∂h_T/∂h_k` and `∂h_T/∂x_k`,
/// root-mean-square over the batch (`H` reverse sweeps, one per hidden
/// unit; samples are independent), so `state[T-1]` is `‖I‖ = √H`. With
/// `loss`, a function of the layer's output, the norms are those of the
/// gradient of the loss (summed over its elements, over the whole batch).
///
/// `x` is in the layer's own layout (time-major, or batch-first for a
/// batch-first layer); every sequence is taken at full length.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{gradient_flow, Activation, Rnn};
/// use tapegrad_tensor::Tensor;
/// let rnn = Rnn::spec(2, 8).elman(Activation::Tanh, &mut StdRng::seed_from_u64(0));
/// let x = Tensor::<f64>::rand_uniform(&[20, 4, 2], -1.0, 1.0, &mut StdRng::seed_from_u64(1));
/// let flow = gradient_flow(&rnn, &x, None).unwrap();
/// assert!((flow.state[19] - 8f64.sqrt()).abs() < 1e-12); // ∂h_T/∂h_T = I
/// assert!(flow.ratio() < 1e-3, "vanishing: {}", flow.ratio());
/// let sum = gradient_flow(&rnn, &x, Some(&|y| Ok(y.sum_all()))).unwrap();
/// assert_eq!(sum.state.len(), 20);
/// assert_eq!(flow.output_part, Some(0)); // an Elman state is its output
/// ```
///
/// # Errors
/// What the layer (or `loss`) returns for this input.
pub fn gradient_flow<T: Scalar, C: Cell<T>>(layer: &Rnn<C>, x: &Tensor<T>, loss: Option<FlowLoss<'_, T>>) -> Result<GradientFlow> {
    // Which axis of `x` is time: a probe of shape (2, 1, I) has 2 steps
    // unless the layer is batch-first.
    let probe = Tape::new();
    let input = layer.cells()[0].0.input_size();
    let probed = layer.forward(&Binding::new(&probe), probe.constant(Tensor::zeros(&[2, 1, input])), None, None)?;
    let axis = if probed.sequences[0].len() == 2 { 0 } else { 1 };
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let xv = tape.leaf(x.clone());
    let out = layer.forward(&bind, xv, None, None)?;
    let dirs = if layer.is_bidirectional() { 2 } else { 1 };
    let seq = &out.sequences[(layer.num_layers() - 1) * dirs];
    let steps = seq.len();
    let states = (0..steps).map(|k| seq.state_at(k)).collect::<Result<Vec<_>>>()?;
    let n_parts = states[0].parts().len();
    let output_part = states[0].parts().iter().position(|p| p.index() == states[0].output().index());
    let mut wrt = vec![xv];
    wrt.extend(states.iter().map(|s| s.output()));
    for s in &states {
        wrt.extend(s.parts());
    }
    let (target, seeds, scale) = match loss {
        Some(l) => {
            let v = l(out.output)?;
            (v, vec![Tensor::ones(&v.shape())], 1.0)
        }
        None => {
            let h = states[steps - 1].output();
            let (b, hidden) = (h.shape()[0], h.shape()[1]);
            let seeds = (0..hidden).map(|j| {
                Tensor::from_vec((0..b * hidden).map(|k| if k % hidden == j { T::one() } else { T::zero() }).collect(), &[b, hidden])
            });
            (h, seeds.collect(), 1.0 / b as f64)
        }
    };
    let sq = |t: &Tensor<T>| t.data().iter().map(|v| v.to_f64_lossless().powi(2)).sum::<f64>();
    let mut state = vec![0.0; steps];
    let mut parts = vec![vec![0.0; steps]; n_parts];
    let mut inp = vec![0.0; steps];
    for seed in &seeds {
        let g = match tape.vjp(target, seed, &wrt) {
            Ok(g) => g.into_iter().map(Some).collect(),
            // Some value is unreached or constant: ask one at a time.
            Err(AutodiffError::NoGradient { .. } | AutodiffError::NotDifferentiable { .. }) => {
                wrt.iter().map(|v| tape.vjp(target, seed, &[*v]).ok().and_then(|g| g.into_iter().next())).collect::<Vec<_>>()
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(gx) = &g[0] {
            for (k, v) in inp.iter_mut().enumerate() {
                *v += sq(&gx.narrow(axis, k, 1));
            }
        }
        for k in 0..steps {
            state[k] += g[1 + k].as_ref().map_or(0.0, sq);
            for p in 0..n_parts {
                parts[p][k] += g[1 + steps + k * n_parts + p].as_ref().map_or(0.0, sq);
            }
        }
    }
    let norm = |v: Vec<f64>| v.into_iter().map(|s| (s * scale).sqrt()).collect::<Vec<f64>>();
    Ok(GradientFlow { state: norm(state), parts: parts.into_iter().map(norm).collect(), output_part, input: norm(inp) })
}
