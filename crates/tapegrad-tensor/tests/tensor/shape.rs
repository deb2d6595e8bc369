//! Shape ops against the reference.

use proptest::prelude::*;
use tapegrad_tensor::Tensor;

use crate::reference::{any_tensor, at, indices, narrow_ref, offset, shape_with_empty, tensor};

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

/// Row blocks are windows of the parent's buffer: everything that reads or
/// writes one must see only the window, and writing must not reach the
/// parent or a sibling window.
#[test]
fn row_windows_behave_as_copies() {
    let t = Tensor::<f32>::arange(24).reshape(&[6, 4]);
    let w = t.narrow(0, 2, 3);
    assert!(w.shares_buffer(&t));
    assert_eq!(w.data(), &t.data()[8..20]);
    assert_eq!(w.numel(), 12);
    // A window of a window, reshaped, compared with a copy of the same values.
    let ww = w.narrow(0, 1, 2).reshape(&[8]);
    assert_eq!(ww, Tensor::from_vec(t.data()[12..20].to_vec(), &[8]));
    assert_eq!(ww.clone().into_vec(), t.data()[12..20].to_vec());
    // Elementwise ops, reductions and products read only the window.
    assert_eq!(w.sum_all(), t.data()[8..20].iter().sum::<f32>());
    let copy = Tensor::from_vec(w.data().to_vec(), &[3, 4]);
    assert_eq!(w.matmul(&t.narrow(0, 0, 4)), copy.matmul(&t.narrow(0, 0, 4)));
    assert_eq!(t.narrow(0, 0, 4).matmul(w.t()), t.narrow(0, 0, 4).matmul(copy.t()));
    // Writing through a window copies it out first.
    let mut m = w.clone();
    m.data_mut()[0] = -1.0;
    assert_eq!((m.data()[0], m.numel(), w.data()[0], t.data()[8]), (-1.0, 12, 8.0, 8.0));
    assert!(!m.shares_buffer(&t));
}

/// The f32 products that pack their right operand key the packing by the
/// operand's buffer: a window at the start of a buffer (same address, fewer
/// rows) and windows further in must each get their own.
#[test]
fn products_with_windows_as_the_right_operand_use_the_window() {
    let w = Tensor::<f32>::arange(256 * 64).reshape(&[256, 64]).map(|v| (v * 0.37).sin());
    let h = Tensor::<f32>::arange(8 * 64).reshape(&[8, 64]).map(|v| (v * 0.11).cos());
    for (start, rows) in [(0, 256), (0, 128), (128, 128), (64, 100)] {
        let win = w.narrow(0, start, rows);
        let copy = Tensor::from_vec(win.data().to_vec(), &[rows, 64]);
        assert_eq!(h.matmul(win.t()), h.matmul(copy.t()), "rows {start}..{}", start + rows);
    }
}

/// A tensor (axes possibly empty), an axis of it, and sizes along that axis
/// adding up to its length.
fn tensor_axis_sizes() -> impl Strategy<Value = (Tensor<f64>, usize, Vec<usize>)> {
    (shape_with_empty(), any::<prop::sample::Index>(), prop::collection::vec(0usize..=3, 1..=4)).prop_flat_map(|(mut s, ax, sizes)| {
        let axis = ax.index(s.len());
        s[axis] = sizes.iter().sum();
        (tensor(s), Just(axis), Just(sizes))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn split_and_concat_match_the_reference((t, axis, sizes) in tensor_axis_sizes()) {
        let parts = t.try_split(axis, &sizes).unwrap();
        prop_assert_eq!(parts.len(), sizes.len());
        let mut start = 0;
        let mut want = Vec::new();
        for (p, &len) in parts.iter().zip(&sizes) {
            let w = narrow_ref(&t, axis, start, len);
            prop_assert_eq!(p, &w);
            prop_assert_eq!(&t.try_narrow(axis, start, len).unwrap(), &w);
            want.push(w);
            start += len;
        }
        // concat of the reference pieces rebuilds the tensor.
        let refs: Vec<&Tensor<f64>> = want.iter().collect();
        prop_assert_eq!(Tensor::try_concat(&refs, axis).unwrap(), t);
    }

    #[test]
    fn chunk_follows_pytorch((t, axis, _) in tensor_axis_sizes(), chunks in 1usize..6) {
        let n = t.shape()[axis];
        let parts = t.try_chunk(chunks, axis).unwrap();
        if n == 0 {
            prop_assert_eq!(parts.len(), chunks);
        } else {
            let size = n.div_ceil(chunks);
            prop_assert_eq!(parts.len(), n.div_ceil(size));
            for (i, p) in parts.iter().enumerate() {
                let len = size.min(n - i * size);
                prop_assert_eq!(p, &narrow_ref(&t, axis, i * size, len));
            }
        }
    }

    #[test]
    fn pad_axis_matches_the_reference(t in shape_with_empty().prop_flat_map(tensor), axis in 0usize..3, before in 0usize..3, after in 0usize..3) {
        let axis = axis % t.ndim();
        let n = t.shape()[axis];
        let p = t.try_pad_axis(axis, before, after).unwrap();
        let mut shape = t.shape().to_vec();
        shape[axis] += before + after;
        prop_assert_eq!(p.shape(), shape.as_slice());
        for idx in indices(&shape) {
            let j = idx[axis];
            let want = if j >= before && j < before + n {
                let mut src = idx.clone();
                src[axis] -= before;
                at(&t, &src)
            } else {
                0.0
            };
            prop_assert_eq!(at(&p, &idx), want);
        }
    }

    #[test]
    fn stack_matches_the_reference(t in shape_with_empty().prop_flat_map(tensor), axis in 0usize..4, k in 1usize..4) {
        let axis = axis % (t.ndim() + 1);
        let parts: Vec<Tensor<f64>> = (0..k).map(|i| t.add_scalar(10.0 * i as f64)).collect();
        let refs: Vec<&Tensor<f64>> = parts.iter().collect();
        let s = Tensor::try_stack(&refs, axis).unwrap();
        let mut shape = t.shape().to_vec();
        shape.insert(axis, k);
        prop_assert_eq!(s.shape(), shape.as_slice());
        for idx in indices(&shape) {
            let mut src = idx.clone();
            let which = src.remove(axis);
            prop_assert_eq!(at(&s, &idx), at(&parts[which], &src));
        }
    }

    #[test]
    fn unsqueeze_squeeze_reshape_flatten_keep_the_data(t in shape_with_empty().prop_flat_map(tensor), axis in 0usize..4) {
        let axis = axis % (t.ndim() + 1);
        let u = t.try_unsqueeze(axis).unwrap();
        prop_assert_eq!(u.shape()[axis], 1);
        prop_assert_eq!(u.ndim(), t.ndim() + 1);
        prop_assert!(u.shares_buffer(&t));
        prop_assert_eq!(u.try_squeeze(axis).unwrap(), t.clone());
        let f = t.flatten();
        prop_assert_eq!((f.shape(), f.data()), (&[t.numel()][..], t.data()));
        let mut rev = t.shape().to_vec();
        rev.reverse();
        let r = t.try_reshape(&rev).unwrap();
        prop_assert!(r.shares_buffer(&t));
        prop_assert_eq!(r.data(), t.data());
    }
}

#[test]
fn literal_shape_ops() {
    let t = Tensor::<f64>::arange(6).reshape(&[2, 3]);
    assert_eq!(t.transpose(1, 0).data(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(t.narrow(0, 1, 1).data(), &[3.0, 4.0, 5.0]);
    assert_eq!(t.pad_axis(0, 1, 0).data(), &[0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let s = Tensor::stack(&[&t, &t.neg()], 2);
    assert_eq!(s.shape(), &[2, 3, 2]);
    assert_eq!(&s.data()[..4], &[0.0, -0.0, 1.0, -1.0]);
    let c = Tensor::concat(&[&t, &t.narrow(1, 0, 1)], 1);
    assert_eq!(c.data(), &[0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 5.0, 3.0]);
    let u = Tensor::<f64>::zeros(&[3, 0]).transpose(0, 1);
    assert_eq!(u.shape(), &[0, 3]);
}

#[test]
fn chunk_of_an_empty_axis_gives_empty_pieces_like_pytorch() {
    let parts = Tensor::<f64>::zeros(&[2, 0]).chunk(3, 1);
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p.shape() == [2, 0]));
}
