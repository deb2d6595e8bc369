//! Statistics over an axis (`var`, `std`) and layer normalisation: forward
//! and derivative together.
//!
//! `var_axis`/`std_axis` are compositions (their derivatives follow from
//! the primitives'). Layer normalisation is one primitive, `x̂ = (x − μ)/σ`
//! per row of the normalised axes, gain and bias included, so a layer
//! normalisation records one node instead of the nine of its composed form; its backward is written once below with
//! [`Val`] ops, so it can be differentiated again.

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError};

use crate::error::or_panic;
use crate::ops::Op;
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

/// The layer-normalisation primitive: `y = x̂ ⊙ gain + bias` with
/// `x̂ = (x − μ)·r`, `r = 1/√(σ² + ε)`, over rows of the last `n` elements
/// (`σ²` the biased variance); inputs `[x, gain?, bias?]` as the flags say.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LayerNorm<T> {
    n: usize,
    eps: T,
    gain: bool,
    bias: bool,
}

/// `Σ f(j)` for `j < n` in eight interleaved partial sums: no chain of
/// dependent additions, so the loop pipelines (and vectorises).
fn lane_sum<T: Scalar>(n: usize, f: impl Fn(usize) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let full = n - n % 8;
    for j in (0..full).step_by(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a = *a + f(j + l);
        }
    }
    let tail = (full..n).fold(T::zero(), |s, j| s + f(j));
    acc.iter().fold(T::zero(), |s, &a| s + a) + tail
}

/// Mean and `1/√(σ² + ε)` of one row (two passes, for accuracy).
fn moments<T: Scalar>(row: &[T], eps: T) -> (T, T) {
    let n = T::from_usize(row.len()).unwrap_or_else(T::nan);
    let mean = lane_sum(row.len(), |j| row[j]) / n;
    let var = lane_sum(row.len(), |j| (row[j] - mean) * (row[j] - mean)) / n;
    (mean, T::one() / (var + eps).sqrt())
}

impl<T: Scalar> LayerNorm<T> {
    pub(crate) fn name(&self) -> &'static str {
        "layer_norm"
    }

    /// The optional inputs' data, in order (gain, bias).
    fn affine<'a>(&self, rest: &'a [Tensor<T>]) -> (Option<&'a [T]>, Option<&'a [T]>) {
        let gain = self.gain.then(|| rest[0].data());
        let bias = self.bias.then(|| rest[usize::from(self.gain)].data());
        (gain, bias)
    }

    pub(crate) fn forward(&self, x: &Tensor<T>, rest: &[Tensor<T>]) -> Tensor<T> {
        let (gain, bias) = self.affine(rest);
        let mut y = x.data().to_vec();
        for row in y.chunks_mut(self.n.max(1)) {
            let (mean, r) = moments(row, self.eps);
            for (j, v) in row.iter_mut().enumerate() {
                let xh = (*v - mean) * r;
                *v = gain.map_or(xh, |g| xh * g[j]) + bias.map_or(T::zero(), |b| b[j]);
            }
        }
        Tensor::from_vec(y, x.shape())
    }

    /// The derivatives of [`Var::try_layer_norm`]'s doc: on plain tensors
    /// one fused pass per row; on variables the same formulas composed from
    /// differentiable ops (`x̂` and `r` recomputed from `x`), which is what
    /// second derivatives differentiate.
    pub(crate) fn backward<'t>(&self, inputs: &[Val<'t, T>], g: &Val<'t, T>, wants: &[bool]) -> SmallVec<[Option<Val<'t, T>>; 2]> {
        let n = self.n.max(1);
        let plain: Option<Vec<Tensor<T>>> = inputs.iter().map(|v| if let Val::Tensor(t) = v { Some(t.clone()) } else { None }).collect();
        if let (Some(ts), Val::Tensor(gt)) = (plain, g) {
            return self.backward_fused(&ts, gt, wants).into_iter().map(|t| t.map(Val::Tensor)).collect();
        }
        let x = &inputs[0];
        let shape = x.shape();
        let rows = shape.iter().product::<usize>() / n;
        let inv_n = T::one() / T::from_usize(n).unwrap_or_else(T::nan);
        let mean = |v: &Val<'t, T>| v.sum_axis(1, true).scale(inv_n);
        let (x2, g2) = (x.reshape(&[rows, n]), g.reshape(&[rows, n]));
        let xc = x2.sub(&mean(&x2));
        let r = mean(&xc.square()).add_scalar(self.eps).sqrt().recip();
        let xh = xc.mul(&r);
        let tail = |k: usize| inputs[k].shape();
        let gg = if self.gain { g2.mul(&inputs[1].reshape(&[1, n])) } else { g2.clone() };
        let mut out: SmallVec<[Option<Val<'t, T>>; 2]> = SmallVec::new();
        out.push(wants[0].then(|| r.mul(&gg.sub(&mean(&gg)).sub(&xh.mul(&mean(&gg.mul(&xh))))).reshape(&shape)));
        if self.gain {
            out.push(wants[1].then(|| g2.mul(&xh).sum_axis(0, false).reshape(&tail(1))));
        }
        if self.bias {
            let k = 1 + usize::from(self.gain);
            out.push(wants[k].then(|| g2.sum_axis(0, false).reshape(&tail(k))));
        }
        out
    }

    fn backward_fused(&self, ts: &[Tensor<T>], gt: &Tensor<T>, wants: &[bool]) -> Vec<Option<Tensor<T>>> {
        let n = self.n.max(1);
        let nn = T::from_usize(n).unwrap_or_else(T::nan);
        let (gain, _) = self.affine(&ts[1..]);
        let (mut dx, mut dgain, mut dbias) = (gt.data().to_vec(), vec![T::zero(); n], vec![T::zero(); n]);
        let mut xh = vec![T::zero(); n];
        for (d, xr) in dx.chunks_mut(n).zip(ts[0].data().chunks(n)) {
            let (mean, r) = moments(xr, self.eps);
            xr.iter().zip(xh.iter_mut()).for_each(|(&v, h)| *h = (v - mean) * r);
            for j in 0..d.len() {
                dgain[j] = dgain[j] + d[j] * xh[j];
                dbias[j] = dbias[j] + d[j];
                d[j] = gain.map_or(d[j], |gn| d[j] * gn[j]);
            }
            let gm = lane_sum(d.len(), |j| d[j]) / nn;
            let gym = lane_sum(d.len(), |j| d[j] * xh[j]) / nn;
            d.iter_mut().zip(&xh).for_each(|(v, &h)| *v = r * (*v - gm - h * gym));
        }
        let mut out = vec![wants[0].then(|| Tensor::from_vec(dx, gt.shape()))];
        if self.gain {
            out.push(wants[1].then(|| Tensor::from_vec(dgain, ts[1].shape())));
        }
        if self.bias {
            let k = 1 + usize::from(self.gain);
            out.push(wants[k].then(|| Tensor::from_vec(dbias, ts[k].shape())));
        }
        out
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
    /// One primitive op, gain and bias included (one tape record; its
    /// derivative written once, in differentiable ops, so second
    /// derivatives work). Derivative, with `r = 1/√(σ² + ε)`, `x̂ = (x − μ)·r`
    /// and `ĝ = g ⊙ gain` per row: `dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂))`,
    /// `dgain = Σ_rows g⊙x̂`, `dbias = Σ_rows g`.
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
        let op = LayerNorm { n: tail.iter().product(), eps, gain: gain.is_some(), bias: bias.is_some() };
        let inputs: SmallVec<[Var<'t, T>; 3]> = std::iter::once(self).chain(gain).chain(bias).collect();
        let rest: SmallVec<[Tensor<T>; 2]> = inputs[1..].iter().map(|v| v.value()).collect();
        self.tape.record(op.forward(&self.value(), &rest), Op::LayerNorm(op), &inputs)
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
