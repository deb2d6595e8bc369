//! Shared helpers.

use tapegrad_autodiff::{GradcheckOptions, GradcheckReport, Tensor};
use tapegrad_nn::{gradcheck_layer, Cell, LayerCheckOptions, Rnn};

/// Gradchecks `layer` with default tolerances and a given seed.
pub fn check_layer<C: Cell<f64>>(
    layer: &Rnn<C>,
    x: &Tensor<f64>,
    lengths: Option<&[usize]>,
    with_init: bool,
    seed: u64,
) -> GradcheckReport {
    let mut opts = LayerCheckOptions::default().gradcheck(GradcheckOptions::default().seed(seed));
    if let Some(l) = lengths {
        opts = opts.lengths(l);
    }
    if !with_init {
        opts = opts.zero_initial_state();
    }
    gradcheck_layer(layer, x, &opts).expect("the layer accepts this input")
}
