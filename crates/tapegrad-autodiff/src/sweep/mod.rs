//! The reverse sweep. It visits the recorded nodes once, in reverse, calls
//! each op's backward rule (in the op's own file) and adds up the
//! [`Contribution`]s the rule returns; it knows no op. The non-finite check
//! of anomaly mode is made here, in one place, on whatever is accumulated.

mod contribution;
mod gradients;
mod pieces;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

pub(crate) use contribution::{add_in_place, dense, Contribution, Contributions};
pub use gradients::Gradients;
pub(crate) use pieces::Pieces;

use crate::checkpoint::Restored;
use crate::ops::{Backward, Op};
use crate::{AutodiffError, Result, Tape, Val, Var};
use contribution::Deferred;

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
/// visited.
pub(crate) fn sweep<'t, T: Scalar>(
    tape: &'t Tape<T>,
    output: u32,
    seed: Val<'t, T>,
    wanted: &[u32],
    create_graph: bool,
) -> Result<Vec<Option<Val<'t, T>>>> {
    let n = output as usize + 1;
    let mut want = vec![false; wanted.iter().map(|&w| w as usize + 1).max().unwrap_or(0).max(n)];
    for &w in wanted {
        want[w as usize] = true;
    }
    {
        // A wanted output of a fused region is reached through the region's
        // node, where its whole gradient (paths inside the region too) is
        // known, even if it was recorded after `output`.
        let inner = tape.inner.borrow();
        for &w in wanted {
            if let (Op::FusedOutput(_), [r]) = (&inner.nodes[w as usize].op, &inner.nodes[w as usize].parents[..]) {
                want[*r as usize] |= (*r as usize) < n;
            }
        }
    }
    let Some(lowest) = (0..n).find(|&i| want[i]) else {
        return Ok(vec![None; wanted.len()]);
    };
    let mut state = Sweep::new(tape, lowest..n, &want, !create_graph);
    if state.needed[output as usize] {
        state.grads[output as usize] = Some(seed);
    }
    let mut found: NodeMap<Val<'t, T>> = NodeMap::default();
    let result = state.run(lowest..n, &want, &mut found);
    // Values a checkpoint dropped are dropped again, however the sweep ended.
    state.restored.release_all(tape);
    result?;
    Ok(wanted.iter().map(|&w| found.get(&(w as usize)).cloned()).collect())
}

/// The sweep's accumulators: one gradient slot per node, and the two kinds
/// of pending gradient that are resolved when their node is reached.
struct Sweep<'t, T: Scalar> {
    tape: &'t Tape<T>,
    /// Plain tensors, nothing recorded (not `create_graph`).
    first_order: bool,
    /// `needed[i]`: `i` is wanted or lies on a path from a wanted node to
    /// the output.
    needed: Vec<bool>,
    grads: Vec<Option<Val<'t, T>>>,
    /// Products `Σ xᵀ·y` kept until all users of the matrix are swept.
    deferred: NodeMap<Deferred<T>>,
    /// Gradients of narrowed values, kept as pieces until whole.
    pieces: NodeMap<Pieces<T>>,
    /// Gradients of the further outputs of multi-output nodes (fused
    /// regions), by output (index 0 is unused: it is the node's own slot).
    outputs: NodeMap<Vec<Option<Val<'t, T>>>>,
    /// The checkpointed spans recomputed so far and not yet dropped again.
    restored: Restored,
}

impl<'t, T: Scalar> Sweep<'t, T> {
    /// Visits nodes `range` in reverse, recording in `found` the whole
    /// gradient of each wanted node.
    fn run(&mut self, range: std::ops::Range<usize>, want: &[bool], found: &mut NodeMap<Val<'t, T>>) -> Result<()> {
        for i in range.rev() {
            self.restored.release_above(self.tape, i);
            let g = self.take(i)?;
            if let (Some(g), true) = (&g, want[i]) {
                found.insert(i, g.clone());
            }
            let others = self.outputs.remove(&i);
            let totals = match (g, others) {
                (None, None) => continue,
                (Some(g), None) => self.visit(i, g, &[], want)?,
                (g, Some(mut others)) => {
                    // A multi-output node: every output's gradient, its own first.
                    others[0] = g;
                    let zero = self.zero(i);
                    self.visit(i, others[0].clone().unwrap_or(zero), &others, want)?
                }
            };
            // Output `k` of a fused region node `i` is node `i + k`.
            for (k, t) in totals.into_iter().enumerate() {
                if let (Some(t), true) = (t, want.get(i + k) == Some(&true)) {
                    found.insert(i + k, t);
                }
            }
        }
        Ok(())
    }

    fn new(tape: &'t Tape<T>, range: std::ops::Range<usize>, want: &[bool], first_order: bool) -> Self {
        let mut needed = vec![false; range.end];
        {
            let inner = tape.inner.borrow();
            for i in range.clone() {
                let node = &inner.nodes[i];
                needed[i] = want[i] || (node.requires_grad && node.parents.iter().any(|&p| needed[p as usize]));
            }
        }
        let grads = vec![None; range.end];
        Sweep {
            tape,
            first_order,
            needed,
            grads,
            deferred: NodeMap::default(),
            pieces: NodeMap::default(),
            outputs: NodeMap::default(),
            restored: Restored::default(),
        }
    }

    /// The whole gradient of node `i`, its pending product and pieces added
    /// in (every user of `i` comes after it, so all have been swept).
    fn take(&mut self, i: usize) -> Result<Option<Val<'t, T>>> {
        if let Some(d) = self.deferred.remove(&i) {
            let first_user = d.first_user;
            let gp = d.product();
            self.check_finite(first_user, || gp.clone())?;
            accumulate(&mut self.grads[i], Val::Tensor(gp));
        }
        if let Some(parts) = self.pieces.remove(&i) {
            self.gather(i, parts)?;
        }
        Ok(self.grads[i].take())
    }

    /// Runs the rule of node `i` on its gradient `g` and accumulates what
    /// each of its inputs receives. A fused region (whose further outputs'
    /// gradients are `outputs`) also returns the whole gradient of each of
    /// its outputs, when one of them is in `want`.
    fn visit(&mut self, i: usize, g: Val<'t, T>, outputs: &[Option<Val<'t, T>>], want: &[bool]) -> Result<Vec<Option<Val<'t, T>>>> {
        let (op, parents) = {
            let inner = self.tape.inner.borrow();
            let node = &inner.nodes[i];
            (node.op.clone(), node.parents.clone())
        };
        let wants: SmallVec<[bool; 4]> = parents.iter().map(|&p| self.needed[p as usize]).collect();
        let totals_wanted = matches!(&op, Op::Fused(r) if (0..r.outputs()).any(|k| want.get(i + k) == Some(&true)));
        if !wants.iter().any(|&w| w) && !totals_wanted {
            return Ok(Vec::new());
        }
        self.restored.prepare(self.tape, i, &op, &parents)?;
        let (inputs, output) = self.values(i, &parents);
        // Only rearrangements, reductions and index ops read their inputs' shapes.
        let shapes: SmallVec<[Shape; 2]> = if matches!(op, Op::Shape(_) | Op::Reduce(_) | Op::Index(_)) {
            let inner = self.tape.inner.borrow();
            parents.iter().map(|&p| Shape::from_slice(inner.nodes[p as usize].shape())).collect()
        } else {
            SmallVec::new()
        };
        let anomaly = self.tape.anomaly.get();
        let cx = Backward {
            inputs: &inputs,
            shapes: &shapes,
            output: &output,
            grad: &g,
            wants: &wants,
            first_order: self.first_order,
            anomaly,
            outputs,
        };
        let (contributions, totals) = match &op {
            Op::Fused(r) => r.backward_with_totals(&cx)?,
            op => (op.backward(&cx)?, Vec::new()),
        };
        for ((k, &p), c) in parents.iter().enumerate().zip(contributions) {
            if let (Some(c), true) = (c, wants[k]) {
                self.accept(i, p as usize, c)?;
            }
        }
        Ok(totals)
    }

    /// Zeros of node `i`'s shape: the gradient of a multi-output node's
    /// first output when only its others received one.
    fn zero(&self, i: usize) -> Val<'t, T> {
        let z = Tensor::zeros(self.tape.inner.borrow().nodes[i].shape());
        if self.first_order {
            Val::Tensor(z)
        } else {
            Val::Var(self.tape.constant(z))
        }
    }

    /// The values a rule sees: tensors in a first-order sweep, the
    /// variables themselves when a gradient graph is built.
    fn values(&self, i: usize, parents: &[u32]) -> (SmallVec<[Val<'t, T>; 2]>, Val<'t, T>) {
        let tape = self.tape;
        if !self.first_order {
            return (parents.iter().map(|&p| Val::Var(Var { tape, id: p })).collect(), Val::Var(Var { tape, id: i as u32 }));
        }
        let inner = tape.inner.borrow();
        let value = |k: usize| Val::Tensor(inner.nodes[k].value.clone());
        (parents.iter().map(|&p| value(p as usize)).collect(), value(i))
    }

    /// Adds the contribution `c` of node `user` to its input `p`.
    fn accept(&mut self, user: usize, p: usize, c: Contribution<'t, T>) -> Result<()> {
        match c {
            Contribution::Dense(gp) => {
                let gp = self.unbroadcast(user, p, gp)?;
                self.check_finite(user, || gp.value())?;
                accumulate(&mut self.grads[p], gp);
            }
            Contribution::Slice { axis, start, grad } => {
                self.check_finite(user, || grad.clone())?;
                if self.pieces.get(&p).is_some_and(|parts| parts.axis() != axis) {
                    // Along another axis: the pieces so far are added up first.
                    let parts = self.pieces.remove(&p).expect("just found");
                    self.gather(p, parts)?;
                }
                let parts = self.pieces.entry(p).or_insert_with(|| Pieces::new(axis));
                parts.push(start, grad);
                if parts.elements() >= self.tape.inner.borrow().nodes[p].shape().iter().product::<usize>() {
                    let parts = self.pieces.remove(&p).expect("just inserted");
                    self.gather(p, parts)?;
                }
            }
            Contribution::Deferred { x, y } => self.deferred.entry(p).or_insert_with(|| Deferred::new(user)).push(x, y),
            Contribution::Output { index, grad } => {
                self.check_finite(user, || grad.value())?;
                let slots = self.outputs.entry(p).or_default();
                if slots.len() <= index {
                    slots.resize(index + 1, None);
                }
                accumulate(&mut slots[index], grad);
            }
        }
        Ok(())
    }

    /// Adds the pieces of node `p`'s gradient into its slot.
    fn gather(&mut self, p: usize, parts: Pieces<T>) -> Result<()> {
        let shape = Shape::from_slice(self.tape.inner.borrow().nodes[p].shape());
        let acc = self.grads[p].take().map(|g| match g {
            Val::Tensor(t) => t,
            v => v.value(),
        });
        self.grads[p] = Some(Val::Tensor(parts.into_gradient(&shape, acc)?));
        Ok(())
    }

    /// In anomaly mode, an error naming the op of node `node` unless the
    /// gradient it sent (`value`, computed only then) is finite.
    fn check_finite(&self, node: usize, value: impl FnOnce() -> Tensor<T>) -> Result<()> {
        if !self.tape.anomaly.get() {
            return Ok(());
        }
        let value = value();
        if value.all_finite() {
            return Ok(());
        }
        let inner = self.tape.inner.borrow();
        let node = &inner.nodes[node];
        Err(AutodiffError::NonFinite {
            op: node.op.name(),
            phase: "backward",
            shape: Shape::from_slice(value.shape()),
            location: node.location.to_string(),
        })
    }

    /// Sums a gradient sent by node `user` back to the shape of its input
    /// `p` (the one place broadcasting is undone), checking that it can be.
    fn unbroadcast(&self, user: usize, p: usize, g: Val<'t, T>) -> Result<Val<'t, T>> {
        let gs = g.shape();
        let shape = {
            let inner = self.tape.inner.borrow();
            let shape = inner.nodes[p].shape();
            if shape == gs.as_slice() {
                return Ok(g);
            }
            Shape::from_slice(shape)
        };
        if tapegrad_tensor::broadcast_shapes("backward", &shape, &gs).map(|b| b == gs).unwrap_or(false) {
            return Ok(g.sum_to(&shape));
        }
        let op = self.tape.inner.borrow().nodes[user].op.name();
        Err(AutodiffError::GradientShape { op, gradient: gs, input: shape })
    }
}

/// Adds `gp` into a gradient slot.
pub(crate) fn accumulate<'t, T: Scalar>(slot: &mut Option<Val<'t, T>>, gp: Val<'t, T>) {
    *slot = Some(match (slot.take(), gp) {
        (None, gp) => gp,
        // First-order sweep: add in place.
        (Some(Val::Tensor(acc)), Val::Tensor(gt)) if acc.shape() == gt.shape() => Val::Tensor(add_in_place(acc, &gt)),
        (Some(acc), gp) => acc.add(&gp),
    });
}
