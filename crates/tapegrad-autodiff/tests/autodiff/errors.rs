//! Every fallible variable op rejects bad shapes with the typed error,
//! naming the op and shapes; the panicking form panics with that message.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tapegrad_autodiff::{AutodiffError, Tape, Tensor, TensorError, Var};

fn expect(r: Result<Var<'_, f64>, AutodiffError>, op: &str, has: &[&str]) {
    let e = r.unwrap_err();
    assert!(matches!(e, AutodiffError::Tensor(_)), "{e:?}");
    let m = e.to_string();
    assert!(m.starts_with(&format!("{op}:")), "`{m}` should start with `{op}:`");
    for h in has {
        assert!(m.contains(h), "`{m}` should contain `{h}`");
    }
}

#[test]
fn shape_errors_are_typed_and_named() {
    let tape = Tape::<f64>::new();
    let a = tape.leaf(Tensor::ones(&[2, 3]));
    let b = tape.leaf(Tensor::ones(&[4]));
    expect(a.try_add(b), "add", &["[2, 3]", "[4]"]);
    expect(a.try_sub(b), "sub", &["[2, 3]", "[4]"]);
    expect(a.try_mul(b), "mul", &["[2, 3]", "[4]"]);
    expect(a.try_div(b), "div", &["[2, 3]", "[4]"]);
    expect(a.try_matmul(a), "matmul", &["[2, 3]"]);
    expect(a.try_sum_axis(2, false), "sum_axis", &["[2, 3]"]);
    expect(a.try_max_axis(2, false), "max_axis", &["[2, 3]"]);
    expect(a.try_sum_to(&[3, 3]), "sum_to", &["[2, 3]", "[3, 3]"]);
    expect(a.try_broadcast_to(&[4, 3]), "broadcast_to", &["[2, 3]", "[4, 3]"]);
    expect(a.try_reshape(&[5]), "reshape", &["[2, 3]", "[5]"]);
    expect(a.try_transpose(0, 3), "transpose", &["[2, 3]"]);
    expect(a.try_narrow(1, 2, 2), "narrow", &["[2, 3]"]);
    expect(a.try_pad_axis(4, 1, 1), "pad_axis", &["[2, 3]"]);
    expect(Var::try_concat(&[a, b], 0), "concat", &["[2, 3]", "[4]"]);
    expect(Var::try_stack(&[a, b], 0), "stack", &["[2, 3]", "[4]"]);
    expect(a.try_index_select(0, &[2]), "index_select", &["index 2", "[2, 3]"]);
    expect(a.try_index_add(0, &[0], b), "index_add", &["[2, 3]", "[4]"]);
    expect(a.try_gather(1, &[3, 0], &[2, 1]), "gather", &["index 3"]);
    expect(a.try_scatter_add(1, &[0, 0], &[2, 1], b), "scatter_add", &["[2, 1]", "[4]"]);
    expect(a.try_log_softmax(2), "max_axis", &["[2, 3]"]);
    expect(a.try_squeeze(0), "squeeze", &["[2, 3]"]);
    expect(a.try_unsqueeze(3), "unsqueeze", &["[2, 3]"]);
    assert!(matches!(a.try_split(1, &[1]).unwrap_err(), AutodiffError::Tensor(TensorError::Invalid { .. })));
    assert!(matches!(a.try_chunk(0, 1).unwrap_err(), AutodiffError::Tensor(TensorError::Invalid { .. })));
}

#[test]
fn operators_panic_with_the_same_message() {
    let tape = Tape::<f64>::new();
    let a = tape.leaf(Tensor::ones(&[2, 3]));
    let b = tape.leaf(Tensor::ones(&[4]));
    let want = a.try_add(b).unwrap_err().to_string();
    let got = catch_unwind(AssertUnwindSafe(|| a + b)).unwrap_err();
    assert_eq!(got.downcast_ref::<String>().unwrap(), &want);
    let want = a.try_matmul(a).unwrap_err().to_string();
    let got = catch_unwind(AssertUnwindSafe(|| a.matmul(a))).unwrap_err();
    assert_eq!(got.downcast_ref::<String>().unwrap(), &want);
}

#[test]
fn var_clamp_rejects_bounds_that_are_not_an_interval_and_records_nothing() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![-3.0, 0.5, 7.0], &[3]));
    let nodes = tape.len();
    for (lo, hi, has) in [(1.0, -1.0, "lo = 1 and hi = -1"), (f64::NAN, 1.0, "lo = NaN"), (0.0, f64::NAN, "hi = NaN")] {
        let e = x.try_clamp(lo, hi).unwrap_err();
        // The tensor crate's typed error, message and all.
        assert_eq!(e, AutodiffError::Tensor(x.value().try_clamp(lo, hi).unwrap_err()));
        assert!(matches!(e, AutodiffError::Tensor(TensorError::InvalidBounds { op: "clamp", .. })), "{e:?}");
        let m = e.to_string();
        assert!(m.starts_with("clamp: ") && m.contains(has), "`{m}`");
        let got = catch_unwind(AssertUnwindSafe(|| x.clamp(lo, hi))).unwrap_err();
        assert_eq!(got.downcast_ref::<String>().unwrap(), &m);
        assert_eq!(tape.len(), nodes, "a refused clamp records nothing");
    }
    assert_eq!(x.try_clamp(-1.0, 1.0).unwrap().value().data(), &[-1.0, 0.5, 1.0]);
}

/// A reshape to `[(1<<63)+3, 2]` of 6 elements was accepted (the product
/// wraps to 6); the variable op passes the tensor crate's error on.
#[test]
fn var_reshape_refuses_a_shape_whose_product_wraps_to_the_element_count() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::arange(6));
    let e = x.try_reshape(&[(1 << 63) + 3, 2]).unwrap_err();
    assert!(matches!(e, AutodiffError::Tensor(TensorError::ShapeOverflow { op: "reshape", .. })), "{e:?}");
    let got = catch_unwind(AssertUnwindSafe(|| x.reshape(&[(1 << 63) + 3, 2]))).unwrap_err();
    assert_eq!(got.downcast_ref::<String>().unwrap(), &e.to_string());
}

/// `Var::split` and `chunk` refuse what the tensor ops refuse, with the
/// same errors (one shared check): sizes whose sum overflows `usize` used
/// to wrap around in release builds (and panic in debug) here.
#[test]
fn var_split_refuses_sizes_whose_sum_overflows_as_the_tensor_op_does() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::zeros(&[2, 5]));
    let by_var = x.try_split(1, &[usize::MAX, 6]).unwrap_err().to_string();
    let by_tensor = x.value().try_split(1, &[usize::MAX, 6]).unwrap_err().to_string();
    assert_eq!(by_var, by_tensor);
    assert!(by_var.contains("split"), "{by_var}");
    let n = tape.len();
    assert_eq!(x.try_chunk(0, 1).unwrap_err().to_string(), x.value().try_chunk(0, 1).unwrap_err().to_string());
    assert_eq!(tape.len(), n, "a refused split or chunk records nothing");
    assert_eq!(x.try_chunk(3, 1).unwrap().iter().map(|p| p.shape()[1]).collect::<Vec<_>>(), [2, 2, 1]);
}
