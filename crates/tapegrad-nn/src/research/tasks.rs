//! Synthetic long-range tasks for trying a new cell: the adding problem,
//! in the variants the literature uses ([`AddingVariant`]).

use std::fmt;
use std::ops::RangeInclusive;

use rand::Rng;
use tapegrad_autodiff::Tensor;
use tapegrad_tensor::Scalar;

use crate::error::{NnError, Result};

/// Which adding problem [`adding_problem`] draws. Every variant has two
/// input channels per step, a value and a marker, and one target read
/// after the last step; they differ in where the markers go, the value
/// range, the target and the length. Which one a result was measured on
/// matters: in the run reported in issue 17, an LSTM that solved
/// [`AddingVariant::Le2015`] at T = 150 in about 16k steps sat on the
/// mean-predictor baseline for over 115k steps of
/// [`AddingVariant::FirstTenthFirstHalf`].
///
/// In the descriptions, `T` is the `steps` given to [`adding_problem`] and
/// steps are numbered from 0.
///
/// ```
/// use tapegrad_nn::AddingVariant;
/// assert_eq!(AddingVariant::default(), AddingVariant::Le2015);
/// assert_eq!(AddingVariant::Hochreiter1997.length_range(100), 100..=110);
/// assert_eq!(AddingVariant::Le2015.to_string(), "Le et al. 2015");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AddingVariant {
    /// Le, Jaitly & Hinton (2015), *A Simple Way to Initialize Recurrent
    /// Networks of Rectified Linear Units*, arXiv:1504.00941, §4.1: the
    /// usual modern benchmark, and the default for comparisons.
    ///
    /// Length exactly `T`. Values U(0, 1) at every step; markers 1 at
    /// exactly two distinct steps, drawn uniformly among all `T` (either
    /// may be anywhere, including the last step), 0 elsewhere. Target: the
    /// sum of the two marked values. Predicting the mean (1.0) scores MSE
    /// 1/6. Needs `T >= 2`.
    #[default]
    Le2015,
    /// Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*, Neural
    /// Computation 9(8), experiment 4 ("adding problem").
    ///
    /// Values U(-1, 1) at every step. The first marked step (value `X1`)
    /// is drawn uniformly among steps 0..10; the second (`X2`) uniformly
    /// among the first `T/2 - 1` steps (integer division) other than the
    /// first, so both lie before step `T/2`. Marked steps have marker 1;
    /// the first and the last step have marker -1 unless marked; every
    /// other marker is 0. As in the paper, if the first marked step is
    /// step 0, `X1` is set to 0 — here in the input as well, so the input
    /// and the target always agree. Target: `0.5 + (X1 + X2)/4`, in
    /// [0, 1]; predicting the mean (0.5) scores MSE 19/480 ≈ 0.0396.
    ///
    /// The paper draws each sequence's length in `[T, T + T/10]`. Here one
    /// length is drawn per batch, uniformly in that range (see
    /// [`AddingVariant::length_range`]), and the whole batch has it, so a
    /// batch is a plain `(L, B, 2)` tensor and the target is read at its
    /// last step; each sequence's length still has the paper's
    /// distribution. Needs `T >= 11`, so that the first ten steps come
    /// before the last one (which carries the end marker).
    Hochreiter1997,
    /// The variant this library drew before the others existed, kept so
    /// results measured on it reproduce (same draws from the same seed).
    /// It is from no paper, and harder than both above.
    ///
    /// Length exactly `T`. Values U(0, 1) at every step. The first marked
    /// step is drawn uniformly among the first `max(T/10, 1)` steps, the
    /// second uniformly among the first `T/2` steps, redrawn until it
    /// differs from the first; markers 1 there and 0 elsewhere. Target:
    /// the sum of the two marked values; predicting the mean (1.0) scores
    /// MSE 1/6. Needs `T >= 4`.
    FirstTenthFirstHalf,
}

impl AddingVariant {
    /// The shortest `steps` the variant can draw (2, 11 and 4; see each
    /// variant for why).
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::AddingVariant::Hochreiter1997.min_steps(), 11);
    /// ```
    pub fn min_steps(self) -> usize {
        match self {
            AddingVariant::Le2015 => 2,
            AddingVariant::Hochreiter1997 => 11,
            AddingVariant::FirstTenthFirstHalf => 4,
        }
    }

    /// The lengths a batch drawn with `steps` can have: `T..=T` for fixed
    /// length variants, `T..=T + T/10` for [`AddingVariant::Hochreiter1997`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::AddingVariant::Le2015.length_range(50), 50..=50);
    /// ```
    pub fn length_range(self, steps: usize) -> RangeInclusive<usize> {
        match self {
            AddingVariant::Hochreiter1997 => steps..=steps + steps / 10,
            AddingVariant::Le2015 | AddingVariant::FirstTenthFirstHalf => steps..=steps,
        }
    }

    /// Test MSE of always predicting the mean target: the variance of the
    /// target, the baseline a model has to beat (1/6, or 19/480 for
    /// [`AddingVariant::Hochreiter1997`]).
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::AddingVariant::Le2015.mean_predictor_mse(), 1.0 / 6.0);
    /// ```
    pub fn mean_predictor_mse(self) -> f64 {
        match self {
            // Var(U1 + U2) for two U(0, 1).
            AddingVariant::Le2015 | AddingVariant::FirstTenthFirstHalf => 1.0 / 6.0,
            // (Var X1 + Var X2) / 16 with Var X2 = 1/3 and Var X1 = (9/10)(1/3),
            // X1 being 0 when the first marker falls on step 0 (P = 1/10).
            AddingVariant::Hochreiter1997 => 19.0 / 480.0,
        }
    }

    /// Why the variant needs [`AddingVariant::min_steps`].
    fn min_steps_reason(self) -> &'static str {
        match self {
            AddingVariant::Le2015 => "two distinct marked steps",
            AddingVariant::Hochreiter1997 => "the first ten steps (where the first marker goes) before the last, end-marked step",
            AddingVariant::FirstTenthFirstHalf => "two distinct marked steps in the first half",
        }
    }
}

impl fmt::Display for AddingVariant {
    /// The paper's citation, or a description for the library's own variant.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddingVariant::Le2015 => "Le et al. 2015",
            AddingVariant::Hochreiter1997 => "Hochreiter & Schmidhuber 1997",
            AddingVariant::FirstTenthFirstHalf => "first marker in the first tenth, second in the first half",
        })
    }
}

/// A batch of the adding problem, the standard test of whether a recurrent
/// cell can carry information across many steps, in the variant `variant`
/// (each documented exactly, with its paper, on [`AddingVariant`]).
///
/// Returns inputs `(L, batch, 2)`, time-major, channel 0 the value and
/// channel 1 the marker, and targets `(batch, 1)`, to be predicted after
/// the last step. `L` is `steps` except for
/// [`AddingVariant::Hochreiter1997`], which draws one length per batch in
/// [`AddingVariant::length_range`]; read it from the input's shape.
///
/// Draws come from `rng` only (values are drawn in `f64` and converted;
/// targets are computed in `T` from the converted values), so a seeded
/// generator gives the same batch in `f32` and `f64`.
///
/// # Errors
/// [`NnError::Config`] naming the variant if `steps` is below
/// [`AddingVariant::min_steps`] or `batch == 0`.
///
/// # Examples
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{adding_problem, AddingVariant};
///
/// let mut rng = StdRng::seed_from_u64(0);
/// let (x, y) = adding_problem::<f32, _>(AddingVariant::Le2015, 20, 3, &mut rng).unwrap();
/// assert_eq!((x.shape(), y.shape()), (&[20, 3, 2][..], &[3, 1][..]));
/// // Exactly two marked steps per sequence, anywhere.
/// let marks: f32 = x.data().chunks(2).map(|p| p[1]).sum();
/// assert_eq!(marks, 6.0);
///
/// let (x, _) = adding_problem::<f32, _>(AddingVariant::Hochreiter1997, 100, 3, &mut rng).unwrap();
/// assert!((100..=110).contains(&x.shape()[0]));
/// assert!(adding_problem::<f32, _>(AddingVariant::Hochreiter1997, 10, 3, &mut rng).is_err());
/// ```
pub fn adding_problem<T: Scalar, R: Rng + ?Sized>(
    variant: AddingVariant,
    steps: usize,
    batch: usize,
    rng: &mut R,
) -> Result<(Tensor<T>, Tensor<T>)> {
    let min = variant.min_steps();
    if steps < min || batch == 0 {
        return Err(NnError::Config {
            op: "adding_problem",
            message: format!(
                "{variant:?} ({variant}) needs steps >= {min} ({}) and batch >= 1, got steps {steps} and batch {batch}",
                variant.min_steps_reason()
            ),
        });
    }
    // Only the variable-length variant draws a length, so the others' draws
    // are unchanged from before it existed.
    let len = match variant {
        AddingVariant::Hochreiter1997 => rng.random_range(variant.length_range(steps)),
        AddingVariant::Le2015 | AddingVariant::FirstTenthFirstHalf => steps,
    };
    let mut out = Batch { x: vec![T::zero(); len * batch * 2], y: vec![T::zero(); batch], len, batch };
    for s in 0..batch {
        match variant {
            AddingVariant::Le2015 => out.le2015(s, rng),
            AddingVariant::Hochreiter1997 => out.hochreiter1997(s, steps, rng),
            AddingVariant::FirstTenthFirstHalf => out.first_tenth_first_half(s, rng),
        }
    }
    Ok((Tensor::from_vec(out.x, &[len, batch, 2]), Tensor::from_vec(out.y, &[batch, 1])))
}

/// The batch being drawn, `(len, batch, 2)` time-major.
struct Batch<T> {
    x: Vec<T>,
    y: Vec<T>,
    len: usize,
    batch: usize,
}

impl<T: Scalar> Batch<T> {
    /// Writes step `t` of sequence `s`; returns the value as stored.
    fn set(&mut self, s: usize, t: usize, value: f64, marker: f64) -> T {
        let at = (t * self.batch + s) * 2;
        self.x[at] = T::from_f64_lossy(value);
        self.x[at + 1] = T::from_f64_lossy(marker);
        self.x[at]
    }

    /// Values U(0, 1) at every step of sample `s`, markers at `first` and
    /// `second`, target their sum (both Le et al.'s and the earlier variant).
    fn sum_of_two<R: Rng + ?Sized>(&mut self, s: usize, first: usize, second: usize, rng: &mut R) {
        let mut sum = T::zero();
        for t in 0..self.len {
            let marked = t == first || t == second;
            let v = self.set(s, t, rng.random::<f64>(), if marked { 1.0 } else { 0.0 });
            if marked {
                sum = sum + v;
            }
        }
        self.y[s] = sum;
    }

    /// [`AddingVariant::Le2015`]: two distinct uniform steps, values U(0, 1).
    fn le2015<R: Rng + ?Sized>(&mut self, s: usize, rng: &mut R) {
        let first = rng.random_range(0..self.len);
        let second = distinct_below(rng, self.len - 1, first);
        self.sum_of_two(s, first, second, rng);
    }

    /// [`AddingVariant::Hochreiter1997`]; `steps` is the minimal length `T`.
    fn hochreiter1997<R: Rng + ?Sized>(&mut self, s: usize, steps: usize, rng: &mut R) {
        let first = rng.random_range(0..10);
        let second = distinct_below(rng, steps / 2 - 1, first);
        let (mut x1, mut x2) = (T::zero(), T::zero());
        for t in 0..self.len {
            let marker = if t == first || t == second {
                1.0
            } else if t == 0 || t == self.len - 1 {
                -1.0
            } else {
                0.0
            };
            let u = 2.0 * rng.random::<f64>() - 1.0;
            // The paper's rule: X1 on the first step counts as 0.
            let v = self.set(s, t, if t == first && t == 0 { 0.0 } else { u }, marker);
            if t == first {
                x1 = v;
            } else if t == second {
                x2 = v;
            }
        }
        let (half, four) = (T::from_f64_lossy(0.5), T::from_f64_lossy(4.0));
        self.y[s] = half + (x1 + x2) / four;
    }

    /// [`AddingVariant::FirstTenthFirstHalf`], drawn in the same order as
    /// the library's earlier `adding_problem`, so seeded batches reproduce.
    fn first_tenth_first_half<R: Rng + ?Sized>(&mut self, s: usize, rng: &mut R) {
        let first = rng.random_range(0..(self.len / 10).max(1));
        let mut second = rng.random_range(0..self.len / 2);
        while second == first {
            second = rng.random_range(0..self.len / 2);
        }
        self.sum_of_two(s, first, second, rng);
    }
}

/// Uniform among the first `n` indices that are not `skip`: the `k`-th
/// such index for `k` uniform in `0..n`.
fn distinct_below<R: Rng + ?Sized>(rng: &mut R, n: usize, skip: usize) -> usize {
    let k = rng.random_range(0..n);
    if k >= skip {
        k + 1
    } else {
        k
    }
}
