//! The ops researchers reach for (issue 13): `linear`, transposed operands
//! (`w.t()`), `var_axis`/`std_axis`, `layer_norm`, `lerp`, `one_minus` and
//! `Var ⊙ scalar` for any `T: Scalar`. Each is gradchecked against finite
//! differences over random shapes and second-derivative checked; the
//! statistics are also checked against literal values worked out by hand
//! from PyTorch's definitions (`torch.var(unbiased=…)`, `torch.std`,
//! `F.layer_norm`: biased variance inside the square root, `eps` added to
//! the variance).

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::strategies::{check, distinct, shape, tensor, tensor_of};
use tapegrad_autodiff::{gradgradcheck, AutodiffError, Correction, GradcheckOptions, Result, Scalar, Tape, Tensor, TensorError, Var};

fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, &mut StdRng::seed_from_u64(seed))
}

fn gg<F>(f: F, inputs: &[Tensor<f64>]) -> std::result::Result<(), TestCaseError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let r = gradgradcheck(f, inputs, &GradcheckOptions::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(r.passed(), "{r}");
    Ok(())
}

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{got:?} vs {want:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// `x·Wᵀ + b` for x of rank 2 to 4, with and without a bias.
    #[test]
    fn linear_matches_finite_differences_at_every_rank(lead in shape(3, 3), inp in 1usize..5, out in 1usize..5, bias: bool, seed: u64) {
        let mut xs = lead.clone();
        xs.push(inp);
        let (x, w, b) = (rand(&xs, seed), rand(&[out, inp], seed + 1), rand(&[out], seed + 2));
        if bias {
            check(|_, v| v[0].try_linear(v[1], Some(v[2])), &[x.clone(), w.clone(), b.clone()])?;
            gg(|_, v| Ok(v[0].try_linear(v[1], Some(v[2]))?.tanh()), &[x, w, b])?;
        } else {
            check(|_, v| v[0].try_linear(v[1], None), &[x.clone(), w.clone()])?;
            gg(|_, v| Ok(v[0].try_linear(v[1], None)?.tanh()), &[x, w])?;
        }
    }

    /// Transposed operands on either side, as second derivatives too.
    #[test]
    fn transposed_operands_have_second_derivatives(m in 1usize..4, k in 1usize..4, n in 1usize..4, seed: u64) {
        let (a, b) = (rand(&[k, m], seed), rand(&[n, k], seed + 1));
        gg(|_, v| Ok(v[0].t().try_matmul(v[1].t())?.tanh()), &[a.clone(), b.clone()])?;
        let (x, w) = (rand(&[m, k], seed + 2), rand(&[n, k], seed + 3));
        gg(|_, v| Ok(v[0].try_matmul(v[1].t())?.sigmoid()), &[x, w])?;
    }

    /// Distinct values keep the deviations (and so the derivative of the
    /// square root in `std`) away from zero.
    #[test]
    fn var_and_std_match_finite_differences(x in shape(3, 4).prop_flat_map(|s| distinct(&s, 0.2)), axis in 0usize..3, keep: bool, unbiased: bool) {
        let axis = axis % x.ndim();
        let c = if unbiased { Correction::Unbiased } else { Correction::Biased };
        if x.shape()[axis] > 1 {
            check(|_, v| v[0].try_var_axis(axis, c, keep), &[x.clone()])?;
            check(|_, v| v[0].try_std_axis(axis, c, keep), &[x.clone()])?;
            gg(|_, v| v[0].try_var_axis(axis, c, keep), &[x.clone()])?;
            gg(|_, v| v[0].try_std_axis(axis, c, keep), &[x])?;
        }
    }

    /// Every number of trailing axes, with and without gain and bias.
    #[test]
    fn layer_norm_matches_finite_differences(x in shape(3, 4).prop_flat_map(|s| distinct(&s, 0.2)), axes in 1usize..4, affine: bool, seed: u64) {
        let axes = 1 + (axes - 1) % x.ndim();
        let tail = x.shape()[x.ndim() - axes..].to_vec();
        let (g, b) = (rand(&tail, seed).add_scalar(1.5), rand(&tail, seed + 1));
        let w = rand(x.shape(), seed + 2); // weights the outputs, so Σ y ≡ 0 is not all that is checked
        let wc = w.clone();
        if affine {
            check(move |t, v| v[0].try_layer_norm(axes, Some(v[1]), Some(v[2]), 1e-5)?.try_mul(t.constant(wc.clone())), &[x.clone(), g.clone(), b.clone()])?;
            gg(move |t, v| v[0].try_layer_norm(axes, Some(v[1]), Some(v[2]), 1e-5)?.try_mul(t.constant(w.clone())), &[x, g, b])?;
        } else {
            check(move |t, v| v[0].try_layer_norm(axes, None, None, 1e-5)?.try_mul(t.constant(wc.clone())), &[x.clone()])?;
            gg(move |t, v| v[0].try_layer_norm(axes, None, None, 1e-5)?.try_mul(t.constant(w.clone())), &[x])?;
        }
    }

    /// `lerp` with a broadcast weight, and `one_minus`.
    #[test]
    fn lerp_and_one_minus_match_finite_differences(x in tensor_of(shape(3, 3), -2.0..2.0), seed: u64) {
        let (e, w) = (rand(x.shape(), seed), rand(&[*x.shape().last().unwrap()], seed + 1));
        check(|_, v| v[0].try_lerp(v[1], v[2]), &[x.clone(), e.clone(), w.clone()])?;
        gg(|_, v| Ok(v[0].try_lerp(v[1], v[2].sigmoid())?.tanh()), &[x.clone(), e, w])?;
        check(|_, v| Ok(v[0].one_minus()), &[x.clone()])?;
        gg(|_, v| Ok(v[0].tanh().one_minus().square()), &[x])?;
    }

    /// The scalar operators through a function generic over the float type.
    #[test]
    fn scalar_operators_generic_over_the_float_type(x in tensor(&[2, 3], -2.0..2.0)) {
        check(|_, v| Ok(generic_poly(v[0])), &[x.clone()])?;
        gg(|_, v| Ok(generic_poly(v[0])), &[x])?;
    }
}

/// `(x·3 + 1)·x − 2`, divided by 4: written once for every `T: Scalar`.
fn generic_poly<T: Scalar>(x: Var<'_, T>) -> Var<'_, T> {
    let (one, two) = (T::one(), T::one() + T::one());
    ((x * (two + one) + one) * x - two) / (two + two)
}

#[test]
fn scalar_operators_give_the_same_numbers_in_f32_and_f64() {
    // By hand: x = 0.5 → (1.5 + 1)·0.5 − 2 = −0.75, / 4 = −0.1875.
    let t64 = Tape::<f64>::new();
    assert_eq!(generic_poly(t64.leaf(Tensor::scalar(0.5))).value().item(), -0.1875);
    let t32 = Tape::<f32>::new();
    assert_eq!(generic_poly(t32.leaf(Tensor::scalar(0.5))).value().item(), -0.1875);
    // Division stays a true division for a generic T: 3/10 is 0.3, not 3·(1/10).
    fn tenth<T: Scalar>(x: Var<'_, T>) -> Var<'_, T> {
        x / T::from_usize(10).unwrap()
    }
    assert_eq!(tenth(t64.leaf(Tensor::scalar(3.0))).value().item(), 0.3);
}

#[test]
fn var_and_std_literal_values_follow_pytorchs_definitions() {
    // The classic sample 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − x̄)² = 32, so
    // the biased variance is 32/8 = 4 (std 2) and the unbiased one 32/7
    // (std √(32/7) = 2.138089935299395), as torch.var/std give.
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], &[8, 1]));
    assert_eq!(x.var_axis(0, Correction::Biased, false).value().data(), &[4.0]);
    assert_eq!(x.std_axis(0, Correction::Biased, false).value().data(), &[2.0]);
    assert_eq!(x.var_axis(0, Correction::Unbiased, false).value().data(), &[32.0 / 7.0]);
    close(x.std_axis(0, Correction::Unbiased, true).value().data(), &[2.138089935299395], 1e-15);
    assert_eq!(x.std_axis(0, Correction::Unbiased, true).shape().as_slice(), &[1, 1]);
    // Along rows of a 2-D tensor: [1, 2, 3, 4] has Σ(x − x̄)² = 5.
    let y = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 8.0], &[2, 4]));
    assert_eq!(y.var_axis(1, Correction::Unbiased, false).value().data(), &[5.0 / 3.0, 16.0]);
    assert_eq!(y.var_axis(1, Correction::Biased, false).value().data(), &[1.25, 12.0]);
    // The gradient of Σ var: d/dxᵢ = 2(xᵢ − x̄)/(n − 1): [−1, −1/3, 1/3, 1].
    let g = tape.grad(y.var_axis(1, Correction::Unbiased, false).sum_all(), &[y]).unwrap();
    close(&g[0].data()[..4], &[-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0], 1e-15);
}

#[test]
fn layer_norm_literal_values_follow_pytorchs_definition() {
    // [1, 2, 3, 4]: μ = 2.5, biased σ² = 1.25, so with ε = 0 the output is
    // (x − μ)/√1.25 = [−3, −1, 1, 3]/√5; with ε = 1e-5, (x − μ)/√1.25001
    // (values from those formulas).
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]));
    let (a, b) = (1.3416407864998738, 0.4472135954999579);
    close(x.layer_norm(1, None, None, 0.0).value().data(), &[-a, -b, b, a], 1e-15);
    let (a, b) = (1.3416354199689269, 0.447211806656309);
    close(x.layer_norm(1, None, None, 1e-5).value().data(), &[-a, -b, b, a], 1e-15);
    // Gain and bias apply after the normalisation, elementwise.
    let gain = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5], &[4]));
    let bias = tape.leaf(Tensor::from_vec(vec![0.0, 1.0, 0.0, -1.0], &[4]));
    let (a, b) = (1.3416407864998738, 0.4472135954999579);
    close(x.layer_norm(1, Some(gain), Some(bias), 0.0).value().data(), &[-a, 1.0 - 2.0 * b, -b, 0.5 * a - 1.0], 1e-15);
    // Over the last two axes of a (2, 2, 2): each block of four is one row.
    let z = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0], &[2, 2, 2]));
    close(z.layer_norm(2, None, None, 0.0).value().data(), &[-a, -b, b, a, a, b, -b, -a], 1e-15);
    // Its gradient: a normalised row's sum does not depend on x at all.
    let g = tape.grad(z.layer_norm(2, None, None, 1e-5).sum_all(), &[z]).unwrap();
    assert!(g[0].data().iter().all(|v| v.abs() < 1e-15), "{:?}", g[0].data());
}

/// The first-order backward of layer_norm (one fused pass on tensors) and
/// its differentiable form (the same rule on variables) agree.
#[test]
fn layer_norm_fused_and_composed_gradients_agree() {
    let (x0, w0) = (rand(&[2, 3, 5], 1), rand(&[2, 3, 5], 2));
    let tape = Tape::<f64>::new();
    let (x, gain, bias) = (tape.leaf(x0), tape.leaf(rand(&[3, 5], 3)), tape.leaf(rand(&[3, 5], 4)));
    let loss = x.layer_norm(2, Some(gain), Some(bias), 1e-5).try_mul(tape.constant(w0)).unwrap().sum_all();
    let fused = tape.grad(loss, &[x, gain, bias]).unwrap();
    let composed = tape.grad_graph(loss, None, &[x, gain, bias]).unwrap();
    for (f, c) in fused.iter().zip(&composed) {
        close(f.data(), c.value().data(), 1e-13);
    }
}

#[test]
fn bad_operands_of_the_new_ops_are_typed_errors_naming_the_op_and_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::ones(&[2, 3]));
    let w = tape.leaf(Tensor::ones(&[4, 3]));
    // linear: W is (out, in); the bias is (out,); x is at least 2-D.
    let e = x.try_linear(w.try_transpose(0, 1).unwrap(), None).unwrap_err();
    assert!(matches!(&e, AutodiffError::Tensor(TensorError::ShapeMismatch { op: "linear", .. })), "{e}");
    assert!(e.to_string().contains("[2, 3]") && e.to_string().contains("[3, 4]"), "{e}");
    let e = x.try_linear(w, Some(tape.leaf(Tensor::ones(&[3])))).unwrap_err();
    assert!(e.to_string().contains("linear") && e.to_string().contains("bias"), "{e}");
    let e = tape.leaf(Tensor::ones(&[3])).try_linear(w, None).unwrap_err();
    assert!(matches!(&e, AutodiffError::Tensor(TensorError::Rank { op: "linear", .. })), "{e}");
    let e = x.try_linear(tape.leaf(Tensor::ones(&[3])), None).unwrap_err();
    assert!(matches!(&e, AutodiffError::Tensor(TensorError::Rank { op: "linear", .. })), "{e}");
    // layer_norm: 1..=rank axes; gain/bias of the normalised shape.
    for axes in [0, 3] {
        let e = x.try_layer_norm(axes, None, None, 1e-5).unwrap_err();
        assert!(matches!(&e, AutodiffError::NormalizedAxes { op: "layer_norm", .. }), "{e}");
        assert!(e.to_string().contains("[2, 3]"), "{e}");
    }
    let e = x.try_layer_norm(1, Some(tape.leaf(Tensor::ones(&[2]))), None, 1e-5).unwrap_err();
    assert!(matches!(&e, AutodiffError::Tensor(TensorError::ShapeMismatch { op: "layer_norm", .. })), "{e}");
    let e = x.try_layer_norm(2, None, Some(tape.leaf(Tensor::ones(&[3]))), 1e-5).unwrap_err();
    assert!(e.to_string().contains("bias") && e.to_string().contains("[3]"), "{e}");
    // var/std: an axis that exists, with enough elements for the estimate.
    let col = tape.leaf(Tensor::ones(&[3, 1]));
    let e = col.try_var_axis(1, Correction::Unbiased, false).unwrap_err();
    assert!(matches!(&e, AutodiffError::TooFewElements { op: "var_axis", size: 1, needed: 2, .. }), "{e}");
    assert!(col.try_var_axis(1, Correction::Biased, false).is_ok());
    let e = col.try_std_axis(2, Correction::Biased, false).unwrap_err();
    assert!(matches!(&e, AutodiffError::Tensor(TensorError::Axis { op: "std_axis", .. })), "{e}");
    // The panicking forms panic with the same message.
    let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| col.var_axis(1, Correction::Unbiased, false))).unwrap_err();
    let want = col.try_var_axis(1, Correction::Unbiased, false).unwrap_err().to_string();
    assert_eq!(msg.downcast_ref::<String>(), Some(&want));
    // A transposed left operand reports the shapes as stored.
    let e = x.t().try_matmul(w).unwrap_err();
    assert!(e.to_string().contains("matmul") && e.to_string().contains("[2, 3]") && e.to_string().contains("[4, 3]"), "{e}");
}

/// A layer normalisation records one node, gain and bias included, not
/// its nine-op composition.
#[test]
fn layer_norm_records_one_node_with_gain_and_bias() {
    let tape = Tape::<f64>::new();
    let x = tape.leaf(Tensor::ones(&[2, 8]));
    let (g, b) = (tape.leaf(Tensor::ones(&[8])), tape.leaf(Tensor::zeros(&[8])));
    let before = tape.len();
    let _ = x.layer_norm(1, Some(g), Some(b), 1e-5);
    assert_eq!(tape.len() - before, 1);
}
