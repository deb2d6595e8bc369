//! Every fallible op rejects bad shapes, axes and indices with its typed
//! error, whose message names the op and the shapes; the panicking form
//! panics with the same message.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tapegrad_tensor::{Tensor, TensorError};

fn t(shape: &[usize]) -> Tensor<f64> {
    Tensor::zeros(shape)
}

/// The error's message starts with `op` and contains every string in `has`.
fn check(err: TensorError, op: &str, has: &[&str]) -> TensorError {
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{op}:")), "`{msg}` should start with `{op}:`");
    for h in has {
        assert!(msg.contains(h), "`{msg}` should contain `{h}`");
    }
    err
}

/// The panicking form panics with exactly the `try_` form's message.
fn panics_with(msg: String, f: impl FnOnce()) {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    let got = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(got, msg);
}

#[test]
fn broadcast_errors_name_op_and_both_shapes() {
    let (a, b) = (t(&[2, 3]), t(&[4]));
    for (op, e) in [("add", a.try_add(&b)), ("sub", a.try_sub(&b)), ("mul", a.try_mul(&b)), ("div", a.try_div(&b)), ("gt", a.try_gt(&b))] {
        let e = check(e.unwrap_err(), op, &["[2, 3]", "[4]"]);
        assert!(matches!(e, TensorError::Broadcast { .. }));
    }
    let msg = a.try_add(&b).unwrap_err().to_string();
    panics_with(msg.clone(), || drop(a.add(&b)));
    panics_with(msg, || drop(&a + &b));
    assert!(matches!(check(t(&[2]).try_where_cond(&a, &b).unwrap_err(), "where", &["[4]"]), TensorError::Broadcast { .. }));
    assert!(matches!(check(a.try_sum_to(&[3, 3]).unwrap_err(), "sum_to", &["[2, 3]", "[3, 3]"]), TensorError::Broadcast { .. }));
    assert!(matches!(
        check(a.try_broadcast_to(&[2, 4]).unwrap_err(), "broadcast_to", &["[2, 3]", "[2, 4]"]),
        TensorError::Broadcast { .. }
    ));
}

#[test]
fn matmul_errors() {
    let e = check(t(&[2, 3]).try_matmul(&t(&[4, 5])).unwrap_err(), "matmul", &["[2, 3]", "[4, 5]", "inner"]);
    assert!(matches!(e, TensorError::ShapeMismatch { .. }));
    let e = check(t(&[2, 2, 3]).try_matmul(&t(&[3, 3, 1])).unwrap_err(), "matmul", &["batch"]);
    assert!(matches!(e, TensorError::ShapeMismatch { .. }));
    assert!(matches!(check(t(&[3]).try_matmul(&t(&[3, 1])).unwrap_err(), "matmul", &["[3]"]), TensorError::Rank { .. }));
    let msg = t(&[2, 3]).try_matmul(&t(&[4, 5])).unwrap_err().to_string();
    panics_with(msg, || drop(t(&[2, 3]).matmul(&t(&[4, 5]))));
}

#[test]
fn axis_range_and_index_errors() {
    let x = t(&[2, 3]);
    assert!(matches!(check(x.try_sum_axis(2, false).unwrap_err(), "sum_axis", &["axis 2", "[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_mean_axis(5, false).unwrap_err(), "mean_axis", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_max_axis(2, true).unwrap_err(), "max_axis", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_argmax(9).unwrap_err(), "argmax", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_transpose(0, 2).unwrap_err(), "transpose", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_softmax(2).unwrap_err(), "softmax", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_log_softmax(2).unwrap_err(), "log_softmax", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_logsumexp(2, false).unwrap_err(), "logsumexp", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_narrow(1, 2, 2).unwrap_err(), "narrow", &["2..4", "[2, 3]"]), TensorError::Range { .. }));
    assert!(matches!(check(x.try_narrow(1, usize::MAX, 2).unwrap_err(), "narrow", &["[2, 3]"]), TensorError::Range { .. }));
    assert!(matches!(check(x.try_pad_axis(3, 1, 1).unwrap_err(), "pad_axis", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(
        check(x.try_index_select(1, &[0, 3]).unwrap_err(), "index_select", &["index 3", "[2, 3]"]),
        TensorError::Index { .. }
    ));
    assert!(matches!(
        check(x.try_index_add(0, &[0], &t(&[1, 2])).unwrap_err(), "index_add", &["[2, 3]", "[1, 2]"]),
        TensorError::ShapeMismatch { .. }
    ));
    assert!(matches!(check(x.try_index_add(0, &[2], &t(&[1, 3])).unwrap_err(), "index_add", &["index 2"]), TensorError::Index { .. }));
    assert!(matches!(check(x.try_gather(1, &[0, 5], &[2, 1]).unwrap_err(), "gather", &["index 5"]), TensorError::Index { .. }));
    assert!(matches!(
        check(x.try_gather(1, &[0, 0, 0], &[3, 1]).unwrap_err(), "gather", &["[2, 3]", "[3, 1]"]),
        TensorError::ShapeMismatch { .. }
    ));
    assert!(matches!(
        check(x.try_scatter_add(1, &[0, 1], &[2, 1], &t(&[1, 2])).unwrap_err(), "scatter_add", &["[2, 1]", "[1, 2]"]),
        TensorError::ShapeMismatch { .. }
    ));
    assert!(matches!(check(x.try_get(&[2, 0]).unwrap_err(), "get", &["[2, 3]"]), TensorError::Index { .. }));
    assert!(matches!(check(Tensor::<f64>::try_one_hot(&[4], 2).unwrap_err(), "one_hot", &["index 4"]), TensorError::Index { .. }));
    panics_with(x.try_narrow(1, 2, 2).unwrap_err().to_string(), || drop(x.narrow(1, 2, 2)));
}

#[test]
fn shape_construction_errors() {
    let x = t(&[2, 3]);
    assert!(matches!(check(x.try_reshape(&[4, 2]).unwrap_err(), "reshape", &["[2, 3]", "[4, 2]"]), TensorError::Reshape { .. }));
    assert!(matches!(
        check(Tensor::<f64>::try_from_vec(vec![1.0; 5], &[2, 3]).unwrap_err(), "from_vec", &["5 values", "[2, 3]"]),
        TensorError::DataLength { .. }
    ));
    assert!(matches!(
        check(Tensor::try_concat(&[&x, &t(&[3, 3])], 1).unwrap_err(), "concat", &["[2, 3]", "[3, 3]"]),
        TensorError::ShapeMismatch { .. }
    ));
    assert!(matches!(check(Tensor::<f64>::try_concat(&[], 0).unwrap_err(), "concat", &[]), TensorError::Invalid { .. }));
    assert!(matches!(
        check(Tensor::try_stack(&[&x, &t(&[3, 2])], 0).unwrap_err(), "stack", &["[2, 3]", "[3, 2]"]),
        TensorError::ShapeMismatch { .. }
    ));
    assert!(matches!(check(x.try_split(1, &[1, 1]).unwrap_err(), "split", &["[2, 3]"]), TensorError::Invalid { .. }));
    assert!(matches!(check(x.try_chunk(0, 1).unwrap_err(), "chunk", &[]), TensorError::Invalid { .. }));
    assert!(matches!(check(x.try_squeeze(1).unwrap_err(), "squeeze", &["[2, 3]"]), TensorError::Invalid { .. }));
    assert!(matches!(check(x.try_unsqueeze(3).unwrap_err(), "unsqueeze", &["[2, 3]"]), TensorError::Axis { .. }));
    assert!(matches!(check(x.try_item().unwrap_err(), "item", &["[2, 3]"]), TensorError::Invalid { .. }));
    assert!(matches!(check(t(&[0]).try_max_all().unwrap_err(), "max_all", &["[0]"]), TensorError::Invalid { .. }));
    assert!(matches!(check(t(&[2, 0]).try_argmax(1).unwrap_err(), "argmax", &["[2, 0]"]), TensorError::Invalid { .. }));
}
