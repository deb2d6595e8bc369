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

    #[test]
    fn concat_and_stack_of_several_inputs(x in x(), axis in 0usize..3) {
        let axis = axis % x.ndim();
        let y = x.map(|v| v.cos());
        check(move |_, v| Var::try_concat(&[v[0], v[1].tanh(), v[0]], axis), &[x.clone(), y.clone()])?;
        check(move |_, v| Var::try_stack(&[v[0], v[1], v[1]], axis), &[x, y])?;
    }
}
