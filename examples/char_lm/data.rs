//! The corpus: an embedded default (this project's own sources and docs,
//! included at compile time) or a file; a character vocabulary; a
//! train/validation split; deterministic batches.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The default corpus: tapegrad's own README and sources.
const EMBEDDED: &[&str] = &[
    include_str!("../../README.md"),
    include_str!("../../crates/tapegrad-nn/src/recurrent/layer.rs"),
    include_str!("../../crates/tapegrad-nn/src/recurrent/unroll.rs"),
    include_str!("../../crates/tapegrad-nn/src/recurrent/lstm.rs"),
    include_str!("../../crates/tapegrad-nn/src/recurrent/gru.rs"),
    include_str!("../../crates/tapegrad-nn/src/recurrent/elman.rs"),
    include_str!("../../crates/tapegrad-nn/src/recurrent/cell.rs"),
    include_str!("../../crates/tapegrad-nn/src/loss.rs"),
    include_str!("../../crates/tapegrad-nn/src/optim/mod.rs"),
    include_str!("../../crates/tapegrad-nn/src/optim/adam.rs"),
    include_str!("../../crates/tapegrad-nn/src/param.rs"),
    include_str!("../../crates/tapegrad-autodiff/src/lib.rs"),
    include_str!("../../crates/tapegrad-autodiff/src/tape.rs"),
    include_str!("../../crates/tapegrad-autodiff/src/sweep/mod.rs"),
    include_str!("../../crates/tapegrad-autodiff/src/ops/unary.rs"),
    include_str!("../../crates/tapegrad-autodiff/src/ops/binary.rs"),
    include_str!("../../crates/tapegrad-autodiff/src/check/gradcheck.rs"),
    include_str!("../../crates/tapegrad-tensor/src/lib.rs"),
    include_str!("../../crates/tapegrad-tensor/src/tensor.rs"),
    include_str!("../../crates/tapegrad-tensor/src/matmul.rs"),
];

/// A character corpus split into training and validation ids.
pub struct Corpus {
    /// The characters, in id order.
    pub vocab: Vec<char>,
    /// Training ids (nine blocks in ten).
    pub train: Vec<usize>,
    /// Validation ids (every tenth block).
    pub val: Vec<usize>,
}

impl Corpus {
    /// The embedded default corpus.
    pub fn embedded() -> Corpus {
        Corpus::from_text(&EMBEDDED.join("\n"), "embedded corpus").expect("the embedded corpus is large enough")
    }

    /// A corpus from a UTF-8 file.
    pub fn from_file(path: &Path) -> Result<Corpus, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read as UTF-8 text: {e}", path.display()))?;
        Corpus::from_text(&text, &path.display().to_string())
    }

    /// Builds the vocabulary (sorted characters) and the split.
    pub fn from_text(text: &str, source: &str) -> Result<Corpus, String> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() < 1000 {
            return Err(format!("{source}: {} characters is too little text to train on (need at least 1000)", chars.len()));
        }
        let mut vocab: Vec<char> = chars.clone();
        vocab.sort_unstable();
        vocab.dedup();
        let ids: Vec<usize> = chars.iter().map(|c| vocab.binary_search(c).expect("in vocab")).collect();
        // Every tenth block of text is held out, so validation samples the
        // whole corpus (prose and code of every file) rather than whatever
        // file happens to come last. Blocks of 1% of the text, 100 to 2000
        // characters: at least ten blocks, one of them held out.
        let block = (ids.len() / 100).clamp(100, 2000);
        let (mut train, mut val) = (Vec::new(), Vec::new());
        for (i, chunk) in ids.chunks(block).enumerate() {
            if i % 10 == 9 { &mut val } else { &mut train }.extend_from_slice(chunk);
        }
        Ok(Corpus { vocab, train, val })
    }

    /// The vocabulary as one string (for checkpoints).
    pub fn vocab_string(&self) -> String {
        self.vocab.iter().collect()
    }

    /// Bits per character of the best unigram model of the training text
    /// (add-one smoothed), measured on the validation text: the baseline a
    /// recurrent model must beat.
    pub fn unigram_bits(&self) -> f64 {
        let mut counts = vec![1.0f64; self.vocab.len()];
        for &c in &self.train {
            counts[c] += 1.0;
        }
        let total: f64 = counts.iter().sum();
        -self.val.iter().map(|&c| (counts[c] / total).log2()).sum::<f64>() / self.val.len() as f64
    }
}

/// `batch` windows of `len + 1` ids from `ids`, at positions drawn from an
/// RNG seeded by `(seed, step)`: batches depend only on the step, so a
/// resumed run sees exactly the batches an uninterrupted one would.
pub fn batch_windows(ids: &[usize], batch: usize, len: usize, seed: u64, step: u64) -> Vec<&[usize]> {
    let mut rng = StdRng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (0..batch)
        .map(|_| {
            let start = rng.random_range(0..ids.len() - len - 1);
            &ids[start..start + len + 1]
        })
        .collect()
}

/// Fixed, evenly spaced validation windows.
pub fn val_windows(ids: &[usize], count: usize, len: usize) -> Vec<&[usize]> {
    let span = ids.len().saturating_sub(len + 1).max(1);
    (0..count).map(|k| &ids[(k * span / count.max(1)).min(span - 1)..][..len + 1]).collect()
}
