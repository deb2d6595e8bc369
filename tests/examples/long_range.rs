//! `examples/long_range.rs`: the vanishing-gradient story, measured. On the
//! adding problem an Elman RNN learns short sequences only, while a GRU
//! carries the marked values across long ones; the learning curves are
//! plotted.

#[allow(dead_code)]
#[path = "../../examples/long_range.rs"]
mod example;

use clap::Parser;
use example::{run, Args};

#[test]
fn elman_fails_at_length_40_where_gru_solves_it_and_the_curves_are_plotted() {
    let plot = std::env::temp_dir().join(format!("tapegrad-long-range-{}.svg", std::process::id()));
    let args = Args::parse_from(["long_range", "--lengths", "10,40", "--steps", "700", "--plot", plot.to_str().unwrap()]);
    let s = run(&args).unwrap();
    assert_eq!(s.curves.len(), 6, "three cells at two lengths");
    // Predicting the mean scores 1/6; "solved" is below 0.01.
    assert!(s.mse("GRU", 10) < 0.01, "GRU at T=10: {}", s.mse("GRU", 10));
    assert!(s.mse("LSTM", 10) < 0.01, "LSTM at T=10: {}", s.mse("LSTM", 10));
    assert!(s.mse("GRU", 40) < 0.01, "GRU at T=40: {}", s.mse("GRU", 40));
    assert!(s.mse("Elman", 40) > 0.1, "Elman at T=40 should stay near the mean predictor: {}", s.mse("Elman", 40));
    let svg = std::fs::read_to_string(&plot).unwrap();
    for label in ["T = 10", "T = 40", "Elman", "LSTM", "GRU", "predict the mean"] {
        assert!(svg.contains(label), "the plot lacks {label:?}");
    }
    std::fs::remove_file(plot).ok();
}
