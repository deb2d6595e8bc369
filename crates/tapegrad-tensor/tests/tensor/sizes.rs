//! Element counts are computed with overflow checks, and buffers that
//! cannot be allocated are errors, not aborts. A shape is valid when the
//! product of its non-zero axes fits in `usize` (so every stride and every
//! count of sub-blocks does too), even if another axis is 0.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tapegrad_tensor::{checked_numel, Tensor, TensorError};

/// The error must be `ShapeOverflow` naming `op` and `shape`, with the
/// message `"{op}: the product of the axes of shape {shape:?} overflows usize"`.
#[track_caller]
fn overflow<V: std::fmt::Debug>(r: Result<V, TensorError>, op: &str, shape: &[usize]) -> String {
    let e = r.expect_err("should overflow");
    match &e {
        TensorError::ShapeOverflow { op: o, shape: s } => assert_eq!((*o, s.as_slice()), (op, shape), "{e}"),
        other => panic!("expected ShapeOverflow, got {other:?}"),
    }
    let msg = e.to_string();
    assert_eq!(msg, format!("{op}: the product of the axes of shape {shape:?} overflows usize"));
    msg
}

/// The error must be `TooLarge` naming `op` and `shape`.
#[track_caller]
fn too_large<V: std::fmt::Debug>(r: Result<V, TensorError>, op: &str, shape: &[usize]) -> String {
    let e = r.expect_err("should be too large");
    match &e {
        TensorError::TooLarge { op: o, shape: s, .. } => assert_eq!((*o, s.as_slice()), (op, shape), "{e}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{op}: shape {shape:?} (")) && msg.ends_with("cannot be allocated"), "{msg}");
    msg
}

/// The panicking form panics with exactly `msg`.
#[track_caller]
fn panics_with<W>(msg: &str, f: impl FnOnce() -> W) {
    let payload = catch_unwind(AssertUnwindSafe(|| drop(f()))).expect_err("the panicking form should panic");
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some(msg));
}

const BIG: usize = 1 << 32;

#[test]
fn checked_numel_refuses_products_that_overflow_even_beside_a_zero_axis() {
    assert_eq!(checked_numel("t", &[2, 3, 4]), Ok(24));
    assert_eq!(checked_numel("t", &[]), Ok(1));
    assert_eq!(checked_numel("t", &[0, usize::MAX]), Ok(0));
    assert_eq!(checked_numel("t", &[BIG, BIG - 1]), Ok(BIG * (BIG - 1)));
    overflow(checked_numel("t", &[BIG, BIG]), "t", &[BIG, BIG]);
    // [0, 2^32, 2^32] holds nothing, but its first stride would be 2^64.
    overflow(checked_numel("t", &[0, BIG, BIG]), "t", &[0, BIG, BIG]);
    overflow(checked_numel("t", &[BIG, BIG, 0]), "t", &[BIG, BIG, 0]);
}

/// `Tensor::zeros(&[1<<32, 1<<32])` was a tensor of 0 values (2^64 wraps
/// to 0), `try_from_vec(vec![], ...)` accepted it, and `eye(1<<32)`
/// panicked with an index out of bounds.
#[test]
fn constructors_refuse_shapes_whose_element_count_overflows() {
    let s = [BIG, BIG];
    let msg = overflow(Tensor::<f32>::try_zeros(&s), "zeros", &s);
    panics_with(&msg, || Tensor::<f32>::zeros(&s));
    let msg = overflow(Tensor::<f32>::try_ones(&s), "ones", &s);
    panics_with(&msg, || Tensor::<f32>::ones(&s));
    let msg = overflow(Tensor::try_full(&s, 1.0f64), "full", &s);
    panics_with(&msg, || Tensor::full(&s, 1.0f64));
    let msg = overflow(Tensor::<f64>::try_from_vec(vec![], &s), "from_vec", &s);
    panics_with(&msg, || Tensor::<f64>::from_vec(vec![], &s));
    let msg = overflow(Tensor::<f64>::try_eye(BIG), "eye", &s);
    panics_with(&msg, || Tensor::<f64>::eye(BIG));
    // Empty tensors with a huge axis are fine.
    assert_eq!(Tensor::<f32>::try_zeros(&[0, usize::MAX]).unwrap().numel(), 0);
}

/// `try_reshape(&[(1<<63)+3, 2])` of 6 elements was accepted: the product
/// 2^64 + 6 wraps to 6.
#[test]
fn reshape_refuses_a_shape_whose_product_wraps_to_the_element_count() {
    let t = Tensor::<f64>::arange(6);
    let to = [(1usize << 63) + 3, 2];
    let msg = overflow(t.try_reshape(&to), "reshape", &to);
    panics_with(&msg, || t.reshape(&to));
}

/// An axis grown by padding or concatenation must fit in `usize`.
#[test]
fn padding_and_concatenation_refuse_axis_lengths_that_overflow() {
    // pad_axis(0, 1, usize::MAX) panicked with an arithmetic overflow.
    let one = Tensor::<f64>::ones(&[1]);
    let e = one.try_pad_axis(0, 1, usize::MAX).unwrap_err();
    assert_eq!(
        e,
        TensorError::AxisOverflow { op: "pad_axis", axis: 0, shape: tapegrad_tensor::shape(&[1]), lengths: vec![1, 1, usize::MAX] }
    );
    assert_eq!(e.to_string(), "pad_axis: lengths [1, 1, 18446744073709551615] of axis 0 of shape [1] add up to more than usize::MAX");
    panics_with(&e.to_string(), || one.pad_axis(0, 1, usize::MAX));
    // The old code wrapped the total to usize::MAX - 1.
    let long = Tensor::<f64>::zeros(&[usize::MAX, 0]);
    let e = Tensor::try_concat(&[&long, &long], 0).unwrap_err();
    assert!(matches!(&e, TensorError::AxisOverflow { op: "concat", axis: 0, lengths, .. } if lengths == &[usize::MAX; 2]), "{e:?}");
    panics_with(&e.to_string(), || Tensor::concat(&[&long, &long], 0));
    // Stacking adds an axis of 2: [2, usize::MAX, 0] overflows as a shape.
    overflow(Tensor::try_stack(&[&long, &long], 0), "stack", &[2, usize::MAX, 0]);
    let s = Tensor::<f64>::zeros(&[0, BIG, 1]);
    assert_eq!(Tensor::try_stack(&[&s, &s], 2).unwrap().shape(), &[0, BIG, 2, 1]);
}

/// Ops whose result can be larger than their operands check its shape.
#[test]
fn ops_that_grow_a_shape_refuse_results_whose_element_count_overflows() {
    // Broadcasting two empty tensors to [0, 2^32, 2^32].
    let (a, b) = (Tensor::<f64>::zeros(&[0, BIG, 1]), Tensor::<f64>::zeros(&[0, 1, BIG]));
    let msg = overflow(a.try_add(&b), "add", &[0, BIG, BIG]);
    panics_with(&msg, || &a + &b);
    overflow(a.try_where_cond(&b, &b), "where", &[0, BIG, BIG]);
    overflow(a.try_broadcast_to(&[0, BIG, BIG]), "broadcast_to", &[0, BIG, BIG]);
    // A product of two empty matrices (the old code made a [2^32, 2^32]
    // tensor with no values).
    let (l, r) = (Tensor::<f64>::zeros(&[BIG, 0]), Tensor::<f64>::zeros(&[0, BIG]));
    let msg = overflow(l.try_matmul(&r), "matmul", &[BIG, BIG]);
    panics_with(&msg, || l.matmul(&r));
    // Index ops whose result shape is the caller's.
    let x = Tensor::<f64>::zeros(&[0, BIG, 2]);
    overflow(x.try_gather(2, &[], &[0, BIG, BIG]), "gather", &[0, BIG, BIG]);
    overflow(x.try_scatter_add(2, &[], &[0, BIG, BIG], &x), "scatter_add", &[0, BIG, BIG]);
    let wide = Tensor::<f64>::zeros(&[0, 1 << 50, 1]);
    overflow(wide.try_index_select(2, &[0; 1 << 14]), "index_select", &[0, 1 << 50, 1 << 14]);
    overflow(Tensor::<f64>::try_one_hot(&[0, 0, 0], usize::MAX), "one_hot", &[3, usize::MAX]);
}

/// Buffers past what any allocator can provide (here 2^60 bytes and up:
/// beyond the address space of every 64-bit CPU, however the OS
/// overcommits) were requested infallibly and aborted the process; now
/// they are `TooLarge` errors and the panicking forms panic with that
/// message.
#[test]
fn impossible_allocations_are_errors_not_aborts() {
    // More than isize::MAX bytes: no Vec can hold it.
    let msg = too_large(Tensor::<f64>::try_zeros(&[1 << 61]), "zeros", &[1 << 61]);
    assert_eq!(
        msg,
        "zeros: shape [2305843009213693952] (2305843009213693952 elements of 8 bytes, 18446744073709551616 bytes) cannot be allocated"
    );
    panics_with(&msg, || Tensor::<f64>::zeros(&[1 << 61]));
    // Representable, but no allocator can provide 4 EiB.
    let msg = too_large(Tensor::<f32>::try_full(&[1 << 60], 1.0), "full", &[1 << 60]);
    panics_with(&msg, || Tensor::<f32>::full(&[1 << 60], 1.0));
    too_large(Tensor::<f32>::try_eye(1 << 30), "eye", &[1 << 30, 1 << 30]);
    too_large(Tensor::<f64>::try_arange(1 << 60), "arange", &[1 << 60]);
    // From small (or empty) operands.
    let (l, r) = (Tensor::<f64>::zeros(&[1 << 29, 0]), Tensor::<f64>::zeros(&[0, 1 << 29]));
    let msg = too_large(l.try_matmul(&r), "matmul", &[1 << 29, 1 << 29]);
    panics_with(&msg, || l.matmul(&r));
    let big = [1 << 20, 1 << 19, 1 << 19];
    let (c, a, b) =
        (Tensor::<f32>::zeros(&[1 << 20, 1, 1]), Tensor::<f32>::zeros(&[1, 1 << 19, 1]), Tensor::<f32>::zeros(&[1, 1, 1 << 19]));
    too_large(c.try_where_cond(&a, &b), "where", &big);
    too_large(c.try_broadcast_to(&big), "broadcast_to", &big);
    too_large(Tensor::<f64>::ones(&[1]).try_pad_axis(0, 0, 1 << 60), "pad_axis", &[(1 << 60) + 1]);
    let hollow = Tensor::<f64>::zeros(&[1 << 29, 0, 1 << 29]);
    too_large(hollow.try_sum_axis(1, false), "sum_axis", &[1 << 29, 1 << 29]);
    too_large(hollow.try_logsumexp(1, true), "logsumexp", &[1 << 29, 1, 1 << 29]);
    too_large(Tensor::<f64>::try_one_hot(&[0; 1 << 10], 1 << 50), "one_hot", &[1 << 10, 1 << 50]);
}
