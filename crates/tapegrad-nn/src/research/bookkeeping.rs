//! The two [`check_cell`](super::check_cell) properties about a cell's
//! definition rather than its math: every parameter it uses is declared,
//! and the one path the layers take is the one [`Cell::forward`] takes.

use tapegrad_autodiff::{Tape, Var};
use tapegrad_tensor::Tensor;

use crate::{Binding, Cell, Result, State};

type Verdict = std::result::Result<(), String>;

/// The tape, a binding, the initial state from `init` and each step's
/// input `(B, I)` of `x` `(T, B, I)`, as constants.
fn steps<'t>(tape: &'t Tape<f64>, x: &Tensor<f64>, init: &[Tensor<f64>]) -> (Vec<Var<'t, f64>>, Vec<Var<'t, f64>>) {
    let parts = init.iter().map(|t| tape.constant(t.clone())).collect();
    let xs = (0..x.shape()[0]).map(|t| tape.constant(x.narrow(0, t, 1).reshape(&[x.shape()[1], x.shape()[2]]))).collect();
    (parts, xs)
}

/// Runs every step of `x` (`(T, B, I)`) from `init`, and reports the first
/// parameter bound that the cell's `Module` does not declare.
pub(super) fn declared<C: Cell<f64>>(cell: &C, x: &Tensor<f64>, init: &[Tensor<f64>]) -> Result<Verdict> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let (parts, xs) = steps(&tape, x, init);
    let mut state = C::State::from_parts(&parts);
    for xt in xs {
        state = cell.forward(&bind, xt, &state)?;
    }
    Ok(match bind.undeclared(cell).first() {
        None => Ok(()),
        Some(o) => Err(format!(
            "{o} is used by the cell but not declared by its Module (a `Param` where #[derive(Module)] does not look, or marked #[module(skip)]): it would get a gradient but never be trained or saved"
        )),
    })
}

/// Compares [`Cell::forward`] with [`Cell::project`] then [`Cell::step`],
/// bit for bit, at every step of `x`, and reports the first step and state
/// part where they differ.
pub(super) fn one_path<C: Cell<f64>>(cell: &C, x: &Tensor<f64>, init: &[Tensor<f64>]) -> Result<Verdict> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let (parts, xs) = steps(&tape, x, init);
    let mut state = C::State::from_parts(&parts);
    for (t, xt) in xs.into_iter().enumerate() {
        let direct = cell.forward(&bind, xt, &state)?;
        let layered = cell.step(&bind, cell.project(&bind, xt)?, &state)?;
        for (k, (a, b)) in direct.parts().iter().zip(layered.parts()).enumerate() {
            let (a, b) = (a.value(), b.value());
            if a.shape() != b.shape() || a.data().iter().zip(b.data()).any(|(p, q)| p.to_bits() != q.to_bits()) {
                return Ok(Err(format!(
                    "at step {t}, state part {k}: forward gives {:?}, project then step (what the layers run) gives {:?}",
                    a.data().iter().take(4).collect::<Vec<_>>(),
                    b.data().iter().take(4).collect::<Vec<_>>()
                )));
            }
        }
        state = layered;
    }
    Ok(Ok(()))
}
