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
    /// [`NnError::Config`] if `k` is past the last step.
    pub fn state_at(&self, k: usize) -> Result<S> {
        let s = self
            .steps
            .get(k)
            .ok_or_else(|| NnError::Config { op: "state_at", message: format!("step {k} of a {}-step sequence", self.steps.len()) })?;
        match &self.inverse {
            None => Ok(s.clone()),
            Some(inv) => s.map(|v| Ok(v.try_index_select(0, inv)?)),
        }
    }
}

/// Checks a time-major `(T, B, I)` input and the lengths against a cell.
pub(crate) fn validate<T: Scalar>(op: &'static str, x: &Tensor<T>, input_size: usize, lengths: Option<&[usize]>) -> Result<()> {
    let s = x.shape();
    if s.len() != 3 || s[2] != input_size {
        return Err(NnError::InputShape { op, expected: format!("(T, B, {input_size})"), got: Shape::from_slice(s) });
    }
    if s[0] == 0 {
        return Err(NnError::Empty { op, what: "the sequence", shape: Shape::from_slice(s) });
    }
    if s[1] == 0 {
        return Err(NnError::Empty { op, what: "the batch", shape: Shape::from_slice(s) });
    }
    if let Some(index) = x.data().iter().position(|v| !v.is_finite()) {
        return Err(NnError::NonFinite { op, shape: Shape::from_slice(s), index });
    }
    if let Some(l) = lengths {
        let err = |why| NnError::Lengths { op, lengths: l.to_vec(), steps: s[0], batch: s[1], why };
        if l.len() != s[1] {
            return Err(err("one length per sequence is needed"));
        }
        if l.contains(&0) {
            return Err(err("a length of zero"));
        }
        if l.iter().any(|&n| n > s[0]) {
            return Err(err("a length longer than the input"));
        }
    }
    Ok(())
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

/// Runs `cell` over a validated time-major input `x` from `init` (or
/// zeros). Reversal, if wanted, is done by the caller on `x` and on the
/// output.
pub(crate) fn unroll<'t, T: Scalar, C: Cell<T>>(
    cell: &C,
    bind: &Binding<'t, T>,
    x: Var<'t, T>,
    init: Option<&C::State<'t>>,
    lengths: Option<&[usize]>,
) -> Result<Sequence<'t, T, C::State<'t>>> {
    let s = x.shape();
    let (steps, batch) = (s[0], s[1]);
    let tape = bind.tape();
    let hidden = cell.hidden_size();
    let init = match init {
        Some(st) => {
            for p in st.parts() {
                if p.shape().first() != Some(&batch) {
                    return Err(NnError::InputShape { op: "initial state", expected: format!("({batch}, ...)"), got: p.shape() });
                }
            }
            st.clone()
        }
        None => cell.zero_state(tape, batch),
    };
    // Longest first, stable, so step t runs on rows 0..active(t).
    let mut order: Vec<usize> = (0..batch).collect();
    let mut lens: Vec<usize> = vec![steps; batch];
    let mut inverse = None;
    if let Some(l) = lengths {
        order.sort_by_key(|&b| std::cmp::Reverse(l[b]));
        lens = order.iter().map(|&b| l[b]).collect();
        if order.iter().enumerate().any(|(i, &b)| i != b) {
            let mut inv = vec![0; batch];
            for (i, &b) in order.iter().enumerate() {
                inv[b] = i;
            }
            inverse = Some(inv);
        }
    }
    let (x, mut state) = match inverse {
        Some(_) => (x.try_index_select(1, &order)?, init.map(|v| Ok(v.try_index_select(0, &order)?))?),
        None => (x, init),
    };
    // The input-only part of every step at once (one large product), then
    // each step's rows of it.
    let projected = cell.project(bind, x.try_reshape(&[steps * batch, s[2]])?)?;
    let input_at = |t: usize, rows: usize| -> Result<Var<'t, T>> { Ok(projected.try_narrow(0, t * batch, rows)?) };
    let step = |xt: Var<'t, T>, st: &C::State<'t>| cell.step(bind, xt, st);
    let mut outputs: Vec<Var<'t, T>> = Vec::with_capacity(steps);
    let mut states = Vec::with_capacity(steps);
    // Restores the caller's step however the loop ends (an error returned
    // by `?` from a cell included), so later ops are not filed under a
    // step of this layer.
    let _restore = RestoreStep(tape, tape.current_step());
    for t in 0..steps {
        tape.set_step(Some(t));
        let active = lens.iter().take_while(|&&n| n > t).count();
        if active == 0 {
            // Every sequence has ended: nothing to compute.
            outputs.push(tape.constant(Tensor::zeros(&[batch, hidden])));
        } else if active == batch {
            state = step(input_at(t, batch)?, &state)?;
            outputs.push(state.output());
        } else {
            let xt = input_at(t, active)?;
            let old = state.parts();
            let head = state.map(|v| Ok(v.try_narrow(0, 0, active)?))?;
            let new = step(xt, &head)?;
            let out = new.output();
            let zeros = tape.constant(Tensor::zeros(&[batch - active, hidden]));
            outputs.push(Var::try_concat(&[out, zeros], 0)?);
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
    drop(_restore);
    let mut output = Var::try_stack(&outputs, 0)?;
    let mut last = state;
    if let Some(inv) = &inverse {
        output = output.try_index_select(1, inv)?;
        last = last.map(|v| Ok(v.try_index_select(0, inv)?))?;
    }
    Ok(Sequence { output, last, steps: states, inverse })
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
