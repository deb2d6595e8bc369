//! Elementwise loops compiled for the widest vector unit the CPU has, and
//! split between the thread team when long.
//!
//! The default x86-64 target is compiled for SSE2, so a plain loop runs four
//! f32 lanes at a time. Each loop here is compiled three times, for
//! AVX-512, AVX2 and the baseline, and the widest the CPU supports is picked
//! at run time (a cached feature test). Rust never contracts `a*b + c` into
//! a fused multiply-add by itself and these loops use none, so all three
//! round alike: the wide versions return exactly the baseline's values.
//! A loop of at least [`SPLIT_MIN`] elements is cut into contiguous bands
//! run by the team (see `team`); each element is computed by exactly one
//! of them, the same way, so the result is the same too.
//!
//! Each loop body is an `#[inline(always)]` function with a plain indexed
//! loop, instantiated inside each `target_feature` wrapper: a closure or an
//! iterator adapter is not reliably inlined there, and a call out of the
//! wrapper runs baseline code.

use std::mem::MaybeUninit;
use std::sync::Mutex;

use crate::Scalar;

/// Shorter loops stay on the baseline: a wide loop is unrolled to 64 f32
/// lanes and finishes the remainder one element at a time, so a 32-element
/// loop would run no vector code at all.
const MIN_WIDE: usize = 256;

/// Loops at least this long are split between the team's threads (a band
/// of 8K f32 takes 2–5 µs, the hand-off ~1 µs).
const SPLIT_MIN: usize = 16 * 1024;

/// Which wrapper to run, from the CPU's features.
#[derive(Clone, Copy)]
enum Level {
    Avx512,
    Avx2,
    Base,
}

#[inline(always)]
fn level(n: usize) -> Level {
    #[cfg(target_arch = "x86_64")]
    if n >= MIN_WIDE {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Base
}

/// Defines `$name` (dispatching) over `$body`, with the two wide wrappers;
/// `$first` is the output slice, whose length picks the level.
macro_rules! multiversion {
    ($name:ident, $body:ident, $first:ident, ($($arg:ident: $ty:ty),*)) => {
        #[inline(always)]
        fn $name<T: Scalar>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512<T: Scalar>($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2<T: Scalar>($($arg: $ty),*) {
                    $body($($arg),*)
                }
                match level($first.len()) {
                    // SAFETY: `level` found the feature on this CPU.
                    Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    Level::Avx2 => return unsafe { avx2($($arg),*) },
                    Level::Base => {}
                }
            }
            $body($($arg),*)
        }
    };
}

#[inline(always)]
fn map_body<T: Scalar>(dst: &mut [MaybeUninit<T>], src: &[T], f: &impl Fn(T) -> T) {
    let src = &src[..dst.len()];
    for i in 0..dst.len() {
        dst[i].write(f(src[i]));
    }
}

#[inline(always)]
fn zip_body<T: Scalar>(dst: &mut [MaybeUninit<T>], a: &[T], b: &[T], f: &impl Fn(T, T) -> T) {
    let (a, b) = (&a[..dst.len()], &b[..dst.len()]);
    for i in 0..dst.len() {
        dst[i].write(f(a[i], b[i]));
    }
}

#[inline(always)]
fn zip_rows_body<T: Scalar>(dst: &mut [MaybeUninit<T>], long: &[T], row: &[T], row_first: bool, f: &impl Fn(T, T) -> T) {
    let w = row.len();
    for (d, x) in dst.chunks_exact_mut(w).zip(long.chunks_exact(w)) {
        if row_first {
            for j in 0..w {
                d[j].write(f(row[j], x[j]));
            }
        } else {
            for j in 0..w {
                d[j].write(f(x[j], row[j]));
            }
        }
    }
}

multiversion!(map_wide, map_body, dst, (dst: &mut [MaybeUninit<T>], src: &[T], f: &impl Fn(T) -> T));
multiversion!(zip_wide, zip_body, dst, (dst: &mut [MaybeUninit<T>], a: &[T], b: &[T], f: &impl Fn(T, T) -> T));
multiversion!(zip_rows_wide, zip_rows_body, dst, (dst: &mut [MaybeUninit<T>], long: &[T], row: &[T], row_first: bool, f: &impl Fn(T, T) -> T));

/// A (possibly pooled) vector of `n` elements, the element at `i` written
/// by `fill(band, i)` for bands starting at multiples of `unit`: the
/// whole in one call, or bands on the team's threads when `n` is long.
fn build<T: Scalar>(n: usize, unit: usize, fill: impl Fn(&mut [MaybeUninit<T>], usize) + Sync) -> Vec<T> {
    let mut out = super::pool::alloc(n);
    let dst = &mut out.spare_capacity_mut()[..n];
    let parts = if n >= SPLIT_MIN && unit > 0 { super::num_threads().min(n / unit).max(1) } else { 1 };
    if parts == 1 {
        fill(dst, 0);
    } else {
        let band = (n / unit).div_ceil(parts) * unit;
        let bands: Vec<Mutex<&mut [MaybeUninit<T>]>> = dst.chunks_mut(band).map(Mutex::new).collect();
        super::team::run(bands.len(), &|i| fill(&mut bands[i].lock().unwrap_or_else(|e| e.into_inner()), i * band));
    }
    // SAFETY: the bands cover `0..n` and every fill writes its whole band.
    unsafe { out.set_len(n) };
    out
}

/// `[f(x) for x in src]`.
pub(crate) fn map<T: Scalar>(src: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    build(src.len(), 1, |d, i| map_wide(d, &src[i..], &f))
}

/// `[f(x, y) for (x, y) in zip(a, b)]`; `a` and `b` have the same length.
pub(crate) fn zip<T: Scalar>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    assert_eq!(a.len(), b.len(), "simd::zip: lengths differ");
    build(a.len(), 1, |d, i| zip_wide(d, &a[i..], &b[i..], &f))
}

/// `f(x, y)` for every element `x` of `long` against the element `y` of
/// `row` in the same column: `long` is whole rows of `row.len()` elements
/// (a bias added to every row). `row_first` puts `y` first: `f(y, x)`.
pub(crate) fn zip_rows<T: Scalar>(long: &[T], row: &[T], row_first: bool, f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    assert!(!row.is_empty() && long.len().is_multiple_of(row.len()), "simd::zip_rows: not whole rows");
    build(long.len(), row.len(), |d, i| zip_rows_wide(d, &long[i..], row, row_first, &f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fastmath::{exp_f32, sigmoid_f32, tanh_f32};

    /// Inputs across every branch of the kernels: tiny, moderate, huge,
    /// infinite, NaN, signed zeros; an odd length, so wide loops leave a
    /// remainder; long enough to be split between threads.
    fn inputs() -> Vec<f32> {
        let mut v: Vec<f32> = (0..40_001).map(|i| (i as f32 - 20_000.0) * 0.00517).collect();
        v.extend([0.0, -0.0, 1e-30, -1e-30, 88.7, -87.3, 1000.0, -1000.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MAX, f32::MIN]);
        v
    }

    fn same_bits(got: &[f32], want: &[f32]) -> bool {
        got.len() == want.len() && got.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The baseline loop, compiled here without wide features, one band.
    fn baseline(src: &[f32], f: impl Fn(f32) -> f32) -> Vec<f32> {
        let mut out = Vec::with_capacity(src.len());
        map_body(&mut out.spare_capacity_mut()[..src.len()], src, &f);
        // SAFETY: `map_body` wrote all of them.
        unsafe { out.set_len(src.len()) };
        out
    }

    #[test]
    fn wide_split_kernels_round_exactly_like_the_baseline_loop() {
        let x = inputs();
        assert!(x.len() >= SPLIT_MIN.max(MIN_WIDE), "long enough for the wide, split path");
        for (name, f) in [("exp", exp_f32 as fn(f32) -> f32), ("sigmoid", sigmoid_f32), ("tanh", tanh_f32)] {
            assert!(same_bits(&map(&x, f), &baseline(&x, f)), "{name}: the dispatched loop differs from the baseline");
        }
        let y: Vec<f32> = x.iter().rev().copied().collect();
        let want: Vec<f32> = x.iter().zip(&y).map(|(&a, &b)| a * b + a / b).collect();
        assert!(same_bits(&zip(&x, &y, |a, b| a * b + a / b), &want));
    }

    #[test]
    fn zip_rows_pairs_each_element_with_its_column() {
        // Long enough to be split: bands must start at whole rows.
        let (rows, w) = (300, 301);
        let long: Vec<f64> = (0..rows * w).map(|i| i as f64).collect();
        let row: Vec<f64> = (0..w).map(|j| j as f64 * 0.5).collect();
        let want: Vec<f64> = long.iter().enumerate().map(|(i, &x)| x - row[i % w]).collect();
        assert_eq!(zip_rows(&long, &row, false, |x, y| x - y), want);
        let want_first: Vec<f64> = long.iter().enumerate().map(|(i, &x)| row[i % w] - x).collect();
        assert_eq!(zip_rows(&long, &row, true, |y, x| y - x), want_first);
    }
}
