//! Shape ops: each is a rearrangement whose gradient is the inverse one.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{check, shape, tensor_of};
use tapegrad_autodiff::{Tensor, Var};

fn x() -> impl Strategy<Value = Tensor<f64>> {
    tensor_of(shape(3, 4), -2.0..2.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn reshape_transpose_flatten(x in x(), a1 in 0usize..3, a2 in 0usize..3) {
        let (a1, a2) = (a1 % x.ndim(), a2 % x.ndim());
        let n = x.numel();
        check(move |_, v| v[0].try_reshape(&[n, 1]), &[x.clone()])?;
        check(move |_, v| v[0].try_transpose(a1, a2), &[x.clone()])?;
        check(|_, v| Ok(v[0].flatten()), &[x.clone()])?;
        check(move |_, v| v[0].try_unsqueeze(a1)?.try_squeeze(a1), &[x])?;
    }

    #[test]
    fn narrow_pad_split_chunk(x in x(), axis in 0usize..3, cut in 0usize..4, chunks in 1usize..4) {
        let axis = axis % x.ndim();
        let n = x.shape()[axis];
        let cut = cut % n;
        check(move |_, v| v[0].try_narrow(axis, cut, n - cut), &[x.clone()])?;
        check(move |_, v| v[0].try_pad_axis(axis, cut, 1), &[x.clone()])?;
        // Weight the pieces differently so a mix-up would show.
        check(move |_, v| {
            let parts = v[0].try_split(axis, &[cut, n - cut])?;
            Var::try_concat(&[parts[1].scale(2.0), parts[0].exp()], axis)
        }, &[x.clone()])?;
        check(move |_, v| {
            let parts = v[0].try_chunk(chunks, axis)?;
            let scaled: Vec<_> = parts.iter().enumerate().map(|(i, p)| p.scale(i as f64 + 1.0)).collect();
            Var::try_concat(&scaled, axis)
        }, &[x])?;
    }

    /// Narrow gradients are gathered as pieces (concatenated when they tile
    /// the input); this covers the other cases: pieces that overlap, leave
    /// gaps, come along two axes, mixed with a plain use of the same input.
    #[test]
    fn narrow_gradients_that_overlap_leave_gaps_and_cross_axes(x in x(), a in 0usize..3, b in 0usize..3, cut in 0usize..4) {
        let (a, b) = (a % x.ndim(), b % x.ndim());
        let (na, nb) = (x.shape()[a], x.shape()[b]);
        let cut = cut % na;
        check(move |_, v| {
            let tail = v[0].try_narrow(a, cut, na - cut)?.square().sum_all();
            let head = v[0].try_narrow(a, 0, (cut + 1).min(na))?.exp().sum_all();
            let across = v[0].try_narrow(b, nb - 1, 1)?.tanh().sum_all();
            let plain = v[0].scale(0.5).sum_all();
            tail.try_add(head)?.try_add(across)?.try_add(plain)
        }, &[x.clone()])?;
        // Contiguous from the start but short of the end: a gap to zero-fill.
        let short = na.saturating_sub(1).max(1);
        check(move |_, v| Ok(v[0].try_narrow(a, 0, short)?.exp()), &[x.clone()])?;
        // Exactly tiling pieces, used in an order unlike their positions.
        check(move |_, v| {
            let parts = v[0].try_chunk(na, a)?;
            let mut total = parts[na - 1].tanh().sum_all();
            for p in parts.iter().take(na - 1) {
                total = total.try_add(p.scale(3.0).sum_all())?;
            }
            Ok(total)
        }, &[x])?;
    }

    #[test]
    fn concat_and_stack_of_several_inputs(x in x(), axis in 0usize..3) {
        concat_and_stack_gradcheck(x, axis)?;
    }
}

fn concat_and_stack_gradcheck(x: Tensor<f64>, axis: usize) -> Result<(), TestCaseError> {
    let axis = axis % x.ndim();
    let y = x.map(|v| v.cos());
    check(move |_, v| Var::try_concat(&[v[0], v[1].tanh(), v[0]], axis), &[x.clone(), y.clone()])?;
    check(move |_, v| Var::try_stack(&[v[0], v[1], v[1]], axis), &[x, y])
}

/// Once found by proptest: one element at 0, so each piece of the concat
/// (and each stacked slice) is a single element.
#[test]
fn concat_and_stack_of_single_elements() {
    concat_and_stack_gradcheck(Tensor::from_vec(vec![0.0], &[1]), 0).unwrap();
}
