//! `examples/cells/`: five published cells (IndRNN, peephole LSTM,
//! LN-LSTM, SRU, UGRNN) written with the `Cell` API pass every property
//! of `check_cell`, and each learns the adding problem (Le et al. 2015,
//! T = 10) well below the mean predictor's MSE of 1/6 in 1500 steps.

#[allow(dead_code)]
#[path = "../../examples/cells/main.rs"]
mod example;

use clap::Parser;
use tapegrad::nn::AddingVariant;

#[test]
fn five_published_cells_pass_check_cell_and_learn_the_adding_problem() {
    let args = example::Args::parse_from(["cells"]);
    assert_eq!((args.length, args.steps), (10, 1500), "the sizes this test is about");
    let rows = example::run(&args).unwrap();
    assert_eq!(rows.len(), 5);
    let base = AddingVariant::Le2015.mean_predictor_mse();
    for r in &rows {
        assert!(r.checked, "{} fails check_cell:\n{}", r.cell, r.report);
        // "Clearly below": under half the mean predictor's MSE (measured:
        // IndRNN 0.40 of it, the gated cells 0.01 or less).
        assert!(r.final_mse < 0.5 * base, "{}: test MSE {} after training, mean predictor {base}", r.cell, r.final_mse);
        assert!(r.final_mse < r.first_mse, "{}: {} -> {}", r.cell, r.first_mse, r.final_mse);
    }
}
