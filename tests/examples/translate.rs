//! `examples/translate.rs`: date intervals rewritten as ISO 8601; the
//! encoder–decoder with attention gets nearly all held-out ones exactly
//! right, the same model without attention (a fixed summary of the
//! source) almost none; the attention matrix is written as an SVG.

#[allow(dead_code)]
#[path = "../../examples/translate/main.rs"]
mod example;

use clap::Parser;
use example::{run, Args};

#[test]
fn attention_rewrites_held_out_date_intervals_the_fixed_context_baseline_cannot() {
    let out = std::env::temp_dir().join(format!("tapegrad-translate-{}", std::process::id()));
    let args = ["translate", "--quiet", "--train", "3000", "--held-out", "100", "--epochs", "2", "--out", out.to_str().unwrap()];
    let s = run(&Args::parse_from(args)).unwrap();
    assert_eq!(s.held_out, 100);
    let (a, b) = (&s.attention, &s.baseline);
    assert!(a.greedy >= 0.9 && a.beam >= 0.9, "attention: {a:?}");
    // Chance of an exact 21-character match is nil; the baseline gets a few.
    assert!(b.greedy <= 0.2 && b.beam <= 0.2, "baseline: {b:?}");
    // Beam search keeps greedy's hypothesis unless it finds a more probable
    // one; on a model this sure of itself it changes at most a few answers.
    assert!((a.beam - a.greedy).abs() <= 0.03, "{a:?}");
    let svg = std::fs::read_to_string(&s.svg).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.trim_end().ends_with("</svg>"), "{svg}");
    assert_eq!(svg.matches("<rect").count(), svg.matches("</rect>").count() + 1, "every cell closed (and one background)");
    // One shaded cell per (output character incl. </s>, source character).
    let cells = svg.matches("<title>").count();
    assert!(cells >= 22 * 20, "{cells} cells");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bad_arguments_are_refused_before_any_training() {
    assert!(Args::try_parse_from(["translate", "--dates", "3"]).is_err());
    for bad in [["--train", "0"], ["--beam", "0"]] {
        let err = run(&Args::parse_from(["translate", bad[0], bad[1]])).unwrap_err();
        assert!(err.to_string().contains("--train, --held-out and --beam must be at least 1"), "{err}");
    }
    let err = run(&Args::parse_from(["translate", "--length-penalty=-1"])).unwrap_err();
    assert!(err.to_string().contains("--length-penalty must be a finite number >= 0, got -1"), "{err}");
}
