//! Shared helpers: a layer as a function of its parameters, input and
//! initial state, for gradcheck.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{AutodiffError, GradcheckOptions, GradcheckReport, Tape, Tensor, Var};
use tapegrad_nn::{Binding, Cell, Module, NnError, Rnn, State};

/// Lifts an nn error into the autodiff error gradcheck's closure returns.
pub fn lift(e: NnError) -> AutodiffError {
    match e {
        NnError::Autodiff(e) => e,
        other => AutodiffError::Custom { op: "nn".into(), message: other.to_string() },
    }
}

/// Gradchecks `layer` (f64) over its parameters, the input `x` (T, B, I)
/// and, if `with_init`, an initial state per layer and direction. The loss
/// is a fixed random projection of the outputs plus of every final state
/// part, so every path is exercised.
pub fn check_layer<C: Cell<f64>>(
    layer: &Rnn<C>,
    x: &Tensor<f64>,
    lengths: Option<&[usize]>,
    with_init: bool,
    seed: u64,
) -> GradcheckReport {
    let mut rng = StdRng::seed_from_u64(seed);
    let params: Vec<Tensor<f64>> = layer.params().iter().map(|(_, p)| p.value().clone()).collect();
    let names: Vec<String> = layer.params().iter().map(|(n, _)| n.clone()).collect();
    let dirs = if layer.is_bidirectional() { 2 } else { 1 };
    let batch = x.shape()[1];
    // The initial state's parts, per layer and direction, from a probe pass.
    let probe = Tape::new();
    let zero: Vec<Tensor<f64>> = (0..layer.num_layers() * dirs)
        .flat_map(|k| layer.cells()[k / dirs].0.zero_state(&probe, batch).parts().into_iter().map(|v| v.value()).collect::<Vec<_>>())
        .collect();
    let parts_per_state = zero.len() / (layer.num_layers() * dirs);
    let mut inputs = params.clone();
    inputs.push(x.clone());
    if with_init {
        inputs.extend(zero.iter().map(|z| Tensor::rand_uniform(z.shape(), -0.8, 0.8, &mut rng)));
    }
    let mut all_names = names.clone();
    all_names.push("x".into());
    if with_init {
        all_names.extend((0..zero.len()).map(|i| format!("init{i}")));
    }
    let np = params.len();
    let f = tapegrad_autodiff::check_fn(move |tape, v| {
        let bind = Binding::eval(tape);
        for ((_, p), var) in layer.params().iter().zip(v) {
            bind.try_bind(p, *var).map_err(lift)?;
        }
        let init: Option<Vec<C::State<'_>>> = with_init.then(|| v[np + 1..].chunks(parts_per_state).map(C::State::from_parts).collect());
        let out = layer.forward(&bind, v[np], init.as_deref(), lengths).map_err(lift)?;
        let mut terms: Vec<Var<'_, f64>> = vec![out.output.flatten()];
        for s in &out.last {
            terms.extend(s.parts().into_iter().map(|p| p.flatten()));
        }
        let all = Var::try_concat(&terms, 0)?;
        // A fixed, input-independent projection: sum(w ⊙ all) with w from a seeded RNG.
        let w = Tensor::rand_uniform(&all.shape(), -1.0, 1.0, &mut StdRng::seed_from_u64(99));
        Ok(all.try_mul(tape.constant(w))?.sum_all())
    });
    let names: Vec<&str> = all_names.iter().map(String::as_str).collect();
    tapegrad_autodiff::gradcheck(f, &inputs, &GradcheckOptions::default().names(&names)).expect("the layer runs")
}
