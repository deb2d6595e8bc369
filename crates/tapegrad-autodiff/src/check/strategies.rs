//! Proptest strategies for gradient property tests (feature `proptest`).
//!
//! Shapes with size-1 and broadcast axes, and values that keep finite
//! differences honest: bounded, away from kinks (relu and abs at 0), away
//! from ties (max), away from poles (ln, sqrt, 1/x). With these and
//! [`check`], a user's property test is three lines:
//!
//! ```
//! use proptest::prelude::*;
//! use tapegrad_autodiff::strategies::{check, shape, tensor_of};
//!
//! proptest!(ProptestConfig::with_cases(8), |(x in tensor_of(shape(2, 4), -2.0..2.0))| {
//!     check(|_t, v| Ok(v[0].tanh().sum_all()), &[x])?;
//! });
//! ```

use std::ops::Range;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tapegrad_tensor::Tensor;

use crate::{gradcheck, GradcheckOptions, Tape, Var};

/// Shapes of rank `1..=max_rank` with every axis in `1..=max_dim`.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let s = tapegrad_autodiff::strategies::shape(3, 4).new_tree(&mut runner).unwrap().current();
/// assert!((1..=3).contains(&s.len()) && s.iter().all(|&d| (1..=4).contains(&d)));
/// ```
pub fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..=max_dim.max(1), 1..=max_rank.max(1))
}

/// Two shapes that broadcast together: the second drops some leading axes
/// of the first and sets some of the rest to 1 (and sometimes the first
/// has the 1 instead).
pub fn broadcast_pair(max_rank: usize, max_dim: usize) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(max_rank, max_dim)
        .prop_flat_map(|full| {
            let n = full.len();
            (Just(full), 0..=n, prop::collection::vec(0u8..3, n))
        })
        .prop_map(|(full, drop, kinds)| {
            let mut a = full.clone();
            let mut b = full;
            for (i, k) in kinds.iter().enumerate() {
                match k {
                    1 => b[i] = 1,
                    2 => a[i] = 1,
                    _ => {}
                }
            }
            (a, b[drop.min(b.len())..].to_vec())
        })
}

/// A tensor of `shape` with values uniform in `range`.
pub fn tensor(shape: &[usize], range: Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    let shape = shape.to_vec();
    let n: usize = shape.iter().product();
    prop::collection::vec(range, n).prop_map(move |d| Tensor::from_vec(d, &shape))
}

/// A tensor of a shape drawn from `shapes`, values uniform in `range`.
pub fn tensor_of(shapes: impl Strategy<Value = Vec<usize>>, range: Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    shapes.prop_flat_map(move |s| tensor(&s, range.clone()))
}

/// Values with `|x|` in `magnitude` and a random sign: away from the kink
/// of relu and abs at 0.
pub fn away_from_zero(shape: &[usize], magnitude: Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    let shape = shape.to_vec();
    let n: usize = shape.iter().product();
    prop::collection::vec((magnitude, any::<bool>()), n)
        .prop_map(move |d| Tensor::from_vec(d.into_iter().map(|(m, neg)| if neg { -m } else { m }).collect(), &shape))
}

/// Values in `range` with `range.start > 0`: away from the poles of `ln`,
/// `sqrt`, `1/x` and `powf`.
pub fn positive(shape: &[usize], range: Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    assert!(range.start > 0.0, "positive: the range must start above 0");
    tensor(shape, range)
}

/// Values that differ pairwise by at least `gap` (a shuffled ladder with
/// jitter below `gap/4`): no ties for `max`, so its gradient is defined
/// and finite differences with `eps ≪ gap` do not cross a tie.
pub fn distinct(shape: &[usize], gap: f64) -> impl Strategy<Value = Tensor<f64>> {
    let shape = shape.to_vec();
    let n: usize = shape.iter().product();
    (Just((0..n).collect::<Vec<usize>>()).prop_shuffle(), prop::collection::vec(-0.25..0.25f64, n)).prop_map(move |(perm, jitter)| {
        let half = n as f64 / 2.0;
        let d = perm.iter().zip(jitter).map(|(&p, j)| (p as f64 - half + j) * gap).collect();
        Tensor::from_vec(d, &shape)
    })
}

/// Runs [`gradcheck`] with default options and fails the property test
/// with the full report when it does not pass (or when `f` fails).
///
/// # Errors
/// A `TestCaseError` holding the report or the error.
pub fn check<F>(f: F, inputs: &[Tensor<f64>]) -> Result<(), TestCaseError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> crate::Result<Var<'t, f64>>,
{
    check_with(f, inputs, &GradcheckOptions::default())
}

/// As [`check`], with options.
///
/// # Errors
/// A `TestCaseError` holding the report or the error.
pub fn check_with<F>(f: F, inputs: &[Tensor<f64>], options: &GradcheckOptions) -> Result<(), TestCaseError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> crate::Result<Var<'t, f64>>,
{
    match gradcheck(f, inputs, options) {
        Ok(r) if r.passed() => Ok(()),
        Ok(r) => Err(TestCaseError::fail(format!("{r}"))),
        Err(e) => Err(TestCaseError::fail(format!("gradcheck could not run: {e}"))),
    }
}
