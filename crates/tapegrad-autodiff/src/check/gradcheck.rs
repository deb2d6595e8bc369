//! `gradcheck`: the tape's gradients against central finite differences.

use std::fmt;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_tensor::{Shape, Tensor};

use crate::{AutodiffError, Result, Tape, Val, Var};

/// A function to check: builds its output on the given tape from the
/// given leaves (one per input tensor, in order).
pub trait CheckFn: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>> {}
impl<F> CheckFn for F where F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>> {}

/// How [`gradcheck`] compares gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckMode {
    /// The gradient of a scalar output, or for a tensor output the
    /// vector-Jacobian product `vᵀJ` with a seeded random `v`, compared
    /// element by element for every input element (2 forward evaluations
    /// per input element, one backward sweep).
    Vjp,
    /// Every entry of the Jacobian (one backward sweep per output element).
    Jacobian,
    /// PyTorch's `fast_mode`: `vᵀJu` with random `u`, `v` per input, one
    /// number per input (2 forward evaluations per input), for inputs too
    /// large for the element-wise modes.
    Fast,
}

/// Options of [`gradcheck`]; defaults are PyTorch's (`eps` 1e-6, `atol`
/// 1e-5, `rtol` 1e-3). An element passes when
/// `|analytic - numeric| <= atol + rtol·|numeric|`.
///
/// ```
/// use tapegrad_autodiff::{CheckMode, GradcheckOptions};
/// let o = GradcheckOptions::default().mode(CheckMode::Jacobian).names(&["w", "b"]).seed(3);
/// assert_eq!((o.eps, o.atol, o.rtol), (1e-6, 1e-5, 1e-3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// What is compared.
    pub check: CheckMode,
    /// Seed of the random projections (`v`, `u`).
    pub seed: u64,
    /// Names of the inputs for the report (default `input 0`, ...).
    pub input_names: Vec<String>,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-6, atol: 1e-5, rtol: 1e-3, check: CheckMode::Vjp, seed: 0, input_names: Vec::new() }
    }
}

impl GradcheckOptions {
    /// Sets the finite-difference step.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets the absolute tolerance.
    pub fn atol(mut self, atol: f64) -> Self {
        self.atol = atol;
        self
    }
    /// Sets the relative tolerance.
    pub fn rtol(mut self, rtol: f64) -> Self {
        self.rtol = rtol;
        self
    }
    /// Sets the comparison mode.
    pub fn mode(mut self, check: CheckMode) -> Self {
        self.check = check;
        self
    }
    /// Sets the seed of the random projections.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Names the inputs in the report.
    pub fn names(mut self, names: &[&str]) -> Self {
        self.input_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
    fn name(&self, i: usize) -> String {
        self.input_names.get(i).cloned().unwrap_or_else(|| format!("input {i}"))
    }
}

/// The element where analytic and numeric gradients disagree the most
/// (relative to the tolerance).
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Multi-index of the input element (empty in fast mode).
    pub index: Vec<usize>,
    /// Multi-index of the output element (Jacobian mode only).
    pub output_index: Option<Vec<usize>>,
    /// The tape's value.
    pub analytic: f64,
    /// The finite-difference value.
    pub numeric: f64,
    /// `|analytic - numeric|`.
    pub abs_err: f64,
    /// `|analytic - numeric| / |numeric|` (infinite when `numeric` is 0).
    pub rel_err: f64,
}

/// The outcome for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    /// The input's name.
    pub name: String,
    /// The input's shape.
    pub shape: Shape,
    /// Numbers compared.
    pub checked: usize,
    /// Numbers out of tolerance (or not finite).
    pub failed: usize,
    /// The worst comparison, if any number was compared.
    pub worst: Option<Mismatch>,
}

impl InputReport {
    /// Whether every compared number was within tolerance.
    pub fn passed(&self) -> bool {
        self.failed == 0
    }
}

/// What [`gradcheck`] found: one entry per input; readable with `{}`.
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckReport {
    /// Per-input results, in input order.
    pub inputs: Vec<InputReport>,
    /// The options used.
    pub options: GradcheckOptions,
    /// The checked function's output shape.
    pub output_shape: Shape,
}

impl GradcheckReport {
    /// Whether every input passed.
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(InputReport::passed)
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "gradcheck {} ({:?} mode, output {:?}, eps {:e}, atol {:e}, rtol {:e})",
            if self.passed() { "passed" } else { "FAILED" },
            o.check,
            self.output_shape.as_slice(),
            o.eps,
            o.atol,
            o.rtol
        )?;
        for r in &self.inputs {
            write!(f, "  {} {:?}: ", r.name, r.shape.as_slice())?;
            if r.passed() {
                write!(f, "ok, {} compared", r.checked)?;
            } else {
                write!(f, "{} of {} out of tolerance", r.failed, r.checked)?;
            }
            if let Some(w) = &r.worst {
                write!(f, "; worst at {:?}", w.index)?;
                if let Some(oi) = &w.output_index {
                    write!(f, " (output {oi:?})")?;
                }
                write!(
                    f,
                    ": analytic {:.10e}, numeric {:.10e}, abs err {:.3e}, rel err {:.3e}",
                    w.analytic, w.numeric, w.abs_err, w.rel_err
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Pins a closure's signature to the one [`gradcheck`] needs, so the
/// closure can be stored in a variable first (Rust infers the right,
/// lifetime-generic signature only for a closure passed directly).
///
/// ```
/// use tapegrad_autodiff::{check_fn, gradcheck, GradcheckOptions, Tensor};
/// let f = check_fn(|_tape, v| Ok(v[0].exp().sum_all()));
/// assert!(gradcheck(&f, &[Tensor::ones(&[2])], &GradcheckOptions::default()).unwrap().passed());
/// ```
pub fn check_fn<F>(f: F) -> F
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    f
}

/// Evaluates `f` at `inputs` on a fresh tape and returns the output value.
fn eval(f: &impl CheckFn, inputs: &[Tensor<f64>]) -> Result<Tensor<f64>> {
    let tape = Tape::new();
    let xs: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
    Ok(f(&tape, &xs)?.value())
}

/// Gradients of `Σ seed ⊙ f(inputs)`, zero where the output does not depend
/// on an input.
fn analytic(f: &impl CheckFn, inputs: &[Tensor<f64>], seed: &Tensor<f64>) -> Result<Vec<Tensor<f64>>> {
    let tape = Tape::new();
    let xs: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
    let y = f(&tape, &xs)?;
    let got = tape.gradients(y, Val::Tensor(seed.clone()), &xs, false, "gradcheck")?;
    Ok(got.into_iter().zip(inputs).map(|(g, x)| g.map(|g| g.value()).unwrap_or_else(|| Tensor::zeros(x.shape()))).collect())
}

/// `(f(x + eps·d) - f(x - eps·d)) / 2eps` for a direction `d` on input `i`.
fn central(f: &impl CheckFn, inputs: &[Tensor<f64>], i: usize, dir: &dyn Fn(&mut [f64], f64), eps: f64) -> Result<Tensor<f64>> {
    let mut xs = inputs.to_vec();
    let mut plus = inputs[i].clone();
    dir(plus.data_mut(), eps);
    xs[i] = plus;
    let yp = eval(f, &xs)?;
    let mut minus = inputs[i].clone();
    dir(minus.data_mut(), -eps);
    xs[i] = minus;
    let ym = eval(f, &xs)?;
    Ok(yp.sub(&ym).scale(1.0 / (2.0 * eps)))
}

fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.data().iter().zip(b.data()).map(|(x, y)| x * y).sum()
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for ax in (0..shape.len()).rev() {
        idx[ax] = i % shape[ax].max(1);
        i /= shape[ax].max(1);
    }
    idx
}

/// Folds one comparison into an input's report.
fn compare(r: &mut InputReport, o: &GradcheckOptions, analytic: f64, numeric: f64, index: Vec<usize>, output_index: Option<Vec<usize>>) {
    let abs_err = (analytic - numeric).abs();
    let tol = o.atol + o.rtol * numeric.abs();
    let ok = analytic.is_finite() && numeric.is_finite() && abs_err <= tol;
    // Badness relative to tolerance; non-finite values are worst of all.
    let badness = if analytic.is_finite() && numeric.is_finite() { abs_err / tol } else { f64::INFINITY };
    r.checked += 1;
    if !ok {
        r.failed += 1;
    }
    let worse = match &r.worst {
        None => true,
        Some(w) => {
            let wb = if w.analytic.is_finite() && w.numeric.is_finite() {
                w.abs_err / (o.atol + o.rtol * w.numeric.abs())
            } else {
                f64::INFINITY
            };
            badness > wb
        }
    };
    if worse {
        let rel_err = if numeric == 0.0 {
            if abs_err == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            abs_err / numeric.abs()
        };
        r.worst = Some(Mismatch { index, output_index, analytic, numeric, abs_err, rel_err });
    }
}

/// Checks the tape's gradients of `f` at `inputs` against central finite
/// differences in f64, element by element, and reports per input the worst
/// element with analytic and numeric values and their errors.
///
/// `f` receives a tape and one leaf per input. A scalar output is checked
/// through its gradient; a tensor output through `vᵀJ` with a seeded random
/// `v` ([`CheckMode::Vjp`]), or entry by entry ([`CheckMode::Jacobian`]),
/// or by random projections ([`CheckMode::Fast`]). An input the output does
/// not depend on has analytic gradient zero.
///
/// ```
/// use tapegrad_autodiff::{gradcheck, GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![0.3, -0.7, 1.1], &[3]);
/// let w = Tensor::from_vec(vec![0.5, 0.2, -0.4, 0.9, 0.1, -0.3], &[3, 2]);
/// let report = gradcheck(
///     |_tape, v| Ok(v[0].reshape(&[1, 3]).matmul(v[1]).tanh().sum_all()),
///     &[x, w],
///     &GradcheckOptions::default().names(&["x", "w"]),
/// ).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
///
/// # Errors
/// Whatever `f` returns as an error, at the inputs or at a perturbed point.
/// A gradient that does not match is not an error: see
/// [`GradcheckReport::passed`].
pub fn gradcheck<F>(f: F, inputs: &[Tensor<f64>], options: &GradcheckOptions) -> Result<GradcheckReport>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let o = options;
    if o.eps.is_nan() || o.eps <= 0.0 {
        return Err(AutodiffError::Gradcheck { message: format!("eps must be positive, got {}", o.eps) });
    }
    let y0 = eval(&f, inputs)?;
    let oshape = Shape::from_slice(y0.shape());
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut reports: Vec<InputReport> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| InputReport { name: o.name(i), shape: Shape::from_slice(x.shape()), checked: 0, failed: 0, worst: None })
        .collect();
    let bump = |k: usize| move |d: &mut [f64], e: f64| d[k] += e;
    match o.check {
        CheckMode::Vjp => {
            let v = if y0.numel() == 1 { Tensor::ones(y0.shape()) } else { Tensor::rand_normal(y0.shape(), 0.0, 1.0, &mut rng) };
            let an = analytic(&f, inputs, &v)?;
            for (i, x) in inputs.iter().enumerate() {
                for k in 0..x.numel() {
                    let num = dot(&v, &central(&f, inputs, i, &bump(k), o.eps)?);
                    compare(&mut reports[i], o, an[i].data()[k], num, unravel(k, x.shape()), None);
                }
            }
        }
        CheckMode::Jacobian => {
            let m = y0.numel();
            let mut rows = Vec::with_capacity(m);
            for j in 0..m {
                let mut e = Tensor::zeros(y0.shape());
                e.data_mut()[j] = 1.0;
                rows.push(analytic(&f, inputs, &e)?);
            }
            for (i, x) in inputs.iter().enumerate() {
                for k in 0..x.numel() {
                    let col = central(&f, inputs, i, &bump(k), o.eps)?;
                    for j in 0..m {
                        compare(
                            &mut reports[i],
                            o,
                            rows[j][i].data()[k],
                            col.data()[j],
                            unravel(k, x.shape()),
                            Some(unravel(j, y0.shape())),
                        );
                    }
                }
            }
        }
        CheckMode::Fast => {
            let v = Tensor::rand_normal(y0.shape(), 0.0, 1.0, &mut rng);
            let an = analytic(&f, inputs, &v)?;
            for (i, x) in inputs.iter().enumerate() {
                let u = Tensor::rand_normal(x.shape(), 0.0, 1.0, &mut rng);
                let norm = dot(&u, &u).sqrt().max(f64::MIN_POSITIVE);
                let u = u.scale(1.0 / norm);
                let ud = u.data().to_vec();
                let dir = move |d: &mut [f64], e: f64| d.iter_mut().zip(&ud).for_each(|(a, b)| *a += e * b);
                let num = dot(&v, &central(&f, inputs, i, &dir, o.eps)?);
                compare(&mut reports[i], o, dot(&an[i], &u), num, Vec::new(), None);
            }
        }
    }
    Ok(GradcheckReport { inputs: reports, options: o.clone(), output_shape: oshape })
}

/// Checks second derivatives: the gradient `vᵀ∂f/∂x` (with a seeded random
/// `v`), built with [`Tape::grad_graph`], is itself gradient-checked with
/// respect to the inputs. This tests every backward rule's own backward.
///
/// ```
/// use tapegrad_autodiff::{gradgradcheck, GradcheckOptions, Tensor};
/// let x = Tensor::from_vec(vec![0.4, -1.2], &[2]);
/// let report = gradgradcheck(|_t, v| Ok((v[0] * v[0]).tanh().sum_all()), &[x], &GradcheckOptions::default()).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
///
/// # Errors
/// As [`gradcheck`].
pub fn gradgradcheck<F>(f: F, inputs: &[Tensor<f64>], options: &GradcheckOptions) -> Result<GradcheckReport>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let y0 = eval(&f, inputs)?;
    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x9e37_79b9_7f4a_7c15);
    let v = if y0.numel() == 1 { Tensor::ones(y0.shape()) } else { Tensor::rand_normal(y0.shape(), 0.0, 1.0, &mut rng) };
    let first = check_fn(move |tape, xs| {
        let y = f(tape, xs)?;
        let seed = tape.constant(v.clone());
        let gs = tape.grad_graph_allow_unused(y, Some(seed), xs)?;
        let flat: Vec<Var<'_, f64>> =
            gs.iter().zip(xs).map(|(g, x)| g.unwrap_or_else(|| tape.constant(Tensor::zeros(&x.shape()))).flatten()).collect();
        Var::try_concat(&flat, 0)
    });
    gradcheck(first, inputs, options)
}

/// Hessian-vector products: for a scalar `f`, returns `H·v` with respect to
/// each input (`vs` has one direction per input), by differentiating the
/// gradient graph once more.
///
/// ```
/// use tapegrad_autodiff::{hvp, Tensor};
/// // f(x) = Σ x³, H = diag(6x).
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]);
/// let v = Tensor::from_vec(vec![1.0, 1.0], &[2]);
/// let hv = hvp(|_t, xs| Ok(xs[0].powf(3.0).sum_all()), &[x], &[v]).unwrap();
/// assert_eq!(hv[0].data(), &[6.0, 12.0]);
/// ```
///
/// # Errors
/// What `f` returns; [`AutodiffError::NotScalar`] for a non-scalar output;
/// [`AutodiffError::Gradcheck`] if `vs` does not match the inputs' shapes.
pub fn hvp<F>(f: F, inputs: &[Tensor<f64>], vs: &[Tensor<f64>]) -> Result<Vec<Tensor<f64>>>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    if vs.len() != inputs.len() || vs.iter().zip(inputs).any(|(v, x)| v.shape() != x.shape()) {
        return Err(AutodiffError::Gradcheck { message: "hvp: one direction per input, of the input's shape, is needed".into() });
    }
    let tape = Tape::new();
    let xs: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
    let y = f(&tape, &xs)?;
    let gs = tape.grad_graph_allow_unused(y, None, &xs)?;
    let mut s: Option<Var<'_, f64>> = None;
    for (g, v) in gs.iter().zip(vs) {
        if let Some(g) = g {
            let term = g.try_mul(tape.constant(v.clone()))?.sum_all();
            s = Some(match s {
                None => term,
                Some(acc) => acc + term,
            });
        }
    }
    let Some(s) = s else {
        return Ok(inputs.iter().map(|x| Tensor::zeros(x.shape())).collect());
    };
    let got = tape.gradients(s, Val::Tensor(Tensor::ones(&[])), &xs, false, "hvp")?;
    Ok(got.into_iter().zip(inputs).map(|(g, x)| g.map(|g| g.value()).unwrap_or_else(|| Tensor::zeros(x.shape()))).collect())
}
