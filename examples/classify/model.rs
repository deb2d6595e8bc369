//! The three classifiers (unidirectional LSTM, bidirectional LSTM, bag of
//! words) behind one trait, and what is measured of them: accuracy,
//! P(positive), and how much padding moves a logit.

use tapegrad::prelude::*;

use super::data::{batch, Batch, Example};

/// A model that scores a batch: logits `(B, 2)`.
pub trait Classifier: Module<f32> {
    fn logits<'t>(&self, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError>;
}

/// Embedding → LSTM (one or two directions) → linear head on the final state(s).
impl Classifier for (Embedding<f32>, Rnn<LstmCell<f32>>, Linear<f32>) {
    fn logits<'t>(&self, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError> {
        let x = self.0.forward(bind, &b.ids, &[b.steps, b.lengths.len()])?;
        let out = self.1.forward(bind, x, None, Some(&b.lengths))?;
        // `last` holds each direction's state at each sentence's true end (for
        // the reverse direction: after reading back to the first word).
        let h: Vec<Var<'t, f32>> = out.last.iter().map(|s| s.h).collect();
        self.2.forward(bind, Var::try_concat(&h, 1)?)
    }
}

/// Bag of words: mean of the real tokens' embeddings → linear head.
impl Classifier for (Embedding<f32>, Linear<f32>) {
    fn logits<'t>(&self, bind: &Binding<'t, f32>, b: &Batch) -> Result<Var<'t, f32>, NnError> {
        let n = b.lengths.len();
        let x = self.0.forward(bind, &b.ids, &[b.steps, n])?; // (T, B, E)
        let w: Vec<f32> = (0..b.steps).flat_map(|t| b.lengths.iter().map(move |&l| if t < l { 1.0 / l as f32 } else { 0.0 })).collect();
        let mean = x.try_mul(bind.tape().constant(Tensor::from_vec(w, &[b.steps, n, 1])))?.try_sum_axis(0, false)?;
        self.1.forward(bind, mean)
    }
}

/// Fraction of `data` classified correctly (one batch, no gradient).
pub fn accuracy<M: Classifier>(model: &M, data: &[&Example]) -> Result<f64, NnError> {
    let tape = Tape::new();
    let b = batch(data);
    let logits = tape.no_grad(|| model.logits(&Binding::new(&tape), &b))?.value();
    let right = logits.argmax(1).iter().zip(&b.labels).filter(|(p, l)| p == l).count();
    Ok(right as f64 / data.len() as f64)
}

/// P(positive) of each sentence.
pub fn p_positive<M: Classifier>(model: &M, data: &[&Example]) -> Result<Vec<f64>, NnError> {
    let tape = Tape::new();
    let logits = tape.no_grad(|| model.logits(&Binding::new(&tape), &batch(data)))?.value();
    Ok(logits.softmax(1).data().chunks(2).map(|p| p[1] as f64).collect())
}

/// Largest change in any logit between scoring each sentence alone and in
/// one padded batch with `lengths`: zero up to rounding if padding is inert.
pub fn padding_effect<M: Classifier>(model: &M, data: &[&Example]) -> Result<f64, NnError> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let together = tape.no_grad(|| model.logits(&bind, &batch(data)))?.value();
    let mut worst = 0f64;
    for (k, e) in data.iter().enumerate() {
        let alone = tape.no_grad(|| model.logits(&bind, &batch(&[e])))?.value();
        for (c, a) in alone.data().iter().enumerate() {
            worst = worst.max((together.data()[2 * k + c] - a).abs() as f64);
        }
    }
    Ok(worst)
}
