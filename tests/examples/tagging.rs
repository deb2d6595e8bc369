//! `examples/tagging/`: a name's tag depends on the words to its right,
//! which only a bidirectional layer has read when it tags the name; a CRF
//! on the BiLSTM's scores, trained on whole tag sequences, tags as well.

#[allow(dead_code)]
#[path = "../../examples/tagging/main.rs"]
mod example;

use clap::Parser;
use example::{run, Args};

#[test]
fn bidirectional_layers_tag_from_right_context_unidirectional_ones_cannot() {
    let s =
        run(&Args::parse_from(["tagging", "--train", "400", "--held-out", "150", "--epochs", "8", "--models", "gru,bigru,lstm,bilstm"]))
            .unwrap();
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

#[test]
fn bilstm_crf_tags_ambiguous_names_far_above_chance_like_the_bilstm() {
    let s = run(&Args::parse_from(["tagging", "--train", "400", "--held-out", "150", "--epochs", "8", "--models", "bilstm,bilstm-crf"]))
        .unwrap();
    assert_eq!(s.scores.iter().map(|sc| sc.model.as_str()).collect::<Vec<_>>(), ["BiLSTM", "BiLSTM-CRF"]);
    for sc in &s.scores {
        // Chance on an ambiguous name is 1/2 (PER or LOC, drawn evenly);
        // over all tokens a constant "O" would score about 0.84 (158 ambiguous
        // names are 3/4 of the names, so ~211 of the 1330 held-out tokens).
        assert!(sc.ambiguous >= 0.95, "{}: {} of ambiguous names right", sc.model, sc.ambiguous);
        assert!(sc.all >= 0.98, "{}: {} of tokens right", sc.model, sc.all);
    }
}

#[test]
fn an_unknown_model_name_is_refused_before_any_training() {
    let err = run(&Args::parse_from(["tagging", "--train", "4", "--held-out", "2", "--epochs", "1", "--models", "bilstm,transformer"]))
        .unwrap_err();
    assert!(err.to_string().contains("unknown model `transformer`"), "{err}");
}
