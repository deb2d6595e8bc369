//! Matrix products against a naive triple loop: 2-D, batched, broadcast
//! weight, every transpose combination, f64 and f32.

use proptest::prelude::*;
use tapegrad_tensor::{Scalar, Tensor};

/// `op(a)·op(b)` through the operand markers (`x.t()`), for the tests that
/// sweep every transpose combination.
fn product<T: Scalar>(a: &Tensor<T>, ta: bool, b: &Tensor<T>, tb: bool) -> tapegrad_tensor::Result<Tensor<T>> {
    match (ta, tb) {
        (false, false) => a.try_matmul(b),
        (false, true) => a.try_matmul(b.t()),
        (true, false) => a.t().try_matmul(b),
        (true, true) => a.t().try_matmul(b.t()),
    }
}

fn naive(a: &Tensor<f64>, b: &Tensor<f64>, ta: bool, tb: bool) -> Tensor<f64> {
    let mat = |t: &Tensor<f64>, batch: usize, tr: bool| -> (Vec<f64>, usize, usize) {
        let s = t.shape();
        let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
        let off = if s.len() == 3 { batch * r * c } else { 0 };
        let m: Vec<f64> = t.data()[off..off + r * c].to_vec();
        if tr {
            ((0..c * r).map(|k| m[(k % r) * c + k / r]).collect(), c, r)
        } else {
            (m, r, c)
        }
    };
    let batch = if a.ndim() == 3 {
        a.shape()[0]
    } else if b.ndim() == 3 {
        b.shape()[0]
    } else {
        1
    };
    let mut out = Vec::new();
    let (mut m, mut n) = (0, 0);
    for bi in 0..batch {
        let (x, mm, k) = mat(a, bi, ta);
        let (y, _, nn) = mat(b, bi, tb);
        (m, n) = (mm, nn);
        for i in 0..m {
            for j in 0..n {
                out.push((0..k).map(|p| x[i * k + p] * y[p * n + j]).sum());
            }
        }
    }
    let shape: Vec<usize> = if a.ndim() == 3 || b.ndim() == 3 { vec![batch, m, n] } else { vec![m, n] };
    Tensor::from_vec(out, &shape)
}

fn rand(shape: &[usize], seed: u64) -> Tensor<f64> {
    use rand::SeedableRng;
    Tensor::rand_uniform(shape, -1.0, 1.0, &mut rand::rngs::StdRng::seed_from_u64(seed))
}

fn dims(m: usize, k: usize, tr: bool) -> [usize; 2] {
    if tr {
        [k, m]
    } else {
        [m, k]
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn all_layouts_match_the_triple_loop(m in 1usize..9, k in 1usize..9, n in 1usize..9, batch in 1usize..4, ta: bool, tb: bool, kind in 0u8..4, seed: u64) {
        let (ad, bd) = (dims(m, k, ta), dims(k, n, tb));
        let (a, b) = match kind {
            0 => (rand(&ad, seed), rand(&bd, seed + 1)),
            1 => (rand(&[batch, ad[0], ad[1]], seed), rand(&[batch, bd[0], bd[1]], seed + 1)),
            2 => (rand(&[batch, ad[0], ad[1]], seed), rand(&bd, seed + 1)),
            _ => (rand(&ad, seed), rand(&[batch, bd[0], bd[1]], seed + 1)),
        };
        let got = product(&a, ta, &b, tb).unwrap();
        let want = naive(&a, &b, ta, tb);
        prop_assert_eq!(got.shape(), want.shape());
        for (g, w) in got.data().iter().zip(want.data()) {
            prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{g} vs {w}");
        }
        let got32 = product(&a.cast::<f32>(), ta, &b.cast::<f32>(), tb).unwrap();
        for (g, w) in got32.data().iter().zip(want.data()) {
            prop_assert!((*g as f64 - w).abs() <= 1e-5 * (1.0 + w.abs()), "f32 {g} vs {w}");
        }
    }
}

#[test]
fn large_product_matches_reference_sums() {
    // Ones times ones: every entry is k, exactly, also through the
    // blocked and threaded kernel paths.
    let (m, k, n) = (130, 257, 67);
    let c = Tensor::<f32>::ones(&[m, k]).matmul(&Tensor::ones(&[k, n]));
    assert!(c.data().iter().all(|&v| v == k as f32));
}

#[test]
fn empty_inner_dimension_gives_zeros() {
    let c = Tensor::<f64>::ones(&[2, 0]).matmul(&Tensor::ones(&[0, 3]));
    assert_eq!(c.data(), &[0.0; 6]);
}

#[test]
fn large_random_products_in_every_layout() {
    // Big enough for the GEMM crate's blocked (and threaded) paths.
    let (m, k, n, batch) = (67, 130, 45, 3);
    for kind in 0..4u8 {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (ad, bd) = (dims(m, k, ta), dims(k, n, tb));
            let seed = 100 + kind as u64 * 4 + ta as u64 * 2 + tb as u64;
            let (a, b) = match kind {
                0 => (rand(&ad, seed), rand(&bd, seed + 50)),
                1 => (rand(&[batch, ad[0], ad[1]], seed), rand(&[batch, bd[0], bd[1]], seed + 50)),
                2 => (rand(&[batch, ad[0], ad[1]], seed), rand(&bd, seed + 50)),
                _ => (rand(&ad, seed), rand(&[batch, bd[0], bd[1]], seed + 50)),
            };
            let want = naive(&a, &b, ta, tb);
            let got = product(&a, ta, &b, tb).unwrap();
            assert_eq!(got.shape(), want.shape());
            for (g, w) in got.data().iter().zip(want.data()) {
                assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "kind {kind} ta {ta} tb {tb}: {g} vs {w}");
            }
            // f32 rounding grows with k: allow k·eps per unit of magnitude.
            let got32 = product(&a.cast::<f32>(), ta, &b.cast::<f32>(), tb).unwrap();
            let tol = k as f64 * f32::EPSILON as f64;
            for (g, w) in got32.data().iter().zip(want.data()) {
                assert!((*g as f64 - w).abs() <= tol * (1.0 + w.abs()), "f32 kind {kind} ta {ta} tb {tb}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn zero_sized_dimensions() {
    assert_eq!(Tensor::<f64>::ones(&[0, 3]).matmul(&Tensor::ones(&[3, 2])).shape(), &[0, 2]);
    assert_eq!(Tensor::<f64>::ones(&[2, 3]).matmul(&Tensor::ones(&[3, 0])).shape(), &[2, 0]);
    assert_eq!(Tensor::<f64>::ones(&[0, 2, 3]).matmul(&Tensor::ones(&[3, 4])).shape(), &[0, 2, 4]);
    let c = Tensor::<f32>::ones(&[2, 3, 0]).matmul(&Tensor::ones(&[2, 0, 4]));
    assert_eq!((c.shape(), c.sum_all()), (&[2usize, 3, 4][..], 0.0));
}

#[test]
fn literal_products() {
    let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let b = Tensor::from_vec(vec![7.0f64, 8.0, 9.0, 10.0, 11.0, 12.0], &[3, 2]);
    assert_eq!(a.matmul(&b).data(), &[58.0, 64.0, 139.0, 154.0]);
    assert_eq!(b.t().matmul(a.t()).data(), &[58.0, 139.0, 64.0, 154.0]);
    let batched = Tensor::stack(&[&a, &a.scale(2.0)], 0).matmul(&b);
    assert_eq!(batched.data(), &[58.0, 64.0, 139.0, 154.0, 116.0, 128.0, 278.0, 308.0]);
}

/// Products big enough to be split between threads, tall (split by rows)
/// and wide (split by columns), and a recurrent step's shape (few rows
/// against a wide weight, multiplied from a packed copy of the weight):
/// the same bits as on one thread, and sampled entries equal to their dot
/// products.
#[test]
fn threaded_products_split_by_rows_or_columns_equal_the_single_threaded_one() {
    for (m, k, n, tb) in [(1100, 128, 130, false), (64, 512, 1024, true), (300, 60, 1000, false)] {
        assert!(m * k * n >= 1 << 24, "large enough to be split");
        let a = rand(&[m, k], 7).cast::<f32>();
        let b = rand(&dims(k, n, tb), 8).cast::<f32>();
        let _setting = crate::THREAD_SETTING.lock().unwrap_or_else(|e| e.into_inner());
        tapegrad_tensor::set_num_threads(1);
        let one = product(&a, false, &b, tb).unwrap();
        tapegrad_tensor::set_num_threads(2);
        let two = product(&a, false, &b, tb).unwrap();
        assert_eq!(one.data(), two.data(), "{m}x{k}x{n}: splitting changed the result");
        let (ad, bd) = (a.data(), b.data());
        for (i, j) in [(0, 0), (m - 1, n - 1), (m / 2, n / 3), (m / 3, n - 1), (m - 1, 0)] {
            let want: f64 = (0..k).map(|p| ad[i * k + p] as f64 * bd[if tb { j * k + p } else { p * n + j }] as f64).sum();
            let got = two.data()[i * n + j] as f64;
            assert!((got - want).abs() <= k as f64 * f32::EPSILON as f64 * (1.0 + want.abs()), "{m}x{k}x{n} [{i},{j}]: {got} vs {want}");
        }
    }
}

/// A weight's buffer goes back to the buffer pool when its last tensor is
/// dropped, and the next tensor of its size gets that same memory: its
/// products must come from its own values, never from the packing cached
/// for the dropped weight (the cache is keyed by the `Arc`, which is new).
#[test]
fn a_recycled_weight_buffer_never_serves_the_old_packing() {
    let (w1, w2) = (rand(&[512, 256], 71), rand(&[512, 256], 72));
    let h = rand(&[8, 256], 73);
    let first = w1.cast::<f32>();
    let address = first.data().as_ptr();
    let _ = h.cast::<f32>().matmul(first.t()); // packs `first`
    drop(first);
    let second = w2.cast::<f32>();
    assert_eq!(second.data().as_ptr(), address, "512 KiB: the freed buffer is reused");
    let got = h.cast::<f32>().matmul(second.t());
    let want = naive(&h, &w2, false, true);
    for (g, w) in got.data().iter().zip(want.data()) {
        assert!((*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
    }
}
