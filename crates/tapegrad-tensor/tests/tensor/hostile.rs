//! Hostile input found by probing the public constructors and ops: each
//! test names a defect that was fixed (what the old code did is in its
//! doc) and pins the typed error or the right result. Empty tensors with
//! huge axes stand in for any empty tensor: the ops must not walk the
//! axes of a tensor that holds nothing.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_tensor::{shape, Tensor, TensorError};

/// The panicking form panics with exactly the error's message.
#[track_caller]
fn panics_with<W>(err: &TensorError, f: impl FnOnce() -> W) {
    let payload = catch_unwind(AssertUnwindSafe(|| drop(f()))).expect_err("the panicking form should panic");
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some(err.to_string().as_str()));
}

/// `split(1, &[usize::MAX, 4])` of `[2, 3]`: the sizes' sum wrapped to 3
/// in release builds, so the split was accepted and failed later as a
/// `narrow` range error; in debug builds it panicked with an arithmetic
/// overflow inside the crate.
#[test]
fn split_refuses_sizes_whose_sum_overflows() {
    let x = Tensor::<f64>::zeros(&[2, 3]);
    let e = x.try_split(1, &[usize::MAX, 4]).unwrap_err();
    assert_eq!(e, TensorError::AxisOverflow { op: "split", axis: 1, shape: shape(&[2, 3]), lengths: vec![usize::MAX, 4] });
    assert_eq!(e.to_string(), "split: lengths [18446744073709551615, 4] of axis 1 of shape [2, 3] add up to more than usize::MAX");
    panics_with(&e, || x.split(1, &[usize::MAX, 4]));
    // Sizes that add up still split.
    assert_eq!(x.try_split(1, &[3, 0]).unwrap()[1].shape(), &[2, 0]);
}

/// `chunk(usize::MAX, 0)` of an empty axis panicked with "capacity
/// overflow" inside `vec!` (and a smaller huge count aborted the process
/// asking for the list of pieces).
#[test]
fn chunk_of_an_empty_axis_refuses_a_list_of_pieces_that_cannot_be_allocated() {
    let x = Tensor::<f32>::zeros(&[0, 2]);
    for chunks in [usize::MAX, 1 << 58] {
        let e = x.try_chunk(chunks, 0).unwrap_err();
        assert_eq!(
            e,
            TensorError::Invalid {
                op: "chunk",
                message: format!("the list of {chunks} empty pieces of axis 0 of shape [0, 2] cannot be allocated")
            }
        );
        panics_with(&e, || x.chunk(chunks, 0));
    }
    let pieces = x.try_chunk(3, 0).unwrap();
    assert_eq!(pieces.len(), 3);
    assert!(pieces.iter().all(|p| p.shape() == [0, 2]));
}

/// `try_rand_uniform` with `low > high` silently drew values from
/// `(high, low]`, and a NaN bound, an infinite one or a width `high - low`
/// past `f64::MAX` silently gave NaN or infinite values.
#[test]
fn rand_uniform_refuses_bounds_that_are_not_a_finite_interval() {
    let mut rng = StdRng::seed_from_u64(3);
    let e = Tensor::<f64>::try_rand_uniform(&[4], 1.0, -1.0, &mut rng).unwrap_err();
    assert_eq!(e, TensorError::InvalidBounds { op: "rand_uniform", lo: "1".into(), hi: "-1".into() });
    panics_with(&e, || Tensor::<f64>::rand_uniform(&[4], 1.0, -1.0, &mut rng));
    let e = Tensor::<f32>::try_rand_uniform(&[4], f32::NAN, 1.0, &mut rng).unwrap_err();
    assert_eq!(e, TensorError::InvalidBounds { op: "rand_uniform", lo: "NaN".into(), hi: "1".into() });
    for (lo, hi, width) in [(f64::NEG_INFINITY, 0.0, "inf"), (0.0, f64::INFINITY, "inf"), (-f64::MAX, f64::MAX, "inf")] {
        let e = Tensor::<f64>::try_rand_uniform(&[4], lo, hi, &mut rng).unwrap_err();
        assert_eq!(e, TensorError::InvalidParameter { op: "rand_uniform", name: "high - low", value: width.into(), why: "must be finite" },);
        assert_eq!(e.to_string(), "rand_uniform: high - low = inf is invalid: must be finite");
    }
    // A single point is an interval: every draw is that point.
    assert_eq!(Tensor::<f64>::try_rand_uniform(&[3], 2.0, 2.0, &mut rng).unwrap().data(), &[2.0; 3]);
    // The widest f32 interval is finite in f64, where the draw is computed.
    let wide = Tensor::<f32>::try_rand_uniform(&[64], -f32::MAX, f32::MAX, &mut rng).unwrap();
    assert!(wide.all_finite());
}

/// `try_rand_normal` with a NaN or infinite mean or standard deviation, or
/// a negative one, silently gave NaN, infinite or mirrored values.
#[test]
fn rand_normal_refuses_a_mean_or_std_that_is_not_finite_or_a_negative_std() {
    let mut rng = StdRng::seed_from_u64(5);
    let cases: [(f64, f64, &str, &str, &str); 5] = [
        (f64::NAN, 1.0, "mean", "NaN", "must be finite"),
        (f64::INFINITY, 1.0, "mean", "inf", "must be finite"),
        (0.0, f64::NAN, "std", "NaN", "must be finite and not negative"),
        (0.0, f64::INFINITY, "std", "inf", "must be finite and not negative"),
        (0.0, -1.0, "std", "-1", "must be finite and not negative"),
    ];
    for (mean, std, name, value, why) in cases {
        let e = Tensor::<f64>::try_rand_normal(&[4], mean, std, &mut rng).unwrap_err();
        assert_eq!(e, TensorError::InvalidParameter { op: "rand_normal", name, value: value.into(), why });
        panics_with(&e, || Tensor::<f64>::rand_normal(&[4], mean, std, &mut rng));
    }
    assert_eq!(
        Tensor::<f64>::try_rand_normal(&[2], 0.0, -1.0, &mut rng).unwrap_err().to_string(),
        "rand_normal: std = -1 is invalid: must be finite and not negative"
    );
    // std = 0 is a point mass.
    assert_eq!(Tensor::<f64>::try_rand_normal(&[3], 1.5, 0.0, &mut rng).unwrap().data(), &[1.5; 3]);
}

/// Softmax, log-softmax and logsumexp of an empty tensor with a long axis
/// asked for a row buffer of that length (`[2^40, 0]` along axis 0: 8 TiB)
/// and aborted the process; along an empty axis of `[2^60, 0]` they looped
/// over 2^60 empty rows.
#[test]
fn softmax_family_of_an_empty_tensor_allocates_and_walks_nothing() {
    let long = Tensor::<f64>::zeros(&[1 << 40, 0]);
    assert_eq!(long.try_softmax(0).unwrap().shape(), &[1 << 40, 0]);
    assert_eq!(long.try_log_softmax(0).unwrap().shape(), &[1 << 40, 0]);
    assert_eq!(long.try_logsumexp(0, true).unwrap().shape(), &[1, 0]);
    let rows = Tensor::<f64>::zeros(&[1 << 60, 0]);
    assert_eq!(rows.try_softmax(1).unwrap().shape(), &[1 << 60, 0]);
    assert_eq!(rows.try_log_softmax(1).unwrap().shape(), &[1 << 60, 0]);
    // An empty axis of a non-empty result still gives logsumexp -inf.
    assert_eq!(Tensor::<f64>::zeros(&[2, 0]).try_logsumexp(1, false).unwrap().data(), &[f64::NEG_INFINITY; 2]);
}

/// Reductions of `[2^60, 2, 0]` along axis 1 looped over 2^60 empty
/// blocks (a hang), though the result holds nothing.
#[test]
fn reductions_of_an_empty_tensor_walk_nothing() {
    let x = Tensor::<f64>::zeros(&[1 << 60, 2, 0]);
    assert_eq!(x.try_max_axis(1, false).unwrap().shape(), &[1 << 60, 0]);
    assert_eq!(x.try_max_axis(1, true).unwrap().shape(), &[1 << 60, 1, 0]);
    assert_eq!(x.try_argmax(1).unwrap(), Vec::<usize>::new());
    assert_eq!(x.try_sum_axis(1, false).unwrap().shape(), &[1 << 60, 0]);
    assert_eq!(x.try_mean_axis(1, false).unwrap().shape(), &[1 << 60, 0]);
}

/// Shape ops on `[2^60, 2, 0]` along axis 1 looped over 2^60 empty blocks
/// (a hang), though their results hold nothing.
#[test]
fn shape_ops_on_an_empty_tensor_walk_nothing() {
    let x = Tensor::<f64>::zeros(&[1 << 60, 2, 0]);
    assert_eq!(x.try_narrow(1, 1, 1).unwrap().shape(), &[1 << 60, 1, 0]);
    assert_eq!(x.try_pad_axis(1, 1, 2).unwrap().shape(), &[1 << 60, 5, 0]);
    assert_eq!(Tensor::try_concat(&[&x, &x], 1).unwrap().shape(), &[1 << 60, 4, 0]);
    assert_eq!(x.try_split(1, &[1, 1]).unwrap()[1].shape(), &[1 << 60, 1, 0]);
    let mut acc = x.clone();
    acc.try_narrow_add_assign(1, 1, &x.narrow(1, 0, 1)).unwrap();
    assert_eq!(acc.shape(), &[1 << 60, 2, 0]);
    // An empty operand padded into a non-empty result is all zeros.
    assert_eq!(Tensor::<f64>::zeros(&[3, 0]).try_pad_axis(1, 1, 0).unwrap().data(), &[0.0; 3]);
}

/// Index ops on `[2^60, 2, 0]` along axis 1 looped over 2^60 empty
/// blocks (a hang), though nothing was read or added.
#[test]
fn index_ops_on_an_empty_tensor_walk_nothing() {
    let x = Tensor::<f64>::zeros(&[1 << 60, 2, 0]);
    assert_eq!(x.try_index_select(1, &[1, 0, 1]).unwrap().shape(), &[1 << 60, 3, 0]);
    let src = Tensor::<f64>::zeros(&[1 << 60, 3, 0]);
    assert_eq!(x.try_index_add(1, &[1, 0, 1], &src).unwrap().shape(), &[1 << 60, 2, 0]);
    let idx = [1 << 60, 5, 0];
    assert_eq!(x.try_gather(1, &[], &idx).unwrap().shape(), &idx);
    let src = Tensor::<f64>::zeros(&idx);
    assert_eq!(x.try_scatter_add(1, &[], &idx, &src).unwrap().shape(), &[1 << 60, 2, 0]);
    // The checks still run before the shortcut.
    assert!(matches!(x.try_index_select(1, &[2]), Err(TensorError::Index { op: "index_select", index: 2, .. })));
    assert!(matches!(x.try_gather(1, &[], &[1, 5, 0]), Err(TensorError::ShapeMismatch { op: "gather", .. })));
}

/// `try_mean_axis` is carried out by `try_sum_axis`, and its error for a
/// result that cannot be allocated named `sum_axis`, an op the caller did
/// not call.
#[test]
fn mean_axis_errors_name_mean_axis() {
    let hollow = Tensor::<f64>::zeros(&[1 << 29, 0, 1 << 29]);
    let e = hollow.try_mean_axis(1, false).unwrap_err();
    assert!(matches!(&e, TensorError::TooLarge { op: "mean_axis", shape, .. } if shape.as_slice() == [1 << 29, 1 << 29]), "{e:?}");
    assert!(e.to_string().starts_with("mean_axis: shape [536870912, 536870912] ("), "{e}");
    panics_with(&e, || hollow.mean_axis(1, false));
}

/// Every shape of rank at most 3 with axes of 0, 1 or 2 (40 shapes).
fn small_shapes() -> Vec<Vec<usize>> {
    let mut all = vec![vec![]];
    for rank in 1..=3u32 {
        for code in 0..3usize.pow(rank) {
            all.push((0..rank).map(|a| code / 3usize.pow(a) % 3).collect());
        }
    }
    all
}

/// A result of op `op`: a value, or an error whose message starts with
/// `op: ` (the op the caller called, not one it is carried out by).
#[track_caller]
fn named<V>(op: &str, r: Result<V, TensorError>) {
    if let Err(e) = r {
        assert!(e.to_string().starts_with(&format!("{op}: ")), "{op} gave `{e}`");
    }
}

/// The `try_` forms return a value or an error naming the op for every
/// small shape, pair of shapes, axis and range, including empty and rank-0
/// tensors and out-of-range arguments: none panics inside the crate.
#[test]
fn try_forms_never_panic_on_small_shapes() {
    let shapes = small_shapes();
    for s in &shapes {
        let x = Tensor::<f64>::arange(s.iter().product()).reshape(s);
        for axis in 0..4 {
            named("sum_axis", x.try_sum_axis(axis, true));
            named("mean_axis", x.try_mean_axis(axis, false));
            named("max_axis", x.try_max_axis(axis, true));
            named("argmax", x.try_argmax(axis));
            named("softmax", x.try_softmax(axis));
            named("log_softmax", x.try_log_softmax(axis));
            named("logsumexp", x.try_logsumexp(axis, false));
            named("squeeze", x.try_squeeze(axis));
            named("unsqueeze", x.try_unsqueeze(axis));
            named("transpose", x.try_transpose(axis, 1));
            named("chunk", x.try_chunk(2, axis));
            named("split", x.try_split(axis, &[1, 1]));
            named("index_select", x.try_index_select(axis, &[1, 0]));
            named("gather", x.try_gather(axis, &[0, 1], s));
            named("pad_axis", x.try_pad_axis(axis, 1, 0));
            named("concat", Tensor::try_concat(&[&x, &x], axis));
            named("stack", Tensor::try_stack(&[&x, &x], axis));
            for (start, len) in [(0, 0), (0, 1), (1, 1), (2, 1), (0, 3)] {
                named("narrow", x.try_narrow(axis, start, len));
                let piece = x.try_narrow(axis, 0, len).unwrap_or_else(|_| x.clone());
                named("narrow_add_assign", x.clone().try_narrow_add_assign(axis, start, &piece));
            }
        }
        named("get", x.try_get(&[1, 0]));
        named("item", x.try_item());
        named("max_all", x.try_max_all());
        named("reshape", x.try_reshape(&[2, 2]));
        named("broadcast_to", x.try_broadcast_to(&[2, 2, 2]));
        for t in &shapes {
            let y = Tensor::<f64>::ones(t);
            named("add", x.try_add(&y));
            named("where", x.try_where_cond(&y, &x));
            named("sum_to", x.try_sum_to(t));
            named("matmul", x.try_matmul(&y));
            named("matmul", x.t().try_matmul(&y));
            named("matmul", x.try_matmul(y.t()));
            for axis in 0..3 {
                named("index_add", x.try_index_add(axis, &[0, 1], &y));
                named("scatter_add", x.try_scatter_add(axis, &[0, 1], t, &y));
            }
        }
    }
}
