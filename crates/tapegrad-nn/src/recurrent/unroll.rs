//! Unrolling a cell over a sequence: one direction, optional lengths.
//!
//! With per-sequence lengths the batch is ordered longest first (internally;
//! the caller's order is restored on output) and step `t` runs the cell only
//! on the sequences still going, so work is proportional to real steps, as
//! with PyTorch's packed sequences but without asking the caller to sort.
//! Finished sequences keep their state, so the final state of each is taken
//! at its own last step, and their outputs are zero afterwards.

use smallvec::SmallVec;
use tapegrad_autodiff::{Tape, Var};
use tapegrad_tensor::{Scalar, Shape, Tensor};

use super::segments::Plan;
use crate::{Binding, Cell, NnError, Result, State};

/// Every step of one unrolled direction.
#[derive(Debug, Clone)]
pub struct Sequence<'t, T: Scalar, S> {
    /// Outputs, `(T, B, H)` time-major, zero at padded steps.
    pub output: Var<'t, T>,
    /// The final state of each sequence (at its own length), batch in the
    /// caller's order.
    pub last: S,
    /// State after each step, batch in internal order (see
    /// [`Sequence::state_at`]).
    steps: Vec<S>,
    /// Internal-to-caller batch order, if the batch was reordered.
    inverse: Option<Vec<usize>>,
}

impl<'t, T: Scalar, S: State<'t, T>> Sequence<'t, T, S> {
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }
    /// Whether there are no steps (never: empty sequences are rejected).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
    /// The state after processing step `k` of this direction (for a
    /// reversed direction, `k` counts steps in processing order, i.e. from
    /// each sequence's end), batch in the caller's order. For a sequence
    /// already finished at `k`, its final state.
    ///
    /// # Errors
    /// [`NnError::StepOutOfRange`] if `k` is past the last step.
    pub fn state_at(&self, k: usize) -> Result<S> {
        let s = self.steps.get(k).ok_or(NnError::StepOutOfRange { op: "state_at", step: k, steps: self.steps.len() })?;
        match &self.inverse {
            None => Ok(s.clone()),
            Some(inv) => s.map(|v| Ok(v.try_index_select(0, inv)?)),
        }
    }
}

/// Checks an input, `(T, B, I)` or (`batch_first`) `(B, T, I)`, as the
/// caller passed it, and the lengths, against a cell; errors show that
/// shape and index elements in that layout.
pub(crate) fn validate<T: Scalar>(
    op: &'static str,
    x: &Tensor<T>,
    input_size: usize,
    lengths: Option<&[usize]>,
    batch_first: bool,
) -> Result<()> {
    let s = x.shape();
    if s.len() != 3 || s[2] != input_size {
        let layout = if batch_first { "B, T" } else { "T, B" };
        return Err(NnError::InputShape { op, expected: format!("({layout}, {input_size})"), got: Shape::from_slice(s) });
    }
    let (steps, batch) = if batch_first { (s[1], s[0]) } else { (s[0], s[1]) };
    if steps == 0 {
        return Err(NnError::Empty { op, what: "the sequence", shape: Shape::from_slice(s) });
    }
    if batch == 0 {
        return Err(NnError::Empty { op, what: "the batch", shape: Shape::from_slice(s) });
    }
    if let Some(index) = x.data().iter().position(|v| !v.is_finite()) {
        return Err(NnError::NonFinite { op, shape: Shape::from_slice(s), index });
    }
    crate::sequence::check_lengths(op, lengths, steps, batch)?;
    Ok(())
}

/// Where a cell runs in a layer, for messages: `layer 1 (reverse)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// The layer, from 0.
    pub(crate) layer: usize,
    /// Whether this is the reverse direction.
    pub(crate) reverse: bool,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "layer {} ({})", self.layer, if self.reverse { "reverse" } else { "forward" })
    }
}

/// Checks every part of a state against the shapes its cell declares
/// ([`Cell::state_shapes`]); `what` describes the state (`the initial
/// state of layer 0 (forward)`) and is prefixed with `part k of n of`
/// for a state of several parts.
pub(crate) fn check_state<'t, T: Scalar, S: State<'t, T>>(
    op: &'static str,
    state: &S,
    expected: &[Shape],
    what: impl Fn() -> String,
) -> Result<()> {
    let parts = state.parts();
    if parts.len() != expected.len() {
        return Err(NnError::Config { op, message: format!("{} has {} parts, the cell's state {}", what(), parts.len(), expected.len()) });
    }
    for (k, (p, want)) in parts.iter().zip(expected).enumerate() {
        let got = p.shape();
        if &got != want {
            let what = if parts.len() == 1 { what() } else { format!("part {k} of {} of {}", parts.len(), what()) };
            return Err(NnError::StateShape { op, what: what.into(), expected: want.clone(), got });
        }
    }
    Ok(())
}

/// A type's name without module paths, for messages:
/// `tapegrad_nn::lstm_cell::LstmCell<f64>` becomes `LstmCell<f64>`.
fn short_type_name<C: ?Sized>() -> String {
    let full = std::any::type_name::<C>();
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for ch in full.chars().chain(std::iter::once(' ')) {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            word.push(ch);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            out.push(ch);
        }
    }
    out.pop();
    out
}

/// Row index that reverses each sequence within its own length in a
/// `(T·B)`-row view of a time-major tensor; padding rows stay in place.
/// It is its own inverse.
pub(crate) fn reverse_index(steps: usize, batch: usize, lengths: Option<&[usize]>) -> Vec<usize> {
    let mut idx = Vec::with_capacity(steps * batch);
    for t in 0..steps {
        for b in 0..batch {
            let len = lengths.map_or(steps, |l| l[b]);
            idx.push(if t < len { (len - 1 - t) * batch + b } else { t * batch + b });
        }
    }
    idx
}

/// Reverses a `(T, B, F)` variable along time within each sequence's length.
pub(crate) fn reverse_time<'t, T: Scalar>(x: Var<'t, T>, lengths: Option<&[usize]>) -> Result<Var<'t, T>> {
    let s = x.shape();
    let (steps, batch, f) = (s[0], s[1], s[2]);
    let idx = reverse_index(steps, batch, lengths);
    Ok(x.try_reshape(&[steps * batch, f])?.try_index_select(0, &idx)?.try_reshape(&[steps, batch, f])?)
}

/// The batch order that puts the longest sequences first (stable), so
/// step t runs on rows `0..active(t)`: the order, the lengths in it, and
/// the inverse permutation if it is not the identity.
fn longest_first(steps: usize, batch: usize, lengths: Option<&[usize]>) -> (Vec<usize>, Vec<usize>, Option<Vec<usize>>) {
    let mut order: Vec<usize> = (0..batch).collect();
    let Some(l) = lengths else {
        return (order, vec![steps; batch], None);
    };
    order.sort_by_key(|&b| std::cmp::Reverse(l[b]));
    let lens = order.iter().map(|&b| l[b]).collect();
    if order.iter().enumerate().all(|(i, &b)| i == b) {
        return (order, lens, None);
    }
    let mut inv = vec![0; batch];
    for (i, &b) in order.iter().enumerate() {
        inv[b] = i;
    }
    (order, lens, Some(inv))
}

/// Step `t` of `cell` (from its projected input if `projected`), the
/// state it returns checked against `expected` (the shapes for the whole
/// batch) for the rows that ran.
fn checked_step<'t, T: Scalar, C: Cell<T>>(
    cell: &C,
    bind: &Binding<'t, T>,
    (t, at): (usize, Place),
    xt: Var<'t, T>,
    st: &C::State<'t>,
    expected: &[Shape],
) -> Result<C::State<'t>> {
    let rows = xt.shape()[0];
    let new = cell.step(bind, xt, st)?;
    let what = || format!("the state returned by step {t} of cell `{}` in {at}", short_type_name::<C>());
    if expected.iter().all(|e| e.first() == Some(&rows)) {
        check_state("Rnn::forward", &new, expected, what)
    } else {
        // Only the sequences still running took this step.
        let head: Vec<Shape> =
            expected.iter().map(|e| e.iter().enumerate().map(|(a, &d)| if a == 0 { rows } else { d }).collect()).collect();
        check_state("Rnn::forward", &new, &head, what)
    }?;
    Ok(new)
}

/// Runs `cell` over a validated time-major input `x` from `init` (or
/// zeros), an initial state already checked against the cell's
/// [`Cell::state_shapes`], in the segments of `plan` (each projecting its
/// steps' inputs at once; checkpointed if the plan says so). Reversal, if
/// wanted, is done by the caller on `x` and on the output. The state each
/// step returns is checked against those shapes too (for the rows that
/// ran), so a cell's shape bug is named where it happens, as
/// [`NnError::StateShape`] naming the cell, the step and `at`.
pub(crate) fn unroll<'t, T: Scalar, C: Cell<T>>(
    cell: &C,
    bind: &Binding<'t, T>,
    x: Var<'t, T>,
    init: Option<&C::State<'t>>,
    (lengths, plan): (Option<&[usize]>, Plan),
    at: Place,
) -> Result<Sequence<'t, T, C::State<'t>>> {
    let s = x.shape();
    let (steps, batch) = (s[0], s[1]);
    let tape = bind.tape();
    let init = match init {
        Some(st) => st.clone(),
        None => cell.zero_state(tape, batch),
    };
    let (order, lens, inverse) = longest_first(steps, batch, lengths);
    let (x, mut state) = match inverse {
        Some(_) => (x.try_index_select(1, &order)?, init.map(|v| Ok(v.try_index_select(0, &order)?))?),
        None => (x, init),
    };
    let run = Run { cell, bind, x, lens: &lens, at, expected: cell.state_shapes(batch) };
    let mut outputs = Vec::new();
    let mut states = Vec::with_capacity(steps);
    // Restores the caller's step however the loop ends (an error returned
    // by `?` from a cell included), so later ops are not filed under a
    // step of this layer.
    let _restore = RestoreStep(tape, tape.current_step());
    for range in plan.ranges(steps, lens[0]) {
        // Checkpointed, only the segment's outputs and last state keep
        // their values.
        let (out, parts) = plan.run(tape, || run.segment(range, &state, &mut states))?;
        state = C::State::from_parts(&parts);
        outputs.extend(out);
    }
    drop(_restore);
    // The steps' outputs become windows of this one buffer.
    let mut output = Var::try_stack(&outputs, 0)?;
    let mut last = state;
    if let Some(inv) = &inverse {
        output = output.try_index_select(1, inv)?;
        last = last.map(|v| Ok(v.try_index_select(0, inv)?))?;
    }
    Ok(Sequence { output, last, steps: states, inverse })
}

/// A segment's outputs, one `(B, H)` per step, and its last state's parts.
type SegmentOut<'t, T> = (Vec<Var<'t, T>>, Vec<Var<'t, T>>);

/// One direction's unrolling: the cell, its input `(T, B, I)` with the
/// batch longest first, the lengths in that order, and the state shapes
/// the cell declares.
struct Run<'a, 't, T: Scalar, C> {
    cell: &'a C,
    bind: &'a Binding<'t, T>,
    x: Var<'t, T>,
    lens: &'a [usize],
    at: Place,
    expected: Vec<Shape>,
}

impl<'t, T: Scalar, C: Cell<T>> Run<'_, 't, T, C> {
    /// Steps `range` from `state`: the input-only part of every step at
    /// once (one product), then each step's rows of it. Returns the
    /// segment's outputs (each `(B, H)`) and the parts of its last state;
    /// the state after each step is pushed onto `states`.
    fn segment(&self, range: std::ops::Range<usize>, state: &C::State<'t>, states: &mut Vec<C::State<'t>>) -> Result<SegmentOut<'t, T>> {
        let (tape, s) = (self.bind.tape(), self.x.shape());
        let (a, len, batch) = (range.start, range.len(), s[1]);
        let hidden = self.cell.hidden_size();
        let inputs = self.x.try_narrow(0, a, len)?.try_reshape(&[len * batch, s[2]])?;
        let projected = self.cell.project(self.bind, inputs)?;
        let input_at = |t: usize, rows: usize| -> Result<Var<'t, T>> { Ok(projected.try_narrow(0, (t - a) * batch, rows)?) };
        let step = |t: usize, xt: Var<'t, T>, st: &C::State<'t>| checked_step(self.cell, self.bind, (t, self.at), xt, st, &self.expected);
        let mut state = state.clone();
        let mut outputs = Vec::with_capacity(len);
        for t in range {
            tape.set_step(Some(t));
            let active = self.lens.iter().take_while(|&&n| n > t).count();
            if active == 0 {
                // Every sequence has ended: nothing to compute.
                outputs.push(tape.constant(Tensor::zeros(&[batch, hidden])));
            } else if active == batch {
                state = step(t, input_at(t, batch)?, &state)?;
                outputs.push(state.output());
            } else {
                let xt = input_at(t, active)?;
                let old = state.parts();
                let head = state.map(|v| Ok(v.try_narrow(0, 0, active)?))?;
                let new = step(t, xt, &head)?;
                let zeros = tape.constant(Tensor::zeros(&[batch - active, hidden]));
                outputs.push(Var::try_concat(&[new.output(), zeros], 0)?);
                let parts: SmallVec<[Var<'t, T>; 2]> = new
                    .parts()
                    .into_iter()
                    .zip(old)
                    .map(|(n, o)| Ok(Var::try_concat(&[n, o.try_narrow(0, active, batch - active)?], 0)?))
                    .collect::<Result<_>>()?;
                state = C::State::from_parts(&parts);
            }
            states.push(state.clone());
        }
        Ok((outputs, state.parts().into_vec()))
    }
}

/// Per-sequence lengths from a `(T, B)` mask of ones (real steps) followed
/// by zeros (padding), for callers who carry masks rather than lengths.
///
/// ```
/// use tapegrad_nn::lengths_from_mask;
/// use tapegrad_tensor::Tensor;
/// let mask = Tensor::from_vec(vec![1.0f32, 1.0, 1.0, 0.0, 0.0, 0.0], &[3, 2]); // (T, B)
/// assert_eq!(lengths_from_mask(&mask).unwrap(), vec![2, 1]);
/// let holey = Tensor::from_vec(vec![0.0f32, 1.0], &[2, 1]);
/// assert!(lengths_from_mask(&holey).is_err());
/// ```
///
/// # Errors
/// [`NnError::InputShape`] if the mask is not 2-D; [`NnError::Lengths`] if
/// a column has a one after a zero or is all zeros, or holds other values.
pub fn lengths_from_mask<T: Scalar>(mask: &Tensor<T>) -> Result<Vec<usize>> {
    const OP: &str = "lengths_from_mask";
    let s = mask.shape();
    if s.len() != 2 {
        return Err(NnError::InputShape { op: OP, expected: "(T, B)".into(), got: Shape::from_slice(s) });
    }
    let (steps, batch) = (s[0], s[1]);
    let mut lengths = vec![0; batch];
    for (b, len) in lengths.iter_mut().enumerate() {
        let col: Vec<T> = (0..steps).map(|t| mask.data()[t * batch + b]).collect();
        if col.iter().any(|&v| v != T::zero() && v != T::one()) {
            return Err(NnError::Lengths { op: OP, lengths: vec![], steps, batch, why: "the mask holds values other than 0 and 1" });
        }
        *len = col.iter().take_while(|&&v| v == T::one()).count();
        if col[*len..].iter().any(|&v| v == T::one()) {
            return Err(NnError::Lengths {
                op: OP,
                lengths: vec![],
                steps,
                batch,
                why: "a real step follows padding; masks must be ones then zeros",
            });
        }
    }
    if lengths.contains(&0) {
        return Err(NnError::Lengths { op: OP, lengths, steps, batch, why: "a sequence of length zero" });
    }
    Ok(lengths)
}

/// Sets a tape's current step back to what it was when dropped.
struct RestoreStep<'t, T: Scalar>(&'t Tape<T>, Option<usize>);

impl<T: Scalar> Drop for RestoreStep<'_, T> {
    fn drop(&mut self) {
        self.0.set_step(self.1);
    }
}
