//! A linear-chain conditional random field over per-step tag scores (the
//! "CRF" of a BiLSTM-CRF tagger), composed of autodiff ops: its gradient
//! is the forward algorithm's, derived by the tape.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use super::attention::{check_finite, check_lengths, real_mask};
use crate::{Binding, Module, NnError, Param, Reduction, Result};

/// A linear-chain CRF over `K` tags. A tag path `y` of a sequence of
/// length `n` with emission scores `e` `(n, K)` scores
///
/// `start[y₀] + Σₜ e[t, yₜ] + Σₜ₌₁ transitions[yₜ₋₁, yₜ] + end[yₙ₋₁]`
///
/// and has probability `exp(score(y)) / Z`, where `ln Z`, the
/// log-partition, is the log-sum-exp of the scores of all `Kⁿ` paths,
/// computed by the forward algorithm in `O(n·K²)`. The loss is the
/// negative log-likelihood `ln Z - score(gold)`; decoding is Viterbi.
///
/// Emissions are time-major `(T, B, K)` (as [`crate::Rnn`] and
/// [`crate::Linear`] give them) with per-sequence `lengths`; steps past a
/// sequence's length are replaced by zeros with a `where` before anything
/// reads them, so whatever they hold (even NaN) and whatever tags are given
/// there have no effect, and their gradient is exactly zero.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Crf, Reduction};
/// use tapegrad_tensor::Tensor;
/// let mut rng = StdRng::seed_from_u64(0);
/// let crf = Crf::<f64>::new(3, &mut rng);
/// let em = Tensor::rand_uniform(&[4, 2, 3], -1.0, 1.0, &mut rng); // (T, B, K)
/// let tape = Tape::new();
/// let bind = Binding::new(&tape);
/// let tags = [0, 1, 2, 0, 1, 9, 0, 9]; // (T·B) time-major; 9 marks padding (ignored)
/// let loss = crf.nll(&bind, tape.constant(em.clone()), &tags, Some(&[4, 2]), Reduction::Mean).unwrap();
/// assert!(loss.value().item() > 0.0);
/// let paths = crf.viterbi(&em, Some(&[4, 2])).unwrap();
/// assert_eq!((paths[0].len(), paths[1].len()), (4, 2));
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct Crf<T: Scalar> {
    /// `transitions[i, j]`: score of tag `j` following tag `i`, `(K, K)`.
    pub transitions: Param<T>,
    /// Score of a path starting with each tag, `(K)`.
    pub start: Param<T>,
    /// Score of a path ending with each tag, `(K)`.
    pub end: Param<T>,
}

const OP: &str = "Crf";

/// A tag path per sequence, with its score.
type Best<T> = (Vec<usize>, T);

impl<T: Scalar> Crf<T> {
    /// A CRF over `tags` tags, every score drawn from `U(-0.1, 0.1)`.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Crf, Module};
    /// assert_eq!(Crf::<f32>::new(5, &mut StdRng::seed_from_u64(0)).num_params(), 25 + 5 + 5);
    /// ```
    pub fn new<R: Rng + ?Sized>(tags: usize, rng: &mut R) -> Self {
        let k = T::from_f64_lossy(0.1);
        let mut u = |shape: &[usize]| Param::new(Tensor::rand_uniform(shape, -k, k, rng));
        Crf { transitions: u(&[tags, tags]), start: u(&[tags]), end: u(&[tags]) }
    }

    /// From given transitions `(K, K)`, start `(K)` and end `(K)` scores.
    ///
    /// ```
    /// use tapegrad_nn::Crf;
    /// use tapegrad_tensor::Tensor;
    /// assert!(Crf::<f64>::from_tensors(Tensor::zeros(&[2, 2]), Tensor::zeros(&[2]), Tensor::zeros(&[2])).is_ok());
    /// assert!(Crf::<f64>::from_tensors(Tensor::zeros(&[2, 3]), Tensor::zeros(&[2]), Tensor::zeros(&[2])).is_err());
    /// ```
    ///
    /// # Errors
    /// [`NnError::Config`] naming the shapes if they do not fit together
    /// or `K = 0`.
    pub fn from_tensors(transitions: Tensor<T>, start: Tensor<T>, end: Tensor<T>) -> Result<Self> {
        let k = start.shape().first().copied().unwrap_or(0);
        if k == 0 || transitions.shape() != [k, k] || start.shape() != [k] || end.shape() != [k] {
            return Err(NnError::Config {
                op: "Crf::from_tensors",
                message: format!(
                    "transitions {:?}, start {:?} and end {:?} are not (K, K), (K), (K) with K >= 1",
                    transitions.shape(),
                    start.shape(),
                    end.shape()
                ),
            });
        }
        Ok(Crf { transitions: Param::new(transitions), start: Param::new(start), end: Param::new(end) })
    }

    /// The number of tags `K`.
    ///
    /// ```
    /// # use rand::{rngs::StdRng, SeedableRng};
    /// assert_eq!(tapegrad_nn::Crf::<f32>::new(4, &mut StdRng::seed_from_u64(0)).num_tags(), 4);
    /// ```
    pub fn num_tags(&self) -> usize {
        self.start.shape()[0]
    }

    /// Checks emissions `(T, B, K)` and lengths; returns `(T, B, lengths)`.
    fn validate(&self, em: &Tensor<T>, lengths: Option<&[usize]>) -> Result<(usize, usize, Vec<usize>)> {
        let (s, k) = (em.shape(), self.num_tags());
        if s.len() != 3 || s[2] != k {
            return Err(NnError::InputShape { op: OP, expected: format!("emissions (T, B, {k})"), got: Shape::from_slice(s) });
        }
        for (n, what) in [(s[0], "the sequence"), (s[1], "the batch")] {
            if n == 0 {
                return Err(NnError::Empty { op: OP, what, shape: Shape::from_slice(s) });
            }
        }
        let lengths = check_lengths(OP, lengths, s[0], s[1])?;
        check_finite(OP, em, Some(&lengths))?;
        Ok((s[0], s[1], lengths))
    }

    /// Emissions with every padded step replaced by exact zeros.
    fn masked<'t>(emissions: Var<'t, T>, lengths: &[usize], steps: usize) -> Result<Var<'t, T>> {
        if lengths.iter().all(|&n| n == steps) {
            return Ok(emissions);
        }
        let zero = emissions.tape().constant(Tensor::scalar(T::zero()));
        Ok(Var::try_where_cond(&real_mask(lengths, steps), emissions, zero)?)
    }

    /// `ln Z` per sequence, `(B)`: the log-sum-exp of the scores of every
    /// tag path of each sequence's length, by the forward algorithm
    /// (`logsumexp` over the previous tag at each step; a sequence's
    /// running scores are carried unchanged past its length).
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Crf};
    /// use tapegrad_tensor::Tensor;
    /// // All scores zero: every one of the 2³ paths scores 0, so ln Z = ln 8.
    /// let crf = Crf::<f64>::from_tensors(Tensor::zeros(&[2, 2]), Tensor::zeros(&[2]), Tensor::zeros(&[2])).unwrap();
    /// let tape = Tape::new();
    /// let z = crf.log_partition(&Binding::new(&tape), tape.constant(Tensor::zeros(&[3, 1, 2])), None).unwrap();
    /// assert!((z.value().item() - 8f64.ln()).abs() < 1e-15);
    /// ```
    ///
    /// # Errors
    /// [`NnError::InputShape`] unless emissions are `(T, B, K)`;
    /// [`NnError::Empty`], [`NnError::Lengths`]; [`NnError::NonFinite`]
    /// for a NaN or infinity at a real step.
    pub fn log_partition<'t>(&self, bind: &Binding<'t, T>, emissions: Var<'t, T>, lengths: Option<&[usize]>) -> Result<Var<'t, T>> {
        let (steps, batch, lengths) = self.validate(&emissions.value(), lengths)?;
        let k = self.num_tags();
        let em = Self::masked(emissions, &lengths, steps)?;
        let trans = bind.param(&self.transitions).try_reshape(&[1, k, k])?;
        let step = |t: usize| -> Result<Var<'t, T>> { Ok(em.try_narrow(0, t, 1)?.try_reshape(&[batch, k])?) };
        let mut alpha = step(0)?.try_add(bind.param(&self.start))?; // (B, K)
        for t in 1..steps {
            // alpha'[b, j] = logsumexp_i(alpha[b, i] + trans[i, j]) + e[t, b, j]
            let next = alpha.try_reshape(&[batch, k, 1])?.try_add(trans)?.try_logsumexp(1, false)?.try_add(step(t)?)?;
            alpha = if lengths.iter().all(|&n| t < n) {
                next
            } else {
                let live = Tensor::from_vec(lengths.iter().map(|&n| if t < n { T::one() } else { T::zero() }).collect(), &[batch, 1]);
                Var::try_where_cond(&live, next, alpha)?
            };
        }
        Ok(alpha.try_add(bind.param(&self.end))?.try_logsumexp(1, false)?)
    }

    /// The score of the given tag path of each sequence, `(B)`; `tags` is
    /// `(T·B)` time-major (as the emissions' first two axes), and entries
    /// at padded steps are ignored (any value).
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Crf};
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0], &[2, 2]);
    /// let crf = Crf::<f64>::from_tensors(t, Tensor::from_vec(vec![10.0, 20.0], &[2]), Tensor::from_vec(vec![100.0, 200.0], &[2])).unwrap();
    /// let tape = Tape::new();
    /// let em = tape.constant(Tensor::from_vec(vec![0.5, 0.25, 0.125, 0.0625], &[2, 1, 2]));
    /// // path 1 → 0: start 20 + e 0.25 + trans[1, 0] = 2 + e 0.125 + end 100
    /// let s = crf.score(&Binding::new(&tape), em, &[1, 0], None).unwrap();
    /// assert_eq!(s.value().data(), &[122.375]);
    /// ```
    ///
    /// # Errors
    /// As [`Crf::log_partition`], and [`NnError::Target`] if `tags` is not
    /// `T·B` long or holds a tag `>= K` at a real step.
    pub fn score<'t>(&self, bind: &Binding<'t, T>, emissions: Var<'t, T>, tags: &[usize], lengths: Option<&[usize]>) -> Result<Var<'t, T>> {
        let (steps, batch, lengths) = self.validate(&emissions.value(), lengths)?;
        let k = self.num_tags();
        let paths = self.paths(tags, steps, batch, &lengths)?;
        let em = Self::masked(emissions, &lengths, steps)?;
        // Constant 0/1 (and count) tensors pick the path's scores out.
        let (mut pick_e, mut first, mut last) =
            (vec![T::zero(); steps * batch * k], vec![T::zero(); batch * k], vec![T::zero(); batch * k]);
        let mut counts = vec![T::zero(); batch * k * k];
        for (b, path) in paths.iter().enumerate() {
            for (t, &y) in path.iter().enumerate() {
                pick_e[(t * batch + b) * k + y] = T::one();
                if t > 0 {
                    counts[(b * k + path[t - 1]) * k + y] = counts[(b * k + path[t - 1]) * k + y] + T::one();
                }
            }
            first[b * k + path[0]] = T::one();
            last[b * k + path[path.len() - 1]] = T::one();
        }
        let tape = bind.tape();
        let c = |data: Vec<T>, shape: &[usize]| tape.constant(Tensor::from_vec(data, shape));
        let emit = em.try_mul(c(pick_e, &[steps, batch, k]))?.try_sum_axis(0, false)?.try_sum_axis(1, false)?;
        let trans = bind.param(&self.transitions).try_mul(c(counts, &[batch, k, k]))?.try_sum_axis(2, false)?.try_sum_axis(1, false)?;
        let start = bind.param(&self.start).try_mul(c(first, &[batch, k]))?.try_sum_axis(1, false)?;
        let end = bind.param(&self.end).try_mul(c(last, &[batch, k]))?.try_sum_axis(1, false)?;
        Ok(emit.try_add(trans)?.try_add(start)?.try_add(end)?)
    }

    /// Each sequence's tags (its real steps only), checked against `K`.
    fn paths(&self, tags: &[usize], steps: usize, batch: usize, lengths: &[usize]) -> Result<Vec<Vec<usize>>> {
        let k = self.num_tags();
        if tags.len() != steps * batch {
            return Err(NnError::Target {
                op: OP,
                message: format!("{} tags for emissions of {steps} steps and batch {batch}", tags.len()),
            });
        }
        let mut paths = Vec::with_capacity(batch);
        for (b, &n) in lengths.iter().enumerate() {
            let path: Vec<usize> = (0..n).map(|t| tags[t * batch + b]).collect();
            if let Some(t) = path.iter().position(|&y| y >= k) {
                return Err(NnError::Target {
                    op: OP,
                    message: format!("tag {} at step {t} of sequence {b} is out of range for {k} tags", path[t]),
                });
            }
            paths.push(path);
        }
        Ok(paths)
    }

    /// The negative log-likelihood of the given tags, `ln Z - score`, per
    /// sequence, averaged ([`Reduction::Mean`], over the batch) or summed.
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Crf, Reduction};
    /// use tapegrad_tensor::Tensor;
    /// // All scores zero: each of the 2² paths has probability 1/4.
    /// let crf = Crf::<f64>::from_tensors(Tensor::zeros(&[2, 2]), Tensor::zeros(&[2]), Tensor::zeros(&[2])).unwrap();
    /// let tape = Tape::new();
    /// let nll = crf.nll(&Binding::new(&tape), tape.constant(Tensor::zeros(&[2, 1, 2])), &[1, 0], None, Reduction::Mean).unwrap();
    /// assert!((nll.value().item() - 4f64.ln()).abs() < 1e-15);
    /// ```
    ///
    /// # Errors
    /// As [`Crf::score`].
    pub fn nll<'t>(
        &self,
        bind: &Binding<'t, T>,
        emissions: Var<'t, T>,
        tags: &[usize],
        lengths: Option<&[usize]>,
        reduction: Reduction,
    ) -> Result<Var<'t, T>> {
        let gold = self.score(bind, emissions, tags, lengths)?;
        let per_seq = self.log_partition(bind, emissions, lengths)?.try_sub(gold)?;
        Ok(match reduction {
            Reduction::Mean => per_seq.mean_all(),
            Reduction::Sum => per_seq.sum_all(),
        })
    }

    /// The highest-scoring tag path of each sequence (Viterbi), of its
    /// length; ties go to the lower tag. Plain tensor code on the current
    /// parameter values (decoding needs no gradient).
    ///
    /// ```
    /// use tapegrad_nn::Crf;
    /// use tapegrad_tensor::Tensor;
    /// // A large reward for 1 → 0 beats the emissions' preference for 1 at step 1.
    /// let t = Tensor::from_vec(vec![0.0, 0.0, 5.0, 0.0], &[2, 2]);
    /// let crf = Crf::<f64>::from_tensors(t, Tensor::zeros(&[2]), Tensor::zeros(&[2])).unwrap();
    /// let em = Tensor::from_vec(vec![0.0, 1.0, 0.0, 1.0], &[2, 1, 2]);
    /// assert_eq!(crf.viterbi(&em, None).unwrap(), vec![vec![1, 0]]);
    /// ```
    ///
    /// # Errors
    /// As [`Crf::log_partition`].
    pub fn viterbi(&self, emissions: &Tensor<T>, lengths: Option<&[usize]>) -> Result<Vec<Vec<usize>>> {
        Ok(self.viterbi_with_scores(emissions, lengths)?.into_iter().map(|(p, _)| p).collect())
    }

    /// As [`Crf::viterbi`], with each best path's score.
    ///
    /// ```
    /// use tapegrad_nn::Crf;
    /// use tapegrad_tensor::Tensor;
    /// let crf = Crf::<f64>::from_tensors(Tensor::zeros(&[2, 2]), Tensor::zeros(&[2]), Tensor::zeros(&[2])).unwrap();
    /// let em = Tensor::from_vec(vec![0.0, 1.0, 3.0, 0.0], &[2, 1, 2]);
    /// assert_eq!(crf.viterbi_with_scores(&em, None).unwrap(), vec![(vec![1, 0], 4.0)]);
    /// ```
    ///
    /// # Errors
    /// As [`Crf::log_partition`], and [`NnError::Config`] if a parameter
    /// holds NaN (a `-∞` score, a forbidden transition, is fine).
    pub fn viterbi_with_scores(&self, emissions: &Tensor<T>, lengths: Option<&[usize]>) -> Result<Vec<Best<T>>> {
        let (_, batch, lengths) = self.validate(emissions, lengths)?;
        for (name, p) in self.params() {
            if let Some(i) = p.value().data().iter().position(|v| v.is_nan()) {
                return Err(NnError::Config {
                    op: "Crf::viterbi",
                    message: format!("parameter `{name}` {:?} is NaN at element {i}", p.shape()),
                });
            }
        }
        let k = self.num_tags();
        let (trans, start, end) = (self.transitions.value().data(), self.start.value().data(), self.end.value().data());
        let em = emissions.data();
        let e = |t: usize, b: usize, j: usize| em[(t * batch + b) * k + j];
        let mut out = Vec::with_capacity(batch);
        for (b, &n) in lengths.iter().enumerate() {
            let mut score: Vec<T> = (0..k).map(|j| start[j] + e(0, b, j)).collect();
            let mut back = Vec::with_capacity(n.saturating_sub(1));
            for t in 1..n {
                let (mut next, mut from) = (vec![T::zero(); k], vec![0; k]);
                for j in 0..k {
                    let (i, best) = argmax((0..k).map(|i| score[i] + trans[i * k + j]));
                    next[j] = best + e(t, b, j);
                    from[j] = i;
                }
                score = next;
                back.push(from);
            }
            let (mut y, best) = argmax((0..k).map(|j| score[j] + end[j]));
            let mut path = vec![y];
            for from in back.iter().rev() {
                y = from[y];
                path.push(y);
            }
            path.reverse();
            out.push((path, best));
        }
        Ok(out)
    }
}

/// Index and value of the first maximum (`values` is never empty: `K >= 1`).
fn argmax<T: Scalar>(values: impl Iterator<Item = T>) -> (usize, T) {
    values.enumerate().fold((0, T::neg_infinity()), |(bi, bv), (i, v)| if v > bv { (i, v) } else { (bi, bv) })
}
