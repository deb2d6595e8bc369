//! Inference: greedy decoding and beam search.

use tapegrad_autodiff::{Tape, Var};
use tapegrad_tensor::{Scalar, Tensor};

use super::model::Encoded;
use super::{check_sources, Decoded, Seq2Seq};
use crate::{Binding, LstmState, NnError, Result, State};

/// How [`Seq2Seq::beam_search`] searches.
///
/// - `width`: hypotheses kept per step (default 4). Width 1 is greedy
///   decoding exactly.
/// - `length_penalty`: GNMT's `α` (Wu et al., 2016): a finished
///   hypothesis of `n` decoder steps (its tokens and `eos`) is ranked by
///   `log_prob / ((5 + n) / 6)^α`. `α = 0` (the default) ranks by the
///   log-probability itself, which favours short outputs; larger `α`
///   favours longer ones. Unfinished hypotheses are ranked by their
///   log-probability.
/// - `max_len`: decoder steps at most (default 50); a hypothesis still
///   unfinished then is returned as it is, `finished: false`.
///
/// ```
/// use tapegrad_nn::BeamOptions;
/// let o = BeamOptions::default().width(8).length_penalty(0.6).max_len(20);
/// assert_eq!((o.width, o.length_penalty, o.max_len), (8, 0.6, 20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BeamOptions {
    /// Hypotheses kept per step (≥ 1).
    pub width: usize,
    /// GNMT's length-penalty exponent `α` (finite, ≥ 0).
    pub length_penalty: f64,
    /// Decoder steps at most (≥ 1).
    pub max_len: usize,
}

impl Default for BeamOptions {
    fn default() -> Self {
        BeamOptions { width: 4, length_penalty: 0.0, max_len: 50 }
    }
}

impl BeamOptions {
    /// Sets the beam width.
    pub fn width(self, width: usize) -> Self {
        BeamOptions { width, ..self }
    }
    /// Sets GNMT's length-penalty exponent `α`.
    pub fn length_penalty(self, alpha: f64) -> Self {
        BeamOptions { length_penalty: alpha, ..self }
    }
    /// Sets the most decoder steps.
    pub fn max_len(self, max_len: usize) -> Self {
        BeamOptions { max_len, ..self }
    }

    /// GNMT's `((5 + steps) / 6)^α`.
    fn penalty(&self, steps: usize) -> f64 {
        ((5.0 + steps as f64) / 6.0).powf(self.length_penalty)
    }

    fn check(&self, op: &'static str) -> Result<()> {
        let bad = |name, value: f64, expected| Err(NnError::Hyperparameter { op, name, value, expected });
        if self.width == 0 {
            return bad("width", 0.0, "an integer >= 1");
        }
        if self.max_len == 0 {
            return bad("max_len", 0.0, "an integer >= 1");
        }
        if !(self.length_penalty.is_finite() && self.length_penalty >= 0.0) {
            return bad("length_penalty", self.length_penalty, "a finite number >= 0");
        }
        Ok(())
    }
}

/// [`NnError::Hyperparameter`] for `max_len = 0`.
fn check_max_len(op: &'static str, max_len: usize) -> Result<()> {
    BeamOptions::default().max_len(max_len).check(op)
}

/// A partial (or finished) hypothesis of a beam.
#[derive(Debug, Clone)]
struct Hypothesis<T: Scalar> {
    tokens: Vec<usize>,
    log_prob: T,
    /// One attention row (over the real source positions) per step.
    rows: Vec<Vec<T>>,
}

impl<T: Scalar> Hypothesis<T> {
    /// This hypothesis extended by `token` of log-probability `lp`, with
    /// the step's attention row.
    fn extend(&self, token: usize, lp: T, row: Option<Vec<T>>) -> Self {
        let mut h = self.clone();
        h.tokens.push(token);
        h.log_prob = self.log_prob + lp;
        h.rows.extend(row);
        h
    }

    /// As returned: `eos` dropped if `finished`, scored with `penalty`.
    fn into_decoded(mut self, finished: bool, penalty: f64) -> Decoded<T> {
        let steps = self.tokens.len();
        if finished {
            self.tokens.pop();
        }
        let attention = (!self.rows.is_empty()).then(|| {
            let width = self.rows[0].len();
            Tensor::from_vec(self.rows.concat(), &[steps, width])
        });
        let score = self.log_prob / T::from_f64_lossy(penalty);
        Decoded { tokens: self.tokens, finished, log_prob: self.log_prob, score, attention }
    }
}

/// Row `r` of a `(rows, V)` tensor's log-softmax, and of `(rows, S)`
/// attention weights cut to `len` source positions.
fn rows_of<T: Scalar>(logits: Var<'_, T>, weights: Option<Var<'_, T>>, len: usize) -> Result<(Tensor<T>, Option<Tensor<T>>)> {
    let lp = logits.try_log_softmax(1)?.value();
    let w = weights.map(|w| w.value().narrow(1, 0, len));
    Ok((lp, w))
}

/// The first largest entry of `row` (NaN never wins).
fn argmax<T: Scalar>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

impl<T: Scalar> Seq2Seq<T> {
    /// Greedy decoding: at each step the most probable token (the first,
    /// on a tie), until `eos` or `max_len` steps. Sources are decoded as
    /// one padded batch; the result is one [`Decoded`] per source, its
    /// `score` equal to its `log_prob`.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{BeamOptions, Seq2Seq};
    /// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).build::<f64, _>(&mut StdRng::seed_from_u64(3));
    /// let src = [vec![2, 3, 4], vec![5, 1]];
    /// let greedy = m.greedy(&src, 6).unwrap();
    /// let beam = m.beam_search(&src, &BeamOptions::default().width(1).max_len(6)).unwrap();
    /// assert_eq!(greedy.iter().map(|d| &d.tokens).collect::<Vec<_>>(), beam.iter().map(|d| &d.tokens).collect::<Vec<_>>());
    /// ```
    ///
    /// # Errors
    /// As [`Seq2Seq::forward`] for the sources;
    /// [`NnError::Hyperparameter`] for `max_len = 0`.
    pub fn greedy<S: AsRef<[usize]>>(&self, sources: &[S], max_len: usize) -> Result<Vec<Decoded<T>>> {
        const OP: &str = "Seq2Seq::greedy";
        check_max_len(OP, max_len)?;
        let (lengths, steps) = check_sources(OP, sources, self.source_vocab())?;
        let tape = Tape::new();
        tape.no_grad(|| {
            let bind = Binding::new(&tape);
            let enc = self.encode(&bind, sources, &lengths, steps)?;
            let mut state = self.init_state(&bind, &enc)?;
            let mut hyps = vec![Hypothesis { tokens: vec![], log_prob: T::zero(), rows: vec![] }; sources.len()];
            let mut done = vec![false; sources.len()];
            for _ in 0..max_len {
                let prev: Vec<usize> = hyps.iter().map(|h| h.tokens.last().copied().unwrap_or(self.bos)).collect();
                let step = self.step(&bind, &enc, &prev, &state)?;
                let (lp, w) = rows_of(step.logits, step.weights, steps)?;
                let v = lp.shape()[1];
                for (b, (h, done)) in hyps.iter_mut().zip(done.iter_mut()).enumerate().filter(|(_, (_, d))| !**d) {
                    let row = &lp.data()[b * v..(b + 1) * v];
                    let token = argmax(row);
                    let att = w.as_ref().map(|w| w.data()[b * steps..b * steps + lengths[b]].to_vec());
                    *h = h.extend(token, row[token], att);
                    *done = token == self.eos;
                }
                if done.iter().all(|&d| d) {
                    break;
                }
                state = step.state;
            }
            Ok(hyps.into_iter().zip(done).map(|(h, d)| h.into_decoded(d, 1.0)).collect())
        })
    }

    /// Beam search, source by source: each step extends every live
    /// hypothesis by every token, keeps the `width − finished` best
    /// extensions by log-probability, and sets aside those ending in `eos`
    /// as finished (they are never extended); it stops when none is live
    /// or after `max_len` steps. The result per source is the best
    /// finished (or, at `max_len`, unfinished) hypothesis by `score`,
    /// `log_prob` with GNMT's length penalty ([`BeamOptions`]); with width
    /// 1 it is exactly [`Seq2Seq::greedy`]'s.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{BeamOptions, Seq2Seq};
    /// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).build::<f64, _>(&mut StdRng::seed_from_u64(3));
    /// let best = &m.beam_search(&[vec![2, 3, 4]], &BeamOptions::default().width(3).max_len(6)).unwrap()[0];
    /// assert!(best.tokens.len() <= 6 && best.log_prob <= 0.0);
    /// assert!(m.beam_search(&[vec![2]], &BeamOptions::default().width(0)).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Seq2Seq::forward`] for the sources;
    /// [`NnError::Hyperparameter`] for a width or `max_len` of 0 or a
    /// length penalty that is negative or not finite.
    pub fn beam_search<S: AsRef<[usize]>>(&self, sources: &[S], options: &BeamOptions) -> Result<Vec<Decoded<T>>> {
        const OP: &str = "Seq2Seq::beam_search";
        options.check(OP)?;
        let (lengths, steps) = check_sources(OP, sources, self.source_vocab())?;
        let tape = Tape::new();
        tape.no_grad(|| {
            let bind = Binding::new(&tape);
            let enc = self.encode(&bind, sources, &lengths, steps)?;
            (0..sources.len()).map(|b| self.beam_one(&bind, &enc, b, options)).collect()
        })
    }

    /// [`Seq2Seq::beam_search`] of source `b` of `enc`.
    fn beam_one<'t>(&self, bind: &Binding<'t, T>, enc: &Encoded<'t, T>, b: usize, options: &BeamOptions) -> Result<Decoded<T>> {
        let len = enc.lengths[b];
        let mut live = vec![Hypothesis { tokens: vec![], log_prob: T::zero(), rows: vec![] }];
        let mut state: LstmState<'t, T> = self.init_state(bind, &enc.repeat(b, 1)?)?;
        let mut finished: Vec<Decoded<T>> = Vec::with_capacity(options.width);
        for _ in 0..options.max_len {
            let prev: Vec<usize> = live.iter().map(|h| h.tokens.last().copied().unwrap_or(self.bos)).collect();
            let step = self.step(bind, &enc.repeat(b, live.len())?, &prev, &state)?;
            let (lp, w) = rows_of(step.logits, step.weights, len)?;
            let v = lp.shape()[1];
            // Every extension (parent, token, log-probability), best first;
            // ties broken by parent then token, as greedy's argmax.
            let mut ext: Vec<(usize, usize, T)> =
                (0..live.len() * v).map(|i| (i / v, i % v, live[i / v].log_prob + lp.data()[i])).collect();
            ext.sort_by(|x, y| y.2.to_f64_lossless().total_cmp(&x.2.to_f64_lossless())); // stable
            let (mut next, mut parents) = (Vec::new(), Vec::new());
            for &(parent, token, _) in ext.iter().take(options.width - finished.len()) {
                let row = w.as_ref().map(|w| w.data()[parent * len..(parent + 1) * len].to_vec());
                let h = live[parent].extend(token, lp.data()[parent * v + token], row);
                if token == self.eos {
                    let n = h.tokens.len();
                    finished.push(h.into_decoded(true, options.penalty(n)));
                } else {
                    next.push(h);
                    parents.push(parent);
                }
            }
            if !next.is_empty() {
                state = step.state.map(|p| Ok(p.try_index_select(0, &parents)?))?;
            }
            live = next;
            if live.is_empty() {
                break;
            }
        }
        // Still live after `max_len` steps: returned unfinished.
        finished.extend(live.into_iter().map(|h| {
            let n = h.tokens.len();
            h.into_decoded(false, options.penalty(n))
        }));
        // The first best by score (stable: earlier-finished first on a tie).
        let best = (0..finished.len()).fold(0, |best, i| if finished[i].score > finished[best].score { i } else { best });
        Ok(finished.swap_remove(best))
    }
}
