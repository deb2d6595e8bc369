//! Synthetic long-range tasks for trying a new cell.

use rand::Rng;
use tapegrad_autodiff::Tensor;
use tapegrad_tensor::Scalar;

use crate::error::{NnError, Result};

/// A batch of the adding problem (Hochreiter & Schmidhuber, 1997), the
/// standard test of whether a recurrent cell can carry information across
/// many steps.
///
/// Returns inputs `(steps, batch, 2)`, time-major, and targets `(batch, 1)`.
/// Channel 0 of every step is a value drawn from U(0, 1); channel 1 is 1 at
/// two marked steps and 0 elsewhere, one marked step in the first tenth of
/// the sequence and the other, distinct, in the first half. The target is
/// the sum of the two marked values, read after the last step, so a model
/// must remember them across at least half the sequence. Predicting the
/// mean (1.0) scores a mean squared error of 1/6; a solved task scores
/// near 0.
///
/// Draws come from `rng` only (values are drawn in `f64` and converted), so
/// a seeded generator gives the same batch in `f32` and `f64`.
///
/// # Errors
/// [`NnError::Config`] if `steps < 4` (two distinct marked steps in the
/// first half need at least 4) or `batch == 0`.
///
/// # Examples
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::adding_problem;
///
/// let (x, y) = adding_problem::<f32, _>(20, 3, &mut StdRng::seed_from_u64(0)).unwrap();
/// assert_eq!((x.shape(), y.shape()), (&[20, 3, 2][..], &[3, 1][..]));
/// // Exactly two marked steps per sequence.
/// let marks: f32 = x.data().chunks(2).map(|p| p[1]).sum();
/// assert_eq!(marks, 6.0);
/// assert!(adding_problem::<f32, _>(3, 1, &mut StdRng::seed_from_u64(0)).is_err());
/// ```
pub fn adding_problem<T: Scalar, R: Rng + ?Sized>(steps: usize, batch: usize, rng: &mut R) -> Result<(Tensor<T>, Tensor<T>)> {
    if steps < 4 || batch == 0 {
        return Err(NnError::Config {
            op: "adding_problem",
            message: format!("needs steps >= 4 and batch >= 1, got steps {steps} and batch {batch}"),
        });
    }
    let mut x = vec![T::zero(); steps * batch * 2];
    let mut y = vec![T::zero(); batch];
    for s in 0..batch {
        let first = rng.random_range(0..(steps / 10).max(1));
        let mut second = rng.random_range(0..steps / 2);
        while second == first {
            second = rng.random_range(0..steps / 2);
        }
        for t in 0..steps {
            let v = T::from(rng.random::<f64>()).expect("a value in [0, 1) fits any float type");
            x[(t * batch + s) * 2] = v;
            if t == first || t == second {
                x[(t * batch + s) * 2 + 1] = T::one();
                y[s] = y[s] + v;
            }
        }
    }
    Ok((Tensor::from_vec(x, &[steps, batch, 2]), Tensor::from_vec(y, &[batch, 1])))
}
