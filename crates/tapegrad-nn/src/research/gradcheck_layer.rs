//! Gradient checks of whole layers: BPTT through any cell against finite
//! differences.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{check_fn, gradcheck, AutodiffError, GradcheckOptions, GradcheckReport, Tape, Tensor, Var};

use crate::{Binding, Cell, Module, NnError, Result, Rnn, State};

impl From<NnError> for AutodiffError {
    /// Lets layer code run inside a gradcheck closure with `?`.
    fn from(e: NnError) -> Self {
        match e {
            NnError::Autodiff(e) => e,
            other => AutodiffError::Custom { op: "layer".into(), message: other.to_string() },
        }
    }
}

/// What [`gradcheck_layer`] checks besides the parameters and the input:
/// per-sequence lengths (default none), the initial state (default a random
/// one per layer and direction, whose gradient is checked too), and the
/// gradcheck options (tolerances, mode, seed).
///
/// ```
/// use tapegrad_autodiff::GradcheckOptions;
/// use tapegrad_nn::LayerCheckOptions;
/// let opts = LayerCheckOptions::default().lengths(&[4, 2]).zero_initial_state().gradcheck(GradcheckOptions::default().seed(7));
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Default)]
pub struct LayerCheckOptions<'a> {
    lengths: Option<&'a [usize]>,
    zero_init: bool,
    gradcheck: GradcheckOptions,
}

impl<'a> LayerCheckOptions<'a> {
    /// Each sequence's true length (the rest of `x` is padding).
    pub fn lengths(self, lengths: &'a [usize]) -> Self {
        LayerCheckOptions { lengths: Some(lengths), ..self }
    }
    /// Start from the all-zero state instead of a random one (whose
    /// gradient is then not checked).
    pub fn zero_initial_state(self) -> Self {
        LayerCheckOptions { zero_init: true, ..self }
    }
    /// Tolerances, mode and seed of the underlying [`gradcheck`].
    pub fn gradcheck(self, options: GradcheckOptions) -> Self {
        LayerCheckOptions { gradcheck: options, ..self }
    }
}

/// Gradchecks a layer in f64: the BPTT gradient of a fixed random projection
/// of every output and every final state, with respect to every parameter,
/// the input `x` `(T, B, I)` and (unless asked for a zero initial state) a
/// random initial state per layer and direction, against central finite
/// differences.
///
/// This is the check to run on a new cell: plug it into an [`Rnn`] (stacked,
/// bidirectional, with `lengths`) and call this.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::{GradcheckOptions, Tensor};
/// use tapegrad_nn::{gradcheck_layer, LayerCheckOptions, Rnn};
/// let gru = Rnn::spec(2, 3).bidirectional(true).gru(&mut StdRng::seed_from_u64(0));
/// let x = Tensor::rand_uniform(&[4, 2, 2], -1.0, 1.0, &mut StdRng::seed_from_u64(1));
/// let report = gradcheck_layer(&gru, &x, &LayerCheckOptions::default().lengths(&[4, 2])).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
///
/// # Errors
/// What the layer returns for this input (bad shapes, lengths).
pub fn gradcheck_layer<C: Cell<f64>>(layer: &Rnn<C>, x: &Tensor<f64>, check: &LayerCheckOptions<'_>) -> Result<GradcheckReport> {
    let (lengths, with_init, options) = (check.lengths, !check.zero_init, &check.gradcheck);
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5eed);
    let named = layer.params();
    let dirs = if layer.is_bidirectional() { 2 } else { 1 };
    let batch = x.shape().get(1).copied().unwrap_or(0);
    let probe = Tape::new();
    let zero: Vec<Tensor<f64>> = (0..layer.num_layers() * dirs)
        .flat_map(|k| layer.cells()[k / dirs].0.zero_state(&probe, batch).parts().into_iter().map(|v| v.value()).collect::<Vec<_>>())
        .collect();
    let per_state = zero.len() / (layer.num_layers() * dirs);
    let mut inputs: Vec<Tensor<f64>> = named.iter().map(|(_, p)| p.value().clone()).collect();
    let mut names: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
    inputs.push(x.clone());
    names.push("input".into());
    if with_init {
        for (i, z) in zero.iter().enumerate() {
            inputs.push(Tensor::rand_uniform(z.shape(), -0.8, 0.8, &mut rng));
            names.push(format!("initial state {} part {}", i / per_state, i % per_state));
        }
    }
    let np = named.len();
    let f = check_fn(move |tape, v| {
        let bind = Binding::new(tape);
        for ((_, p), var) in layer.params().iter().zip(v) {
            bind.try_bind(p, *var)?;
        }
        let init: Option<Vec<C::State<'_>>> = with_init.then(|| v[np + 1..].chunks(per_state).map(C::State::from_parts).collect());
        let out = layer.forward(&bind, v[np], init.as_deref(), lengths)?;
        let mut terms: Vec<Var<'_, f64>> = vec![out.output.flatten()];
        for s in &out.last {
            terms.extend(s.parts().into_iter().map(|p| p.flatten()));
        }
        let all = Var::try_concat(&terms, 0)?;
        let w = Tensor::rand_uniform(&all.shape(), -1.0, 1.0, &mut StdRng::seed_from_u64(0x9e37));
        Ok(all.try_mul(tape.constant(w))?.sum_all())
    });
    // Run once for a typed error on bad input rather than a report.
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    layer.forward(&bind, tape.constant(x.clone()), None, lengths)?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut opts = options.clone();
    if opts.input_names.is_empty() {
        opts = opts.names(&refs);
    }
    Ok(gradcheck(f, &inputs, &opts)?)
}
