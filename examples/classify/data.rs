//! The task: sentence pairs with the same words and opposite labels, from
//! templates where the asserted adjective decides the label and the
//! negated one is the same bag of words; tokenised, and padded into
//! time-major batches.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

const SUBJECTS: &[&str] =
    &["the food", "the service", "the movie", "dinner", "the new hotel", "our room", "the staff", "this book", "coffee"];
const VERBS: &[&str] = &["was", "is", "seemed", "felt"];
const POSITIVE: &[&str] = &["good", "great", "fine", "lovely", "excellent"];
const NEGATIVE: &[&str] = &["bad", "awful", "poor", "terrible", "dull"];
/// `{a}` is the asserted adjective (its polarity is the label), `{b}` the negated one.
const TEMPLATES: &[&str] = &[
    "{s} {v} {a} , not {b} at all",
    "{s} {v} {a} , not {b}",
    "{s} {v} not {b} , {a}",
    "{s} {v} not {b} but {a}",
    "{s} {v} not {b} at all , really {a}",
    "not {b} , {s} {v} {a}",
    "not {b} at all : {s} {v} {a}",
];
/// The seed notes' example pair.
pub const PROBES: &[(&str, usize)] = &[("the food was good , not bad at all", 1), ("the food was bad , not good at all", 0)];
/// Said before or after a sentence, to vary lengths and distances.
const FILLERS: &[&str] = &["to be honest", "as my friend said", "i have to say", "after all that waiting", "if you ask me"];

/// A labelled sentence: token ids and 1 (positive) or 0 (negative).
pub type Example = (Vec<usize>, usize);

/// `pairs` pairs of sentences with the same bag of words and opposite
/// labels, and the [`PROBES`], tokenised against a vocabulary whose id 0 is
/// padding.
pub fn sentence_pairs(pairs: usize, rng: &mut StdRng) -> (Vec<[Example; 2]>, Vec<Example>, Vec<String>) {
    let mut vocab = vec!["<pad>".to_string()];
    let mut tokens = |text: &str| -> Vec<usize> {
        let mut id = |w: &str| match vocab.iter().position(|v| v == w) {
            Some(i) => i,
            None => {
                vocab.push(w.to_string());
                vocab.len() - 1
            }
        };
        text.split_whitespace().map(&mut id).collect()
    };
    let probes = PROBES.iter().map(|(text, label)| (tokens(text), *label)).collect();
    let mut out = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let (t, s, v) = (TEMPLATES.choose(rng).unwrap(), SUBJECTS.choose(rng).unwrap(), VERBS.choose(rng).unwrap());
        let (p, n, f) = (POSITIVE.choose(rng).unwrap(), NEGATIVE.choose(rng).unwrap(), FILLERS.choose(rng).unwrap());
        // Variations applied to both sentences of the pair alike.
        let mut t = t.to_string();
        if rng.random_bool(0.3) {
            t = t.replace("{a}", "really {a}");
        }
        match rng.random_range(0..3) {
            0 => t = format!("{f} , {t}"),
            1 => t = format!("{t} , {f}"),
            _ => {}
        }
        let text = |a: &str, b: &str| t.replace("{s}", s).replace("{v}", v).replace("{a}", a).replace("{b}", b);
        out.push([(tokens(&text(p, n)), 1), (tokens(&text(n, p)), 0)]);
    }
    (out, probes, vocab)
}

/// A padded, time-major batch: ids `(T, B)` row-major, lengths, labels.
pub struct Batch {
    pub ids: Vec<usize>,
    pub steps: usize,
    pub lengths: Vec<usize>,
    pub labels: Vec<usize>,
}

/// The sentences of `examples`, padded with id 0 to the longest.
pub fn batch(examples: &[&Example]) -> Batch {
    let steps = examples.iter().map(|e| e.0.len()).max().unwrap_or(1);
    let ids = (0..steps).flat_map(|t| examples.iter().map(move |e| e.0.get(t).copied().unwrap_or(0))).collect();
    Batch { ids, steps, lengths: examples.iter().map(|e| e.0.len()).collect(), labels: examples.iter().map(|e| e.1).collect() }
}
