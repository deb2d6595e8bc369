//! Matrix products in every layout: 2-D, batched, shared weight, and all
//! four transpose combinations.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::strategies::check;
use tapegrad_autodiff::{CheckMode, GradcheckOptions, Tensor};

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
        check(move |_, v| v[0].try_matmul_t(v[1], ta, tb), &[a, b])?;
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
