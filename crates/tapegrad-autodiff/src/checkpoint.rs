//! Gradient checkpointing: a span of the tape whose values are dropped
//! after the forward pass and recomputed when the reverse sweep reaches it;
//! and its mild form, a span that drops only the values no backward rule
//! reads ([`Tape::keep_needed`]), which never needs recomputing.
//!
//! [`Tape::checkpoint`] runs a closure as usual, recording every op; when
//! it returns, the values of the ops it recorded are dropped, except those
//! of the variables it returned (the span's outputs: for a segment of a
//! recurrent layer, its last state). The records stay: op, parents, shape.
//! A dropped value is recomputed from its parents' values by the op's own
//! forward kernel ([`Op::forward`], the kernel its `Var` method ran), so it
//! equals the first value bit for bit; the sweep visits the same nodes in
//! the same order and adds up the same contributions, so gradients with
//! and without checkpointing are equal bit for bit.
//!
//! The sweep restores a span when it first needs one of its values: when
//! it reaches a node of the span, or a later node whose rule reads a
//! dropped input (a rule that only rearranges or adds its input, such as
//! the stack of a layer's outputs, needs no value: [`Op::reads_input`]).
//! Restoring replays the span's dropped nodes in tape order (their parents
//! in an earlier span are restored first). Once the sweep has passed below
//! a span, its values are dropped again, so at most a span or two is held
//! at a time. Reading a dropped value from outside a sweep
//! ([`crate::Var::value`], or an op recorded later on such a variable)
//! recomputes its span and drops it again.
//!
//! Leaves and constants are never dropped (a dropout mask is a constant:
//! the recomputation uses the same mask). A value a fused region keeps
//! inside its op (see `ops/fused.rs`) stays held by the region.

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::ops::Op;
use crate::{RegionOutputs, Result, Tape};

/// A span of the tape, nodes `start..end`, and the nodes whose values it
/// drops outside sweeps.
pub(crate) struct Span {
    start: u32,
    end: u32,
    dropped: Vec<u32>,
}

/// Values of fewer scalars than this are kept by [`Tape::keep_needed`]:
/// dropping them saves less than it costs (a tiny GRU's step slowed 18%).
const SMALL: usize = 256;

/// Which values a span drops (besides never dropping leaves, constants and
/// the closure's outputs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drop {
    /// Every op's value: recomputed when the sweep reaches the span.
    All,
    /// Only values no backward rule recorded so far reads (their own op's
    /// or a user's): nothing needs recomputing in the sweep.
    Unread,
}

impl<T: Scalar> Tape<T> {
    /// Runs `f` as a checkpointed span: the ops inside are recorded as
    /// usual, but when `f` returns, their values are dropped, except those
    /// of the variables `f` returns; the reverse sweep recomputes them, one
    /// span at a time, from the values around the span. Memory held for
    /// the backward pass drops from every intermediate of the span to its
    /// outputs, for about one more forward pass of the span in time.
    ///
    /// Gradients are those of the same code run without `checkpoint`, bit
    /// for bit: the same ops are recorded, the dropped values are
    /// recomputed with the same kernels, and the sweep adds up the same
    /// contributions in the same order. Constants made inside (a dropout
    /// mask) are kept, so a recomputation sees the same mask. A custom op
    /// inside must compute its output from its inputs alone.
    ///
    /// Reading a dropped value (`value()` of a variable made inside and not
    /// returned) is allowed and recomputes it. Inside another checkpoint,
    /// or inside an open fused region, `f` simply runs (it is part of the
    /// outer span).
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor, Var};
    /// fn f<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    ///     x.tanh().exp().square().sum_all()
    /// }
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]));
    /// let plain = tape.backward(f(x)).unwrap().get(x).unwrap().clone();
    /// let y = tape.checkpoint(|| f(x)); // the tanh, exp and square values are dropped
    /// let checkpointed = tape.backward(y).unwrap().get(x).unwrap().clone();
    /// assert_eq!(plain, checkpointed); // bit for bit
    /// ```
    ///
    /// # Panics
    /// If `f` panics (what it recorded keeps its values).
    #[track_caller]
    pub fn checkpoint<'t, O: RegionOutputs<'t, T>>(&'t self, f: impl FnOnce() -> O) -> O {
        self.span(Drop::All, f)
    }

    /// Runs `f` keeping, of the values of the ops it records, only those a
    /// backward rule reads (and those `f` returns): the values of a sum, a
    /// difference, a rearrangement (a reshape, a narrow, a concatenation),
    /// a selection, a reduction by sum, and the inputs of `exp`, `tanh`,
    /// `sigmoid`, `sqrt` and `1/x`, which are differentiated through their
    /// outputs, are dropped when `f` returns, unless an op recorded inside
    /// reads them in its backward rule. This is what PyTorch keeps ("saved
    /// tensors"); nothing is recomputed in the backward pass. A value read
    /// later by an op recorded after `f` (or by `value()`) is recomputed
    /// then, as in [`Tape::checkpoint`]. Gradients are unchanged, bit for
    /// bit. Recurrent layers run each segment of steps this way.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// let x = tape.leaf(Tensor::ones(&[1000]));
    /// let w = tape.leaf(Tensor::ones(&[1000]));
    /// // `x + w` is read by nobody's rule (the tanh reads its own output).
    /// let y = tape.keep_needed(|| ((x + w).tanh() * w).sum_all());
    /// assert_eq!(tape.held_values(), 1000 + 1000 + 1000 + 1); // x, w, the tanh, y
    /// let g = tape.backward(y).unwrap();
    /// assert!((g.get(x).unwrap().data()[0] - (1.0 - 2f32.tanh().powi(2))).abs() < 1e-6);
    /// ```
    ///
    /// # Panics
    /// If `f` panics (what it recorded keeps its values).
    #[track_caller]
    pub fn keep_needed<'t, O: RegionOutputs<'t, T>>(&'t self, f: impl FnOnce() -> O) -> O {
        self.span(Drop::Unread, f)
    }

    /// Runs `f` as a span that drops `what` when it returns.
    fn span<'t, O: RegionOutputs<'t, T>>(&'t self, what: Drop, f: impl FnOnce() -> O) -> O {
        if self.checkpointing.get() || self.region.borrow().is_some() {
            return f();
        }
        struct Restore<'a>(&'a std::cell::Cell<bool>);
        impl std::ops::Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.checkpointing.set(true);
        let guard = Restore(&self.checkpointing);
        let start = self.len() as u32;
        let out = f();
        drop(guard);
        let mut kept: SmallVec<[u32; 4]> = SmallVec::new();
        out.each_var(&mut |v| kept.push(v.id));
        let mut inner = self.inner.borrow_mut();
        let span = Span::new(&inner.nodes, start, &kept, what);
        if !span.dropped.is_empty() {
            release(&mut inner.nodes, &span);
            inner.spans.push(span);
        }
        out
    }

    /// How many scalars the values on the tape hold (a buffer several
    /// nodes share, such as a reshape's, is counted for each): what
    /// [`Tape::checkpoint`] saves shows here.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// let x = tape.leaf(Tensor::ones(&[1000]));
    /// let y = tape.checkpoint(|| x.exp().tanh().sum_all()); // exp and tanh dropped
    /// assert_eq!(tape.held_values(), 1000 + 1); // x and the output
    /// let _ = tape.backward(y).unwrap(); // recomputed, then dropped again
    /// assert_eq!(tape.held_values(), 1001);
    /// ```
    pub fn held_values(&self) -> usize {
        self.inner.borrow().nodes.iter().map(|n| n.value.numel()).sum()
    }

    /// The index of the span holding node `id`, if it was dropped.
    fn span_of(&self, id: u32) -> usize {
        let inner = self.inner.borrow();
        let k = inner.spans.partition_point(|s| s.start <= id);
        debug_assert!(k > 0 && inner.spans[k - 1].end > id, "a dropped node lies in a span");
        k - 1
    }

    /// Recomputes the span holding dropped node `id`, reads the value and
    /// drops the span again.
    #[track_caller]
    pub(crate) fn recomputed_value(&self, id: u32) -> Tensor<T> {
        let mut restored = Restored::default();
        let value = restored.restore_span_of(self, id).map(|()| self.inner.borrow().nodes[id as usize].value.clone());
        restored.release_all(self);
        value.unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Span {
    /// The span of nodes `start..` (to the tape's end) that drops `what`,
    /// keeping `kept`.
    fn new<T: Scalar>(nodes: &[crate::tape::Node<T>], start: u32, kept: &[u32], what: Drop) -> Self {
        let end = nodes.len() as u32;
        let mut read = vec![false; (end - start) as usize];
        if what == Drop::Unread {
            for node in &nodes[start as usize..] {
                for (k, &p) in node.parents.iter().enumerate() {
                    if p >= start && node.op.reads_input(k) {
                        read[(p - start) as usize] = true;
                    }
                }
            }
        }
        let dropped = (start..end)
            .filter(|&j| {
                let node = &nodes[j as usize];
                let recomputable = node.requires_grad && !matches!(node.op, Op::Leaf | Op::Constant);
                // Not worth dropping: a value smaller than the bookkeeping.
                let small = node.value.numel() < SMALL;
                let unread = what == Drop::All || !(small || read[(j - start) as usize] || node.op.reads_output());
                recomputable && unread && !kept.contains(&j)
            })
            .collect();
        Span { start, end, dropped }
    }
}

/// Drops the values `span` drops (each becomes one shared empty tensor).
fn release<T: Scalar>(nodes: &mut [crate::tape::Node<T>], span: &Span) {
    let empty = Tensor::from_vec(Vec::new(), &[0]);
    for &j in &span.dropped {
        let node = &mut nodes[j as usize];
        if !node.released {
            node.shape = Shape::from_slice(node.value.shape());
            node.value = empty.clone();
            node.released = true;
        }
    }
}

/// The spans a sweep (or a read) has restored: each is dropped again once
/// the sweep has passed below it, and all when this is dropped.
#[derive(Default)]
pub(crate) struct Restored {
    spans: Vec<usize>,
}

impl Restored {
    /// Makes the values node `i`'s rule reads available: its own and each
    /// parent's, if the rule reads them and they were dropped.
    pub(crate) fn prepare<T: Scalar>(&mut self, tape: &Tape<T>, i: usize, op: &Op<T>, parents: &[u32]) -> Result<()> {
        if tape.inner.borrow().spans.is_empty() {
            return Ok(());
        }
        if op.reads_output() && tape.inner.borrow().nodes[i].released {
            self.restore_span_of(tape, i as u32)?;
        }
        for (k, &p) in parents.iter().enumerate() {
            if op.reads_input(k) && tape.inner.borrow().nodes[p as usize].released {
                self.restore_span_of(tape, p)?;
            }
        }
        Ok(())
    }

    /// Drops again the restored spans that start above node `i` (the
    /// sweep, going down, has finished with them).
    pub(crate) fn release_above<T: Scalar>(&mut self, tape: &Tape<T>, i: usize) {
        if self.spans.is_empty() {
            return;
        }
        let mut inner = tape.inner.borrow_mut();
        let inner = &mut *inner;
        self.spans.retain(|&s| {
            let done = inner.spans[s].start as usize > i;
            if done {
                release(&mut inner.nodes, &inner.spans[s]);
            }
            !done
        });
    }

    /// Drops every restored span again.
    pub(crate) fn release_all<T: Scalar>(&mut self, tape: &Tape<T>) {
        let mut inner = tape.inner.borrow_mut();
        let inner = &mut *inner;
        for s in self.spans.drain(..) {
            release(&mut inner.nodes, &inner.spans[s]);
        }
    }

    /// Restores the span holding dropped node `id`.
    fn restore_span_of<T: Scalar>(&mut self, tape: &Tape<T>, id: u32) -> Result<()> {
        let s = tape.span_of(id);
        let (start, end) = {
            let inner = tape.inner.borrow();
            (inner.spans[s].start, inner.spans[s].end)
        };
        if !self.spans.contains(&s) {
            self.spans.push(s);
        }
        for j in start..end {
            self.replay(tape, j as usize)?;
        }
        Ok(())
    }

    /// The values of `nodes`, restoring the spans of those dropped.
    fn inputs<T: Scalar>(&mut self, tape: &Tape<T>, nodes: &[u32]) -> Result<SmallVec<[Tensor<T>; 2]>> {
        for &p in nodes {
            if tape.inner.borrow().nodes[p as usize].released {
                self.restore_span_of(tape, p)?;
            }
        }
        let inner = tape.inner.borrow();
        Ok(nodes.iter().map(|&p| inner.nodes[p as usize].value.clone()).collect())
    }

    /// Recomputes node `j`'s value if it was dropped (its dropped parents
    /// first, restoring their spans).
    fn replay<T: Scalar>(&mut self, tape: &Tape<T>, j: usize) -> Result<()> {
        let (op, parents, shape) = {
            let inner = tape.inner.borrow();
            let node = &inner.nodes[j];
            if !node.released {
                return Ok(());
            }
            (node.op.clone(), node.parents.clone(), Shape::from_slice(node.shape()))
        };
        let x = self.inputs(tape, &parents)?;
        let values = match &op {
            Op::Fused(region) => region.forward(&x)?,
            Op::FusedOutput(k) => {
                // The region node was kept: its outputs are recomputed from its inputs.
                let (region, inputs) = {
                    let inner = tape.inner.borrow();
                    let node = &inner.nodes[parents[0] as usize];
                    (node.op.clone(), node.parents.clone())
                };
                let Op::Fused(region) = region else { unreachable!("a fused output's parent is its region") };
                vec![region.forward(&self.inputs(tape, &inputs)?)?.swap_remove(*k)]
            }
            op => vec![op.forward(&x, &shape)?],
        };
        let mut inner = tape.inner.borrow_mut();
        // A region's further outputs are the nodes right after it.
        for (k, v) in values.into_iter().enumerate() {
            let node = &mut inner.nodes[j + k];
            if k == 0 || node.released {
                node.value = v;
                node.released = false;
            }
        }
        Ok(())
    }
}
