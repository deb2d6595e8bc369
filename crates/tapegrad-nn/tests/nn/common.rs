//! Shared helpers.

use tapegrad_autodiff::{GradcheckOptions, GradcheckReport, Tensor};
use tapegrad_nn::{gradcheck_layer, Cell, Rnn};

/// Gradchecks `layer` with default tolerances and a given seed.
pub fn check_layer<C: Cell<f64>>(
    layer: &Rnn<C>,
    x: &Tensor<f64>,
    lengths: Option<&[usize]>,
    with_init: bool,
    seed: u64,
) -> GradcheckReport {
    gradcheck_layer(layer, x, lengths, with_init, &GradcheckOptions::default().seed(seed)).expect("the layer accepts this input")
}
