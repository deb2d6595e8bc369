//! Every fallible op rejects bad shapes, axes and indices with its typed
//! error: the right variant, whose `op` field names the op, whose message
//! starts with `op:` and contains the shapes; the panicking form panics with
//! exactly the same message.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tapegrad_tensor::{Tensor, TensorError};

fn t(shape: &[usize]) -> Tensor<f64> {
    Tensor::zeros(shape)
}

/// The `op` field of any variant.
fn op_of(e: &TensorError) -> &'static str {
    use TensorError::*;
    match e {
        Broadcast { op, .. }
        | ShapeMismatch { op, .. }
        | Rank { op, .. }
        | Axis { op, .. }
        | Reshape { op, .. }
        | DataLength { op, .. }
        | Index { op, .. }
        | Range { op, .. }
        | Invalid { op, .. }
        | InvalidBounds { op, .. } => op,
        other => panic!("unknown variant {other:?}"),
    }
}

/// Names of the variants, to check which one an op returned.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Broadcast,
    ShapeMismatch,
    Rank,
    Axis,
    Reshape,
    DataLength,
    Index,
    Range,
    Invalid,
    InvalidBounds,
}

fn kind_of(e: &TensorError) -> Kind {
    match e {
        TensorError::Broadcast { .. } => Kind::Broadcast,
        TensorError::ShapeMismatch { .. } => Kind::ShapeMismatch,
        TensorError::Rank { .. } => Kind::Rank,
        TensorError::Axis { .. } => Kind::Axis,
        TensorError::Reshape { .. } => Kind::Reshape,
        TensorError::DataLength { .. } => Kind::DataLength,
        TensorError::Index { .. } => Kind::Index,
        TensorError::Range { .. } => Kind::Range,
        TensorError::Invalid { .. } => Kind::Invalid,
        TensorError::InvalidBounds { .. } => Kind::InvalidBounds,
        other => panic!("unknown variant {other:?}"),
    }
}

/// Checks a `try_` result is the expected error, and returns its message.
#[track_caller]
fn check<V: Debug>(r: Result<V, TensorError>, op: &str, kind: Kind, has: &[&str]) -> String {
    let err = r.expect_err("should fail");
    let msg = err.to_string();
    assert_eq!(kind_of(&err), kind, "`{msg}`");
    assert_eq!(op_of(&err), op, "`{msg}`");
    assert!(msg.starts_with(&format!("{op}: ")), "`{msg}` should start with `{op}: `");
    for h in has {
        assert!(msg.contains(h), "`{msg}` should contain `{h}`");
    }
    msg
}

/// As [`check`], and the panicking form panics with exactly that message.
#[track_caller]
fn both<V: Debug, W>(r: Result<V, TensorError>, panicking: impl FnOnce() -> W, op: &str, kind: Kind, has: &[&str]) {
    let msg = check(r, op, kind, has);
    let payload = catch_unwind(AssertUnwindSafe(|| drop(panicking()))).expect_err("the panicking form should panic");
    let got = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(got, msg);
}

#[test]
fn broadcast_errors() {
    let (a, b) = (t(&[2, 3]), t(&[4]));
    let has = &["[2, 3]", "[4]"][..];
    both(a.try_add(&b), || a.add(&b), "add", Kind::Broadcast, has);
    both(a.try_sub(&b), || a.sub(&b), "sub", Kind::Broadcast, has);
    both(a.try_mul(&b), || a.mul(&b), "mul", Kind::Broadcast, has);
    both(a.try_div(&b), || a.div(&b), "div", Kind::Broadcast, has);
    both(a.try_add(&b), || &a + &b, "add", Kind::Broadcast, has);
    both(a.try_sub(&b), || a.clone() - b.clone(), "sub", Kind::Broadcast, has);
    both(a.try_mul(&b), || a.clone() * &b, "mul", Kind::Broadcast, has);
    both(a.try_div(&b), || &a / b.clone(), "div", Kind::Broadcast, has);
    for (op, r) in [
        ("maximum", a.try_maximum(&b)),
        ("minimum", a.try_minimum(&b)),
        ("eq", a.try_eq(&b)),
        ("gt", a.try_gt(&b)),
        ("ge", a.try_ge(&b)),
        ("lt", a.try_lt(&b)),
        ("le", a.try_le(&b)),
        ("where", t(&[2]).try_where_cond(&a, &b)),
        ("where", t(&[5]).try_where_cond(&a, &a)),
    ] {
        check(r, op, Kind::Broadcast, &["[2, 3]"]);
    }
    both(a.try_sum_to(&[3, 3]), || a.sum_to(&[3, 3]), "sum_to", Kind::Broadcast, &["[2, 3]", "[3, 3]"]);
    both(a.try_sum_to(&[1, 2, 3]), || a.sum_to(&[1, 2, 3]), "sum_to", Kind::Broadcast, &["[2, 3]", "[1, 2, 3]"]);
    both(a.try_broadcast_to(&[2, 4]), || a.broadcast_to(&[2, 4]), "broadcast_to", Kind::Broadcast, &["[2, 3]", "[2, 4]"]);
    both(a.try_broadcast_to(&[3]), || a.broadcast_to(&[3]), "broadcast_to", Kind::Broadcast, &["[2, 3]", "[3]"]);
}

#[test]
fn matmul_errors() {
    let (a, b) = (t(&[2, 3]), t(&[4, 5]));
    both(a.try_matmul(&b), || a.matmul(&b), "matmul", Kind::ShapeMismatch, &["[2, 3]", "[4, 5]", "inner"]);
    both(a.try_matmul(&a), || a.matmul(&a), "matmul", Kind::ShapeMismatch, &["[2, 3]"]);
    let (x, y) = (t(&[2, 2, 3]), t(&[3, 3, 1]));
    both(x.try_matmul(&y), || x.matmul(&y), "matmul", Kind::ShapeMismatch, &["[2, 2, 3]", "[3, 3, 1]", "batch"]);
    both(t(&[3]).try_matmul(&t(&[3, 1])), || t(&[3]).matmul(&t(&[3, 1])), "matmul", Kind::Rank, &["[3]"]);
    check(t(&[3, 1]).try_matmul(&t(&[1, 1, 1, 1])), "matmul", Kind::Rank, &["[1, 1, 1, 1]", "2 or 3"]);
}

#[test]
fn reduction_and_softmax_errors() {
    let x = t(&[2, 3]);
    let has = &["axis 2", "[2, 3]"][..];
    both(x.try_sum_axis(2, false), || x.sum_axis(2, false), "sum_axis", Kind::Axis, has);
    both(x.try_mean_axis(2, true), || x.mean_axis(2, true), "mean_axis", Kind::Axis, has);
    both(x.try_max_axis(2, true), || x.max_axis(2, true), "max_axis", Kind::Axis, has);
    both(x.try_argmax(2), || x.argmax(2), "argmax", Kind::Axis, has);
    both(x.try_softmax(2), || x.softmax(2), "softmax", Kind::Axis, has);
    both(x.try_log_softmax(2), || x.log_softmax(2), "log_softmax", Kind::Axis, has);
    both(x.try_logsumexp(2, false), || x.logsumexp(2, false), "logsumexp", Kind::Axis, has);
    let e = t(&[2, 0]);
    both(e.try_max_axis(1, false), || e.max_axis(1, false), "max_axis", Kind::Invalid, &["[2, 0]"]);
    both(e.try_argmax(1), || e.argmax(1), "argmax", Kind::Invalid, &["[2, 0]"]);
    both(e.try_max_all(), || e.max_all(), "max_all", Kind::Invalid, &["[2, 0]"]);
    check(Tensor::<f64>::scalar(1.0).try_sum_axis(0, false), "sum_axis", Kind::Axis, &["[]"]);
}

#[test]
fn shape_op_errors() {
    let x = t(&[2, 3]);
    both(x.try_reshape(&[4, 2]), || x.reshape(&[4, 2]), "reshape", Kind::Reshape, &["[2, 3]", "[4, 2]"]);
    both(x.try_transpose(0, 2), || x.transpose(0, 2), "transpose", Kind::Axis, &["axis 2", "[2, 3]"]);
    both(x.try_transpose(3, 0), || x.transpose(3, 0), "transpose", Kind::Axis, &["axis 3", "[2, 3]"]);
    both(x.try_narrow(1, 2, 2), || x.narrow(1, 2, 2), "narrow", Kind::Range, &["2..4", "axis 1", "[2, 3]"]);
    both(x.try_narrow(1, usize::MAX, 2), || x.narrow(1, usize::MAX, 2), "narrow", Kind::Range, &["[2, 3]"]);
    both(x.try_narrow(2, 0, 1), || x.narrow(2, 0, 1), "narrow", Kind::Axis, &["[2, 3]"]);
    both(x.try_pad_axis(3, 1, 1), || x.pad_axis(3, 1, 1), "pad_axis", Kind::Axis, &["axis 3", "[2, 3]"]);
    both(x.try_split(1, &[1, 1]), || x.split(1, &[1, 1]), "split", Kind::Invalid, &["[1, 1]", "[2, 3]"]);
    both(x.try_split(2, &[1]), || x.split(2, &[1]), "split", Kind::Axis, &["[2, 3]"]);
    both(x.try_chunk(0, 1), || x.chunk(0, 1), "chunk", Kind::Invalid, &["[2, 3]"]);
    both(x.try_chunk(2, 2), || x.chunk(2, 2), "chunk", Kind::Axis, &["[2, 3]"]);
    both(x.try_squeeze(1), || x.squeeze(1), "squeeze", Kind::Invalid, &["axis 1", "[2, 3]"]);
    both(x.try_squeeze(2), || x.squeeze(2), "squeeze", Kind::Axis, &["[2, 3]"]);
    both(x.try_unsqueeze(3), || x.unsqueeze(3), "unsqueeze", Kind::Axis, &["axis 3", "[2, 3]"]);
}

#[test]
fn concat_and_stack_errors() {
    let (x, y) = (t(&[2, 3]), t(&[3, 3]));
    both(Tensor::try_concat(&[&x, &y], 1), || Tensor::concat(&[&x, &y], 1), "concat", Kind::ShapeMismatch, &["[2, 3]", "[3, 3]"]);
    let z = t(&[2, 3, 1]);
    both(
        Tensor::try_concat(&[&x, &x, &z], 0),
        || Tensor::concat(&[&x, &x, &z], 0),
        "concat",
        Kind::ShapeMismatch,
        &["[2, 3]", "[2, 3, 1]"],
    );
    both(Tensor::try_concat(&[&x, &x], 2), || Tensor::concat(&[&x, &x], 2), "concat", Kind::Axis, &["axis 2", "[2, 3]"]);
    both(Tensor::<f64>::try_concat(&[], 0), || Tensor::<f64>::concat(&[], 0), "concat", Kind::Invalid, &[]);
    let w = t(&[3, 2]);
    both(Tensor::try_stack(&[&x, &w], 0), || Tensor::stack(&[&x, &w], 0), "stack", Kind::ShapeMismatch, &["[2, 3]", "[3, 2]"]);
    both(Tensor::try_stack(&[&x, &x], 3), || Tensor::stack(&[&x, &x], 3), "stack", Kind::Axis, &["axis 3", "[2, 3]"]);
    both(Tensor::<f64>::try_stack(&[], 0), || Tensor::<f64>::stack(&[], 0), "stack", Kind::Invalid, &[]);
}

#[test]
fn index_errors() {
    let x = t(&[2, 3]);
    both(x.try_index_select(1, &[0, 3]), || x.index_select(1, &[0, 3]), "index_select", Kind::Index, &["index 3", "axis 1", "[2, 3]"]);
    both(x.try_index_select(2, &[0]), || x.index_select(2, &[0]), "index_select", Kind::Axis, &["[2, 3]"]);
    let s = t(&[1, 2]);
    both(x.try_index_add(0, &[0], &s), || x.index_add(0, &[0], &s), "index_add", Kind::ShapeMismatch, &["[2, 3]", "[1, 2]"]);
    let s = t(&[1, 3]);
    both(x.try_index_add(0, &[2], &s), || x.index_add(0, &[2], &s), "index_add", Kind::Index, &["index 2", "[2, 3]"]);
    both(x.try_index_add(2, &[0], &s), || x.index_add(2, &[0], &s), "index_add", Kind::Axis, &["[2, 3]"]);
    both(x.try_gather(1, &[0, 5], &[2, 1]), || x.gather(1, &[0, 5], &[2, 1]), "gather", Kind::Index, &["index 5", "[2, 3]"]);
    both(x.try_gather(1, &[0, 0, 0], &[3, 1]), || x.gather(1, &[0; 3], &[3, 1]), "gather", Kind::ShapeMismatch, &["[2, 3]", "[3, 1]"]);
    both(x.try_gather(1, &[0], &[1]), || x.gather(1, &[0], &[1]), "gather", Kind::ShapeMismatch, &["[2, 3]", "[1]"]);
    both(x.try_gather(1, &[0], &[2, 1]), || x.gather(1, &[0], &[2, 1]), "gather", Kind::DataLength, &["1 values", "[2, 1]"]);
    both(x.try_gather(2, &[0], &[2, 1]), || x.gather(2, &[0], &[2, 1]), "gather", Kind::Axis, &["[2, 3]"]);
    let src = t(&[1, 2]);
    both(
        x.try_scatter_add(1, &[0, 1], &[2, 1], &src),
        || x.scatter_add(1, &[0, 1], &[2, 1], &src),
        "scatter_add",
        Kind::ShapeMismatch,
        &["[2, 1]", "[1, 2]"],
    );
    let src = t(&[2, 1]);
    both(
        x.try_scatter_add(1, &[0, 3], &[2, 1], &src),
        || x.scatter_add(1, &[0, 3], &[2, 1], &src),
        "scatter_add",
        Kind::Index,
        &["index 3"],
    );
    both(
        x.try_scatter_add(0, &[0, 0], &[2, 1], &src),
        || x.scatter_add(0, &[0, 0], &[2, 1], &src),
        "scatter_add",
        Kind::ShapeMismatch,
        &["[2, 3]", "[2, 1]"],
    );
    both(Tensor::<f64>::try_one_hot(&[1, 4], 2), || Tensor::<f64>::one_hot(&[1, 4], 2), "one_hot", Kind::Index, &["index 4", "size 2"]);
}

#[test]
fn construction_and_access_errors() {
    let x = t(&[2, 3]);
    both(
        Tensor::<f64>::try_from_vec(vec![1.0; 5], &[2, 3]),
        || Tensor::from_vec(vec![1.0f64; 5], &[2, 3]),
        "from_vec",
        Kind::DataLength,
        &["5 values", "[2, 3]"],
    );
    both(x.try_item(), || x.item(), "item", Kind::Invalid, &["[2, 3]"]);
    check(x.try_get(&[2, 0]), "get", Kind::Index, &["index 2", "[2, 3]"]);
    check(x.try_get(&[0]), "get", Kind::Rank, &["[2, 3]"]);
}

#[test]
fn clamp_rejects_bounds_that_are_not_an_interval() {
    let x = Tensor::from_vec(vec![-3.0f64, 0.5, 7.0], &[3]);
    let msg = check(x.try_clamp(1.0, -1.0), "clamp", Kind::InvalidBounds, &[]);
    assert_eq!(msg, "clamp: bounds lo = 1 and hi = -1 do not form an interval (lo must not exceed hi, and neither may be NaN)");
    both(x.try_clamp(1.0, -1.0), || x.clamp(1.0, -1.0), "clamp", Kind::InvalidBounds, &["lo = 1", "hi = -1"]);
    both(x.try_clamp(f64::NAN, 1.0), || x.clamp(f64::NAN, 1.0), "clamp", Kind::InvalidBounds, &["lo = NaN"]);
    both(x.try_clamp(0.0, f64::NAN), || x.clamp(0.0, f64::NAN), "clamp", Kind::InvalidBounds, &["hi = NaN"]);
    // A single point and the whole line are intervals.
    assert_eq!(x.try_clamp(0.5, 0.5).unwrap().data(), &[0.5, 0.5, 0.5]);
    assert_eq!(x.try_clamp(f64::NEG_INFINITY, f64::INFINITY).unwrap(), x);
}

#[test]
fn the_newer_panicking_forms_panic_with_their_try_forms_message() {
    let (a, b) = (t(&[2, 3]), t(&[4]));
    let has = &["[2, 3]", "[4]"][..];
    type Binary = fn(&Tensor<f64>, &Tensor<f64>) -> Tensor<f64>;
    type TryBinary = fn(&Tensor<f64>, &Tensor<f64>) -> Result<Tensor<f64>, TensorError>;
    let pairs: [(&str, TryBinary, Binary); 6] = [
        ("maximum", Tensor::try_maximum, Tensor::maximum),
        ("minimum", Tensor::try_minimum, Tensor::minimum),
        ("gt", Tensor::try_gt, Tensor::gt),
        ("ge", Tensor::try_ge, Tensor::ge),
        ("lt", Tensor::try_lt, Tensor::lt),
        ("le", Tensor::try_le, Tensor::le),
    ];
    for (op, try_form, panicking) in pairs {
        both(try_form(&a, &b), || panicking(&a, &b), op, Kind::Broadcast, has);
    }
    both(a.try_zip_map("hypot", &b, f64::hypot), || a.zip_map("hypot", &b, f64::hypot), "hypot", Kind::Broadcast, has);
    both(t(&[5]).try_where_cond(&a, &a), || t(&[5]).where_cond(&a, &a), "where", Kind::Broadcast, &["[5]", "[2, 3]"]);
    both(a.try_get(&[0, 3]), || a.get(&[0, 3]), "get", Kind::Index, &["index 3", "[2, 3]"]);
    both(a.try_get(&[0]), || a.get(&[0]), "get", Kind::Rank, &["[2, 3]"]);
    let src = t(&[2, 2]);
    let range = &["2..4", "axis 1", "[2, 3]"][..];
    both(a.clone().try_narrow_add_assign(1, 2, &src), || a.clone().narrow_add_assign(1, 2, &src), "narrow_add_assign", Kind::Range, range);
    let wrong = t(&[3, 1]);
    both(
        a.clone().try_narrow_add_assign(1, 0, &wrong),
        || a.clone().narrow_add_assign(1, 0, &wrong),
        "narrow_add_assign",
        Kind::ShapeMismatch,
        &["[2, 3]", "[3, 1]"],
    );
}
