//! Random constructors: tensors drawn with the caller's RNG, so that a
//! seeded RNG gives a reproducible tensor.

use rand::Rng;

use crate::error::or_panic;
use crate::layout;
use crate::size::{self, checked_numel};
use crate::{Result, Scalar, Tensor, TensorError};

impl<T: Scalar> Tensor<T> {
    /// A tensor of shape `shape` of values drawn uniformly from
    /// `[low, high)` with the caller's RNG, so a seeded RNG gives a
    /// reproducible tensor. Each draw is computed in `f64` and rounded to
    /// `T`; `low == high` gives that value everywhere.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_tensor::{Tensor, TensorError};
    /// let a = Tensor::<f32>::try_rand_uniform(&[3], -1.0, 1.0, &mut StdRng::seed_from_u64(7)).unwrap();
    /// let b = Tensor::<f32>::try_rand_uniform(&[3], -1.0, 1.0, &mut StdRng::seed_from_u64(7)).unwrap();
    /// assert_eq!(a, b);
    /// assert!(a.data().iter().all(|v| (-1.0..1.0).contains(v)));
    /// assert!(matches!(Tensor::<f32>::try_rand_uniform(&[3], 1.0, -1.0, &mut StdRng::seed_from_u64(7)),
    ///     Err(TensorError::InvalidBounds { .. })));
    /// ```
    ///
    /// # Errors
    /// [`TensorError::InvalidBounds`] naming `rand_uniform` and both bounds
    /// if `low > high` or either is NaN;
    /// [`TensorError::InvalidParameter`] if the width `high - low` is not
    /// finite in `f64` (an infinite bound); otherwise as
    /// [`Tensor::try_full`], naming `rand_uniform`.
    pub fn try_rand_uniform<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Result<Self> {
        const OP: &str = "rand_uniform";
        if low.is_nan() || high.is_nan() || low > high {
            return Err(TensorError::InvalidBounds { op: OP, lo: low.to_string(), hi: high.to_string() });
        }
        let (lo, hi) = (low.to_f64_lossless(), high.to_f64_lossless());
        if !(hi - lo).is_finite() {
            return Err(TensorError::InvalidParameter { op: OP, name: "high - low", value: (hi - lo).to_string(), why: "must be finite" });
        }
        let mut data = size::alloc(OP, shape)?;
        let n = checked_numel(OP, shape)?;
        data.extend((0..n).map(|_| {
            let u: f64 = rng.random();
            // Clamp guards against f32 rounding `lo + (hi-lo)*u` up to `hi`.
            let v = T::from_f64_lossy(lo + (hi - lo) * u);
            if v >= high && high > low {
                low.max(high - (high - low) * T::epsilon())
            } else {
                v
            }
        }));
        Ok(Self::from_parts(data, layout::shape(shape)))
    }
    /// Panicking form of [`Tensor::try_rand_uniform`].
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// let a = tapegrad_tensor::Tensor::<f64>::rand_uniform(&[3], 0.0, 1.0, &mut StdRng::seed_from_u64(7));
    /// assert_eq!(a.shape(), &[3]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_rand_uniform`] returns.
    #[track_caller]
    pub fn rand_uniform<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Self {
        or_panic(Self::try_rand_uniform(shape, low, high, rng))
    }

    /// A tensor of shape `shape` of values drawn from the normal
    /// distribution of mean `mean` and standard deviation `std`
    /// (Box–Muller, computed in `f64`) with the caller's RNG; `std == 0`
    /// gives `mean` everywhere.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_tensor::{Tensor, TensorError};
    /// let t = Tensor::<f64>::try_rand_normal(&[10_000], 1.0, 2.0, &mut StdRng::seed_from_u64(1)).unwrap();
    /// assert!((t.mean_all() - 1.0).abs() < 0.1);
    /// let e = Tensor::<f64>::try_rand_normal(&[2], 0.0, -1.0, &mut StdRng::seed_from_u64(1)).unwrap_err();
    /// assert_eq!(e.to_string(), "rand_normal: std = -1 is invalid: must be finite and not negative");
    /// ```
    ///
    /// # Errors
    /// [`TensorError::InvalidParameter`] naming `rand_normal` and the
    /// parameter if `mean` is not finite, or `std` is not finite or is
    /// negative; otherwise as [`Tensor::try_full`], naming `rand_normal`.
    pub fn try_rand_normal<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Result<Self> {
        const OP: &str = "rand_normal";
        let invalid = |name, value: T, why| TensorError::InvalidParameter { op: OP, name, value: value.to_string(), why };
        if !mean.is_finite() {
            return Err(invalid("mean", mean, "must be finite"));
        }
        if !std.is_finite() || std < T::zero() {
            return Err(invalid("std", std, "must be finite and not negative"));
        }
        let mut data = size::alloc(OP, shape)?;
        let n = checked_numel(OP, shape)?;
        let (m, s) = (mean.to_f64_lossless(), std.to_f64_lossless());
        while data.len() < n {
            let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            let u2: f64 = rng.random();
            let r = (-2.0 * u1.ln()).sqrt();
            let th = 2.0 * std::f64::consts::PI * u2;
            data.push(T::from_f64_lossy(m + s * r * th.cos()));
            if data.len() < n {
                data.push(T::from_f64_lossy(m + s * r * th.sin()));
            }
        }
        Ok(Self::from_parts(data, layout::shape(shape)))
    }
    /// Panicking form of [`Tensor::try_rand_normal`].
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// let t = tapegrad_tensor::Tensor::<f64>::rand_normal(&[4], 0.0, 1.0, &mut StdRng::seed_from_u64(1));
    /// assert_eq!(t.shape(), &[4]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_rand_normal`] returns.
    #[track_caller]
    pub fn rand_normal<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Self {
        or_panic(Self::try_rand_normal(shape, mean, std, rng))
    }
}
