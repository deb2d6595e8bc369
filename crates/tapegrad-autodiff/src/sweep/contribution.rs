//! What a backward rule hands the sweep for one input: a [`Contribution`].

use smallvec::SmallVec;
use tapegrad_tensor::{Scalar, Tensor};

use crate::Val;

/// One input's share of an op's gradient, as its backward rule decides it
/// (in the op's own file). The sweep adds contributions up, whatever their
/// kind; only first-order sweeps (plain tensors) see the two cheaper kinds.
pub(crate) enum Contribution<'t, T: Scalar> {
    /// A gradient at the input's shape, or at a shape the input broadcasts
    /// to (the sweep sums it down, the one place broadcasting is undone).
    Dense(Val<'t, T>),
    /// The gradient of entries `start..` of `axis` of the input, zero
    /// elsewhere (a narrow's): kept as a piece (see `Pieces`), so `T`
    /// narrows of one sequence cost `O(T)`, with no zero fill.
    Slice { axis: usize, start: usize, grad: Tensor<T> },
    /// `xᵀ·y`, for a matrix that is the right operand of several products
    /// (a weight shared by every step): kept with the input's other pairs
    /// and multiplied out as one GEMM (see `Deferred`).
    Deferred { x: Tensor<T>, y: Tensor<T> },
    /// The gradient of output `index ≥ 1` of a multi-output op (a fused
    /// region), sent by the node standing for that output: kept with the
    /// op's other output gradients until the op is swept.
    Output { index: usize, grad: Val<'t, T> },
}

/// An op's contributions, one per input (`None`: nothing for that input).
pub(crate) type Contributions<'t, T> = SmallVec<[Option<Contribution<'t, T>>; 2]>;

/// Dense contributions from one optional gradient per input.
pub(crate) fn dense<'t, T: Scalar>(grads: impl IntoIterator<Item = Option<Val<'t, T>>>) -> Contributions<'t, T> {
    grads.into_iter().map(|g| g.map(Contribution::Dense)).collect()
}

/// The pending gradient of a matrix `B` used as the right operand of
/// several products `Cₜ = Aₜ·op(B)`: the sum of `Xₜᵀ·Yₜ` over its users
/// (`Gₜᵀ·Aₜ` for `Aₜ·Bᵀ`, `Aₜᵀ·Gₜ` for `Aₜ·B`). Stacking pairs by rows makes
/// a sum of them one product, `[X₁;…;Xₖ]ᵀ·[Y₁;…;Yₖ]`: for a recurrent weight,
/// one large GEMM (threaded, the operands packed once) instead of one small
/// GEMM per time step whose inner dimension is only the batch size. Pairs
/// are multiplied out in groups of about
/// [`tapegrad_tensor::stacked_product_rows`] rows, which bounds the memory
/// they hold.
pub(crate) struct Deferred<T: Scalar> {
    pairs: Vec<(Tensor<T>, Tensor<T>)>,
    rows: usize,
    sum: Option<Tensor<T>>,
    /// The node of the last user in tape order (the first swept), for anomaly reports.
    pub(crate) first_user: usize,
}

impl<T: Scalar> Deferred<T> {
    pub(crate) fn new(first_user: usize) -> Self {
        Deferred { pairs: Vec::new(), rows: 0, sum: None, first_user }
    }

    pub(crate) fn push(&mut self, x: Tensor<T>, y: Tensor<T>) {
        self.rows += x.shape()[0];
        self.pairs.push((x, y));
        if self.rows >= tapegrad_tensor::stacked_product_rows() {
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
            Some(acc) => add_in_place(acc, &part),
        });
    }

    /// `Σₜ Xₜᵀ·Yₜ` over every pair pushed.
    pub(crate) fn product(mut self) -> Tensor<T> {
        self.multiply_out();
        self.sum.expect("a deferred gradient has at least one pair")
    }
}

/// `acc + t` for equal shapes, written into `acc` (copy-on-write keeps a
/// buffer shared with another node intact).
pub(crate) fn add_in_place<T: Scalar>(mut acc: Tensor<T>, t: &Tensor<T>) -> Tensor<T> {
    acc.data_mut().iter_mut().zip(t.data()).for_each(|(a, &b)| *a = *a + b);
    acc
}
