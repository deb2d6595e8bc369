//! Second derivatives: gradgradcheck of each smooth op family, and
//! Hessian-vector products against finite differences of the gradient.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::strategies::{positive, tensor};
use tapegrad_autodiff::{gradgradcheck, hvp, GradcheckOptions, Result, Tape, Tensor, Var};

fn gg<F>(f: F, inputs: &[Tensor<f64>]) -> std::result::Result<(), TestCaseError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>,
{
    let r = gradgradcheck(f, inputs, &GradcheckOptions::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(r.passed(), "{r}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn gradgradcheck_smooth_families(x in tensor(&[2, 3], -1.5..1.5), w in tensor(&[3, 2], -1.0..1.0), p in positive(&[2, 3], 0.5..2.0)) {
        smooth_families_gradgradcheck(x, w, p)?;
    }
}

/// Once found by proptest: `x` zero but for one element, `w` all zero (the
/// matmul's output and its second derivative vanish), `p` all ½.
#[test]
fn smooth_families_at_mostly_zero_inputs() {
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.37435275463100165], &[2, 3]);
    smooth_families_gradgradcheck(x, Tensor::zeros(&[3, 2]), Tensor::full(&[2, 3], 0.5)).unwrap();
}

fn smooth_families_gradgradcheck(x: Tensor<f64>, w: Tensor<f64>, p: Tensor<f64>) -> std::result::Result<(), TestCaseError> {
    gg(|_, v| Ok(v[0].exp().sum_all()), &[x.clone()])?;
    gg(|_, v| Ok(v[0].ln()), &[p.clone()])?;
    gg(|_, v| Ok(v[0].tanh()), &[x.clone()])?;
    gg(|_, v| Ok(v[0].sigmoid()), &[x.clone()])?;
    gg(|_, v| Ok(v[0].powf(2.5)), &[p.clone()])?;
    gg(|_, v| Ok(v[0].sqrt().recip()), &[p.clone()])?;
    gg(|_, v| v[0].try_mul(v[1].exp()), &[x.clone(), p.clone()])?;
    gg(|_, v| v[0].try_div(v[1]), &[x.clone(), p.clone()])?;
    gg(|_, v| v[0].try_matmul(v[1])?.tanh().try_sum_axis(1, false), &[x.clone(), w.clone()])?;
    gg(|_, v| v[0].try_sum_axis(0, true)?.try_broadcast_to(&[2, 3])?.try_mul(v[0]), &[x.clone()])?;
    gg(|_, v| Var::try_concat(&[v[0].try_narrow(1, 1, 2)?.square(), v[0]], 1), &[x.clone()])?;
    gg(|_, v| Ok(v[0].try_index_select(0, &[1, 1, 0])?.exp()), &[x.clone()])?;
    gg(|_, v| v[0].try_log_softmax(1), &[x.clone()])?;
    gg(|_, v| v[0].try_gather(1, &[2, 0], &[2, 1])?.try_mul(v[0]), &[x])
}

/// f(x, y) = x³y + 2xy² - y⁴. Gradient (3x²y + 2y², x³ + 4xy - 4y³);
/// Hessian [[6xy, 3x² + 4y], [3x² + 4y, 4x - 12y²]] (by hand).
#[test]
fn hessian_of_a_polynomial_by_hand_and_by_finite_differences() {
    let poly = tapegrad_autodiff::check_fn(|_, v| {
        let (x, y) = (v[0], v[1]);
        let a = x.powf(3.0).try_mul(y)?;
        let b = x.try_mul(y.square())?.scale(2.0);
        Ok(a.try_add(b)?.try_sub(y.powf(4.0))?.sum_all())
    });
    let (x0, y0) = (1.5, -0.5);
    let xs = [Tensor::scalar(x0), Tensor::scalar(y0)];
    let h = [[6.0 * x0 * y0, 3.0 * x0 * x0 + 4.0 * y0], [3.0 * x0 * x0 + 4.0 * y0, 4.0 * x0 - 12.0 * y0 * y0]];
    for (col, e) in [[1.0, 0.0], [0.0, 1.0]].iter().enumerate() {
        let hv = hvp(poly, &xs, &[Tensor::scalar(e[0]), Tensor::scalar(e[1])]).unwrap();
        for row in 0..2 {
            assert!((hv[row].item() - h[row][col]).abs() < 1e-12, "H[{row}][{col}] = {} vs {}", hv[row].item(), h[row][col]);
        }
    }
    // The same Hessian from central differences of the tape's gradient.
    let grad_at = |x: f64, y: f64| {
        let tape = Tape::new();
        let v = [tape.leaf(Tensor::scalar(x)), tape.leaf(Tensor::scalar(y))];
        let f = poly(&tape, &v).unwrap();
        tape.grad(f, &v).unwrap().iter().map(|g| g.item()).collect::<Vec<_>>()
    };
    let eps = 1e-5;
    let dx: Vec<f64> = grad_at(x0 + eps, y0).iter().zip(grad_at(x0 - eps, y0)).map(|(a, b)| (a - b) / (2.0 * eps)).collect();
    assert!((dx[0] - h[0][0]).abs() < 1e-6 && (dx[1] - h[1][0]).abs() < 1e-6);
}

/// Hessian-vector products through a 5-step tanh recurrence, against finite
/// differences of the (first-order) gradient along the same direction.
#[test]
fn hvp_of_a_tanh_recurrence_matches_differences_of_the_gradient() {
    let mut rng = StdRng::seed_from_u64(7);
    let x = Tensor::rand_uniform(&[5, 2], -1.0, 1.0, &mut rng);
    let w = Tensor::rand_uniform(&[3, 3], -0.7, 0.7, &mut rng);
    let u = Tensor::rand_uniform(&[2, 3], -0.7, 0.7, &mut rng);
    let rec = tapegrad_autodiff::check_fn(|tape, v| {
        let (w, u) = (v[0], v[1]);
        let mut h = tape.constant(Tensor::zeros(&[1, 3]));
        for t in 0..5 {
            let xt = tape.constant(x.narrow(0, t, 1));
            h = h.try_matmul(w)?.try_add(xt.try_matmul(u)?)?.tanh();
        }
        Ok(h.square().sum_all())
    });
    let dw = Tensor::rand_uniform(&[3, 3], -1.0, 1.0, &mut rng);
    let du = Tensor::rand_uniform(&[2, 3], -1.0, 1.0, &mut rng);
    let hv = hvp(rec, &[w.clone(), u.clone()], &[dw.clone(), du.clone()]).unwrap();
    let grad_at = |s: f64| {
        let tape = Tape::new();
        let v = [tape.leaf(w.add(&dw.scale(s))), tape.leaf(u.add(&du.scale(s)))];
        let f = rec(&tape, &v).unwrap();
        tape.grad(f, &v).unwrap()
    };
    let eps = 1e-5;
    let (gp, gm) = (grad_at(eps), grad_at(-eps));
    for k in 0..2 {
        let fd = gp[k].sub(&gm[k]).scale(1.0 / (2.0 * eps));
        let err = fd.max_abs_diff(&hv[k]).unwrap();
        assert!(err < 1e-6, "input {k}: H·v off by {err}");
    }
}
