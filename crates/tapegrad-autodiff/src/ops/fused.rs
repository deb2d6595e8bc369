//! Fused elementwise regions: a block of elementwise ops recorded as one
//! tape node, whose backward is derived from the ops' own rules.
//!
//! Inside [`Tape::fused`], elementwise ops (unary, broadcasting binary,
//! scalar, `where`/select) and `narrow` (gate chunks) still compute their
//! values at once, but they are kept in the region, not on the tape. When
//! the closure returns, the values it returns become the outputs of one
//! node (`Op::Fused`, plus one `Op::FusedOutput` per further output). Of
//! the region's intermediates only the values of transcendental ops
//! (`tanh`, `sigmoid`, `exp`, …) are kept; products, sums, selects and
//! views are recomputed in the backward, so the tape holds less than
//! unfused (see `kept`).
//!
//! The backward of a region recomputes the dropped values from its inputs
//! with the same forward kernels, then runs each op's own backward rule
//! ([`Op::backward`], the one table of rules) in reverse, as the sweep
//! would have: gradients are added up in the same order, so they equal the
//! unfused path's bit for bit. A sweep that builds a gradient graph
//! (`create_graph`, for `hvp` and `gradgradcheck`) replays the region as
//! ordinary recorded ops and runs the same rules on the variables, which
//! is differentiable again.

use std::panic::Location;
use std::sync::Arc;

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::ops::shape::ShapeOp;
use crate::ops::{Backward, Op};
use crate::sweep::{accumulate, Contribution, Contributions, Pieces};
use crate::{AutodiffError, Result, Tape, Val, Var};

mod outputs;
pub use outputs::RegionOutputs;

/// The bit that marks a variable made inside a region: its index counts
/// the values of every region of the tape so far, not the tape's nodes.
pub(crate) const LOCAL: u32 = 1 << 31;

/// Where an op inside a region reads an operand from.
#[derive(Clone, Copy, Debug)]
enum Arg {
    /// The region node's input slot (one slot per use of an outside value).
    Input(usize),
    /// The value of an earlier op of the region.
    Local(usize),
}

/// One op of a region: what it is, what it reads, the shape it makes, the
/// user's call site (for anomaly reports), and its value if it is kept.
#[derive(Clone)]
struct Instr<T: Scalar> {
    op: Op<T>,
    args: SmallVec<[Arg; 2]>,
    shape: Shape,
    location: &'static Location<'static>,
    /// The value, kept for the backward when recomputing it would cost
    /// more than storing it (see [`kept`]).
    saved: Option<Tensor<T>>,
}

/// Whether the value of an op is kept rather than recomputed: an output's
/// (its buffer is the output node's, so keeping it is free) and a
/// transcendental op's (`exp`, `tanh`, `sigmoid`, …: a few times the cost
/// of the products and sums around it, whose values are recomputed).
fn kept<T: Scalar>(op: &Op<T>, output: bool) -> bool {
    use crate::ops::unary::Unary;
    output || matches!(op, Op::Unary(Unary::Exp | Unary::Ln | Unary::Sqrt | Unary::Tanh | Unary::Sigmoid | Unary::Powf(_)))
}

/// The recorded program of a region: its ops in order, and which of their
/// values are the node's outputs (output 0 is the node's own value).
pub(crate) struct Region<T: Scalar> {
    instrs: Vec<Instr<T>>,
    outputs: Vec<usize>,
}

/// A region being recorded: the ops made so far, with their values, and
/// the index the first of them has among the tape's local values.
pub(crate) struct Builder<T: Scalar> {
    base: u32,
    locals: Vec<Local<T>>,
}

impl<T: Scalar> Builder<T> {
    /// Whether local variable `id` is one of this region's values.
    fn holds(&self, id: u32) -> bool {
        (id - LOCAL).checked_sub(self.base).is_some_and(|k| (k as usize) < self.locals.len())
    }
}

struct Local<T: Scalar> {
    value: Tensor<T>,
    op: Op<T>,
    args: SmallVec<[u32; 2]>,
    location: &'static Location<'static>,
}

/// Whether the tape fuses the regions marked with [`Tape::fused`]
/// ([`Tape::set_fusion`]). Unfused, the same code records every op on its
/// own: for debugging, and to check a fused region against its unfused
/// twin.
///
/// ```
/// use tapegrad_autodiff::{Fusion, Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// tape.set_fusion(Fusion::Off);
/// assert_eq!(tape.fusion(), Fusion::Off);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fusion {
    /// Marked regions are recorded as one node each: fewer tape records
    /// and less memory (an LSTM step records 5 nodes instead of 17; the
    /// medium LSTM of BENCHMARKS.md peaks 18% lower), at a time cost until
    /// regions are evaluated tile by tile (their ops still run one pass
    /// each: small LSTM about 12% slower, medium about 4%). Turned on for
    /// new tapes by the environment variable `TAPEGRAD_FUSION=on` (or `1`).
    On,
    /// Every op is recorded on its own, as if no region were marked (the
    /// default).
    Off,
}

impl Fusion {
    /// The default of new tapes: [`Fusion::Off`] unless `TAPEGRAD_FUSION`
    /// is `on` or `1` (read once per process).
    pub(crate) fn from_env() -> Fusion {
        static DEFAULT: std::sync::OnceLock<Fusion> = std::sync::OnceLock::new();
        *DEFAULT.get_or_init(|| match std::env::var("TAPEGRAD_FUSION").as_deref() {
            Ok("on" | "1") => Fusion::On,
            _ => Fusion::Off,
        })
    }
}

/// Whether `op` can run inside a region.
fn fusable<T: Scalar>(op: &Op<T>) -> bool {
    matches!(op, Op::Unary(_) | Op::Binary(_) | Op::Select(_) | Op::Shape(ShapeOp::Narrow { .. }))
}

impl<T: Scalar> Tape<T> {
    /// Runs `f` as one fused region: the elementwise ops inside (unary,
    /// broadcasting binary, scalar, `where`/`maximum`/`clamp`, and `narrow`
    /// or `chunk` of any value) are recorded as **one** tape node whose
    /// outputs are the variables `f` returns. Values are computed as usual
    /// (`.value()` works inside); of the intermediates only those of
    /// transcendental ops are kept: the backward recomputes the products,
    /// sums, selects and views from the region's inputs and runs each
    /// op's own derivative rule, so gradients are those of the unfused
    /// ops, bit for bit. Second derivatives (a `create_graph` sweep) replay
    /// the region as ordinary ops. With [`Fusion::Off`] (the default; see
    /// [`Fusion`] for what fusion costs and saves today), or when nested in
    /// another region, `f` simply runs.
    ///
    /// Only the returned variables outlive the region. An op of another
    /// kind (a `matmul`, a reduction) on a value made inside the region is
    /// an error: compute it before the region, or return the value.
    ///
    /// ```
    /// use tapegrad_autodiff::{Fusion, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// tape.set_fusion(Fusion::On); // off by default
    /// let gates = tape.leaf(Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25], &[1, 4]));
    /// let c0 = tape.leaf(Tensor::from_vec(vec![0.1, 0.2], &[1, 2]));
    /// let before = tape.len();
    /// let (h, c) = tape.fused(|| {
    ///     let g = gates.try_chunk(2, 1).unwrap(); // [1, 2] each
    ///     let c = g[0].sigmoid() * c0 + g[1].tanh();
    ///     (c.tanh(), c)
    /// });
    /// assert_eq!(tape.len() - before, 2); // one region, one more output
    /// let grads = tape.backward((h + c).sum_all()).unwrap();
    /// assert_eq!(grads.get(gates).unwrap().shape(), &[1, 4]);
    /// ```
    ///
    /// # Panics
    /// If `f` panics (the region is abandoned, nothing recorded). Errors
    /// of the ops inside are theirs: `try_` ops return them, as
    /// [`crate::AutodiffError::InsideFusedRegion`] for an op that cannot
    /// read a region's value.
    #[track_caller]
    pub fn fused<'t, O: RegionOutputs<'t, T>>(&'t self, f: impl FnOnce() -> O) -> O {
        if self.fusion.get() == Fusion::Off || self.region.borrow().is_some() {
            return f();
        }
        struct Abandon<'a, T: Scalar>(&'a Tape<T>);
        impl<T: Scalar> Drop for Abandon<'_, T> {
            fn drop(&mut self) {
                if let Some(b) = self.0.region.borrow_mut().take() {
                    self.0.local_base.set(b.base + b.locals.len() as u32);
                }
            }
        }
        let base = self.local_base.get();
        *self.region.borrow_mut() = Some(Builder { base, locals: Vec::new() });
        let guard = Abandon(self);
        let out = f();
        let builder = self.region.borrow_mut().take().expect("the region is open");
        drop(guard);
        self.local_base.set(base + builder.locals.len() as u32);
        let mut made = Vec::new();
        out.each_var(&mut |v| made.push(v));
        let fresh = self.finish(builder, &made);
        let mut k = 0;
        out.map_vars(&mut |_| {
            k += 1;
            fresh[k - 1]
        })
    }

    /// Switches fusion of marked regions on or off (see [`Fusion`]).
    ///
    /// ```
    /// use tapegrad_autodiff::{Fusion, Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// tape.set_fusion(Fusion::On);
    /// let x = tape.leaf(Tensor::ones(&[2]));
    /// let n = tape.len();
    /// tape.fused(|| x.exp().scale(2.0).tanh());
    /// assert_eq!(tape.len(), n + 1); // three ops, one node
    /// ```
    pub fn set_fusion(&self, fusion: Fusion) {
        self.fusion.set(fusion);
    }

    /// Whether marked regions are fused (see [`Tape::set_fusion`]).
    ///
    /// ```
    /// use tapegrad_autodiff::{Fusion, Tape};
    /// let tape = Tape::<f32>::new();
    /// tape.set_fusion(Fusion::Off);
    /// assert_eq!(tape.fusion(), Fusion::Off);
    /// ```
    pub fn fusion(&self) -> Fusion {
        self.fusion.get()
    }

    /// Keeps an op run inside an open region in the region (returning its
    /// local variable's index), or returns `None` if no region is open or
    /// the op is not elementwise (it is then recorded on the tape). Checks
    /// that no operand is a region's value the op cannot read.
    pub(crate) fn record_local(
        &self,
        value: &Tensor<T>,
        op: &Op<T>,
        inputs: &[Var<'_, T>],
        location: &'static Location<'static>,
    ) -> Result<Option<u32>> {
        let mut region = self.region.borrow_mut();
        let fuse = fusable(op);
        for v in inputs.iter().filter(|v| v.id & LOCAL != 0) {
            let (name, at) = (op.name(), location.to_string());
            if !region.as_ref().is_some_and(|b| b.holds(v.id)) {
                return Err(AutodiffError::FusedValueOutlived { op: name, location: at });
            }
            if !fuse {
                return Err(AutodiffError::InsideFusedRegion { op: name, location: at });
            }
        }
        let Some(b) = region.as_mut().filter(|_| fuse) else { return Ok(None) };
        let id = LOCAL + b.base + b.locals.len() as u32;
        b.locals.push(Local { value: value.clone(), op: op.clone(), args: inputs.iter().map(|v| v.id).collect(), location });
        Ok(Some(id))
    }

    /// An error unless `id` is a node, or a value of the open region.
    #[track_caller]
    pub(crate) fn check_alive(&self, id: u32, op: &str) -> Result<()> {
        if id & LOCAL == 0 || self.local_index(id).is_some() {
            return Ok(());
        }
        Err(AutodiffError::FusedValueOutlived { op: op.into(), location: Location::caller().to_string() })
    }

    /// The index of local variable `id` in the open region, if it is one
    /// of its values.
    fn local_index(&self, id: u32) -> Option<usize> {
        let region = self.region.borrow();
        let b = region.as_ref().filter(|b| b.holds(id))?;
        Some((id - LOCAL - b.base) as usize)
    }

    /// The value of local variable `id`.
    ///
    /// # Panics
    /// If its region has ended (the value was not returned from it).
    #[track_caller]
    pub(crate) fn local_value(&self, id: u32) -> Tensor<T> {
        let k = self.local_index(id).unwrap_or_else(|| {
            let location = Location::caller().to_string();
            panic!("{}", AutodiffError::FusedValueOutlived { op: "value".into(), location })
        });
        self.region.borrow().as_ref().expect("open").locals[k].value.clone()
    }

    /// Describes local variable `id` for messages.
    pub(crate) fn describe_local(&self, id: u32) -> String {
        match self.local_index(id) {
            Some(k) => {
                let region = self.region.borrow();
                let l = &region.as_ref().expect("open").locals[k];
                format!("value {k} of a fused region ({} of shape {:?}, recorded at {})", l.op.name(), l.value.shape(), l.location)
            }
            None => "a value of a fused region that has ended".into(),
        }
    }

    /// Records the region node for the region's values among `made` (the
    /// closure's returned variables), and returns `made` with each of
    /// those replaced by its output variable.
    #[track_caller]
    fn finish(&self, builder: Builder<T>, made: &[Var<'_, T>]) -> Vec<Var<'_, T>> {
        let local = |v: &Var<'_, T>| (v.id & LOCAL != 0).then(|| (v.id - LOCAL - builder.base) as usize);
        let mut outputs: Vec<usize> = Vec::new();
        for k in made.iter().filter_map(local) {
            if !outputs.contains(&k) {
                outputs.push(k);
            }
        }
        if outputs.is_empty() {
            return made.iter().map(|v| Var { tape: self, id: v.id }).collect();
        }
        let (region, parents, values) = compile(builder.locals, &outputs, builder.base);
        let node = self.push(values[0].clone(), Op::Fused(Arc::new(region)), parents, true);
        let mut ids = vec![node.id];
        for (k, v) in values.into_iter().enumerate().skip(1) {
            ids.push(self.push(v, Op::FusedOutput(k), smallvec::smallvec![node.id], true).id);
        }
        made.iter()
            .map(|v| {
                let id = local(v).map_or(v.id, |k| ids[outputs.iter().position(|&o| o == k).expect("an output")]);
                Var { tape: self, id }
            })
            .collect()
    }
}

/// The parts of a finished region: its program, the tape node's parents
/// (one per use of an outside value) and the outputs' values.
type Compiled<T> = (Region<T>, SmallVec<[u32; 2]>, Vec<Tensor<T>>);

/// Drops the ops no output depends on, numbers the rest, and gives each
/// use of an outside value its own input slot, in the order the sweep
/// would have accepted their gradients unfused (ops in reverse, operands
/// in order), so they are added up in the same order.
fn compile<T: Scalar>(locals: Vec<Local<T>>, outputs: &[usize], base: u32) -> Compiled<T> {
    let n = locals.len();
    let local_of = |id: u32| (id & LOCAL != 0).then(|| (id - LOCAL - base) as usize);
    let mut live = vec![false; n];
    outputs.iter().for_each(|&o| live[o] = true);
    for j in (0..n).rev() {
        if live[j] {
            locals[j].args.iter().filter_map(|&a| local_of(a)).for_each(|k| live[k] = true);
        }
    }
    let mut number = vec![usize::MAX; n];
    (0..n).filter(|&j| live[j]).enumerate().for_each(|(m, j)| number[j] = m);
    let mut parents = SmallVec::new();
    let mut slots: Vec<SmallVec<[usize; 2]>> = vec![SmallVec::new(); n];
    for j in (0..n).rev().filter(|&j| live[j]) {
        for &a in locals[j].args.iter().filter(|&&a| local_of(a).is_none()) {
            slots[j].push(parents.len());
            parents.push(a);
        }
    }
    let values = outputs.iter().map(|&o| locals[o].value.clone()).collect();
    let instrs = locals
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| live[j])
        .map(|(j, l)| {
            let mut slot = slots[j].iter();
            let args = l
                .args
                .iter()
                .map(|&a| local_of(a).map_or_else(|| Arg::Input(*slot.next().expect("a slot per use")), |k| Arg::Local(number[k])));
            let saved = kept(&l.op, outputs.contains(&j)).then(|| l.value.clone());
            Instr { args: args.collect(), shape: Shape::from_slice(l.value.shape()), op: l.op, location: l.location, saved }
        })
        .collect();
    (Region { instrs, outputs: outputs.iter().map(|&o| number[o]).collect() }, parents, values)
}

/// A region's contributions to its inputs, and the whole gradient of each
/// of its outputs.
pub(crate) type WithTotals<'t, T> = (Contributions<'t, T>, Vec<Option<Val<'t, T>>>);

impl<T: Scalar> Region<T> {
    /// `fused[op, op, …]`: the region's ops, for messages and graph exports.
    pub(crate) fn name(&self) -> String {
        let ops: Vec<String> = self.instrs.iter().map(|i| i.op.name()).collect();
        format!("fused[{}]", ops.join(", "))
    }

    /// The contributions of a region to its input slots: its intermediates
    /// recomputed from the inputs, then each op's own rule run in reverse,
    /// from the gradients of its outputs (`cx.outputs`, or `cx.grad` alone).
    ///
    /// # Errors
    /// In anomaly mode, a non-finite gradient named by the op inside the
    /// region that sent it and that op's call site.
    pub(crate) fn backward<'t>(&self, cx: &Backward<'_, 't, T>) -> Result<Contributions<'t, T>> {
        Ok(self.backward_with_totals(cx)?.0)
    }

    /// Every output's value from the values of the region node's inputs,
    /// with the forward kernels (so equal to the values first computed):
    /// how a checkpoint restores a region (see `checkpoint.rs`).
    pub(crate) fn forward(&self, inputs: &[Tensor<T>]) -> Result<Vec<Tensor<T>>> {
        let mut vals: Vec<Tensor<T>> = Vec::with_capacity(self.instrs.len());
        for ins in &self.instrs {
            let v = match &ins.saved {
                Some(saved) => saved.clone(),
                None => {
                    let read = |a: &Arg| {
                        Val::Tensor(match *a {
                            Arg::Input(u) => inputs[u].clone(),
                            Arg::Local(l) => vals[l].clone(),
                        })
                    };
                    ins.forward(&ins.args.iter().map(read).collect::<SmallVec<[Val<'_, T>; 2]>>())?
                }
            };
            vals.push(v);
        }
        Ok(self.outputs.iter().map(|&o| vals[o].clone()).collect())
    }

    /// How many outputs the region has.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs.len()
    }

    /// [`Region::backward`], and the whole gradient of each output: from
    /// outside the region and through the region's other outputs (what a
    /// gradient with respect to an output variable is).
    pub(crate) fn backward_with_totals<'t>(&self, cx: &Backward<'_, 't, T>) -> Result<WithTotals<'t, T>> {
        let vals = self.recompute(cx)?;
        let mut adj: Vec<Adjoint<'t, T>> = (0..self.instrs.len()).map(|_| Adjoint::default()).collect();
        if cx.outputs.is_empty() {
            accumulate(&mut adj[self.outputs[0]].dense, cx.grad.clone());
        }
        for (&o, g) in self.outputs.iter().zip(cx.outputs) {
            if let Some(g) = g {
                accumulate(&mut adj[o].dense, g.clone());
            }
        }
        let mut out: Contributions<'t, T> = (0..cx.inputs.len()).map(|_| None).collect();
        let mut totals = vec![None; self.outputs.len()];
        for (j, ins) in self.instrs.iter().enumerate().rev() {
            let Some(g) = adj[j].take(&ins.shape)? else { continue };
            for (k, _) in self.outputs.iter().enumerate().filter(|&(_, &o)| o == j) {
                totals[k] = Some(g.clone());
            }
            let args: SmallVec<[Val<'t, T>; 2]> = ins.args.iter().map(|&a| self.arg(a, cx, &vals)).collect();
            let wants: SmallVec<[bool; 2]> =
                ins.args.iter().map(|&a| matches!(a, Arg::Local(_)) || matches!(a, Arg::Input(u) if cx.wants[u])).collect();
            let shapes: SmallVec<[Shape; 2]> = args.iter().map(Val::shape).collect();
            let rule = Backward {
                inputs: &args,
                shapes: &shapes,
                output: &vals[j],
                grad: &g,
                wants: &wants,
                first_order: cx.first_order,
                anomaly: cx.anomaly,
                outputs: &[],
            };
            for ((&a, x), c) in ins.args.iter().zip(&args).zip(ins.op.backward(&rule)?) {
                let Some(c) = c else { continue };
                if cx.anomaly {
                    ins.check_finite(&c)?;
                }
                match a {
                    Arg::Input(u) => out[u] = cx.wants[u].then_some(c),
                    Arg::Local(l) => adj[l].add(c, &x.shape())?,
                }
            }
        }
        Ok((out, totals))
    }

    /// The value operand `a` reads.
    fn arg<'t>(&self, a: Arg, cx: &Backward<'_, 't, T>, vals: &[Val<'t, T>]) -> Val<'t, T> {
        match a {
            Arg::Input(u) => cx.inputs[u].clone(),
            Arg::Local(l) => vals[l].clone(),
        }
    }

    /// Every op's value, recomputed from the inputs with the forward
    /// kernels (so equal to the values first computed): plain tensors in a
    /// first-order sweep, ordinary recorded ops when a gradient graph is
    /// built (the fall-back that makes second derivatives work).
    fn recompute<'t>(&self, cx: &Backward<'_, 't, T>) -> Result<Vec<Val<'t, T>>> {
        let mut vals: Vec<Val<'t, T>> = Vec::with_capacity(self.instrs.len());
        for ins in &self.instrs {
            let args: SmallVec<[Val<'t, T>; 2]> = ins.args.iter().map(|&a| self.arg(a, cx, &vals)).collect();
            let v = if let (true, Some(saved)) = (cx.first_order, &ins.saved) {
                Val::Tensor(saved.clone())
            } else if cx.first_order {
                Val::Tensor(ins.forward(&args)?)
            } else {
                let vars: SmallVec<[Var<'t, T>; 2]> =
                    args.iter().map(|v| v.as_var().expect("a graph-building sweep sees variables")).collect();
                Val::Var(ins.replay(&vars)?)
            };
            vals.push(v);
        }
        Ok(vals)
    }
}

impl<T: Scalar> Instr<T> {
    /// The op's forward kernel on tensors.
    fn forward<'t>(&self, args: &[Val<'t, T>]) -> Result<Tensor<T>> {
        let x = |k: usize| args[k].value();
        Ok(match &self.op {
            Op::Unary(u) => u.forward(&x(0)),
            Op::Binary(b) => b.forward(&x(0), &x(1))?,
            Op::Select(s) => s.forward(&x(0), &x(1))?,
            Op::Shape(ShapeOp::Narrow { axis, start }) => x(0).try_narrow(*axis, *start, self.shape[*axis])?,
            op => unreachable!("{} is not recorded in a fused region", op.name()),
        })
    }

    /// The op recorded on the tape as an ordinary node.
    #[track_caller]
    fn replay<'t>(&self, x: &[Var<'t, T>]) -> Result<Var<'t, T>> {
        match &self.op {
            Op::Unary(u) => Ok(x[0].unary(*u)),
            Op::Binary(b) => x[0].binary(*b, x[1]),
            Op::Select(s) => s.replay(x[0], x[1]),
            Op::Shape(ShapeOp::Narrow { axis, start }) => x[0].try_narrow(*axis, *start, self.shape[*axis]),
            op => unreachable!("{} is not recorded in a fused region", op.name()),
        }
    }

    /// Anomaly mode: an error naming this op and its call site unless the
    /// gradient it sends is finite.
    fn check_finite<'t>(&self, c: &Contribution<'t, T>) -> Result<()> {
        let g = match c {
            Contribution::Dense(v) | Contribution::Output { grad: v, .. } => v.value(),
            Contribution::Slice { grad, .. } => grad.clone(),
            Contribution::Deferred { x, y } => x.t().matmul(y),
        };
        if g.all_finite() {
            return Ok(());
        }
        Err(AutodiffError::NonFinite {
            op: self.op.name(),
            phase: "backward",
            shape: Shape::from_slice(g.shape()),
            location: self.location.to_string(),
        })
    }
}

/// The gradient of a value inside the region as it is being added up, as
/// the sweep adds up a node's: dense parts summed, narrow slices kept as
/// pieces (one concatenation when they tile the value).
struct Adjoint<'t, T: Scalar> {
    dense: Option<Val<'t, T>>,
    pieces: Option<Pieces<T>>,
}

impl<T: Scalar> Default for Adjoint<'_, T> {
    fn default() -> Self {
        Adjoint { dense: None, pieces: None }
    }
}

impl<'t, T: Scalar> Adjoint<'t, T> {
    /// Adds a contribution to the value of `shape`: summed over broadcast
    /// axes if dense, kept as a piece if a slice.
    fn add(&mut self, c: Contribution<'t, T>, shape: &Shape) -> Result<()> {
        let g = match c {
            Contribution::Dense(v) | Contribution::Output { grad: v, .. } => v,
            Contribution::Deferred { x, y } => Val::Tensor(x.t().matmul(&y)),
            Contribution::Slice { axis, start, grad } => {
                if self.pieces.as_ref().is_some_and(|p| p.axis() != axis) {
                    self.gather(shape)?;
                }
                let parts = self.pieces.get_or_insert_with(|| Pieces::new(axis));
                parts.push(start, grad);
                if parts.elements() >= shape.iter().product::<usize>() {
                    self.gather(shape)?;
                }
                return Ok(());
            }
        };
        accumulate(&mut self.dense, if &g.shape() == shape { g } else { g.sum_to(shape) });
        Ok(())
    }

    /// Adds the pieces into the dense part.
    fn gather(&mut self, shape: &Shape) -> Result<()> {
        if let Some(parts) = self.pieces.take() {
            let acc = self.dense.take().map(|g| g.value());
            self.dense = Some(Val::Tensor(parts.into_gradient(shape, acc)?));
        }
        Ok(())
    }

    /// The whole gradient, if any reached the value.
    fn take(&mut self, shape: &Shape) -> Result<Option<Val<'t, T>>> {
        self.gather(shape)?;
        Ok(self.dense.take())
    }
}
