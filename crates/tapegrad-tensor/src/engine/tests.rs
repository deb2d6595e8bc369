//! Tests of the engine that need its insides: the packing cache of
//! `packed` (how many operands a thread keeps) is not visible through the
//! public API.

use rand::SeedableRng;

use super::packed::packed_operands;
use crate::Tensor;

fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, -1.0, 1.0, &mut rand::rngs::StdRng::seed_from_u64(seed))
}

/// `a·b`, or `a·bᵀ` when `tb`, for 2-D matrices, by the definition.
fn naive(a: &Tensor<f64>, b: &Tensor<f64>, tb: bool) -> Tensor<f64> {
    let (m, k) = (a.shape()[0], a.shape()[1]);
    let n = if tb { b.shape()[0] } else { b.shape()[1] };
    let b_at = |p: usize, j: usize| if tb { b.data()[j * k + p] } else { b.data()[p * n + j] };
    let c = (0..m * n).map(|ij| (0..k).map(|p| a.data()[ij / n * k + p] * b_at(p, ij % n)).sum()).collect();
    Tensor::from_vec(c, &[m, n])
}

fn close(got: &Tensor<f32>, want: &Tensor<f64>, what: &str) {
    for (g, w) in got.data().iter().zip(want.data()) {
        assert!((*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()), "{what}: {g} vs {w}");
    }
}

/// f32 products with a right operand used again (a recurrent weight) are
/// multiplied from a cached packing from the second use on: the same
/// values as the naive product, in both layouts the sweep uses (`h·Wᵀ`
/// forward, `G·W` backward), and never stale: writing to the weight, shared
/// or not, must show in the next product.
#[test]
fn reused_weight_products_are_right_and_never_stale() {
    let w64 = rand(&[512, 128], 21);
    let mut w = w64.cast::<f32>();
    let before = packed_operands();
    for step in 0..4 {
        let h = rand(&[8, 128], 30 + step);
        let g = rand(&[8, 512], 40 + step);
        close(&h.cast::<f32>().matmul(w.t()), &naive(&h, &w64, true), "h·Wᵀ");
        close(&g.cast::<f32>().matmul(&w), &naive(&g, &w64, false), "G·W");
    }
    assert_eq!(packed_operands(), before + 2, "one packing per layout, kept");
    // History does not change rounding: a first use (packed now) and a
    // reuse (from the cache) give the same bits.
    let h = rand(&[8, 128], 60).cast::<f32>();
    let fresh = Tensor::from_vec(w.data().to_vec(), w.shape());
    assert_eq!(h.matmul(fresh.t()).data(), h.matmul(w.t()).data());
    // Written while not shared (the cache holds only a weak reference).
    w.data_mut()[0] += 1.0;
    let mut w64b = w64.clone();
    w64b.data_mut()[0] += 1.0;
    let h = rand(&[8, 128], 50);
    for _ in 0..2 {
        close(&h.cast::<f32>().matmul(w.t()), &naive(&h, &w64b, true), "after an in-place write");
    }
    // Written while shared: the writer gets a copy; the other keeps the old values.
    let old = w.clone();
    w.data_mut()[1] -= 2.0;
    w64b.data_mut()[1] -= 2.0;
    close(&h.cast::<f32>().matmul(w.t()), &naive(&h, &w64b, true), "the written copy");
    let mut w64a = w64.clone();
    w64a.data_mut()[0] += 1.0;
    close(&h.cast::<f32>().matmul(old.t()), &naive(&h, &w64a, true), "the untouched original");
}
