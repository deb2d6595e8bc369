//! The recurrent cell trait: one time step, `(x_t, state) -> state`.

use rand::Rng;
use smallvec::SmallVec;
use tapegrad_autodiff::{Tape, Var};
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::{Binding, Module, NnError, Result};

/// A recurrent state made of one or more `(B, H_k)` variables: a hidden
/// state `h` (Elman RNN, GRU), `{ h, c }` (LSTM), a tuple or array of
/// `Var`s, or a struct of them with `#[derive(State)]`. Layers treat states
/// through their parts, so they can freeze finished sequences, reverse,
/// stack and detach any cell's state.
///
/// ```
/// use tapegrad_autodiff::{Tape, Var};
/// use tapegrad_nn::State;
/// use tapegrad_tensor::{Scalar, Tensor};
///
/// #[derive(Clone, Copy, State)]
/// #[module(crate = tapegrad_nn)] // not needed through the `tapegrad` facade
/// struct SruState<'t, T: Scalar> {
///     c: Var<'t, T>,
///     #[state(output)]
///     h: Var<'t, T>,
/// }
/// let tape = Tape::<f64>::new();
/// let s = SruState { c: tape.constant(Tensor::zeros(&[2, 3])), h: tape.constant(Tensor::ones(&[2, 3])) };
/// assert_eq!(s.parts().len(), 2);
/// assert_eq!(s.output().value().sum_all(), 6.0); // the marked part
/// let pair = (s.c, s.h); // tuples of `Var`s are states too
/// assert_eq!(pair.output().value().sum_all(), 0.0); // their first part
/// ```
pub trait State<'t, T: Scalar>: Clone {
    /// The number of parts.
    const PARTS: usize;
    /// The parts, in a fixed order.
    fn parts(&self) -> SmallVec<[Var<'t, T>; 2]>;
    /// Rebuilds a state from parts in the order of [`State::parts`].
    fn from_parts(parts: &[Var<'t, T>]) -> Self;
    /// What a layer emits at each step, `(B, H)` (the hidden state `h`).
    fn output(&self) -> Var<'t, T>;
    /// Every part zero, `(batch, hidden)`.
    fn zeros(tape: &'t Tape<T>, batch: usize, hidden: usize) -> Self {
        let z = tape.constant(Tensor::zeros(&[batch, hidden]));
        Self::from_parts(&vec![z; Self::PARTS])
    }
    /// Applies `f` to every part.
    fn map(&self, mut f: impl FnMut(Var<'t, T>) -> Result<Var<'t, T>>) -> Result<Self> {
        let parts = self.parts().into_iter().map(&mut f).collect::<Result<SmallVec<[Var<'t, T>; 2]>>>()?;
        Ok(Self::from_parts(&parts))
    }
    /// The same values with the graph cut (truncated BPTT).
    fn detach(&self) -> Self {
        let parts: SmallVec<[Var<'t, T>; 2]> = self.parts().into_iter().map(Var::detach).collect();
        Self::from_parts(&parts)
    }
}

impl<'t, T: Scalar> State<'t, T> for Var<'t, T> {
    const PARTS: usize = 1;
    fn parts(&self) -> SmallVec<[Var<'t, T>; 2]> {
        smallvec::smallvec![*self]
    }
    fn from_parts(parts: &[Var<'t, T>]) -> Self {
        parts[0]
    }
    fn output(&self) -> Var<'t, T> {
        *self
    }
}

/// A tuple of `Var`s: parts in order, output the first.
macro_rules! tuple_state {
    ($n:literal: $($v:ident $i:tt),+) => {
        impl<'t, T: Scalar> State<'t, T> for ($($v<'t, T>,)+) {
            const PARTS: usize = $n;
            fn parts(&self) -> SmallVec<[Var<'t, T>; 2]> {
                smallvec::smallvec![$(self.$i),+]
            }
            fn from_parts(parts: &[Var<'t, T>]) -> Self {
                ($(parts[$i],)+)
            }
            fn output(&self) -> Var<'t, T> {
                self.0
            }
        }
    };
}
tuple_state!(2: Var 0, Var 1);
tuple_state!(3: Var 0, Var 1, Var 2);
tuple_state!(4: Var 0, Var 1, Var 2, Var 3);

/// An array of `Var`s: parts in order, output the first.
impl<'t, T: Scalar, const N: usize> State<'t, T> for [Var<'t, T>; N] {
    const PARTS: usize = N;
    fn parts(&self) -> SmallVec<[Var<'t, T>; 2]> {
        self.iter().copied().collect()
    }
    fn from_parts(parts: &[Var<'t, T>]) -> Self {
        std::array::from_fn(|i| parts[i])
    }
    fn output(&self) -> Var<'t, T> {
        self[0]
    }
}

/// One step of a recurrent network, written as its math. Implement this
/// with ops on [`Var`]s and every layer in this crate (unrolled, stacked,
/// bidirectional, variable-length) works with it, with exact BPTT
/// gradients and no backward code.
///
/// A step is two parts: [`Cell::project`], the part that depends only on
/// the input (by default the input itself; typically `x·W_ihᵀ + b`), which
/// layers run for all time steps at once as one large product, and
/// [`Cell::step`], which always receives that projected input. There is
/// no second path that could disagree: [`Cell::forward`] is the two in turn.
///
/// Inputs are `(B, input_size)`, outputs `(B, hidden_size)`.
pub trait Cell<T: Scalar>: Module<T> {
    /// The recurrent state, e.g. `Var`, `LstmState`, `(Var, Var)`.
    type State<'t>: State<'t, T>
    where
        T: 't;
    /// Features of `x_t`.
    fn input_size(&self) -> usize;
    /// Features of the output (and of every state part).
    fn hidden_size(&self) -> usize;
    /// The all-zero state for a batch of `batch` (by default every part
    /// `(batch, hidden_size)` of zeros).
    fn zero_state<'t>(&self, tape: &'t Tape<T>, batch: usize) -> Self::State<'t> {
        Self::State::zeros(tape, batch, self.hidden_size())
    }
    /// The shape of each part of the state for a batch of `batch`, in the
    /// order of [`State::parts`]: layers check initial states, and the
    /// state every step returns, against it (each part's first axis is
    /// the batch). The default reads the shapes off
    /// [`Cell::zero_state`], made on a scratch tape; override it if that
    /// is costly.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Cell, LstmCell};
    /// let cell = LstmCell::<f32>::new(3, 5, &mut StdRng::seed_from_u64(0));
    /// let shapes = cell.state_shapes(2);
    /// assert_eq!((shapes[0].as_slice(), shapes[1].as_slice()), (&[2usize, 5][..], &[2usize, 5][..]));
    /// ```
    fn state_shapes(&self, batch: usize) -> Vec<Shape> {
        let scratch = Tape::new();
        let shapes = self.zero_state(&scratch, batch).parts().iter().map(Var::shape).collect();
        shapes
    }
    /// The input-only part of a step, for any number of rows: `x` is
    /// `(N, input_size)` (layers pass every step's rows at once, `N = T·B`),
    /// the result `(N, G)`. The default is `x` itself.
    ///
    /// # Errors
    /// A shape error from an op.
    fn project<'t>(&self, bind: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let _ = bind;
        Ok(x)
    }
    /// One time step from this step's rows of [`Cell::project`]'s result,
    /// `(B, G)`, and the state.
    ///
    /// # Errors
    /// A shape error from an op.
    fn step<'t>(&self, bind: &Binding<'t, T>, projected: Var<'t, T>, state: &Self::State<'t>) -> Result<Self::State<'t>>;
    /// One time step from a raw input `(B, input_size)`: [`Cell::project`]
    /// then [`Cell::step`], what the layers do.
    ///
    /// # Errors
    /// A shape error from an op.
    fn forward<'t>(&self, bind: &Binding<'t, T>, x: Var<'t, T>, state: &Self::State<'t>) -> Result<Self::State<'t>> {
        self.step(bind, self.project(bind, x)?, state)
    }
}

/// A `(rows, cols)` tensor drawn from `U(-k, k)`, `k = 1/sqrt(hidden)`:
/// PyTorch's default init for recurrent weights.
pub fn uniform_init<T: Scalar, R: Rng + ?Sized>(shape: &[usize], hidden: usize, rng: &mut R) -> Tensor<T> {
    let k = T::from_f64_lossy(1.0 / (hidden.max(1) as f64).sqrt());
    Tensor::rand_uniform(shape, -k, k, rng)
}

/// The step-independent part of a PyTorch-style cell's pre-activation for
/// rows `x`: `x·W_ihᵀ + (b_ih + b_hh)`. Both biases go here, added once for
/// a whole sequence's projection, so a step only adds `h·W_hhᵀ` (the sum is
/// the same; the bias gradients are summed over all steps by one reduction).
pub(crate) fn project<'t, T: Scalar>(x: Var<'t, T>, w_ih: Var<'t, T>, b_ih: Var<'t, T>, b_hh: Var<'t, T>) -> Result<Var<'t, T>> {
    Ok(x.try_linear(w_ih, Some(b_ih.try_add(b_hh)?))?)
}

/// Checks the arguments of a built-in cell's step: `x` is `(B, width)`
/// and every named state part `(B, hidden)`, B being `x`'s rows, so a
/// state that would broadcast (or cut the gates wrongly) is an error
/// naming `op`, the part and both shapes.
pub(crate) fn check_step<T: Scalar>(
    op: &'static str,
    x: Var<'_, T>,
    width: usize,
    parts: &[(&str, Var<'_, T>)],
    hidden: usize,
) -> Result<()> {
    let xs = x.shape();
    if xs.len() != 2 || xs[1] != width {
        return Err(NnError::InputShape { op, expected: format!("(B, {width})"), got: xs });
    }
    let want = Shape::from_slice(&[xs[0], hidden]);
    for (name, part) in parts {
        let got = part.shape();
        if got != want {
            return Err(NnError::StateShape { op, what: format!("state part {name}").into(), expected: want, got });
        }
    }
    Ok(())
}

/// `x·Wᵀ + b` with `W` stored `(out, in)` as PyTorch stores it (the
/// transpose is read through strides, not copied).
pub(crate) fn affine<'t, T: Scalar>(x: Var<'t, T>, w: Var<'t, T>, b: Var<'t, T>) -> Result<Var<'t, T>> {
    Ok(x.try_linear(w, Some(b))?)
}
