//! Shape ops against the reference.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, indices, offset};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn transpose_moves_elements(t in any_tensor(), a1 in 0usize..4, a2 in 0usize..4) {
        let (a1, a2) = (a1 % t.ndim(), a2 % t.ndim());
        let tt = t.try_transpose(a1, a2).unwrap();
        for idx in indices(t.shape()) {
            let mut j = idx.clone();
            j.swap(a1, a2);
            prop_assert_eq!(tt.data()[offset(tt.shape(), &j)], t.data()[offset(t.shape(), &idx)]);
        }
        prop_assert_eq!(tt.try_transpose(a1, a2).unwrap(), t);
    }

    #[test]
    fn narrow_pad_concat_split_roundtrip(t in any_tensor(), axis in 0usize..4, cut in 0usize..5) {
        let axis = axis % t.ndim();
        let n = t.shape()[axis];
        let cut = cut % (n + 1);
        let head = t.try_narrow(axis, 0, cut).unwrap();
        let tail = t.try_narrow(axis, cut, n - cut).unwrap();
        for idx in indices(tail.shape()) {
            let mut src = idx.clone();
            src[axis] += cut;
            prop_assert_eq!(tail.data()[offset(tail.shape(), &idx)], t.data()[offset(t.shape(), &src)]);
        }
        prop_assert_eq!(Tensor::try_concat(&[&head, &tail], axis).unwrap(), t.clone());
        let parts = t.try_split(axis, &[cut, n - cut]).unwrap();
        prop_assert_eq!(&parts[0], &head);
        // pad is narrow's inverse.
        let padded = tail.try_pad_axis(axis, cut, 2).unwrap();
        prop_assert_eq!(padded.shape()[axis], n + 2);
        prop_assert_eq!(padded.try_narrow(axis, cut, n - cut).unwrap(), tail.clone());
        prop_assert_eq!(padded.sum_all(), tail.sum_all());
        // chunk covers the axis in order.
        let chunks = t.try_chunk(3, axis).unwrap();
        let refs: Vec<&Tensor<f64>> = chunks.iter().collect();
        prop_assert_eq!(Tensor::try_concat(&refs, axis).unwrap(), t.clone());
    }

    #[test]
    fn stack_adds_an_axis(t in any_tensor(), axis in 0usize..5) {
        let axis = axis % (t.ndim() + 1);
        let s = Tensor::try_stack(&[&t, &t.neg()], axis).unwrap();
        prop_assert_eq!(s.ndim(), t.ndim() + 1);
        prop_assert_eq!(s.shape()[axis], 2);
        prop_assert_eq!(s.try_narrow(axis, 1, 1).unwrap().try_squeeze(axis).unwrap(), t.neg());
    }
}

#[test]
fn chunk_follows_pytorch_sizes() {
    let t = Tensor::<f64>::arange(10);
    let sizes: Vec<usize> = t.chunk(4, 0).iter().map(|c| c.numel()).collect();
    assert_eq!(sizes, vec![3, 3, 3, 1]);
    let sizes: Vec<usize> = Tensor::<f64>::arange(2).chunk(4, 0).iter().map(|c| c.numel()).collect();
    assert_eq!(sizes, vec![1, 1]);
}

#[test]
fn reshape_unsqueeze_flatten_share_the_buffer() {
    let t = Tensor::<f64>::arange(6);
    let r = t.reshape(&[2, 3]).unsqueeze(0).flatten();
    assert!(r.shares_buffer(&t));
    assert_eq!(r, t);
}
