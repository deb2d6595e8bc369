//! `examples/classify/`: word order decides the label, so the LSTMs learn
//! it and a bag of words cannot; padding a ragged batch changes no logit.

#[allow(dead_code)]
#[path = "../../examples/classify/main.rs"]
mod example;

use clap::Parser;
use example::{run, Args};

#[test]
fn lstms_learn_word_order_a_bag_of_words_cannot() {
    let s = run(&Args::parse_from(["classify", "--pairs", "160", "--epochs", "10"])).unwrap();
    assert!(s.unidirectional >= 0.9, "unidirectional LSTM held-out accuracy {}", s.unidirectional);
    assert!(s.bidirectional >= 0.9, "bidirectional LSTM held-out accuracy {}", s.bidirectional);
    // Each pair has the same words and opposite labels: a bag of words scores both alike.
    assert!((s.bag_of_words - 0.5).abs() <= 0.05, "bag of words held-out accuracy {}", s.bag_of_words);
    assert!(s.lengths.0 < s.lengths.1, "sentences of different lengths share a padded batch: {:?}", s.lengths);
    assert!(s.padding_effect < 1e-5, "padding moved a logit by {}", s.padding_effect);
    // The seed notes' own pair: "good, not bad" positive, "bad, not good" negative.
    let (good, bad) = (s.notes_pair[0], s.notes_pair[1]);
    for model in 0..2 {
        assert!(good[model] > 0.5 && bad[model] < 0.5, "model {model}: P(positive) {} and {}", good[model], bad[model]);
    }
}
