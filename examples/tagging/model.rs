//! The taggers: embedding → recurrent layer → linear head at every step,
//! alone (per-token cross-entropy) or under a linear-chain CRF (sequence
//! NLL, Viterbi decoding), behind one trait; and their accuracy.

use tapegrad::prelude::*;

use super::data::{batch, Batch, Tagged, PAD, TAGS};

/// Embedding → recurrent layer → linear head at every step.
pub type Tagger<C> = (Embedding<f32>, Rnn<C>, Linear<f32>);

/// Tag scores `(T·B, 3)` for a batch, time-major.
fn logits<'t, C: Cell<f32>>(m: &Tagger<C>, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError> {
    let x = m.0.forward(bind, &b.ids, &[b.steps, b.lengths.len()])?;
    let out = m.1.forward(bind, x, None, Some(&b.lengths))?.output; // (T, B, D·H), zero at padding
    Ok(m.2.forward(bind, out)?.try_reshape(&[b.steps * b.lengths.len(), TAGS.len()])?)
}

/// A tagging model: its training loss on a batch, and its predictions.
pub trait Tags: Module<f32> {
    /// The loss of a batch (its targets have [`PAD`] at padding).
    fn loss<'t>(&self, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError>;
    /// Predicted tags of each sentence (no gradient).
    fn predict(&self, data: &[&Tagged]) -> Result<Vec<Vec<usize>>, NnError>;
}

/// Per-token cross-entropy; each token's most likely tag.
impl<C: Cell<f32>> Tags for Tagger<C> {
    fn loss<'t>(&self, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError> {
        cross_entropy(logits(self, bind, b)?, &b.targets, Some(PAD), Reduction::Mean)
    }
    fn predict(&self, data: &[&Tagged]) -> Result<Vec<Vec<usize>>, NnError> {
        let b = batch(data);
        let tape = Tape::new();
        let pred = tape.no_grad(|| logits(self, &Binding::new(&tape), &b))?.value().argmax(1);
        Ok((0..data.len()).map(|s| (0..b.lengths[s]).map(|t| pred[t * data.len() + s]).collect()).collect())
    }
}

/// A tagger's scores `(T, B, 3)` as a CRF's emissions: the sequence's NLL;
/// the Viterbi path.
impl<C: Cell<f32>> Tags for (Tagger<C>, Crf<f32>) {
    fn loss<'t>(&self, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError> {
        let emissions = logits(&self.0, bind, b)?.try_reshape(&[b.steps, b.lengths.len(), TAGS.len()])?;
        self.1.nll(bind, emissions, &b.targets, Some(&b.lengths), Reduction::Mean)
    }
    fn predict(&self, data: &[&Tagged]) -> Result<Vec<Vec<usize>>, NnError> {
        let b = batch(data);
        let tape = Tape::new();
        let emissions = tape.no_grad(|| logits(&self.0, &Binding::new(&tape), &b))?.value();
        self.1.viterbi(&emissions.reshape(&[b.steps, data.len(), TAGS.len()]), Some(&b.lengths))
    }
}

/// Accuracy over all real tokens and over the ambiguous names.
pub fn accuracy<M: Tags>(m: &M, data: &[&Tagged]) -> Result<(f64, f64), NnError> {
    let (mut all, mut amb, mut n_amb, mut n) = (0, 0, 0, 0);
    for (s, p) in data.iter().zip(m.predict(data)?) {
        for ((&t, &a), q) in s.tags.iter().zip(&s.ambiguous).zip(p) {
            n += 1;
            all += usize::from(t == q);
            n_amb += usize::from(a);
            amb += usize::from(a && t == q);
        }
    }
    Ok((all as f64 / n as f64, amb as f64 / n_amb.max(1) as f64))
}
