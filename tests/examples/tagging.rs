//! `examples/tagging.rs`: a name's tag depends on the words to its right,
//! which only a bidirectional layer has read when it tags the name.

#[allow(dead_code)]
#[path = "../../examples/tagging.rs"]
mod example;

use clap::Parser;
use example::{run, Args};

#[test]
fn bidirectional_layers_tag_from_right_context_unidirectional_ones_cannot() {
    let s = run(&Args::parse_from(["tagging", "--train", "400", "--held-out", "150", "--epochs", "8"])).unwrap();
    assert_eq!(s.scores.iter().map(|sc| sc.model.as_str()).collect::<Vec<_>>(), ["GRU", "BiGRU", "LSTM", "BiLSTM"]);
    for sc in &s.scores {
        let bidirectional = sc.model.starts_with("Bi");
        if bidirectional {
            assert!(sc.ambiguous >= 0.95, "{}: {} of ambiguous names right", sc.model, sc.ambiguous);
            assert!(sc.all >= 0.98, "{}: {} of tokens right", sc.model, sc.all);
        } else {
            // Tagging the name before its evidence: a guess, right about half the time.
            assert!(sc.ambiguous <= 0.7, "{}: {} of ambiguous names right without seeing ahead", sc.model, sc.ambiguous);
            assert!(sc.all >= 0.85, "{}: {} of tokens right (the unambiguous ones are easy)", sc.model, sc.all);
        }
    }
}
