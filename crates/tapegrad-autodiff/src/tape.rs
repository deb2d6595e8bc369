//! The tape (a Wengert list) and the variable handles that record onto it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::checkpoint::Span;
use crate::ops::fused::{Builder, Fusion, LOCAL};
use crate::ops::Op;
use crate::{AutodiffError, Result};

pub(crate) struct Node<T: Scalar> {
    pub(crate) value: Tensor<T>,
    pub(crate) op: Op<T>,
    pub(crate) parents: SmallVec<[u32; 2]>,
    pub(crate) requires_grad: bool,
    pub(crate) location: &'static Location<'static>,
    /// The time step that was current when the node was recorded
    /// ([`Tape::set_step`]), or `u32::MAX` for none.
    pub(crate) step: u32,
    /// The value's shape once a checkpoint has dropped the value (empty
    /// before): read it with [`Node::shape`].
    pub(crate) shape: Shape,
    /// Whether `value` is only a placeholder: a checkpoint dropped it, and
    /// it is recomputed from the parents when read (see `checkpoint.rs`).
    pub(crate) released: bool,
}

impl<T: Scalar> Node<T> {
    /// The value's shape, whether or not the value was dropped.
    pub(crate) fn shape(&self) -> &[usize] {
        if self.released {
            &self.shape
        } else {
            self.value.shape()
        }
    }
}

pub(crate) struct Inner<T: Scalar> {
    pub(crate) nodes: Vec<Node<T>>,
    pub(crate) names: HashMap<u32, String>,
    /// The checkpointed spans, in tape order ([`Tape::checkpoint`]).
    pub(crate) spans: Vec<Span>,
}

/// A tape: the list of every differentiable op run since it was made, in
/// order. Variables ([`Var`]) are indices into it.
///
/// Make one tape per forward pass (per training step). Parameters live
/// outside as tensors and enter each tape as leaves, so gradients never leak
/// from one step into the next and no `zero_grad` is needed.
///
/// One reverse sweep ([`Tape::backward`]) visits every recorded op once, in
/// reverse, summing the gradients of values used more than once: a weight
/// shared by every time step of an unrolled recurrence receives the sum of
/// its per-step gradients, which is backpropagation through time.
///
/// ```
/// use tapegrad_autodiff::{Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
/// let y = (x * x).sum_all(); // y = Σ x²
/// let grads = tape.backward(y).unwrap();
/// assert_eq!(grads.get(x).unwrap().data(), &[2.0, 4.0]);
/// ```
pub struct Tape<T: Scalar> {
    /// This tape's identity, unique in the process (see [`next_tape_id`]);
    /// renewed by [`Tape::clear`], which reuses node indices.
    id: Cell<u64>,
    pub(crate) inner: RefCell<Inner<T>>,
    grad_enabled: Cell<bool>,
    pub(crate) anomaly: Cell<bool>,
    step: Cell<u32>,
    /// Whether marked regions are fused ([`Tape::set_fusion`]).
    pub(crate) fusion: Cell<Fusion>,
    /// The fused region being recorded, if any ([`Tape::fused`]).
    pub(crate) region: RefCell<Option<Builder<T>>>,
    /// How many values every region of this tape has held so far: the
    /// index of the next region's first local variable.
    pub(crate) local_base: Cell<u32>,
    /// Whether a [`Tape::checkpoint`] closure is running.
    pub(crate) checkpointing: Cell<bool>,
}

impl<T: Scalar> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tape<{}>({} nodes)", T::NAME, self.len())
    }
}

impl<T: Scalar> Tape<T> {
    /// An empty tape.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty tape with room for `nodes` records before it reallocates.
    pub fn with_capacity(nodes: usize) -> Self {
        Tape {
            id: Cell::new(next_tape_id()),
            inner: RefCell::new(Inner { nodes: Vec::with_capacity(nodes), names: HashMap::new(), spans: Vec::new() }),
            checkpointing: Cell::new(false),
            grad_enabled: Cell::new(true),
            anomaly: Cell::new(false),
            step: Cell::new(u32::MAX),
            fusion: Cell::new(Fusion::from_env()),
            region: RefCell::new(None),
            local_base: Cell::new(0),
        }
    }

    /// Number of recorded nodes (leaves, constants and ops).
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every node, keeping the allocation. Needs `&mut self`, so no
    /// variable of this tape can still be alive. The tape then counts as a
    /// new one: [`crate::Gradients`] computed before refuse its new
    /// variables (whose indices restart at 0) with
    /// [`AutodiffError::TapeMismatch`].
    ///
    /// ```
    /// use tapegrad_autodiff::{AutodiffError, Tape, Tensor};
    /// let mut tape = Tape::<f64>::new();
    /// let old = { let w = tape.leaf(Tensor::scalar(3.0)); tape.backward(w * w).unwrap() };
    /// tape.clear();
    /// let w = tape.leaf(Tensor::scalar(5.0)); // index 0 again
    /// assert!(matches!(old.get(w), Err(AutodiffError::TapeMismatch { .. })));
    /// ```
    pub fn clear(&mut self) {
        let inner = self.inner.get_mut();
        inner.nodes.clear();
        inner.names.clear();
        inner.spans.clear();
        self.id.set(next_tape_id());
    }

    /// This tape's identity: unique among the tapes of the process, and
    /// renewed by [`Tape::clear`]. Two variables, or a variable and a
    /// [`crate::Gradients`], belong together only if their ids agree; an
    /// address would not do, as the tape of the next training step often
    /// lives where the last one did.
    pub(crate) fn id(&self) -> u64 {
        self.id.get()
    }

    /// A leaf that requires grad: a parameter or an input to differentiate
    /// with respect to.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f32>::new();
    /// let w = tape.leaf(Tensor::ones(&[2, 2]));
    /// assert!(w.requires_grad());
    /// ```
    #[track_caller]
    pub fn leaf(&self, value: Tensor<T>) -> Var<'_, T> {
        let rg = self.grad_enabled.get();
        self.push(value, if rg { Op::Leaf } else { Op::Constant }, SmallVec::new(), rg)
    }

    /// A named leaf; the name appears in error messages, gradcheck reports
    /// and graph exports.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let w = tape.leaf_named("w", Tensor::ones(&[1]));
    /// assert_eq!(w.name().as_deref(), Some("w"));
    /// ```
    #[track_caller]
    pub fn leaf_named(&self, name: &str, value: Tensor<T>) -> Var<'_, T> {
        let v = self.leaf(value);
        v.set_name(name);
        v
    }

    /// A constant: recorded, readable, never differentiated.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let c = tape.constant(Tensor::scalar(3.0));
    /// assert!(!c.requires_grad());
    /// ```
    #[track_caller]
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push(value, Op::Constant, SmallVec::new(), false)
    }

    /// A scalar constant, shape `[]`.
    #[track_caller]
    pub fn scalar(&self, value: T) -> Var<'_, T> {
        self.constant(Tensor::scalar(value))
    }

    /// Runs `f` with recording switched off: every value made inside is a
    /// constant. Nests; restores the previous mode even if `f` panics.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::ones(&[2]));
    /// let y = tape.no_grad(|| x.exp());
    /// assert!(!y.requires_grad());
    /// ```
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<bool>, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.grad_enabled, self.grad_enabled.replace(false));
        f()
    }

    /// Whether ops are being recorded for differentiation (false inside
    /// [`Tape::no_grad`]).
    pub fn is_grad_enabled(&self) -> bool {
        self.grad_enabled.get()
    }

    /// Records a node. Ops whose parents need no gradient become constants
    /// with no parents, so neither they nor their inputs cost anything in
    /// the reverse sweep.
    #[track_caller]
    pub(crate) fn push(&self, value: Tensor<T>, op: Op<T>, parents: SmallVec<[u32; 2]>, requires_grad: bool) -> Var<'_, T> {
        let location = Location::caller();
        let mut inner = self.inner.borrow_mut();
        let id = u32::try_from(inner.nodes.len()).ok().filter(|&id| id < LOCAL).expect("tape: more than 2^31 nodes");
        let (op, parents) = if requires_grad { (op, parents) } else { (Op::Constant, SmallVec::new()) };
        inner.nodes.push(Node { value, op, parents, requires_grad, location, step: self.step.get(), shape: Shape::new(), released: false });
        Var { tape: self, id }
    }

    /// Records the result of an op on `inputs` (already checked to share
    /// this tape). Applies anomaly detection when enabled.
    #[track_caller]
    pub(crate) fn record(&self, value: Tensor<T>, op: Op<T>, inputs: &[Var<'_, T>]) -> Result<Var<'_, T>> {
        if self.anomaly.get() && !value.all_finite() {
            return Err(AutodiffError::NonFinite {
                op: op.name(),
                phase: "forward",
                shape: Shape::from_slice(value.shape()),
                location: Location::caller().to_string(),
            });
        }
        let rg = self.grad_enabled.get() && inputs.iter().any(|v| v.requires_grad());
        // Inside a fused region, an elementwise op is kept in the region.
        // (With no gradient wanted, the value is a constant either way.)
        if rg {
            if let Some(id) = self.record_local(&value, &op, inputs, Location::caller())? {
                return Ok(Var { tape: self, id });
            }
        }
        Ok(self.push(value, op, inputs.iter().map(|v| v.id).collect(), rg))
    }

    #[track_caller]
    pub(crate) fn value_of(&self, id: u32) -> Tensor<T> {
        if id & LOCAL != 0 {
            return self.local_value(id);
        }
        let inner = self.inner.borrow();
        let node = &inner.nodes[id as usize];
        if !node.released {
            return node.value.clone();
        }
        drop(inner);
        self.recomputed_value(id)
    }

    pub(crate) fn describe(&self, id: u32) -> String {
        if id & LOCAL != 0 {
            return self.describe_local(id);
        }
        let inner = self.inner.borrow();
        match inner.names.get(&id) {
            Some(n) => format!("`{n}` (node {id})"),
            None => {
                let node = &inner.nodes[id as usize];
                format!("node {id} ({} of shape {:?}, recorded at {})", node.op.name(), node.shape(), node.location)
            }
        }
    }

    /// Marks the nodes recorded from now on as belonging to time step
    /// `step` (`None`: to no step). Recurrent layers call this before each
    /// step, so tools that read the tape (graph exports, per-step gradient
    /// norms) can group the unrolled graph by time.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// tape.set_step(Some(3));
    /// let x = tape.leaf(Tensor::scalar(1.0)).exp();
    /// assert_eq!(tape.step_of(x), Some(3));
    /// tape.set_step(None);
    /// assert_eq!(tape.step_of(x.exp()), None);
    /// ```
    pub fn set_step(&self, step: Option<usize>) {
        self.step.set(step.map_or(u32::MAX, |s| s.min(u32::MAX as usize - 1) as u32));
    }

    /// The time step current when `v` was recorded (see [`Tape::set_step`]).
    pub fn step_of(&self, v: Var<'_, T>) -> Option<usize> {
        if v.id & LOCAL != 0 {
            return self.current_step();
        }
        let s = self.inner.borrow().nodes[v.id as usize].step;
        (s != u32::MAX).then_some(s as usize)
    }

    /// The step currently being recorded (see [`Tape::set_step`]).
    pub fn current_step(&self) -> Option<usize> {
        let s = self.step.get();
        (s != u32::MAX).then_some(s as usize)
    }

    /// Switches anomaly detection on or off: when on, the first op whose
    /// output (forward) or gradient (backward) holds a NaN or infinity is
    /// reported by op name, shape and call site, as
    /// [`AutodiffError::NonFinite`], by its `try_` form (the plain form
    /// panics with that message).
    pub fn set_anomaly_detection(&self, on: bool) {
        self.anomaly.set(on);
    }
}

/// The next tape identity: a process-wide counter (64 bits: at a billion
/// tapes a second it would take 584 years to wrap).
fn next_tape_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A value on a tape: a cheap `Copy` handle (a tape reference and an index).
///
/// Ops on variables compute their value at once and record themselves, so
/// user code reads like the math: `(x.matmul(w) + b).tanh()`.
///
/// ```
/// use tapegrad_autodiff::{Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]));
/// let w = tape.leaf(Tensor::from_vec(vec![0.5, -1.0], &[2, 1]));
/// let b = tape.leaf(Tensor::from_vec(vec![0.25], &[1]));
/// let y = (x.matmul(w) + b).tanh();
/// assert_eq!(y.shape().as_slice(), &[1, 1]);
/// ```
pub struct Var<'t, T: Scalar> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) id: u32,
}

impl<T: Scalar> Clone for Var<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Scalar> Copy for Var<'_, T> {}

impl<T: Scalar> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var({}, {:?})", self.tape.describe(self.id), self.value())
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// The tape this variable lives on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// Its index on the tape (stable; useful in reports).
    pub fn index(&self) -> usize {
        self.id as usize
    }

    /// Its value (a cheap clone sharing the buffer).
    ///
    /// # Panics
    /// If it was made inside a fused region that has ended without
    /// returning it ([`Tape::fused`]).
    #[track_caller]
    pub fn value(&self) -> Tensor<T> {
        self.tape.value_of(self.id)
    }

    /// Its shape.
    ///
    /// # Panics
    /// As [`Var::value`].
    #[track_caller]
    pub fn shape(&self) -> Shape {
        if self.id & LOCAL != 0 {
            return Shape::from_slice(self.value().shape());
        }
        Shape::from_slice(self.tape.inner.borrow().nodes[self.id as usize].shape())
    }

    /// Whether gradients flow into it (a leaf, or computed from one; a
    /// value made inside a fused region always is).
    pub fn requires_grad(&self) -> bool {
        self.id & LOCAL != 0 || self.tape.inner.borrow().nodes[self.id as usize].requires_grad
    }

    /// Gives the variable a name for reports and messages.
    pub fn set_name(&self, name: &str) {
        self.tape.inner.borrow_mut().names.insert(self.id, name.to_string());
    }

    /// Its name, if one was given.
    pub fn name(&self) -> Option<String> {
        self.tape.inner.borrow().names.get(&self.id).cloned()
    }

    /// The same value as a constant: gradients stop here. This is how
    /// truncated BPTT cuts the graph between chunks.
    ///
    /// ```
    /// use tapegrad_autodiff::{Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.leaf(Tensor::scalar(2.0));
    /// let y = x * x.detach(); // d/dx = x.detach() = 2, not 2x = 4
    /// assert_eq!(tape.backward(y).unwrap().get(x).unwrap().item(), 2.0);
    /// ```
    #[track_caller]
    pub fn detach(self) -> Self {
        self.tape.constant(self.value())
    }

    /// Checks that `other` is on the same tape.
    /// Also checks that neither is a fused region's value that has
    /// outlived its region.
    #[track_caller]
    pub(crate) fn same_tape(&self, op: &'static str, other: &Var<'_, T>) -> Result<()> {
        if self.tape.id() != other.tape.id() {
            return Err(AutodiffError::TapeMismatch { op });
        }
        self.tape.check_alive(self.id, op)?;
        self.tape.check_alive(other.id, op)
    }
}
