//! The encoder, one decoder step, and teacher-forced training.

use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Tensor};

use super::{check_sources, check_tokens, time_major, Seq2Seq};
use crate::{nll_loss, Binding, Cell, LstmState, Reduction, Result};

/// What the encoder gives the decoder for a batch of sources.
#[derive(Debug, Clone)]
pub(super) struct Encoded<'t, T: Scalar> {
    /// `(S, B, 2H)`, zero at padded positions.
    pub(super) outputs: Var<'t, T>,
    /// The final forward and reverse hidden states, `(B, 2H)`.
    pub(super) summary: Var<'t, T>,
    /// Each source's length.
    pub(super) lengths: Vec<usize>,
}

impl<'t, T: Scalar> Encoded<'t, T> {
    /// Source `b` alone, repeated `rows` times (the hypotheses of a beam).
    pub(super) fn repeat(&self, b: usize, rows: usize) -> Result<Self> {
        let idx = vec![b; rows];
        Ok(Encoded {
            outputs: self.outputs.try_index_select(1, &idx)?,
            summary: self.summary.try_index_select(0, &idx)?,
            lengths: vec![self.lengths[b]; rows],
        })
    }
}

/// One decoder step's results.
#[derive(Debug, Clone)]
pub(super) struct Step<'t, T: Scalar> {
    /// The decoder's new state.
    pub(super) state: LstmState<'t, T>,
    /// Target logits `(B, V)`.
    pub(super) logits: Var<'t, T>,
    /// Attention weights `(B, S)`, if the model attends.
    pub(super) weights: Option<Var<'t, T>>,
}

/// What [`Seq2Seq::forward`] computed: the teacher-forced logits of every
/// decoder step and the targets they are scored against.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Reduction, Seq2Seq};
/// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).build::<f64, _>(&mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let tf = m.forward(&Binding::new(&tape), &[vec![2, 3], vec![4]], &[vec![2, 3, 4], vec![]]).unwrap();
/// assert_eq!(tf.logits.shape().as_slice(), &[4, 2, 5]); // (T + 1, B, V): each target and eos
/// assert_eq!(tf.lengths, vec![4, 1]);
/// assert_eq!(tf.targets, vec![2, 1, 3, 5, 4, 5, 1, 5]); // time-major, 5 (= V) at padding
/// assert_eq!(tf.attention.unwrap().shape().as_slice(), &[2, 4, 2]); // (B, T + 1, S)
/// assert!(tf.loss(Reduction::Sum).unwrap().value().item() > 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct TeacherForced<'t, T: Scalar> {
    /// Logits `(T + 1, B, V)`, time-major: step `t` predicts target `t`
    /// (step `len` predicts `eos`); the logits at padded steps are
    /// computed but never scored.
    pub logits: Var<'t, T>,
    /// The token each step should predict, `(T + 1)·B` time-major, with
    /// `V` (the ignore index) at padded steps.
    pub targets: Vec<usize>,
    /// Decoder steps per sequence: its target length + 1 (for `eos`).
    pub lengths: Vec<usize>,
    /// Attention weights `(B, T + 1, S)`, if the model attends (zero at
    /// padded source positions).
    pub attention: Option<Var<'t, T>>,
}

impl<'t, T: Scalar> TeacherForced<'t, T> {
    /// The negative log-likelihood of the targets (each sequence's tokens
    /// and its `eos`), summed or averaged over the real decoder steps;
    /// padded steps are masked out, so they add exactly 0 to the loss and
    /// to every gradient.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Reduction, Seq2Seq};
    /// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).build::<f64, _>(&mut StdRng::seed_from_u64(0));
    /// let tape = Tape::new();
    /// let tf = m.forward(&Binding::new(&tape), &[vec![2], vec![3]], &[vec![2, 3, 4], vec![]]).unwrap();
    /// let (sum, mean) = (tf.loss(Reduction::Sum).unwrap().value().item(), tf.loss(Reduction::Mean).unwrap().value().item());
    /// assert!((sum / 5.0 - mean).abs() < 1e-12); // 4 + 1 real decoder steps
    /// ```
    ///
    /// # Errors
    /// None in practice (the targets were built with the logits).
    pub fn loss(&self, reduction: Reduction) -> Result<Var<'t, T>> {
        let s = self.logits.shape();
        let rows = self.logits.try_reshape(&[s[0] * s[1], s[2]])?.try_log_softmax(1)?;
        nll_loss(rows, &self.targets, Some(s[2]), reduction)
    }
}

impl<T: Scalar> Seq2Seq<T> {
    /// Runs the encoder over `sources` (checked by the caller).
    pub(super) fn encode<'t>(
        &self,
        bind: &Binding<'t, T>,
        sources: &[impl AsRef<[usize]>],
        lengths: &[usize],
        steps: usize,
    ) -> Result<Encoded<'t, T>> {
        let batch = sources.len();
        let x = self.source_embed.forward(bind, &time_major(sources, steps, 0), &[steps, batch])?;
        let out = self.encoder.forward(bind, x, None, Some(lengths))?;
        let summary = Var::try_concat(&[out.last[0].h, out.last[1].h], 1)?;
        Ok(Encoded { outputs: out.output, summary, lengths: lengths.to_vec() })
    }

    /// The decoder's initial state: `h₀ = tanh(bridge(summary))`, `c₀ = 0`.
    pub(super) fn init_state<'t>(&self, bind: &Binding<'t, T>, enc: &Encoded<'t, T>) -> Result<LstmState<'t, T>> {
        let h = self.bridge.forward(bind, enc.summary)?.tanh();
        let c = bind.tape().constant(Tensor::zeros(&h.shape()));
        Ok(LstmState { h, c })
    }

    /// One decoder step from the previous tokens `prev` (one per row).
    pub(super) fn step<'t>(
        &self,
        bind: &Binding<'t, T>,
        enc: &Encoded<'t, T>,
        prev: &[usize],
        state: &LstmState<'t, T>,
    ) -> Result<Step<'t, T>> {
        let e = self.target_embed.forward(bind, prev, &[prev.len()])?;
        let (context, weights) = match &self.attention {
            Some(att) => {
                let a = att.forward(bind, state.h, enc.outputs, Some(&enc.lengths))?;
                (a.context, Some(a.weights))
            }
            None => (enc.summary, None),
        };
        let state = self.decoder.forward(bind, Var::try_concat(&[e, context], 1)?, state)?;
        let logits = self.output.forward(bind, Var::try_concat(&[state.h, context], 1)?)?;
        Ok(Step { state, logits, weights })
    }

    /// The teacher-forced pass over a batch: the decoder is fed `bos` then
    /// each gold target token, and scored on each target token then `eos`.
    /// Sources may differ in length (padding is handled by lengths: the
    /// encoder stops at each source's end and attention gives padded
    /// positions weight exactly 0), and so may targets (padded decoder
    /// steps are masked out of [`TeacherForced::loss`]). A target may be
    /// empty (the model is then trained to emit `eos` at once).
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{AttentionKind, Binding, Seq2Seq};
    /// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).attention(AttentionKind::None).build::<f32, _>(&mut StdRng::seed_from_u64(0));
    /// let tape = Tape::new();
    /// let tf = m.forward(&Binding::new(&tape), &[[2, 3, 4]], &[[4, 4]]).unwrap();
    /// assert_eq!(tf.logits.shape().as_slice(), &[3, 1, 5]);
    /// assert!(tf.attention.is_none()); // the baseline's context is fixed
    /// assert!(m.forward(&Binding::new(&tape), &[[2, 3, 4]], &[[4, 7]]).is_err()); // 7 is not a target token
    /// ```
    ///
    /// # Errors
    /// [`NnError::Empty`](crate::NnError::Empty) for an empty batch,
    /// [`NnError::Lengths`](crate::NnError::Lengths) for an empty source
    /// sequence or a different number of sources and targets,
    /// [`NnError::TokenId`](crate::NnError::TokenId) for a token outside
    /// its vocabulary (naming the sequence and position).
    pub fn forward<'t, S: AsRef<[usize]>, U: AsRef<[usize]>>(
        &self,
        bind: &Binding<'t, T>,
        sources: &[S],
        targets: &[U],
    ) -> Result<TeacherForced<'t, T>> {
        const OP: &str = "Seq2Seq::forward";
        let (src_lengths, src_steps) = check_sources(OP, sources, self.source_vocab())?;
        let tgt_lengths = check_tokens(OP, "target", targets, self.target_vocab())?;
        if targets.len() != sources.len() {
            let why = "one target sequence per source is needed";
            return Err(crate::NnError::Lengths { op: OP, lengths: tgt_lengths, steps: src_steps, batch: sources.len(), why });
        }
        let (batch, vocab) = (sources.len(), self.target_vocab());
        let steps = tgt_lengths.iter().max().copied().unwrap_or(0) + 1;
        let lengths: Vec<usize> = tgt_lengths.iter().map(|n| n + 1).collect();
        // Decoder inputs: bos then the targets; what each step predicts:
        // the targets then eos, `vocab` (ignored) past the end.
        let inputs: Vec<Vec<usize>> =
            targets.iter().map(|t| std::iter::once(self.bos).chain(t.as_ref().iter().copied()).collect()).collect();
        let predict: Vec<Vec<usize>> =
            targets.iter().map(|t| t.as_ref().iter().copied().chain(std::iter::once(self.eos)).collect()).collect();
        let inputs = time_major(&inputs, steps, self.bos);
        let enc = self.encode(bind, sources, &src_lengths, src_steps)?;
        let mut state = self.init_state(bind, &enc)?;
        let (mut logits, mut weights) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        for t in 0..steps {
            let step = self.step(bind, &enc, &inputs[t * batch..(t + 1) * batch], &state)?;
            state = step.state;
            logits.push(step.logits);
            weights.extend(step.weights);
        }
        let attention = if weights.is_empty() { None } else { Some(Var::try_stack(&weights, 1)?) };
        debug_assert!(lengths.iter().all(|&n| n <= steps) && vocab == self.output.weight.shape()[0]);
        Ok(TeacherForced { logits: Var::try_stack(&logits, 0)?, targets: time_major(&predict, steps, vocab), lengths, attention })
    }

    /// The teacher-forced loss of a batch: [`Seq2Seq::forward`] then
    /// [`TeacherForced::loss`]. With [`Reduction::Sum`] it is
    /// `-Σ_b ln p(targets_b, eos | sources_b)`; with [`Reduction::Mean`]
    /// that divided by the number of real decoder steps.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Reduction, Seq2Seq};
    /// let m = Seq2Seq::spec(6, 5).embed(3).hidden(2).build::<f64, _>(&mut StdRng::seed_from_u64(0));
    /// let nll = |src: &[Vec<usize>], tgt: &[Vec<usize>]| {
    ///     let tape = Tape::new();
    ///     m.loss(&Binding::new(&tape), src, tgt, Reduction::Sum).unwrap().value().item()
    /// };
    /// let (a, b) = (nll(&[vec![2, 3, 4]], &[vec![3]]), nll(&[vec![5]], &[vec![2, 2, 4]]));
    /// let both = nll(&[vec![2, 3, 4], vec![5]], &[vec![3], vec![2, 2, 4]]); // padded batch
    /// assert!((both - (a + b)).abs() < 1e-12);
    /// ```
    ///
    /// # Errors
    /// As [`Seq2Seq::forward`].
    pub fn loss<'t, S: AsRef<[usize]>, U: AsRef<[usize]>>(
        &self,
        bind: &Binding<'t, T>,
        sources: &[S],
        targets: &[U],
        reduction: Reduction,
    ) -> Result<Var<'t, T>> {
        self.forward(bind, sources, targets)?.loss(reduction)
    }
}
