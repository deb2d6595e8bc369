//! The public ways to ask for gradients: [`Tape::backward`], [`Tape::grad`],
//! [`Tape::vjp`], [`Tape::grad_graph`], and the [`Gradients`] they return.

use std::collections::HashMap;

use tapegrad_tensor::{Scalar, Tensor};

use super::sweep;
use crate::ops::Op;
use crate::{AutodiffError, Result, Tape, Val, Var};

/// Gradients of one scalar with respect to every leaf it depends on, as
/// returned by [`Tape::backward`].
///
/// Reading the gradient of a value the output does not depend on is an
/// error ([`AutodiffError::NoGradient`]), never a silent zero.
///
/// ```
/// use tapegrad_autodiff::{AutodiffError, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let (x, unused) = (tape.leaf(Tensor::scalar(3.0)), tape.leaf(Tensor::scalar(1.0)));
/// let grads = tape.backward(x * x).unwrap();
/// assert_eq!(grads.get(x).unwrap().item(), 6.0);
/// assert!(matches!(grads.get(unused), Err(AutodiffError::NoGradient { .. })));
/// ```
#[derive(Debug, Clone)]
pub struct Gradients<T: Scalar> {
    /// The id of the tape they were computed on ([`Tape::id`]).
    tape: u64,
    grads: HashMap<u32, Tensor<T>>,
}

impl<T: Scalar> Gradients<T> {
    /// The gradient with respect to `v`.
    ///
    /// # Errors
    /// [`AutodiffError::NoGradient`] if the output does not depend on `v`,
    /// [`AutodiffError::NotDifferentiable`] if `v` is a constant,
    /// [`AutodiffError::TapeMismatch`] if `v` is from another tape (one
    /// made later at the same address, or this tape after
    /// [`Tape::clear`], included).
    pub fn get(&self, v: Var<'_, T>) -> Result<&Tensor<T>> {
        if v.tape.id() != self.tape {
            return Err(AutodiffError::TapeMismatch { op: "Gradients::get" });
        }
        match self.grads.get(&v.id) {
            Some(g) => Ok(g),
            None if !v.requires_grad() => Err(AutodiffError::NotDifferentiable { what: v.tape.describe(v.id) }),
            None => Err(AutodiffError::NoGradient { what: v.tape.describe(v.id) }),
        }
    }

    /// Number of leaves that received a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// Whether no leaf received a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}

impl<T: Scalar> Tape<T> {
    /// Reverse-mode gradients of the scalar `loss` with respect to every leaf
    /// it depends on. One sweep; nothing is recorded.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let w = tape.leaf(Tensor::from_vec(vec![2.0], &[1]));
    /// let loss = (w * w * w).sum_all(); // w³
    /// assert_eq!(tape.backward(loss).unwrap().get(w).unwrap().data(), &[12.0]);
    /// ```
    ///
    /// # Errors
    /// [`AutodiffError::NotScalar`] if `loss` has more than one element;
    /// [`AutodiffError::TapeMismatch`] if it is from another tape;
    /// [`AutodiffError::NonFinite`] in anomaly mode.
    pub fn backward(&self, loss: Var<'_, T>) -> Result<Gradients<T>> {
        self.check_own(loss, "backward")?;
        let shape = loss.shape();
        if shape.iter().product::<usize>() != 1 {
            return Err(AutodiffError::NotScalar { op: "backward", shape });
        }
        let leaves: Vec<u32> = {
            let inner = self.inner.borrow();
            (0..=loss.id).filter(|&i| matches!(inner.nodes[i as usize].op, Op::Leaf)).collect()
        };
        let seed = Val::Tensor(Tensor::ones(&shape));
        let got = sweep(self, loss.id, seed, &leaves, false)?;
        let grads = leaves.iter().zip(got).filter_map(|(&id, g)| g.map(|g| (id, g.value()))).collect();
        Ok(Gradients { tape: self.id(), grads })
    }

    /// Gradients of the scalar `output` with respect to `wrt` (leaves or
    /// intermediate values, e.g. every hidden state of an unrolled layer).
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::scalar(0.5));
    /// let h = x.tanh();
    /// let y = h * h;
    /// let g = tape.grad(y, &[h, x]).unwrap();
    /// assert!((g[0].item() - 2.0 * 0.5f64.tanh()).abs() < 1e-15);
    /// ```
    ///
    /// # Errors
    /// As [`Tape::backward`]; also [`AutodiffError::NoGradient`] naming the
    /// first of `wrt` that `output` does not depend on, and
    /// [`AutodiffError::NotDifferentiable`] for a constant in `wrt`.
    pub fn grad(&self, output: Var<'_, T>, wrt: &[Var<'_, T>]) -> Result<Vec<Tensor<T>>> {
        let shape = output.shape();
        if shape.iter().product::<usize>() != 1 {
            return Err(AutodiffError::NotScalar { op: "grad", shape });
        }
        self.vjp(output, &Tensor::ones(&shape), wrt)
    }

    /// Vector-Jacobian product: the gradient of `Σ seed ⊙ output` with respect
    /// to each of `wrt`, for an output of any shape.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    /// let y = x * x;
    /// let g = tape.vjp(y, &Tensor::from_vec(vec![1.0, 10.0], &[2]), &[x]).unwrap();
    /// assert_eq!(g[0].data(), &[2.0, 40.0]);
    /// ```
    ///
    /// # Errors
    /// [`AutodiffError::SeedShape`] if `seed`'s shape differs from
    /// `output`'s; otherwise as [`Tape::grad`].
    pub fn vjp(&self, output: Var<'_, T>, seed: &Tensor<T>, wrt: &[Var<'_, T>]) -> Result<Vec<Tensor<T>>> {
        let got = self.gradients(output, Val::Tensor(seed.clone()), wrt, false, "vjp")?;
        got.into_iter()
            .zip(wrt)
            .map(|(g, v)| g.map(|g| g.value()).ok_or_else(|| AutodiffError::NoGradient { what: self.describe(v.id) }))
            .collect()
    }

    /// Gradients as variables on this tape (PyTorch's `create_graph=True`):
    /// the backward rules record their ops, so the result can be
    /// differentiated again (Hessian-vector products, gradient penalties).
    ///
    /// `seed` defaults to ones (for a scalar output).
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::scalar(3.0));
    /// let y = x * x * x;                               // x³
    /// let dy = tape.grad_graph(y, None, &[x]).unwrap()[0]; // 3x² = 27
    /// let d2y = tape.grad(dy, &[x]).unwrap();          // 6x = 18
    /// assert_eq!((dy.value().item(), d2y[0].item()), (27.0, 18.0));
    /// ```
    ///
    /// # Errors
    /// As [`Tape::vjp`] (a seed must be given for a non-scalar output).
    pub fn grad_graph<'t>(&'t self, output: Var<'t, T>, seed: Option<Var<'t, T>>, wrt: &[Var<'t, T>]) -> Result<Vec<Var<'t, T>>> {
        let got = self.grad_graph_allow_unused(output, seed, wrt)?;
        got.into_iter().zip(wrt).map(|(g, v)| g.ok_or_else(|| AutodiffError::NoGradient { what: self.describe(v.id) })).collect()
    }

    /// As [`Tape::grad_graph`], with `None` for each of `wrt` the output
    /// does not depend on (PyTorch's `allow_unused=True`).
    ///
    /// # Errors
    /// As [`Tape::grad_graph`], except for unreached values.
    pub fn grad_graph_allow_unused<'t>(
        &'t self,
        output: Var<'t, T>,
        seed: Option<Var<'t, T>>,
        wrt: &[Var<'t, T>],
    ) -> Result<Vec<Option<Var<'t, T>>>> {
        let seed = match seed {
            Some(s) => {
                output.same_tape("grad_graph", &s)?;
                s
            }
            None => {
                let shape = output.shape();
                if shape.iter().product::<usize>() != 1 {
                    return Err(AutodiffError::NotScalar { op: "grad_graph", shape });
                }
                self.constant(Tensor::ones(&shape))
            }
        };
        let got = self.gradients(output, Val::Var(seed), wrt, true, "grad_graph")?;
        Ok(got.into_iter().map(|g| g.and_then(|g| g.as_var())).collect())
    }

    /// Shared front end: validates, then sweeps.
    pub(crate) fn gradients<'t>(
        &'t self,
        output: Var<'_, T>,
        seed: Val<'t, T>,
        wrt: &[Var<'_, T>],
        create_graph: bool,
        op: &'static str,
    ) -> Result<Vec<Option<Val<'t, T>>>> {
        self.check_own(output, op)?;
        let oshape = output.shape();
        if seed.shape() != oshape {
            return Err(AutodiffError::SeedShape { op, output: oshape, seed: seed.shape() });
        }
        for v in wrt {
            self.check_own(*v, op)?;
            if !v.requires_grad() {
                return Err(AutodiffError::NotDifferentiable { what: self.describe(v.id) });
            }
        }
        let ids: Vec<u32> = wrt.iter().map(|v| v.id).collect();
        // A node made after the output cannot influence it (the sweep never
        // reaches it), except an output of a fused region that the output
        // belongs to.
        sweep(self, output.id, seed, &ids, create_graph)
    }

    /// Checks that `v` is a node of this tape (not of another, nor a value
    /// inside a fused region, which has no node until the region ends).
    #[track_caller]
    fn check_own(&self, v: Var<'_, T>, op: &'static str) -> Result<()> {
        if self.id() != v.tape.id() {
            return Err(AutodiffError::TapeMismatch { op });
        }
        if v.id & crate::ops::fused::LOCAL != 0 {
            let location = std::panic::Location::caller().to_string();
            return Err(AutodiffError::InsideFusedRegion { op: op.into(), location });
        }
        Ok(())
    }
}
