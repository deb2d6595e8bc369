//! The checker itself: a deliberately wrong backward must be caught, in
//! every mode; a right one must pass; malformed custom ops are errors.

use tapegrad_autodiff::{gradcheck, gradgradcheck, AutodiffError, CheckMode, CustomOp, GradcheckOptions, Result, Tape, Tensor, Val};

/// sin, with a backward that is right or wrong on demand.
struct Sin {
    wrong: bool,
}

impl CustomOp<f64> for Sin {
    fn name(&self) -> &str {
        "sin"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
        Ok(x[0].map(f64::sin))
    }
    fn backward<'t>(&self, x: &[Val<'t, f64>], y: &Val<'t, f64>, g: &Val<'t, f64>) -> Result<Vec<Option<Val<'t, f64>>>> {
        if self.wrong {
            // The classic slip: d sin = sin instead of cos.
            return Ok(vec![Some(g.mul(y))]);
        }
        // cos x = sqrt(1 - sin²x) is wrong in sign on half the circle; write
        // cos as sin(x + π/2) through the op itself, so the rule is
        // differentiable again.
        let shifted = x[0].add_scalar(std::f64::consts::FRAC_PI_2);
        let cos = match &shifted {
            Val::Tensor(t) => Val::Tensor(t.map(f64::sin)),
            Val::Var(v) => Val::Var(v.tape().custom(Sin { wrong: false }, &[*v])),
        };
        Ok(vec![Some(g.mul(&cos))])
    }
}

fn x() -> Tensor<f64> {
    Tensor::from_vec(vec![0.3, -1.2, 2.0, 0.8], &[2, 2])
}

#[test]
fn a_wrong_backward_is_caught_and_named() {
    let r =
        gradcheck(|t, v| Ok(t.try_custom(Sin { wrong: true }, &[v[0]])?.sum_all()), &[x()], &GradcheckOptions::default().names(&["theta"]))
            .unwrap();
    assert!(!r.passed());
    assert_eq!(r.inputs[0].name, "theta");
    assert!(r.inputs[0].failed > 0);
    let w = r.inputs[0].worst.as_ref().unwrap();
    assert!((w.numeric - w.index.iter().fold(0, |o, &i| o * 2 + i) as f64).is_finite());
    let shown = r.to_string();
    assert!(shown.contains("FAILED") && shown.contains("theta") && shown.contains("analytic") && shown.contains("numeric"), "{shown}");
    // The worst element's numeric value is cos of the input there.
    let flat = w.index[0] * 2 + w.index[1];
    assert!((w.numeric - x().data()[flat].cos()).abs() < 1e-8);
}

#[test]
fn a_wrong_backward_is_caught_in_fast_and_jacobian_modes() {
    for mode in [CheckMode::Fast, CheckMode::Jacobian] {
        let r = gradcheck(|t, v| t.try_custom(Sin { wrong: true }, &[v[0]]), &[x()], &GradcheckOptions::default().mode(mode)).unwrap();
        assert!(!r.passed(), "{mode:?} missed the wrong rule");
    }
    let r = gradcheck(|t, v| t.try_custom(Sin { wrong: true }, &[v[0]]), &[x()], &GradcheckOptions::default().mode(CheckMode::Jacobian))
        .unwrap();
    assert!(r.inputs[0].worst.as_ref().unwrap().output_index.is_some());
}

#[test]
fn a_right_custom_op_passes_first_and_second_order() {
    for mode in [CheckMode::Vjp, CheckMode::Fast, CheckMode::Jacobian] {
        let r = gradcheck(|t, v| t.try_custom(Sin { wrong: false }, &[v[0]]), &[x()], &GradcheckOptions::default().mode(mode)).unwrap();
        assert!(r.passed(), "{r}");
    }
    let r = gradgradcheck(|t, v| t.try_custom(Sin { wrong: false }, &[v[0]]), &[x()], &GradcheckOptions::default()).unwrap();
    assert!(r.passed(), "{r}");
}

/// A backward returning the wrong number or shape of gradients.
struct Broken {
    count: usize,
    shape: Vec<usize>,
}

impl CustomOp<f64> for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
        Ok(x[0].clone())
    }
    fn backward<'t>(&self, _: &[Val<'t, f64>], _: &Val<'t, f64>, g: &Val<'t, f64>) -> Result<Vec<Option<Val<'t, f64>>>> {
        Ok((0..self.count).map(|_| Some(g.zeros_like_shape(&self.shape))).collect())
    }
}

#[test]
fn malformed_custom_gradients_are_typed_errors() {
    let tape = Tape::<f64>::new();
    let a = tape.leaf(Tensor::ones(&[2, 2]));
    let y = tape.custom(Broken { count: 2, shape: vec![2, 2] }, &[a]).sum_all();
    let e = tape.backward(y).unwrap_err();
    assert!(matches!(&e, AutodiffError::GradientCount { op, returned: 2, inputs: 1 } if op == "broken"), "{e}");
    assert_eq!(e.to_string(), "broken backward: returned 2 gradients for 1 inputs");
    let y = tape.custom(Broken { count: 1, shape: vec![3] }, &[a]).sum_all();
    let e = tape.backward(y).unwrap_err();
    assert!(matches!(&e, AutodiffError::GradientShape { op, .. } if op == "broken"), "{e}");
    assert_eq!(e.to_string(), "broken backward: returned a gradient of shape [3] for an input of shape [2, 2]");
}

#[test]
fn report_counts_and_tolerances_are_pytorchs() {
    let o = GradcheckOptions::default();
    assert_eq!((o.eps, o.atol, o.rtol), (1e-6, 1e-5, 1e-3));
    let r = gradcheck(|_, v| Ok(v[0].tanh().sum_all()), &[x()], &o).unwrap();
    assert_eq!(r.inputs[0].checked, 4);
    assert!(r.to_string().starts_with("gradcheck passed"));
    assert!(gradcheck(|_, v| Ok(v[0].sum_all()), &[x()], &GradcheckOptions::default().eps(0.0)).is_err());
}
