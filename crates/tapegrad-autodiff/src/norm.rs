//! Statistics over an axis (`var`, `std`) and layer normalisation: forward
//! and derivative together.
//!
//! `var_axis`/`std_axis` are compositions (their derivatives follow from
//! the primitives'). Layer normalisation is one primitive, `x̂ = (x − μ)/σ`
//! per row of the normalised axes, so a layer-normalised recurrent step
//! records one node (plus the gain's product and the bias' sum) instead of
//! the nine of its composed form; its backward is written once below with
//! [`Val`] ops, so it can be differentiated again.

use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError};

use crate::error::or_panic;
use crate::tape::Op;
use crate::{AutodiffError, Result, Val, Var};

/// Which variance estimate: divide the sum of squared deviations by
/// `n − 1` (Bessel's correction, PyTorch's default `unbiased=True`) or by
/// `n` (`unbiased=False`, the normalisation layer norm uses).
///
/// ```
/// # use tapegrad_autodiff::{Correction, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]));
/// assert_eq!(x.var_axis(0, Correction::Unbiased, false).value().item(), 5.0 / 3.0);
/// assert_eq!(x.var_axis(0, Correction::Biased, false).value().item(), 1.25);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Correction {
    /// Divide by `n − 1`: the unbiased sample variance.
    #[default]
    Unbiased,
    /// Divide by `n`: the population variance.
    Biased,
}

/// The layer-normalisation primitive: `x̂ = (x − μ)·r`, `r = 1/√(σ² + ε)`,
/// over rows of the last `n` elements (`σ²` the biased variance).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LayerNorm<T> {
    n: usize,
    eps: T,
}

/// Mean and `1/√(σ² + ε)` of one row (two passes, for accuracy).
fn moments<T: Scalar>(row: &[T], eps: T) -> (T, T) {
    let n = T::from_usize(row.len()).unwrap_or_else(T::nan);
    let mean = row.iter().fold(T::zero(), |s, &v| s + v) / n;
    let var = row.iter().fold(T::zero(), |s, &v| s + (v - mean) * (v - mean)) / n;
    (mean, T::one() / (var + eps).sqrt())
}

impl<T: Scalar> LayerNorm<T> {
    pub(crate) fn name(&self) -> &'static str {
        "layer_norm"
    }

    fn forward(&self, x: &Tensor<T>) -> Tensor<T> {
        let mut y = x.data().to_vec();
        for row in y.chunks_mut(self.n.max(1)) {
            let (mean, r) = moments(row, self.eps);
            row.iter_mut().for_each(|v| *v = (*v - mean) * r);
        }
        Tensor::from_vec(y, x.shape())
    }

    /// `dx = r·(g − mean(g) − x̂·mean(g⊙x̂))` per row. On plain tensors one
    /// fused pass per row; on variables the same formula composed from
    /// differentiable ops (with `r` recomputed from `x` and `x̂` the op's
    /// output), which is what second derivatives differentiate.
    pub(crate) fn backward<'t>(&self, x: &Val<'t, T>, y: &Val<'t, T>, g: &Val<'t, T>) -> Val<'t, T> {
        let n = self.n.max(1);
        if let (Val::Tensor(xt), Val::Tensor(yt), Val::Tensor(gt)) = (x, y, g) {
            let nn = T::from_usize(n).unwrap_or_else(T::nan);
            let mut dx = gt.data().to_vec();
            let rows = dx.chunks_mut(n).zip(xt.data().chunks(n)).zip(yt.data().chunks(n));
            for ((d, xr), yr) in rows {
                let (_, r) = moments(xr, self.eps);
                let gm = d.iter().fold(T::zero(), |s, &v| s + v) / nn;
                let gym = d.iter().zip(yr).fold(T::zero(), |s, (&a, &b)| s + a * b) / nn;
                d.iter_mut().zip(yr).for_each(|(v, &yh)| *v = r * (*v - gm - yh * gym));
            }
            return Val::Tensor(Tensor::from_vec(dx, gt.shape()));
        }
        let shape = x.shape();
        let rows = shape.iter().product::<usize>() / n;
        let inv_n = T::one() / T::from_usize(n).unwrap_or_else(T::nan);
        let mean = |v: &Val<'t, T>| v.sum_axis(1, true).scale(inv_n);
        let (x2, y2, g2) = (x.reshape(&[rows, n]), y.reshape(&[rows, n]), g.reshape(&[rows, n]));
        let xc = x2.sub(&mean(&x2));
        let r = mean(&xc.square()).add_scalar(self.eps).sqrt().recip();
        let inner = g2.sub(&mean(&g2)).sub(&y2.mul(&mean(&g2.mul(&y2))));
        r.mul(&inner).reshape(&shape)
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Variance along `axis` (removed unless `keepdim`), PyTorch's
    /// `var(dim, unbiased, keepdim)`: `Σ(x − x̄)² / (n − 1)` for
    /// [`Correction::Unbiased`], `/ n` for [`Correction::Biased`]. Composed
    /// from `mean`, `sub`, `square`, `sum`, `scale`.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Correction, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 3.0, 2.0, 2.0], &[2, 2]));
    /// assert_eq!(x.try_var_axis(1, Correction::Unbiased, false).unwrap().value().data(), &[2.0, 0.0]);
    /// assert!(x.try_var_axis(0, Correction::Unbiased, false).is_ok());
    /// let one = tape.leaf(Tensor::ones(&[3, 1]));
    /// assert!(one.try_var_axis(1, Correction::Unbiased, false).is_err()); // n − 1 = 0
    /// ```
    ///
    /// # Errors
    /// An axis error naming `var_axis`; [`AutodiffError::TooFewElements`]
    /// for an axis of one element with `Unbiased` (or none with `Biased`),
    /// where the estimate divides by zero.
    #[track_caller]
    pub fn try_var_axis(self, axis: usize, correction: Correction, keepdim: bool) -> Result<Self> {
        self.var_impl("var_axis", axis, correction, keepdim)
    }
    /// Panicking form of [`Var::try_var_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_var_axis` returns.
    #[track_caller]
    pub fn var_axis(self, axis: usize, correction: Correction, keepdim: bool) -> Self {
        or_panic(self.try_var_axis(axis, correction, keepdim))
    }

    /// Standard deviation along `axis`: `√var_axis` (PyTorch's
    /// `std(dim, unbiased, keepdim)`). Its derivative is infinite where the
    /// deviation is zero, as the math says.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Correction, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[8]));
    /// assert_eq!(x.std_axis(0, Correction::Biased, false).value().item(), 2.0);
    /// ```
    ///
    /// # Errors
    /// As [`Var::try_var_axis`], naming `std_axis`.
    #[track_caller]
    pub fn try_std_axis(self, axis: usize, correction: Correction, keepdim: bool) -> Result<Self> {
        Ok(self.var_impl("std_axis", axis, correction, keepdim)?.sqrt())
    }
    /// Panicking form of [`Var::try_std_axis`].
    ///
    /// # Panics
    /// With the message of the error `try_std_axis` returns.
    #[track_caller]
    pub fn std_axis(self, axis: usize, correction: Correction, keepdim: bool) -> Self {
        or_panic(self.try_std_axis(axis, correction, keepdim))
    }

    #[track_caller]
    fn var_impl(self, op: &'static str, axis: usize, correction: Correction, keepdim: bool) -> Result<Self> {
        let shape = self.shape();
        let Some(&n) = shape.get(axis) else {
            return Err(TensorError::Axis { op, axis, shape }.into());
        };
        let (ddof, what) = match correction {
            Correction::Unbiased => (1, "the unbiased variance (n − 1)"),
            Correction::Biased => (0, "the biased variance (n)"),
        };
        if n <= ddof {
            return Err(AutodiffError::TooFewElements { op, axis, shape, size: n, needed: ddof + 1, what });
        }
        let dev = self.try_sub(self.try_mean_axis(axis, true)?)?;
        let denom = T::from_usize(n - ddof).unwrap_or_else(T::nan);
        // A true division (as `Var / s`), not a product with `1/denom`.
        dev.square().try_sum_axis(axis, keepdim)?.try_div(self.tape.scalar(denom))
    }

    /// Layer normalisation over the last `axes` axes (PyTorch's
    /// `layer_norm(x, x.shape[-axes:], gain, bias, eps)`, Ba et al. 2016):
    /// `y = (x − μ)/√(σ² + ε) ⊙ gain + bias`, with `μ` and the biased `σ²`
    /// taken over those axes for each leading index. `gain` and `bias`, if
    /// given, have the shape of the normalised axes.
    ///
    /// One primitive op for the normalisation (its derivative written once,
    /// in differentiable ops, so second derivatives work), then one product
    /// for the gain and one sum for the bias.
    ///
    /// ```
    /// # use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0], &[3, 2]));
    /// let gain = tape.leaf(Tensor::from_vec(vec![2.0, 1.0], &[2]));
    /// let y = x.try_layer_norm(1, Some(gain), None, 0.0).unwrap();
    /// assert_eq!(y.value().data(), &[-2.0, 1.0, -2.0, 1.0, -2.0, 1.0]);
    /// assert!(x.try_layer_norm(3, None, None, 1e-5).is_err()); // rank 2
    /// ```
    ///
    /// # Errors
    /// [`AutodiffError::NormalizedAxes`] unless `1 ≤ axes ≤ rank`;
    /// [`TensorError::ShapeMismatch`] naming `layer_norm` when the gain or
    /// bias is not of the normalised axes' shape;
    /// [`AutodiffError::TapeMismatch`].
    #[track_caller]
    pub fn try_layer_norm(self, axes: usize, gain: Option<Var<'t, T>>, bias: Option<Var<'t, T>>, eps: T) -> Result<Self> {
        let shape = self.shape();
        if axes == 0 || axes > shape.len() {
            return Err(AutodiffError::NormalizedAxes { op: "layer_norm", axes, shape });
        }
        let tail = Shape::from_slice(&shape[shape.len() - axes..]);
        for (p, why) in
            [(gain, "the gain must have the shape of the normalised axes"), (bias, "the bias must have the shape of the normalised axes")]
        {
            if let Some(p) = p {
                self.same_tape("layer_norm", &p)?;
                if p.shape() != tail {
                    return Err(TensorError::ShapeMismatch { op: "layer_norm", lhs: shape, rhs: p.shape(), why }.into());
                }
            }
        }
        let op = LayerNorm { n: tail.iter().product(), eps };
        let mut y = self.tape.record(op.forward(&self.value()), Op::LayerNorm(op), &[self])?;
        if let Some(g) = gain {
            y = y.try_mul(g)?;
        }
        if let Some(b) = bias {
            y = y.try_add(b)?;
        }
        Ok(y)
    }
    /// Panicking form of [`Var::try_layer_norm`].
    ///
    /// # Panics
    /// With the message of the error `try_layer_norm` returns.
    #[track_caller]
    pub fn layer_norm(self, axes: usize, gain: Option<Var<'t, T>>, bias: Option<Var<'t, T>>, eps: T) -> Self {
        or_panic(self.try_layer_norm(axes, gain, bias, eps))
    }
}
