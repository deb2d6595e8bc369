//! Matrix products in every layout: 2-D, batched, shared weight, and all
//! four transpose combinations.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::strategies::check;
use tapegrad_autodiff::{CheckMode, GradcheckOptions, Result, Tensor, Var};

/// `op(a)·op(b)` through the operand markers (`w.t()`), for the tests that
/// sweep every transpose combination.
fn product<'t>(a: Var<'t, f64>, ta: bool, b: Var<'t, f64>, tb: bool) -> Result<Var<'t, f64>> {
    match (ta, tb) {
        (false, false) => a.try_matmul(b),
        (false, true) => a.try_matmul(b.t()),
        (true, false) => a.t().try_matmul(b),
        (true, true) => a.t().try_matmul(b.t()),
    }
}

fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, &mut StdRng::seed_from_u64(seed))
}

fn dims(r: usize, c: usize, tr: bool) -> [usize; 2] {
    if tr {
        [c, r]
    } else {
        [r, c]
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_layout_and_transpose((m, k, n, batch) in (1usize..5, 1usize..5, 1usize..5, 1usize..4), ta: bool, tb: bool, kind in 0u8..3, seed: u64) {
        let (ad, bd) = (dims(m, k, ta), dims(k, n, tb));
        let (a, b) = match kind {
            0 => (rand(&ad, seed), rand(&bd, seed + 1)),
            1 => (rand(&[batch, ad[0], ad[1]], seed), rand(&[batch, bd[0], bd[1]], seed + 1)),
            _ => (rand(&[batch, ad[0], ad[1]], seed), rand(&bd, seed + 1)),
        };
        check(move |_, v| product(v[0], ta, v[1], tb), &[a, b])?;
    }
}

/// Entry-by-entry Jacobian of a shared-weight batched product: the weight's
/// gradient is summed over the batch.
#[test]
fn shared_weight_jacobian() {
    let (x, w) = (rand(&[2, 3, 2], 1), rand(&[2, 4], 2));
    let r = tapegrad_autodiff::gradcheck(|_, v| v[0].try_matmul(v[1]), &[x, w], &GradcheckOptions::default().mode(CheckMode::Jacobian))
        .unwrap();
    assert!(r.passed(), "{r}");
    assert!(r.inputs[1].worst.as_ref().unwrap().output_index.is_some());
}

/// A weight shared by many products of different row counts (a recurrent
/// weight over a ragged batch): the sweep multiplies its per-use gradients
/// out in stacked groups, which must equal the sum of the per-use products
/// `Gₜᵀ·Aₜ` (for `A·Wᵀ`) and `Aₜᵀ·Gₜ` (for `A·W`), computed here one by one,
/// and pass the finite-difference check.
#[test]
fn shared_weight_over_many_products_gets_the_sum_of_every_use() {
    use tapegrad_autodiff::Tape;
    let rows: Vec<usize> = (0..40).map(|t| 1 + (t * 7) % 23).collect(); // 460+ rows: several groups
    let xs: Vec<Tensor<f64>> = rows.iter().enumerate().map(|(t, &r)| rand(&[r, 5], 100 + t as u64)).collect();
    for tb in [false, true] {
        let w0 = rand(&dims(5, 3, tb), 7);
        let tape = Tape::<f64>::new();
        let w = tape.leaf(w0.clone());
        let mut loss = tape.constant(Tensor::scalar(0.0));
        for (t, x) in xs.iter().enumerate() {
            let y = product(tape.constant(x.clone()), false, w, tb).unwrap();
            loss = loss + (y * y).sum_all().scale(1.0 + t as f64 / 10.0);
        }
        let got = tape.backward(loss).unwrap().get(w).unwrap().clone();
        // One by one: dL/dY = 2·c·Y, and each use adds its own product.
        let mut want = Tensor::<f64>::zeros(w0.shape());
        for (t, x) in xs.iter().enumerate() {
            let g = if tb { x.matmul(w0.t()) } else { x.matmul(&w0) }.scale(2.0 * (1.0 + t as f64 / 10.0));
            let part = if tb { g.t().matmul(x) } else { x.t().matmul(&g) };
            want = &want + &part;
        }
        for (a, b) in got.data().iter().zip(want.data()) {
            assert!((a - b).abs() <= 1e-11 * (1.0 + b.abs()), "tb {tb}: {a} vs {b}");
        }
    }
    // And against finite differences, through a few uses of different sizes.
    let few: Vec<Tensor<f64>> = xs[..4].to_vec();
    let r = tapegrad_autodiff::gradcheck(
        move |tape, v| {
            let mut loss = tape.constant(Tensor::scalar(0.0));
            for x in &few {
                loss = loss + tape.constant(x.clone()).matmul(v[0].t()).tanh().sum_all();
            }
            Ok(loss)
        },
        &[rand(&[3, 5], 9)],
        &GradcheckOptions::default(),
    )
    .unwrap();
    assert!(r.passed(), "{r}");
}
