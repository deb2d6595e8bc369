//! The task: sentences of one or two clauses "[before] NAME predicate",
//! where an ambiguous name (a person's and a place's) is tagged by the
//! predicate that follows it; tokenised, and padded into time-major
//! batches.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

/// The tags: outside any name, person, place.
pub const TAGS: [&str; 3] = ["O", "PER", "LOC"];
/// Target of padded steps, skipped by the loss.
pub const PAD: usize = TAGS.len();
const AMBIGUOUS: &[&str] = &["jordan", "paris", "georgia", "florence", "sydney", "victoria", "chelsea", "austin", "savannah", "madison"];
const PEOPLE: &[&str] = &["alice", "omar", "mei", "carlos"];
const PLACES: &[&str] = &["london", "cairo", "lima", "oslo"];
const PERSON_DID: &[&str] = &["said hello", "smiled at us", "wrote a letter", "laughed", "sang", "called her mother", "won the race"];
const PLACE_WAS: &[&str] = &["was rainy", "is crowded", "has many parks", "was flooded", "is a big city", "has an old harbour"];
const BEFORE: &[&str] = &["", "", "yesterday", "last summer", "i heard that", "they say", "as usual"];

/// A sentence: token ids, tags, and which tokens are ambiguous names.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub ids: Vec<usize>,
    pub tags: Vec<usize>,
    pub ambiguous: Vec<bool>,
}

/// Every word the generator can use (id 0 is padding).
pub fn vocabulary() -> Vec<&'static str> {
    let mut v = vec!["<pad>", "and", "."];
    for list in [AMBIGUOUS, PEOPLE, PLACES, PERSON_DID, PLACE_WAS, BEFORE] {
        for w in list.iter().flat_map(|p| p.split_whitespace()) {
            if !v.contains(&w) {
                v.push(w);
            }
        }
    }
    v
}

/// Tokenises `words` (which must be in `vocab`), tagging every token `tag`.
pub fn push(s: &mut Tagged, vocab: &[&str], words: &str, tag: usize, ambiguous: bool) {
    for w in words.split_whitespace() {
        s.ids.push(vocab.iter().position(|v| *v == w).expect("generated words are in the vocabulary"));
        s.tags.push(tag);
        s.ambiguous.push(ambiguous);
    }
}

/// One or two clauses "[before] NAME predicate", joined by "and".
pub fn sentence(vocab: &[&str], rng: &mut StdRng) -> Tagged {
    let mut s = Tagged { ids: vec![], tags: vec![], ambiguous: vec![] };
    for clause in 0..rng.random_range(1..=2) {
        if clause > 0 {
            push(&mut s, vocab, "and", 0, false);
        }
        push(&mut s, vocab, BEFORE.choose(rng).unwrap(), 0, false);
        let person = rng.random_bool(0.5);
        let (tag, known) = if person { (1, PEOPLE) } else { (2, PLACES) };
        let ambiguous = rng.random_bool(0.75);
        push(&mut s, vocab, if ambiguous { AMBIGUOUS } else { known }.choose(rng).unwrap(), tag, ambiguous);
        push(&mut s, vocab, if person { PERSON_DID } else { PLACE_WAS }.choose(rng).unwrap(), 0, false);
    }
    push(&mut s, vocab, ".", 0, false);
    s
}

/// A padded batch: ids `(T, B)` time-major, each sentence's length, and
/// targets `(T·B)` with padding as [`PAD`].
pub struct Batch {
    pub ids: Vec<usize>,
    pub steps: usize,
    pub lengths: Vec<usize>,
    pub targets: Vec<usize>,
}

/// The sentences of `data`, padded to the longest.
pub fn batch(data: &[&Tagged]) -> Batch {
    let steps = data.iter().map(|s| s.ids.len()).max().unwrap_or(1);
    let ids = (0..steps).flat_map(|t| data.iter().map(move |s| s.ids.get(t).copied().unwrap_or(0))).collect();
    let targets = (0..steps).flat_map(|t| data.iter().map(move |s| s.tags.get(t).copied().unwrap_or(PAD))).collect();
    Batch { ids, steps, lengths: data.iter().map(|s| s.ids.len()).collect(), targets }
}

/// The same name, then evidence for each reading: "yesterday paris smiled
/// at us ." (PER) and "yesterday paris was flooded ." (LOC).
pub fn demo(vocab: &[&str]) -> Vec<Tagged> {
    let mut demo_set = Vec::new();
    for (tag, rest) in [(1, "smiled at us"), (2, "was flooded")] {
        let mut s = Tagged { ids: vec![], tags: vec![], ambiguous: vec![] };
        push(&mut s, vocab, "yesterday", 0, false);
        push(&mut s, vocab, "paris", tag, true);
        push(&mut s, vocab, &format!("{rest} ."), 0, false);
        demo_set.push(s);
    }
    demo_set
}
