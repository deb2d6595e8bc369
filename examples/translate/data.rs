//! The task: dates written five ways, to be rewritten as ISO 8601.
//!
//! | format | example | |
//! |---|---|---|
//! | `d month yyyy` | `3 march 2021` | |
//! | `month d, yyyy` | `march 3, 2021` | day and year swap places |
//! | `dd/mm/yyyy` | `03/03/2021` | |
//! | `d mon yyyy` | `3 mar 2021` | abbreviated month |
//! | `d.m.yy` | `3.3.21` | two-digit year: `50`–`99` are 19xx, `00`–`49` 20xx |
//!
//! all to `2021-03-03`. Every output character is copied or translated from
//! a few source characters whose position depends on the format and the
//! lengths of the day and month: a fixed-size summary must hold all of
//! them at once, attention can look each one up.

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::Rng;

const MONTHS: [&str; 12] =
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS_IN: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/// The number of source formats.
pub const FORMATS: usize = 5;

/// One calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// A uniformly random date in 1950–2049.
    pub fn random(rng: &mut StdRng) -> Date {
        let year = rng.random_range(1950..2050);
        let month = rng.random_range(1..=12);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = DAYS_IN[month as usize - 1] + u32::from(month == 2 && leap);
        Date { year, month, day: rng.random_range(1..=days) }
    }

    /// The date written in source format `format` (`0..FORMATS`).
    pub fn written(&self, format: usize) -> String {
        let (d, m, y) = (self.day, self.month, self.year);
        let name = MONTHS[m as usize - 1];
        match format {
            0 => format!("{d} {name} {y}"),
            1 => format!("{name} {d}, {y}"),
            2 => format!("{d:02}/{m:02}/{y}"),
            3 => format!("{d} {} {y}", &name[..3]),
            _ => format!("{d}.{m}.{:02}", y % 100),
        }
    }

    /// ISO 8601: `yyyy-mm-dd`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A character vocabulary; target vocabularies start with `<s>` and `</s>`.
#[derive(Debug, Clone)]
pub struct Vocab {
    chars: Vec<char>,
}

/// The target vocabulary's `bos` and `eos` ids.
pub const BOS: usize = 0;
pub const EOS: usize = 1;

impl Vocab {
    /// Every character a source can hold.
    pub fn source() -> Vocab {
        let mut chars: Vec<char> = "0123456789 ,/.".chars().collect();
        for c in MONTHS.concat().chars().chain("to".chars()) {
            if !chars.contains(&c) {
                chars.push(c);
            }
        }
        Vocab { chars }
    }
    /// `<s>`, `</s>`, the digits, `-` and `/`.
    pub fn target() -> Vocab {
        Vocab { chars: "\u{2}\u{3}0123456789-/".chars().collect() }
    }
    pub fn len(&self) -> usize {
        self.chars.len()
    }
    /// The ids of `text` (every character must be in the vocabulary).
    pub fn encode(&self, text: &str) -> Vec<usize> {
        text.chars().map(|c| self.chars.iter().position(|&v| v == c).expect("generated text is in the vocabulary")).collect()
    }
    /// The text of `ids`.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter().map(|&i| self.chars[i]).collect()
    }
}

/// One example: the source text and its ISO rewriting, as ids.
#[derive(Debug, Clone)]
pub struct Pair {
    pub source: Vec<usize>,
    pub target: Vec<usize>,
    pub format: usize,
}

/// `train` training pairs and `held_out` others whose source text never
/// occurs in training; formats drawn uniformly. With `dates = 2` each
/// source is an interval, `<date> to <date>` (each date in its own
/// format), and its target ISO 8601's `<date>/<date>`.
pub fn pairs(train: usize, held_out: usize, dates: usize, rng: &mut StdRng) -> (Vec<Pair>, Vec<Pair>) {
    let (src, tgt) = (Vocab::source(), Vocab::target());
    let mut seen = HashSet::new();
    let mut draw = |rng: &mut StdRng, fresh: bool| loop {
        let drawn: Vec<(Date, usize)> = (0..dates).map(|_| (Date::random(rng), rng.random_range(0..FORMATS))).collect();
        let text = drawn.iter().map(|(d, f)| d.written(*f)).collect::<Vec<_>>().join(" to ");
        let iso = drawn.iter().map(|(d, _)| d.iso()).collect::<Vec<_>>().join("/");
        if seen.insert(text.clone()) || !fresh {
            return Pair { source: src.encode(&text), target: tgt.encode(&iso), format: drawn[0].1 };
        }
    };
    let train_set = (0..train).map(|_| draw(rng, false)).collect();
    let test_set = (0..held_out).map(|_| draw(rng, true)).collect();
    (train_set, test_set)
}
