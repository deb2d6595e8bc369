//! Elementwise loops compiled for the widest vector unit the CPU has.
//!
//! The default x86-64 target is compiled for SSE2, so a plain loop runs four
//! f32 lanes at a time. Each loop here is compiled three times, for
//! AVX-512, AVX2 and the baseline, and the widest the CPU supports is picked
//! at run time (a cached feature test). Rust never contracts `a*b + c` into
//! a fused multiply-add by itself and these loops use none, so all three
//! round alike: the wide versions return exactly the baseline's values.
//!
//! Each loop body is an `#[inline(always)]` function with a plain indexed
//! loop, instantiated inside each `target_feature` wrapper: a closure or an
//! iterator adapter is not reliably inlined there, and a call out of the
//! wrapper runs baseline code.

/// Shorter loops stay on the baseline: a wide loop is unrolled to 64 f32
/// lanes and finishes the remainder one element at a time, so a 32-element
/// loop would run no vector code at all.
const MIN_WIDE: usize = 256;

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

/// Defines `$name` (dispatching) over `$body`, with the two wide wrappers.
macro_rules! multiversion {
    ($name:ident, $body:ident, $first:ident, ($($arg:ident: $ty:ty),*)) => {
        #[inline(always)]
        pub(crate) fn $name<T: crate::Scalar>($($arg: $ty),*) -> Vec<T> {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512<T: crate::Scalar>($($arg: $ty),*) -> Vec<T> {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2<T: crate::Scalar>($($arg: $ty),*) -> Vec<T> {
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

/// The spare capacity of `out` for `n` more elements.
#[inline(always)]
fn spare<T>(out: &mut Vec<T>, n: usize) -> &mut [std::mem::MaybeUninit<T>] {
    out.reserve(n);
    &mut out.spare_capacity_mut()[..n]
}

/// Marks the `n` elements after `out`'s length as initialised.
///
/// # Safety
/// The caller wrote all of them.
#[inline(always)]
unsafe fn commit<T>(out: &mut Vec<T>, n: usize) {
    // SAFETY: the caller's contract.
    unsafe { out.set_len(out.len() + n) };
}

#[inline(always)]
fn map_body<T: crate::Scalar>(src: &[T], f: impl Fn(T) -> T) -> Vec<T> {
    let n = src.len();
    let mut out = crate::pool::alloc(n);
    let dst = spare(&mut out, n);
    for i in 0..n {
        dst[i].write(f(src[i]));
    }
    // SAFETY: the loop wrote all `n`.
    unsafe { commit(&mut out, n) };
    out
}

#[inline(always)]
fn zip_body<T: crate::Scalar>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> Vec<T> {
    assert_eq!(a.len(), b.len(), "simd::zip: lengths differ");
    let n = a.len();
    let mut out = crate::pool::alloc(n);
    let dst = spare(&mut out, n);
    for i in 0..n {
        dst[i].write(f(a[i], b[i]));
    }
    // SAFETY: the loop wrote all `n`.
    unsafe { commit(&mut out, n) };
    out
}

#[inline(always)]
fn zip_rows_body<T: crate::Scalar>(long: &[T], row: &[T], row_first: bool, f: impl Fn(T, T) -> T) -> Vec<T> {
    assert!(!row.is_empty() && long.len().is_multiple_of(row.len()), "simd::zip_rows: not whole rows");
    let (n, w) = (long.len(), row.len());
    let mut out = crate::pool::alloc(n);
    let dst = spare(&mut out, n);
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
    // SAFETY: the chunks cover all `n` (whole rows, checked above).
    unsafe { commit(&mut out, n) };
    out
}

// `[f(x) for x in src]`.
multiversion!(map, map_body, src, (src: &[T], f: impl Fn(T) -> T));
// `[f(x, y) for (x, y) in zip(a, b)]`; `a` and `b` have the same length.
multiversion!(zip, zip_body, a, (a: &[T], b: &[T], f: impl Fn(T, T) -> T));
// `f(x, y)` for every element `x` of `long` against the element `y` of
// `row` in the same column: `long` is whole rows of `row.len()` elements
// (a bias added to every row). `row_first` puts `y` first: `f(y, x)`.
multiversion!(zip_rows, zip_rows_body, long, (long: &[T], row: &[T], row_first: bool, f: impl Fn(T, T) -> T));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastmath::{exp_f32, sigmoid_f32, tanh_f32};

    /// Inputs across every branch of the kernels: tiny, moderate, huge,
    /// infinite, NaN, signed zeros; an odd length, so wide loops leave a
    /// remainder.
    fn inputs() -> Vec<f32> {
        let mut v: Vec<f32> = (0..4001).map(|i| (i as f32 - 2000.0) * 0.0517).collect();
        v.extend([0.0, -0.0, 1e-30, -1e-30, 88.7, -87.3, 1000.0, -1000.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MAX, f32::MIN]);
        v
    }

    fn same_bits(got: &[f32], want: &[f32]) -> bool {
        got.len() == want.len() && got.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    #[test]
    fn wide_kernels_round_exactly_like_the_baseline_loop() {
        let x = inputs();
        assert!(x.len() >= MIN_WIDE, "long enough to take the wide path");
        // `map_body` called here is compiled for the baseline target.
        for (name, f) in [("exp", exp_f32 as fn(f32) -> f32), ("sigmoid", sigmoid_f32), ("tanh", tanh_f32)] {
            assert!(same_bits(&map(&x, f), &map_body(&x, f)), "{name}: the dispatched loop differs from the baseline");
        }
        let y: Vec<f32> = x.iter().rev().copied().collect();
        assert!(same_bits(&zip(&x, &y, |a, b| a * b + a / b), &zip_body(&x, &y, |a, b| a * b + a / b)));
    }

    #[test]
    fn zip_rows_pairs_each_element_with_its_column() {
        let long: Vec<f64> = (0..600).map(f64::from).collect();
        let row: Vec<f64> = (0..300).map(|j| f64::from(j) * 0.5).collect();
        let want: Vec<f64> = long.iter().enumerate().map(|(i, &x)| x - row[i % 300]).collect();
        assert_eq!(zip_rows(&long, &row, false, |x, y| x - y), want);
        let want_first: Vec<f64> = long.iter().enumerate().map(|(i, &x)| row[i % 300] - x).collect();
        assert_eq!(zip_rows(&long, &row, true, |y, x| y - x), want_first);
    }
}
