//! The main job, small: a resumed run equals an uninterrupted one, the
//! model beats the unigram baseline, and bad checkpoints give clear errors
//! naming the file.

#[allow(dead_code)]
#[path = "../../examples/char_lm/main.rs"]
mod example;

use std::path::PathBuf;

use clap::Parser;
use example::{run, Args};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tapegrad-char-lm-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn args(d: &std::path::Path, tag: &str, extra: &[&str]) -> Args {
    let save = d.join(format!("{tag}.safetensors"));
    let plot = d.join(format!("{tag}.svg"));
    let mut v = vec!["char_lm", "--quiet", "--seq-len", "24", "--batch", "4"];
    v.extend(["--save", save.to_str().unwrap(), "--plot", plot.to_str().unwrap()]);
    // Defaults of this test, unless `extra` sets them.
    for (flag, value) in [("--hidden", "24"), ("--steps", "40"), ("--eval-every", "20"), ("--sample", "30")] {
        if !extra.contains(&flag) {
            v.extend([flag, value]);
        }
    }
    v.extend(extra);
    Args::parse_from(v)
}

#[test]
fn an_interrupted_and_resumed_run_equals_an_uninterrupted_one() {
    let d = dir("resume");
    // 64 units: the recurrent weight (256×64) is large enough for the f32
    // products from a cached packing, whose cache a resumed run starts empty.
    let whole = run(&args(&d, "whole", &["--hidden", "64"])).unwrap();
    let part = run(&args(&d, "part", &["--hidden", "64", "--stop-after", "17"])).unwrap();
    assert_eq!(part.history.train_bits.len(), 17);
    let ckpt = d.join("part.safetensors");
    let resumed = run(&args(&d, "part", &["--hidden", "64", "--resume", ckpt.to_str().unwrap()])).unwrap();
    assert_eq!(resumed.history.train_bits, whole.history.train_bits, "losses must match step for step");
    assert_eq!(resumed.final_val_bits, whole.final_val_bits);
    assert!(d.join("whole.svg").metadata().unwrap().len() > 1000, "the loss plot is written");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A fixed text with structure a small model can pick up quickly: short
/// sentences from a tiny grammar, drawn with a fixed seed. (The embedded
/// default corpus is the project's own source, which changes with every
/// commit; a learning threshold on it would test the latest edit of the
/// file that lands in the validation split.)
fn grammar_text() -> String {
    let (subjects, verbs, objects) = (
        ["the cat", "a dog", "my friend", "the bird"],
        ["sat on", "ran to", "looked at", "sang to"],
        ["the mat", "a tree", "the park", "my house"],
    );
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut pick = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    (0..1500).map(|_| format!("{} {} {}. ", subjects[pick(4)], verbs[pick(4)], objects[pick(4)])).collect()
}

#[test]
fn a_short_run_beats_the_unigram_baseline() {
    let d = dir("learn");
    let text = d.join("grammar.txt");
    std::fs::write(&text, grammar_text()).unwrap();
    let s = run(&args(&d, "learn", &["--steps", "150", "--eval-every", "150", "--cell", "gru", "--data", text.to_str().unwrap()])).unwrap();
    assert!(s.final_val_bits < 0.5 * s.unigram_bits, "validation {} vs unigram {}", s.final_val_bits, s.unigram_bits);
    assert_eq!(s.sample.chars().count(), 30);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn missing_truncated_and_foreign_checkpoints_name_the_file() {
    let d = dir("bad");
    run(&args(&d, "good", &["--steps", "5", "--sample", "0"])).unwrap();
    let good = d.join("good.safetensors");
    let bytes = std::fs::read(&good).unwrap();
    let truncated = d.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let foreign = d.join("foreign.safetensors");
    tapegrad::nn::save_safetensors(&foreign, &[("w".to_string(), tapegrad::Tensor::<f32>::ones(&[2]))], None).unwrap();
    let missing = d.join("missing.safetensors");
    for (path, what) in [(&missing, "cannot read"), (&truncated, "not a valid safetensors"), (&foreign, "not a char_lm checkpoint")] {
        let e = run(&args(&d, "x", &["--resume", path.to_str().unwrap()])).unwrap_err().to_string();
        assert!(e.contains(path.file_name().unwrap().to_str().unwrap()) && e.contains(what), "{e}");
    }
    let e = run(&args(&d, "x", &["--resume", good.to_str().unwrap(), "--cell", "rnn"])).unwrap_err().to_string();
    assert!(e.contains("cell") && e.contains("good.safetensors"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
