//! The reverse sweep, and the public ways to ask for gradients.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::pieces::Pieces;
use crate::shape::ShapeOp;
use crate::tape::Op;
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
        let out_id = output.id;
        // A node made after the output cannot influence it.
        let got = sweep(self, out_id, seed, &ids.iter().map(|&i| i.min(out_id + 1)).collect::<Vec<_>>(), create_graph)?;
        Ok(got.into_iter().zip(&ids).map(|(g, &i)| if i > out_id { None } else { g }).collect())
    }

    fn check_own(&self, v: Var<'_, T>, op: &'static str) -> Result<()> {
        if self.id() == v.tape.id() {
            Ok(())
        } else {
            Err(AutodiffError::TapeMismatch { op })
        }
    }
}

/// A map keyed by node index, probed twice per node by the sweep: hashed
/// by one multiplication (the default SipHash was ~3% of a small step).
type NodeMap<V> = HashMap<usize, V, BuildHasherDefault<NodeHasher>>;

/// A node index times an odd constant (Fibonacci hashing): a bijection that
/// spreads consecutive indices over the low bits (the bucket) and the high
/// bits (the tag) alike.
#[derive(Default)]
struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_usize` is used for node indices; any other key still
        // hashes correctly, byte by byte.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One reverse sweep from `output` (seeded with `seed`) down to the lowest
/// of `wanted`, returning the gradient reaching each wanted node (`None`
/// if none does). Only nodes on a path from a wanted node to the output are
/// visited. Gradients of broadcast operands are summed back to the
/// operand's shape here, in one place, for every op.
pub(crate) fn sweep<'t, T: Scalar>(
    tape: &'t Tape<T>,
    output: u32,
    seed: Val<'t, T>,
    wanted: &[u32],
    create_graph: bool,
) -> Result<Vec<Option<Val<'t, T>>>> {
    let n = output as usize + 1;
    let mut want = vec![false; n + 1];
    for &w in wanted {
        want[(w as usize).min(n)] = true;
    }
    let Some(lowest) = wanted.iter().map(|&w| w as usize).filter(|&w| w < n).min() else {
        return Ok(vec![None; wanted.len()]);
    };
    // needed[i]: i is wanted or lies on a path from a wanted node to the output.
    let mut needed = vec![false; n];
    {
        let inner = tape.inner.borrow();
        for i in lowest..n {
            let node = &inner.nodes[i];
            needed[i] = want[i] || (node.requires_grad && node.parents.iter().any(|&p| needed[p as usize]));
        }
    }
    let mut grads: Vec<Option<Val<'t, T>>> = vec![None; n];
    let mut found: NodeMap<Val<'t, T>> = NodeMap::default();
    if needed[output as usize] {
        grads[output as usize] = Some(seed);
    }
    // Gradients of a matrix operand (a weight shared by every step) kept
    // as factor pairs until all its users have been swept; see `Deferred`.
    let mut deferred: NodeMap<Deferred<T>> = NodeMap::default();
    // Gradients of narrowed values, kept as pieces until whole; see `Pieces`.
    let mut pieces: NodeMap<Pieces<T>> = NodeMap::default();
    let gather = |grads: &mut [Option<Val<'t, T>>], p: usize, parts: Pieces<T>| -> Result<()> {
        let shape = Shape::from_slice(tape.inner.borrow().nodes[p].value.shape());
        let acc = match grads[p].take() {
            Some(Val::Tensor(t)) => Some(t),
            Some(v) => Some(v.value()),
            None => None,
        };
        grads[p] = Some(Val::Tensor(parts.into_gradient(&shape, acc)?));
        Ok(())
    };
    for i in (lowest..n).rev() {
        if let Some(d) = deferred.remove(&i) {
            let first_user = d.first_user;
            let gp = d.product();
            if tape.anomaly.get() && !gp.all_finite() {
                let inner = tape.inner.borrow();
                return Err(AutodiffError::NonFinite {
                    op: "matmul".to_string(),
                    phase: "backward",
                    shape: Shape::from_slice(gp.shape()),
                    location: inner.nodes[first_user].location.to_string(),
                });
            }
            accumulate(&mut grads[i], Val::Tensor(gp));
        }
        if let Some(parts) = pieces.remove(&i) {
            gather(&mut grads, i, parts)?;
        }
        let Some(g) = grads[i].take() else { continue };
        if want[i] {
            found.insert(i, g.clone());
        }
        let (op, parents, loc) = {
            let inner = tape.inner.borrow();
            let node = &inner.nodes[i];
            (node.op.clone(), node.parents.clone(), node.location)
        };
        if parents.is_empty() {
            continue;
        }
        // A narrow's gradient is its input's gradient zero-padded; it is
        // kept as a piece of the input's gradient instead (see `Pieces`), so
        // T narrows of one sequence cost O(T), not O(T²), and no zero fill.
        if let (false, Op::Shape(ShapeOp::Narrow { axis, start }), Val::Tensor(gt)) = (create_graph, &op, &g) {
            let p = parents[0] as usize;
            if needed[p] {
                if tape.anomaly.get() && !gt.all_finite() {
                    return Err(AutodiffError::NonFinite {
                        op: op.name(),
                        phase: "backward",
                        shape: Shape::from_slice(gt.shape()),
                        location: loc.to_string(),
                    });
                }
                if pieces.get(&p).is_some_and(|parts| parts.axis() != *axis) {
                    // Along another axis: the pieces so far are added up first.
                    let parts = pieces.remove(&p).expect("just found");
                    gather(&mut grads, p, parts)?;
                }
                let parts = pieces.entry(p).or_insert_with(|| Pieces::new(*axis));
                parts.push(*start, gt.clone());
                let numel = tape.inner.borrow().nodes[p].value.numel();
                if parts.elements() >= numel {
                    let parts = pieces.remove(&p).expect("just inserted");
                    gather(&mut grads, p, parts)?;
                }
            }
            continue;
        }
        let wants: SmallVec<[bool; 4]> = parents.iter().map(|&p| needed[p as usize]).collect();
        if !wants.iter().any(|&w| w) {
            continue;
        }
        let (inputs, out): (SmallVec<[Val<'t, T>; 2]>, Val<'t, T>) = if create_graph {
            (parents.iter().map(|&p| Val::Var(Var { tape, id: p })).collect(), Val::Var(Var { tape, id: i as u32 }))
        } else {
            let inner = tape.inner.borrow();
            (
                parents.iter().map(|&p| Val::Tensor(inner.nodes[p as usize].value.clone())).collect(),
                Val::Tensor(inner.nodes[i].value.clone()),
            )
        };
        let mut wants = wants;
        // First order, `C = A·op(B)` with 2-D A and B: B's gradient is a sum
        // of products `Xᵀ·Y` over its users (every step of a sequence), kept
        // as pairs and multiplied once when B is reached.
        if let (false, Op::MatMul { trans_a: false, trans_b }, [Val::Tensor(a), Val::Tensor(_)], Val::Tensor(gt)) =
            (create_graph, &op, &inputs[..], &g)
        {
            if wants[1] && a.ndim() == 2 && inputs[1].shape().len() == 2 {
                let pair = if *trans_b { (gt.clone(), a.clone()) } else { (a.clone(), gt.clone()) };
                deferred.entry(parents[1] as usize).or_insert_with(|| Deferred::new(i)).push(pair);
                wants[1] = false;
                if !wants[0] {
                    continue;
                }
            }
        }
        let pg = rule(&op, &inputs, &out, &g, &wants)?;
        if pg.len() != parents.len() {
            return Err(AutodiffError::Custom {
                op: op.name(),
                message: format!("backward returned {} gradients for {} inputs", pg.len(), parents.len()),
            });
        }
        for ((k, &p), gp) in parents.iter().enumerate().zip(pg) {
            let Some(gp) = gp else { continue };
            if !wants[k] {
                continue;
            }
            let pshape = inputs[k].shape();
            let gp = unbroadcast(&op, gp, &pshape)?;
            if tape.anomaly.get() && !gp.value().all_finite() {
                return Err(AutodiffError::NonFinite { op: op.name(), phase: "backward", shape: pshape, location: loc.to_string() });
            }
            accumulate(&mut grads[p as usize], gp);
        }
    }
    Ok(wanted.iter().map(|&w| found.get(&(w as usize)).cloned()).collect())
}

/// Adds `gp` into a gradient slot.
fn accumulate<'t, T: Scalar>(slot: &mut Option<Val<'t, T>>, gp: Val<'t, T>) {
    *slot = Some(match (slot.take(), gp) {
        (None, gp) => gp,
        // First-order sweep: add in place (copy-on-write keeps any tensor
        // shared with another node intact).
        (Some(Val::Tensor(mut acc)), Val::Tensor(gt)) if acc.shape() == gt.shape() => {
            acc.data_mut().iter_mut().zip(gt.data()).for_each(|(a, &b)| *a = *a + b);
            Val::Tensor(acc)
        }
        (Some(acc), gp) => acc.add(&gp),
    });
}

/// The pending gradient of a matrix `B` used as the right operand of
/// several products `Cₜ = Aₜ·op(B)`: the sum of `Xₜᵀ·Yₜ` over its users
/// (`Gₜᵀ·Aₜ` for `Aₜ·Bᵀ`, `Aₜᵀ·Gₜ` for `Aₜ·B`). Stacking pairs by rows makes
/// a sum of them one product, `[X₁;…;Xₖ]ᵀ·[Y₁;…;Yₖ]`: for a recurrent weight,
/// one large GEMM (threaded, the operands packed once) instead of one small
/// GEMM per time step whose inner dimension is only the batch size. Pairs
/// are multiplied out in groups of about [`Deferred::ROWS`] rows, which
/// bounds the memory they hold.
struct Deferred<T: Scalar> {
    pairs: Vec<(Tensor<T>, Tensor<T>)>,
    rows: usize,
    sum: Option<Tensor<T>>,
    /// The node of the last user in tape order (the first swept), for anomaly reports.
    first_user: usize,
}

impl<T: Scalar> Deferred<T> {
    /// Stacked rows at which a group is multiplied out: enough for the GEMM
    /// to run near its large-product rate.
    const ROWS: usize = 512;

    fn new(first_user: usize) -> Self {
        Deferred { pairs: Vec::new(), rows: 0, sum: None, first_user }
    }

    fn push(&mut self, pair: (Tensor<T>, Tensor<T>)) {
        self.rows += pair.0.shape()[0];
        self.pairs.push(pair);
        if self.rows >= Self::ROWS {
            self.multiply_out();
        }
    }

    /// Adds the pending group's `Σ Xᵀ·Y` into the running sum.
    fn multiply_out(&mut self) {
        let part = match &self.pairs[..] {
            [] => return,
            [(x, y)] => x.t().matmul(y),
            pairs => {
                let xs: Vec<&Tensor<T>> = pairs.iter().map(|p| &p.0).collect();
                let ys: Vec<&Tensor<T>> = pairs.iter().map(|p| &p.1).collect();
                Tensor::concat(&xs, 0).t().matmul(&Tensor::concat(&ys, 0))
            }
        };
        self.pairs.clear();
        self.rows = 0;
        self.sum = Some(match self.sum.take() {
            None => part,
            Some(mut acc) => {
                acc.data_mut().iter_mut().zip(part.data()).for_each(|(a, &b)| *a = *a + b);
                acc
            }
        });
    }

    /// `Σₜ Xₜᵀ·Yₜ` over every pair pushed.
    fn product(mut self) -> Tensor<T> {
        self.multiply_out();
        self.sum.expect("a deferred gradient has at least one pair")
    }
}

/// Sums a gradient back to the shape of the operand it belongs to (the one
/// place broadcasting is undone), checking that it can be.
fn unbroadcast<'t, T: Scalar>(op: &Op<T>, g: Val<'t, T>, shape: &Shape) -> Result<Val<'t, T>> {
    let gs = g.shape();
    if &gs == shape {
        return Ok(g);
    }
    if tapegrad_tensor::broadcast_shapes("backward", shape, &gs).map(|b| b == gs).unwrap_or(false) {
        return Ok(g.sum_to(shape));
    }
    Err(AutodiffError::Custom {
        op: op.name(),
        message: format!("backward returned a gradient of shape {gs:?} for an input of shape {shape:?}"),
    })
}

/// Dispatches to the backward rule of `op`, which lives next to its forward
/// in the op family's file.
fn rule<'t, T: Scalar>(
    op: &Op<T>,
    inputs: &[Val<'t, T>],
    out: &Val<'t, T>,
    g: &Val<'t, T>,
    wants: &[bool],
) -> Result<SmallVec<[Option<Val<'t, T>>; 2]>> {
    Ok(match op {
        Op::Leaf | Op::Constant => SmallVec::new(),
        Op::Unary(u) => smallvec::smallvec![Some(u.backward(&inputs[0], out, g))],
        Op::Binary(b) => b.backward(&inputs[0], &inputs[1], out, g, wants),
        Op::Reduce(r) => smallvec::smallvec![Some(r.backward(&inputs[0], out, g))],
        Op::MatMul { trans_a, trans_b } => crate::matmul::backward(*trans_a, *trans_b, &inputs[0], &inputs[1], g, wants),
        Op::Shape(s) => s.backward(inputs, g, wants),
        Op::LayerNorm(l) => l.backward(inputs, g, wants),
        Op::Index(ix) => ix.backward(inputs, g, wants),
        Op::Select(sel) => sel.backward(g, wants),
        Op::Custom(c) => c.backward(inputs, out, g)?.into_iter().collect(),
    })
}
