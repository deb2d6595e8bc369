//! An encoder–decoder (sequence-to-sequence) model with optional
//! attention: a bidirectional LSTM encoder, an LSTM decoder fed its
//! previous token and a context vector, trained with teacher forcing and
//! decoded greedily or with beam search. Everything is a composition of
//! this crate's layers ([`Rnn`], [`Embedding`], [`Linear`], [`Attention`],
//! [`LstmCell`]); there is no backward code here.

mod beam;
mod model;

use rand::Rng;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::{Attention, Embedding, Linear, LstmCell, Module, NnError, Result, Rnn};

pub use beam::BeamOptions;
pub use model::TeacherForced;

/// How the decoder looks at the encoder's outputs.
///
/// - [`AttentionKind::None`]: the no-attention baseline (Cho et al.,
///   2014): the context is fixed, the encoder's final forward and reverse
///   hidden states concatenated, the same at every step.
/// - [`AttentionKind::Additive`], [`AttentionKind::Dot`],
///   [`AttentionKind::General`]: at each step the context is
///   [`Attention`] (Bahdanau additive, Luong dot or general) from the
///   decoder's previous hidden state over every real source position.
///
/// ```
/// use tapegrad_nn::AttentionKind;
/// assert_eq!(AttentionKind::default(), AttentionKind::Additive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AttentionKind {
    /// No attention: a fixed context (the baseline).
    None,
    /// Bahdanau's additive score, with as many hidden units as the decoder.
    #[default]
    Additive,
    /// Luong's dot score.
    Dot,
    /// Luong's general (bilinear) score.
    General,
}

/// The sizes, attention and special tokens of a [`Seq2Seq`] before its
/// parameters exist; see [`Seq2Seq::spec`].
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{AttentionKind, Seq2Seq};
/// let spec = Seq2Seq::spec(12, 9).embed(8).hidden(6).attention(AttentionKind::Dot).bos(0).eos(1);
/// assert!(spec.try_build::<f64, _>(&mut StdRng::seed_from_u64(0)).is_ok());
/// assert!(spec.eos(9).try_build::<f64, _>(&mut StdRng::seed_from_u64(0)).is_err()); // past the vocabulary
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seq2SeqSpec {
    source_vocab: usize,
    target_vocab: usize,
    embed: usize,
    hidden: usize,
    attention: AttentionKind,
    bos: usize,
    eos: usize,
}

impl Seq2SeqSpec {
    /// Embedding size of source and target tokens (default 32).
    pub fn embed(self, n: usize) -> Self {
        Seq2SeqSpec { embed: n, ..self }
    }
    /// Hidden units per encoder direction, `H` (default 32); the decoder
    /// has `2H`, the size of the encoder's outputs.
    pub fn hidden(self, n: usize) -> Self {
        Seq2SeqSpec { hidden: n, ..self }
    }
    /// The attention, or [`AttentionKind::None`] (default additive).
    pub fn attention(self, kind: AttentionKind) -> Self {
        Seq2SeqSpec { attention: kind, ..self }
    }
    /// The target token that starts every decoder input (default 0).
    pub fn bos(self, id: usize) -> Self {
        Seq2SeqSpec { bos: id, ..self }
    }
    /// The target token that ends every target sequence (default 1).
    pub fn eos(self, id: usize) -> Self {
        Seq2SeqSpec { eos: id, ..self }
    }

    /// The model, every parameter drawn as its layer draws it (PyTorch's
    /// defaults; embeddings `N(0, 1)`).
    ///
    /// # Errors
    /// [`NnError::Config`] for a size of zero, a `bos` or `eos` outside
    /// the target vocabulary, or `bos == eos`.
    pub fn try_build<T: Scalar, R: Rng + ?Sized>(self, rng: &mut R) -> Result<Seq2Seq<T>> {
        const OP: &str = "Seq2Seq::spec";
        let bad = |message: String| Err(NnError::Config { op: OP, message });
        let sizes =
            [("source_vocab", self.source_vocab), ("target_vocab", self.target_vocab), ("embed", self.embed), ("hidden", self.hidden)];
        if let Some((name, _)) = sizes.iter().find(|(_, n)| *n == 0) {
            return bad(format!("{name} is zero"));
        }
        for (name, id) in [("bos", self.bos), ("eos", self.eos)] {
            if id >= self.target_vocab {
                return bad(format!("{name} = {id} is outside the target vocabulary of {}", self.target_vocab));
            }
        }
        if self.bos == self.eos {
            return bad(format!("bos and eos are both {}", self.bos));
        }
        let (e, h, d) = (self.embed, self.hidden, 2 * self.hidden);
        let source_embed = Embedding::new(self.source_vocab, e, rng);
        let encoder = Rnn::spec(e, h).bidirectional(true).lstm(rng);
        let bridge = Linear::new(d, d, rng);
        let target_embed = Embedding::new(self.target_vocab, e, rng);
        let decoder = LstmCell::new(e + d, d, rng);
        let attention = match self.attention {
            AttentionKind::None => None,
            AttentionKind::Additive => Some(Attention::additive(d, d, d, rng)),
            AttentionKind::Dot => Some(Attention::dot()),
            AttentionKind::General => Some(Attention::general(d, d, rng)),
        };
        let output = Linear::new(2 * d, self.target_vocab, rng);
        Ok(Seq2Seq { source_embed, encoder, bridge, target_embed, decoder, attention, output, bos: self.bos, eos: self.eos })
    }

    /// Panicking form of [`Seq2SeqSpec::try_build`].
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Module, Seq2Seq};
    /// let m = Seq2Seq::spec(4, 3).embed(2).hidden(1).build::<f32, _>(&mut StdRng::seed_from_u64(0));
    /// assert_eq!(m.params().iter().filter(|(n, _)| n.starts_with("encoder.")).count(), 8); // 4 per direction
    /// ```
    ///
    /// # Panics
    /// With the message of the error `try_build` returns.
    #[track_caller]
    pub fn build<T: Scalar, R: Rng + ?Sized>(self, rng: &mut R) -> Seq2Seq<T> {
        self.try_build(rng).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// An encoder–decoder over token sequences.
///
/// - **Encoder**: source tokens → [`Embedding`] `(S, B, E)` → one-layer
///   bidirectional LSTM ([`Rnn`]) with the sources' lengths → outputs
///   `(S, B, 2H)` (zero at padding) and a summary `(B, 2H)`, the final
///   forward and reverse hidden states, each taken at the sequence's true
///   end.
/// - **Decoder**: an [`LstmCell`] of `2H` units started from
///   `h₀ = tanh(bridge(summary))`, `c₀ = 0`. Step `t` takes the previous
///   token `y_{t-1}` (`bos` first) and a context `c_t`:
///   `c_t = Attention(h_{t-1}, encoder outputs)` (padded source positions
///   get weight exactly 0), or the summary without attention;
///   `h_t = LSTM([emb(y_{t-1}); c_t], h_{t-1})`,
///   `logits_t = output([h_t; c_t])`.
/// - **Training** ([`Seq2Seq::loss`]): teacher forcing, the decoder fed
///   the gold previous token; each target sequence is followed by `eos`,
///   and padded target steps contribute exactly nothing.
/// - **Inference**: [`Seq2Seq::greedy`] and [`Seq2Seq::beam_search`],
///   returning [`Decoded`] sequences with their log-probabilities and
///   attention weights.
///
/// Parameter names: `source_embed.weight`, `encoder.weight_ih_l0`, ...,
/// `bridge.weight`, `target_embed.weight`, `decoder.weight_ih`, ...,
/// `attention.*` (if any), `output.weight`, `output.bias`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Module, Reduction, Seq2Seq};
/// let model = Seq2Seq::spec(10, 8).embed(4).hidden(3).build::<f64, _>(&mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let bind = Binding::new(&tape);
/// let (src, tgt) = (vec![vec![4, 5, 6], vec![7]], vec![vec![2, 3], vec![4, 4, 5]]);
/// let loss = model.loss(&bind, &src, &tgt, Reduction::Mean).unwrap();
/// let grads = bind.grads(&tape.backward(loss).unwrap());
/// assert_eq!(grads.len(), model.params().len());
/// let out = model.greedy(&src, 5).unwrap();
/// assert!(out[0].tokens.len() <= 5);
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct Seq2Seq<T: Scalar> {
    /// Source token vectors, `(source_vocab, E)`.
    pub source_embed: Embedding<T>,
    /// The bidirectional encoder, `E → 2 × H`.
    pub encoder: Rnn<LstmCell<T>>,
    /// The encoder summary to the decoder's initial hidden state, `2H → 2H`.
    pub bridge: Linear<T>,
    /// Target token vectors, `(target_vocab, E)`.
    pub target_embed: Embedding<T>,
    /// The decoder cell, `E + 2H → 2H`.
    pub decoder: LstmCell<T>,
    /// The attention (query and keys `2H`), or `None` for the baseline.
    pub attention: Option<Attention<T>>,
    /// `[h_t; c_t]` to target logits, `4H → target_vocab`.
    pub output: Linear<T>,
    #[module(skip)]
    bos: usize,
    #[module(skip)]
    eos: usize,
}

impl Seq2Seq<f32> {
    /// A spec for sources over `source_vocab` tokens and targets over
    /// `target_vocab` tokens (which include `bos` and `eos`); defaults:
    /// embed 32, hidden 32, additive attention, bos 0, eos 1.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{AttentionKind, Module, Seq2Seq};
    /// let m = Seq2Seq::spec(5, 6).embed(2).hidden(3).attention(AttentionKind::None).build::<f32, _>(&mut StdRng::seed_from_u64(0));
    /// assert!(m.attention.is_none());
    /// assert_eq!((m.bos(), m.eos(), m.target_vocab()), (0, 1, 6));
    /// ```
    pub fn spec(source_vocab: usize, target_vocab: usize) -> Seq2SeqSpec {
        Seq2SeqSpec { source_vocab, target_vocab, embed: 32, hidden: 32, attention: AttentionKind::Additive, bos: 0, eos: 1 }
    }
}

impl<T: Scalar> Seq2Seq<T> {
    /// The token that starts every decoder input.
    pub fn bos(&self) -> usize {
        self.bos
    }
    /// The token that ends every target sequence.
    pub fn eos(&self) -> usize {
        self.eos
    }
    /// Number of target tokens (the logits' width).
    pub fn target_vocab(&self) -> usize {
        self.output.weight.shape()[0]
    }
    /// Number of source tokens.
    pub fn source_vocab(&self) -> usize {
        self.source_embed.weight.shape()[0]
    }
}

/// One decoded sequence.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::Seq2Seq;
/// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).build::<f64, _>(&mut StdRng::seed_from_u64(1));
/// let d = &m.greedy(&[vec![2, 3, 4]], 4).unwrap()[0];
/// let w = d.attention.as_ref().unwrap(); // (decoder steps, source length)
/// assert_eq!(w.shape(), &[d.tokens.len() + usize::from(d.finished), 3]);
/// assert_eq!(d.score, d.log_prob); // greedy: no length penalty
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T: Scalar> {
    /// The tokens, without `eos`.
    pub tokens: Vec<usize>,
    /// Whether the decoder emitted `eos` (else it stopped at `max_len`).
    pub finished: bool,
    /// `ln p(tokens, eos if finished | source)`: the sum of the chosen
    /// tokens' log-probabilities.
    pub log_prob: T,
    /// What the search ranked by: `log_prob` divided by the length
    /// penalty ([`BeamOptions::length_penalty`]); `log_prob` for greedy.
    pub score: T,
    /// Attention weights `(steps, source length)`, one row per decoder
    /// step (the `eos` step included), over the real source positions;
    /// `None` without attention.
    pub attention: Option<Tensor<T>>,
}

/// Checks a batch of token sequences: at least one, every id below
/// `vocab`; `what` is `"source"` or `"target"`. Returns the lengths.
fn check_tokens<S: AsRef<[usize]>>(op: &'static str, what: &'static str, seqs: &[S], vocab: usize) -> Result<Vec<usize>> {
    if seqs.is_empty() {
        return Err(NnError::Empty { op, what: "the batch", shape: Shape::from_slice(&[0]) });
    }
    for (b, s) in seqs.iter().enumerate() {
        let s = s.as_ref();
        if let Some(position) = s.iter().position(|&id| id >= vocab) {
            return Err(NnError::TokenId { op, what, sequence: b, position, id: s[position], vocab });
        }
    }
    Ok(seqs.iter().map(|s| s.as_ref().len()).collect())
}

/// Checks source sequences: [`check_tokens`], and none empty. Returns
/// the lengths and the longest.
fn check_sources<S: AsRef<[usize]>>(op: &'static str, seqs: &[S], vocab: usize) -> Result<(Vec<usize>, usize)> {
    let lengths = check_tokens(op, "source", seqs, vocab)?;
    let steps = lengths.iter().copied().max().unwrap_or(0);
    if lengths.contains(&0) {
        return Err(NnError::Lengths { op, lengths, steps, batch: seqs.len(), why: "an empty source sequence" });
    }
    Ok((lengths, steps))
}

/// Time-major ids `(T, B)` of sequences padded with `pad` to the longest.
fn time_major<S: AsRef<[usize]>>(seqs: &[S], steps: usize, pad: usize) -> Vec<usize> {
    (0..steps).flat_map(|t| seqs.iter().map(move |s| s.as_ref().get(t).copied().unwrap_or(pad))).collect()
}
