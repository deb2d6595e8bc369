//! Jacobians, vector-Jacobian and Jacobian-vector products of a tensor
//! function of one tensor, and a causality check built on them.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_tensor::{Scalar, Shape, Tensor, TensorError};

use crate::{AutodiffError, Result, Tape, Val, Var};

/// Runs `f` on a fresh tape with `x` as its one leaf.
fn record<'t, T: Scalar, F>(tape: &'t Tape<T>, f: &F, x: &Tensor<T>) -> Result<(Var<'t, T>, Var<'t, T>)>
where
    F: for<'s> Fn(&'s Tape<T>, Var<'s, T>) -> Result<Var<'s, T>>,
{
    let xv = tape.leaf(x.clone());
    let y = f(tape, xv)?;
    Ok((xv, y))
}

/// The gradient of `Σ seed ⊙ y` with respect to `x`, zero if `y` does not
/// depend on `x`.
fn pull<'t, T: Scalar>(tape: &'t Tape<T>, y: Var<'t, T>, seed: &Tensor<T>, x: Var<'t, T>, op: &'static str) -> Result<Tensor<T>> {
    let g = tape.gradients(y, Val::Tensor(seed.clone()), &[x], false, op)?;
    Ok(g.into_iter().next().flatten().map_or_else(|| Tensor::zeros(&x.shape()), |g| g.value()))
}

/// The full Jacobian of `f` at `x`, as a `(m, n)` tensor: row `i` holds
/// the derivatives of output element `i` (row-major over the output's
/// shape), column `j` those with respect to input element `j` (row-major
/// over `x`'s shape).
///
/// `f` is recorded once; the rows are `m` reverse sweeps of that one tape,
/// one vector-Jacobian product per output element, so the cost is about
/// `m` backward passes. An output that does not depend on `x` gives zeros.
///
/// ```
/// use tapegrad_autodiff::{jacobian, Tensor};
/// // f(x) = (x0·x1, x0²): J = [[x1, x0], [2x0, 0]].
/// let x = Tensor::from_vec(vec![3.0, 5.0], &[2]);
/// let j = jacobian(|_t, x| {
///     let (a, b) = (x.try_narrow(0, 0, 1)?, x.try_narrow(0, 1, 1)?);
///     tapegrad_autodiff::Var::try_concat(&[a.try_mul(b)?, a.square()], 0)
/// }, &x).unwrap();
/// assert_eq!(j.shape(), &[2, 2]);
/// assert_eq!(j.data(), &[5.0, 3.0, 6.0, 0.0]);
/// ```
///
/// # Errors
/// Whatever `f` returns; [`AutodiffError::NonFinite`] in anomaly mode
/// (switched on inside `f` with [`Tape::set_anomaly_detection`]);
/// [`TensorError::ShapeOverflow`] or [`TensorError::TooLarge`] naming
/// `jacobian` if the `(m, n)` result cannot exist.
pub fn jacobian<T, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    T: Scalar,
    F: for<'t> Fn(&'t Tape<T>, Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let (xv, y) = record(&tape, &f, x)?;
    let yshape = y.shape();
    let (m, n) = (yshape.iter().product::<usize>(), x.numel());
    let len = tapegrad_tensor::checked_numel("jacobian", &[m, n])?;
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| TensorError::TooLarge {
        op: "jacobian",
        shape: tapegrad_tensor::shape(&[m, n]),
        numel: len,
        elem_bytes: std::mem::size_of::<T>(),
    })?;
    let mut seed = Tensor::zeros(&yshape);
    for i in 0..m {
        seed.data_mut()[i] = T::one();
        if i > 0 {
            seed.data_mut()[i - 1] = T::zero();
        }
        data.extend_from_slice(pull(&tape, y, &seed, xv, "jacobian")?.data());
    }
    Ok(Tensor::from_vec(data, &[m, n]))
}

/// Vector-Jacobian product: returns `f(x)` and `vᵀJ`, the gradient of
/// `Σ v ⊙ f(x)` with respect to `x` (one reverse sweep), shaped like `x`.
///
/// ```
/// use tapegrad_autodiff::{vjp, Tensor};
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2]);
/// let v = Tensor::from_vec(vec![1.0, 10.0], &[2]);
/// let (y, g) = vjp(|_t, x| Ok(x.square()), &x, &v).unwrap();
/// assert_eq!((y.data(), g.data()), (&[1.0, 4.0][..], &[2.0, 40.0][..]));
/// ```
///
/// # Errors
/// Whatever `f` returns; [`AutodiffError::SeedShape`] if `v`'s shape is
/// not the output's.
pub fn vjp<T, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<(Tensor<T>, Tensor<T>)>
where
    T: Scalar,
    F: for<'t> Fn(&'t Tape<T>, Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let (xv, y) = record(&tape, &f, x)?;
    let g = pull(&tape, y, v, xv, "vjp")?;
    Ok((y.value(), g))
}

/// Jacobian-vector product (forward mode): returns `f(x)` and `J·u`, the
/// directional derivative of `f` at `x` along `u`, shaped like the output.
///
/// Computed exactly (no finite differences) by the double-VJP trick,
/// without forming `J`: with a dummy cotangent leaf `v`, the gradient
/// graph `g(v) = vᵀJ` is recorded with [`Tape::grad_graph`] (backward
/// rules are differentiable), and since `g` is linear in `v`, `J·u` is the
/// gradient of `Σ u ⊙ g` with respect to `v`. Cost: one forward, one
/// recorded backward and one plain backward, whatever the sizes.
///
/// ```
/// use tapegrad_autodiff::{jvp, Tensor};
/// // f(x) = x², J = diag(2x): J·u = 2x ⊙ u.
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
/// let u = Tensor::from_vec(vec![1.0, 0.0, -1.0], &[3]);
/// let (y, ju) = jvp(|_t, x| Ok(x.square()), &x, &u).unwrap();
/// assert_eq!((y.data(), ju.data()), (&[1.0, 4.0, 9.0][..], &[2.0, 0.0, -6.0][..]));
/// ```
///
/// # Errors
/// Whatever `f` returns; [`AutodiffError::Tensor`]
/// ([`TensorError::ShapeMismatch`]) if `u`'s shape is not `x`'s.
pub fn jvp<T, F>(f: F, x: &Tensor<T>, u: &Tensor<T>) -> Result<(Tensor<T>, Tensor<T>)>
where
    T: Scalar,
    F: for<'t> Fn(&'t Tape<T>, Var<'t, T>) -> Result<Var<'t, T>>,
{
    if u.shape() != x.shape() {
        return Err(AutodiffError::Tensor(TensorError::ShapeMismatch {
            op: "jvp",
            lhs: Shape::from_slice(x.shape()),
            rhs: Shape::from_slice(u.shape()),
            why: "the tangent must have the input's shape",
        }));
    }
    let tape = Tape::new();
    let (xv, y) = record(&tape, &f, x)?;
    let yshape = y.shape();
    // Any value works: the recorded gradient is linear in `v`.
    let v = tape.leaf(Tensor::zeros(&yshape));
    let Some(g) = tape.grad_graph_allow_unused(y, Some(v), &[xv])?[0] else {
        return Ok((y.value(), Tensor::zeros(&yshape)));
    };
    Ok((y.value(), pull(&tape, g, u, v, "jvp")?))
}

/// Where a sequence function's output depends on a later input, as found
/// by [`causality_violation`].
///
/// ```
/// use tapegrad_autodiff::CausalityViolation;
/// let v = CausalityViolation { output_step: 0, input_step: 2, magnitude: 0.5 };
/// assert!(v.to_string().starts_with("not causal: the output at step 0 depends on the input at later step 2"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CausalityViolation {
    /// The output step.
    pub output_step: usize,
    /// The later input step it depends on.
    pub input_step: usize,
    /// The largest `|∂|` of a random positive projection of that output
    /// with respect to that input's elements.
    pub magnitude: f64,
}

impl std::fmt::Display for CausalityViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not causal: the output at step {} depends on the input at later step {} (gradient up to {:e}, not 0)",
            self.output_step, self.input_step, self.magnitude
        )
    }
}

/// Checks that `f`, a function from a time-major input `(T, ...)` to a
/// time-major output `(T, ...)`, is causal: for every step `t`, the
/// gradient of a random positive projection of output `t` with respect to
/// the inputs at steps after `t` must be exactly zero. One tape, one
/// reverse sweep (a row block of the Jacobian) per step; no tolerance, as a
/// structurally absent dependence gives exact zeros. Returns the first
/// violation, earliest output step first.
///
/// ```
/// use tapegrad_autodiff::{causality_violation, Tensor, Var};
/// let x = Tensor::<f64>::ones(&[3, 1, 2]);
/// // A running sum is causal; a sum over all steps is not.
/// let prefix = causality_violation(|_t, x| {
///     let steps: Vec<Var<'_, f64>> = (0..3).map(|t| x.narrow(0, 0, t + 1).sum_axis(0, false)).collect();
///     Var::try_stack(&steps, 0)
/// }, &x);
/// assert_eq!(prefix.unwrap(), None);
/// let total = causality_violation(|_t, x| x.try_sum_axis(0, true)?.try_broadcast_to(&[3, 1, 2]), &x);
/// let v = total.unwrap().unwrap();
/// assert_eq!((v.output_step, v.input_step), (0, 1));
/// ```
///
/// # Errors
/// What `f` returns; [`AutodiffError::Tensor`] ([`TensorError::ShapeMismatch`])
/// if the output's first axis is not `x`'s (or `x` is a scalar).
pub fn causality_violation<T, F>(f: F, x: &Tensor<T>) -> Result<Option<CausalityViolation>>
where
    T: Scalar,
    F: for<'t> Fn(&'t Tape<T>, Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let (xv, y) = record(&tape, &f, x)?;
    let steps = x.shape().first().copied();
    if steps.is_none() || y.shape().first().copied() != steps {
        return Err(AutodiffError::Tensor(TensorError::ShapeMismatch {
            op: "causality_violation",
            lhs: Shape::from_slice(x.shape()),
            rhs: y.shape(),
            why: "input and output must both be time-major with the same number of steps",
        }));
    }
    let steps = steps.unwrap_or(0);
    let row = x.numel() / steps.max(1);
    let mut rng = StdRng::seed_from_u64(0xca05);
    for t in 0..steps.saturating_sub(1) {
        let yt = y.try_narrow(0, t, 1)?;
        let w = Tensor::rand_uniform(&yt.shape(), T::from_f64_lossy(0.5), T::one(), &mut rng);
        let g = pull(&tape, yt, &w, xv, "causality_violation")?;
        for s in t + 1..steps {
            let block = &g.data()[s * row..(s + 1) * row];
            if block.iter().any(|v| *v != T::zero()) {
                let magnitude =
                    block.iter().map(|v| v.to_f64_lossless().abs()).fold(0.0, |m: f64, v| if v.is_nan() { v } else { m.max(v) });
                return Ok(Some(CausalityViolation { output_step: t, input_step: s, magnitude }));
            }
        }
    }
    Ok(None)
}
