//! Compositions: random chains, fan-out, reused leaves, and a 20-step
//! unrolled tanh recurrence whose BPTT gradient matches finite differences.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::strategies::{check, tensor};
use tapegrad_autodiff::{gradcheck, GradcheckOptions, Result, Tensor, Var};

/// Applies op `k` of a small menu of smooth, shape-preserving steps that
/// mix in the second input `w` (2x3, broadcasting as rows or via matmul).
fn step<'t>(k: u8, x: Var<'t, f64>, w: Var<'t, f64>) -> Result<Var<'t, f64>> {
    Ok(match k % 9 {
        0 => x.tanh(),
        1 => x.try_mul(w)?,
        2 => x.try_add(w.sigmoid())?,
        3 => x.try_matmul(w.t())?.try_matmul(w)?.scale(0.3),
        4 => x.try_sub(x.try_mean_axis(1, true)?)?,
        5 => x.try_log_softmax(1)?,
        6 => x.square().add_scalar(1.0).ln(),
        7 => x.try_div(w.exp())?,
        _ => x.try_add(x.try_transpose(0, 1)?.try_matmul(x)?.try_sum_axis(0, true)?.scale(0.1))?,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_chains_of_ops(ops in prop::collection::vec(any::<u8>(), 1..8), x in tensor(&[2, 3], -1.0..1.0), w in tensor(&[2, 3], -1.0..1.0)) {
        chain_gradcheck(ops, x, w)?;
    }

    /// A value consumed many times (fan-out) and a leaf reused in several
    /// places must receive the sum of all contributions.
    #[test]
    fn fan_out_and_reused_leaves(x in tensor(&[3], -1.0..1.0), w in tensor(&[3], -1.0..1.0)) {
        fan_out_gradcheck(x, w)?;
    }
}

fn chain_gradcheck(ops: Vec<u8>, x: Tensor<f64>, w: Tensor<f64>) -> std::result::Result<(), TestCaseError> {
    check(move |_, v| ops.iter().try_fold(v[0], |h, &k| step(k, h, v[1])), &[x, w])
}

fn fan_out_gradcheck(x: Tensor<f64>, w: Tensor<f64>) -> std::result::Result<(), TestCaseError> {
    check(
        |_, v| {
            let h = v[0].try_mul(v[1])?;
            let a = h.tanh().try_mul(h)?;
            let b = h.exp().try_add(v[1])?.try_mul(h.sigmoid())?;
            Ok(a.try_add(b)?.try_mul(v[0])?.sum_all())
        },
        &[x, w],
    )
}

/// Once found by proptest: a chain of one op (45 mod 9 = 0, tanh) on
/// all-zero inputs.
#[test]
fn chain_of_one_tanh_at_zero() {
    chain_gradcheck(vec![45], Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 3])).unwrap();
}

/// Once found by proptest: fan-out with both inputs zero but for their
/// last element, so most products vanish.
#[test]
fn fan_out_with_mostly_zero_inputs() {
    let x = Tensor::from_vec(vec![0.0, 0.0, -0.5870600030231187], &[3]);
    let w = Tensor::from_vec(vec![0.0, 0.0, -0.4697165229910938], &[3]);
    fan_out_gradcheck(x, w).unwrap();
}

#[test]
fn twenty_step_tanh_recurrence_bptt() {
    // h_t = tanh(h_{t-1}·W + x_t·U + b), W/U/b shared by all 20 steps;
    // loss = Σ_t Σ h_t ⊙ c_t with fixed c_t.
    let mut rng = StdRng::seed_from_u64(20);
    let (t, b, i, h) = (20, 2, 3, 4);
    let x = Tensor::rand_uniform(&[t, b, i], -1.0, 1.0, &mut rng);
    let w = Tensor::rand_uniform(&[h, h], -0.6, 0.6, &mut rng);
    let u = Tensor::rand_uniform(&[i, h], -0.6, 0.6, &mut rng);
    let bias = Tensor::rand_uniform(&[h], -0.3, 0.3, &mut rng);
    let h0 = Tensor::rand_uniform(&[b, h], -0.5, 0.5, &mut rng);
    let c = Tensor::rand_uniform(&[t, b, h], -1.0, 1.0, &mut rng);
    let f = tapegrad_autodiff::check_fn(|tape, v| {
        let (w, u, bias, x, mut hid) = (v[0], v[1], v[2], v[3], v[4]);
        let mut loss = tape.scalar(0.0);
        for step in 0..t {
            let xt = x.try_narrow(0, step, 1)?.try_reshape(&[b, i])?;
            hid = hid.try_matmul(w)?.try_add(xt.try_matmul(u)?)?.try_add(bias)?.tanh();
            let ct = tape.constant(c.narrow(0, step, 1).reshape(&[b, h]));
            loss = loss.try_add(hid.try_mul(ct)?.sum_all())?;
        }
        Ok(loss)
    });
    let r = gradcheck(f, &[w, u, bias, x, h0], &GradcheckOptions::default().names(&["W", "U", "b", "x", "h0"])).unwrap();
    assert!(r.passed(), "{r}");
    // Every input was really compared.
    assert_eq!(r.inputs.iter().map(|i| i.checked).sum::<usize>(), 16 + 12 + 4 + 120 + 8);
}
