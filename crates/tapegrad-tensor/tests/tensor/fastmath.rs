//! The vectorized f32 `exp` (and `sigmoid`, `tanh` built on it) at the ends
//! of its range, checked exhaustively: every f32 in each edge interval,
//! against f64 libm, in units of the f32 ulp of the exact value.

use tapegrad_tensor::Tensor;

/// The f32 ulp at the magnitude of `v` (subnormal spacing 2⁻¹⁴⁹ below
/// the normal range; 2¹⁰⁴ for anything at or above 2¹²⁸).
fn ulp_at(v: f64) -> f64 {
    let e = v.abs().log2().floor().clamp(-126.0, 127.0);
    2f64.powi(e as i32 - 23)
}

/// Distance from `got` to the exact `want` in f32 ulps of `want`. An
/// infinite `got` counts as 2¹²⁸ (the first value past `f32::MAX`), so a
/// result that overflows just past the threshold is off by a fraction of
/// an ulp, and one that overflows early is off by many.
fn ulps(got: f32, want: f64) -> f64 {
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let want32 = want as f32;
    if want32.is_infinite() && got == want32 {
        return 0.0;
    }
    let g = if got.is_infinite() { 2f64.powi(128).copysign(got as f64) } else { got as f64 };
    if want == 0.0 {
        return g.abs() / 2f64.powi(-149);
    }
    (g - want).abs() / ulp_at(want)
}

/// Every f32 from `lo` to `hi` inclusive (both finite, `lo <= hi`).
fn every_f32(lo: f32, hi: f32) -> Vec<f32> {
    let mut v = Vec::new();
    let mut x = lo;
    while x <= hi {
        v.push(x);
        x = x.next_up();
    }
    v
}

/// The worst ulp error of `f32_op` (applied to the whole sweep as one
/// tensor, so on the wide, thread-split path) against `reference`, with
/// the input where it occurs.
fn worst(xs: &[f32], f32_op: fn(&Tensor<f32>) -> Tensor<f32>, reference: fn(f64) -> f64) -> (f64, f32, f32, f64) {
    let got = f32_op(&Tensor::from_vec(xs.to_vec(), &[xs.len()]));
    let mut w = (0.0, 0.0, 0.0, 0.0);
    for (&g, &x) in got.data().iter().zip(xs) {
        let want = reference(x as f64);
        let u = ulps(g, want);
        if u > w.0 {
            w = (u, x, g, want);
        }
    }
    w
}

fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

/// ln(f32::MAX) = 88.72284: every input up to it has a finite exponential.
/// Bound: 1.5 ulp; measured worst after the fix 1.06 ulp, at 88.38785 (the
/// kernel's own rounding, the same as mid-range: 1.21 ulp at -5.87). Before
/// the fix every input above 88.7 gave +inf.
#[test]
fn f32_exp_stays_finite_and_within_1_5_ulp_up_to_the_overflow_threshold() {
    let xs = every_f32(88.0, 89.0);
    let (u, x, got, want) = worst(&xs, Tensor::exp, f64::exp);
    assert!(u <= 1.5, "exp({x}) = {got:e}, exact {want:e}: {u} ulp");
    let last_finite = Tensor::from_vec(vec![88.72283_f32], &[1]).exp().item();
    assert!(last_finite.is_finite() && last_finite > 3.4e38, "exp(88.72283) = {last_finite:e}, exact 3.40279e38");
    assert_eq!(Tensor::from_vec(vec![88.72284_f32], &[1]).exp().item(), f32::INFINITY, "exact 3.40282e38 rounds past f32::MAX");
}

/// ln(2⁻¹²⁶) = -87.33655: above it the result is a normal number, below it
/// a subnormal one, down to exp(-103.97) ≈ 2⁻¹⁴⁹; past that, 0. Bound:
/// 1.5 ulp (of the subnormal spacing 2⁻¹⁴⁹ below 2⁻¹²⁶); measured worst
/// after the fix 1.05 ulp, at -86.29615. Before it, every input below
/// -87.3 gave 0.
#[test]
fn f32_exp_keeps_normal_and_subnormal_results_down_to_the_underflow_threshold() {
    let xs = every_f32(-105.0, -86.0);
    let (u, x, got, want) = worst(&xs, Tensor::exp, f64::exp);
    assert!(u <= 1.5, "exp({x}) = {got:e}, exact {want:e}: {u} ulp");
    // The value in the defect report: exp(-87.32) is the normal 1.2e-38.
    let v = Tensor::from_vec(vec![-87.32_f32], &[1]).exp().item();
    assert!(v.is_normal() && (v as f64 - (-87.32_f32 as f64).exp()).abs() <= 2f64.powi(-149), "exp(-87.32) = {v:e}");
    assert_eq!(Tensor::from_vec(vec![-104.0_f32, -1000.0], &[2]).exp().data(), &[0.0, 0.0]);
}

/// sigmoid(x) ≈ eˣ for x ≪ 0: it must follow exp into the subnormal range
/// instead of dropping to 0 once e⁻ˣ overflows (it gave 0 below -88.7).
/// Bound: 3 ulp; measured worst 2.28 ulp at -15.54, 1.19 ulp in
/// [-105, -80], 1 ulp (rounding to 1.0) above 15.
#[test]
fn f32_sigmoid_is_within_3_ulp_at_the_extremes() {
    for (lo, hi) in [(-105.0, -80.0), (-20.0, -15.0), (15.0, 20.0), (80.0, 105.0)] {
        let xs = every_f32(lo, hi);
        let (u, x, got, want) = worst(&xs, Tensor::sigmoid, sigmoid64);
        assert!(u <= 3.0, "sigmoid({x}) = {got:e}, exact {want:e}: {u} ulp");
    }
    assert_eq!(Tensor::from_vec(vec![-1000.0_f32, 1000.0], &[2]).sigmoid().data(), &[0.0, 1.0]);
}

/// tanh saturates to exactly ±1 and is accurate on the way there. Bound:
/// 3 ulp; measured worst 2.07 ulp at -5.0018.
#[test]
fn f32_tanh_is_within_3_ulp_at_the_extremes_and_saturates_exactly() {
    for (lo, hi) in [(-50.0, -5.0), (5.0, 50.0)] {
        let xs = every_f32(lo, hi);
        let (u, x, got, want) = worst(&xs, Tensor::tanh, f64::tanh);
        assert!(u <= 3.0, "tanh({x}) = {got:e}, exact {want:e}: {u} ulp");
    }
    assert_eq!(Tensor::from_vec(vec![-1000.0_f32, -44.5, 44.5, 1000.0], &[4]).tanh().data(), &[-1.0, -1.0, 1.0, 1.0]);
}

/// A long tensor runs the widest SIMD level and splits between threads; a
/// one-element tensor runs the baseline loop: both must round alike at the
/// edges too.
#[test]
fn f32_exp_sigmoid_tanh_edges_are_bit_identical_on_the_wide_and_baseline_paths() {
    let mut xs = every_f32(88.6, 88.8);
    xs.extend(every_f32(-87.4, -87.3));
    xs.extend(every_f32(-104.0, -103.9));
    xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0]);
    assert!(xs.len() > 40_000, "long enough for the wide, split path");
    let long = Tensor::from_vec(xs.clone(), &[xs.len()]);
    for (name, op) in [("exp", Tensor::exp as fn(&Tensor<f32>) -> Tensor<f32>), ("sigmoid", Tensor::sigmoid), ("tanh", Tensor::tanh)] {
        let wide = op(&long);
        for (i, &x) in xs.iter().enumerate() {
            let one = op(&Tensor::from_vec(vec![x], &[1])).item();
            assert_eq!(wide.data()[i].to_bits(), one.to_bits(), "{name}({x}): wide {} vs baseline {one}", wide.data()[i]);
        }
    }
}
