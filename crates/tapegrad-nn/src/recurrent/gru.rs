//! The GRU cell.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape};

use super::cell::{affine, check_step, uniform_init};
use crate::{Binding, Cell, Module, Param, Result};

/// GRU cell with PyTorch's equations and gate order (r, z, n):
///
/// ```text
/// [r_i z_i n_i] = x·W_ihᵀ + b_ih;   [r_h z_h n_h] = h·W_hhᵀ + b_hh
/// r = σ(r_i + r_h);  z = σ(z_i + z_h)
/// n = tanh(n_i + r⊙n_h)
/// h' = (1 - z)⊙n + z⊙h
/// ```
///
/// Parameters `weight_ih` (3H×I), `weight_hh` (3H×H), `bias_ih`, `bias_hh` (3H).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Cell, GruCell};
/// use tapegrad_tensor::Tensor;
/// let cell = GruCell::<f64>::new(2, 3, &mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let h = cell.forward(&Binding::new(&tape), tape.constant(Tensor::ones(&[1, 2])), &cell.zero_state(&tape, 1)).unwrap();
/// assert_eq!(h.shape().as_slice(), &[1, 3]);
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct GruCell<T: Scalar> {
    /// `W_ih`, `(3H, I)`, gates r, z, n.
    pub weight_ih: Param<T>,
    /// `W_hh`, `(3H, H)`.
    pub weight_hh: Param<T>,
    /// `b_ih`, `(3H)`.
    pub bias_ih: Param<T>,
    /// `b_hh`, `(3H)`.
    pub bias_hh: Param<T>,
}

impl<T: Scalar> GruCell<T> {
    /// A cell with PyTorch's default init `U(-1/sqrt(H), 1/sqrt(H))`.
    pub fn new<R: Rng + ?Sized>(input: usize, hidden: usize, rng: &mut R) -> Self {
        GruCell {
            weight_ih: Param::new(uniform_init(&[3 * hidden, input], hidden, rng)),
            weight_hh: Param::new(uniform_init(&[3 * hidden, hidden], hidden, rng)),
            bias_ih: Param::new(uniform_init(&[3 * hidden], hidden, rng)),
            bias_hh: Param::new(uniform_init(&[3 * hidden], hidden, rng)),
        }
    }
}

/// The op named by the cell's shape errors.
const STEP: &str = "GruCell::step";

impl<T: Scalar> Cell<T> for GruCell<T> {
    type State<'t> = Var<'t, T>;
    fn input_size(&self) -> usize {
        self.weight_ih.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.weight_hh.shape()[1]
    }
    fn project<'t>(&self, b: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        check_step(STEP, x, self.input_size(), &[], 0)?;
        affine(x, b.param(&self.weight_ih), b.param(&self.bias_ih))
    }
    fn state_shapes(&self, batch: usize) -> Vec<Shape> {
        vec![Shape::from_slice(&[batch, self.hidden_size()])]
    }
    fn step<'t>(&self, b: &Binding<'t, T>, xp: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>> {
        let hidden = self.hidden_size();
        check_step(STEP, xp, 3 * hidden, &[("h", *h)], hidden)?;
        let gh = affine(*h, b.param(&self.weight_hh), b.param(&self.bias_hh))?;
        // Everything after the product is elementwise: one fused region.
        xp.tape().fused(|| {
            let (gi, gh) = (xp.try_chunk(3, 1)?, gh.try_chunk(3, 1)?);
            let r = gi[0].try_add(gh[0])?.sigmoid();
            let z = gi[1].try_add(gh[1])?.sigmoid();
            let n = gi[2].try_add(r.try_mul(gh[2])?)?.tanh();
            // h' = n + z⊙(h - n)  ==  (1 - z)⊙n + z⊙h
            Ok(n.try_add(z.try_mul(h.try_sub(n)?)?)?)
        })
    }
}
