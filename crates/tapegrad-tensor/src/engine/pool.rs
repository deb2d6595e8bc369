//! Recycled tensor buffers.
//!
//! A training step records hundreds of tensors, frees them all at its end,
//! and the next step allocates the same sizes again. The system allocator
//! hands large blocks back to the OS when they are freed (glibc: every block
//! above its mmap threshold, and the top of the heap when it is trimmed), so
//! the next step takes a page fault per 4 KiB to get them back, zeroed: in
//! a large LSTM step (T=100, B=64, H=512), some 40 000 faults, 160 MiB.
//! Instead, a freed buffer of at least [`MIN_BYTES`] goes to a pool of the
//! thread that frees it, filed by capacity, and a new buffer of exactly that
//! size is taken from there, already mapped and likely still in cache.
//!
//! The pool holds at most [`buffer_pool_limit`] bytes per thread (default
//! 1 GiB; buffers freed beyond that go back to the allocator) and keeps them
//! until reused, [`release_buffer_pool`] is called, or the thread exits. A
//! buffer's contents are never read before being overwritten: every taker
//! writes all of it.
//!
//! The cost is memory the allocator could have reused for other sizes: in
//! the large LSTM benchmark the peak resident size grows from 592 to 640 MiB
//! (the first step's freed buffers wait for the second), while the step
//! takes no page faults after the first and runs ~10% faster. A program
//! whose sizes keep changing can set a lower limit.

use std::collections::HashMap;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::kernels::with_pool;
use crate::Scalar;

/// Buffers smaller than this are left to the allocator, which recycles
/// them well by itself: it reuses a freed block for any smaller request,
/// where the pool matches sizes exactly (with 64 KiB here a medium GRU
/// step was ~5% slower; with 512 KiB it is unchanged and the large LSTM
/// 10% faster).
pub(crate) const MIN_BYTES: usize = 512 << 10;

static LIMIT: AtomicUsize = AtomicUsize::new(1 << 30);

/// Sets how many bytes of freed tensor buffers each thread may keep for
/// reuse (0: none; the default is 1 GiB). Buffers already kept beyond a
/// lower limit are released as they are next reused or by
/// [`release_buffer_pool`].
///
/// ```
/// tapegrad_tensor::set_buffer_pool_limit(256 << 20);
/// assert_eq!(tapegrad_tensor::buffer_pool_limit(), 256 << 20);
/// tapegrad_tensor::set_buffer_pool_limit(1 << 30);
/// ```
pub fn set_buffer_pool_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The number of bytes of freed tensor buffers each thread may keep; see
/// [`set_buffer_pool_limit`].
///
/// ```
/// let before = tapegrad_tensor::buffer_pool_limit();
/// tapegrad_tensor::set_buffer_pool_limit(0); // keep nothing
/// assert_eq!(tapegrad_tensor::buffer_pool_limit(), 0);
/// tapegrad_tensor::set_buffer_pool_limit(before);
/// ```
pub fn buffer_pool_limit() -> usize {
    LIMIT.load(Ordering::Relaxed)
}

/// Frees every buffer the calling thread keeps for reuse, of both element
/// types, and returns how many bytes that was (for example after training,
/// before a long phase that needs the memory elsewhere).
///
/// ```
/// use tapegrad_tensor::Tensor;
/// drop(Tensor::<f32>::zeros(&[512, 512])); // 1 MiB, kept for reuse
/// assert_eq!(tapegrad_tensor::release_buffer_pool(), 1 << 20);
/// assert_eq!(tapegrad_tensor::release_buffer_pool(), 0);
/// ```
pub fn release_buffer_pool() -> usize {
    with_pool::<f32, _>(|p| p.clear()).unwrap_or(0) + with_pool::<f64, _>(|p| p.clear()).unwrap_or(0)
}

/// One thread's freed buffers of one element type, by capacity. (`pub`
/// only in name, as the sealed kernels of [`Scalar`] name it.)
#[derive(Default)]
pub struct Pool<T> {
    free: HashMap<usize, Vec<Vec<T>>>,
    bytes: usize,
}

impl<T> Pool<T> {
    /// A kept vector of capacity `n`, if there is one. (Freeing kept
    /// vectors of other sizes on a miss, to give the allocator their
    /// memory, was tried: in a training loop each miss then evicted a
    /// buffer the same step needed later, and the page faults came back.)
    fn take(&mut self, n: usize) -> Option<Vec<T>> {
        let v = self.free.get_mut(&n)?.pop()?;
        self.bytes -= n * mem::size_of::<T>();
        Some(v)
    }

    /// Keeps `v` unless that would hold more than `limit` bytes.
    fn put(&mut self, mut v: Vec<T>, limit: usize) {
        let bytes = v.capacity() * mem::size_of::<T>();
        if self.bytes + bytes <= limit {
            v.clear();
            self.bytes += bytes;
            self.free.entry(v.capacity()).or_default().push(v);
        }
    }

    fn clear(&mut self) -> usize {
        self.free.clear();
        mem::take(&mut self.bytes)
    }
}

/// An empty vector with room for exactly `n` elements: a pooled one if
/// there is one of that size.
pub(crate) fn alloc<T: Scalar>(n: usize) -> Vec<T> {
    if n * mem::size_of::<T>() >= MIN_BYTES {
        if let Some(v) = with_pool(|p| p.take(n)).flatten() {
            return v;
        }
    }
    Vec::with_capacity(n)
}

/// `n` copies of `value` in a (possibly pooled) vector.
pub(crate) fn filled<T: Scalar>(n: usize, value: T) -> Vec<T> {
    let mut v = alloc(n);
    v.resize(n, value);
    v
}

/// A tensor's elements; returned to the pool of the dropping thread when
/// the last tensor sharing it is dropped. (`pub` only in name, as
/// [`Pool`].)
pub struct Buffer<T: Scalar>(Vec<T>);

impl<T: Scalar> Buffer<T> {
    pub(crate) fn new(v: Vec<T>) -> Self {
        Buffer(v)
    }

    /// The vector, which then is not returned to the pool.
    pub(crate) fn into_vec(mut self) -> Vec<T> {
        mem::take(&mut self.0)
    }
}

impl<T: Scalar> Drop for Buffer<T> {
    fn drop(&mut self) {
        if self.0.capacity() * mem::size_of::<T>() >= MIN_BYTES {
            let v = mem::take(&mut self.0);
            // Outside a thread's lifetime (its pool already gone) the
            // vector is simply freed.
            let _ = with_pool(|p| p.put(v, buffer_pool_limit()));
        }
    }
}

impl<T: Scalar> Clone for Buffer<T> {
    fn clone(&self) -> Self {
        let mut v = alloc(self.0.len());
        v.extend_from_slice(&self.0);
        Buffer(v)
    }
}

impl<T: Scalar> PartialEq for Buffer<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Scalar> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Scalar> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn a_freed_buffer_is_reused_for_the_same_size_only() {
        release_buffer_pool();
        let a = Tensor::<f32>::zeros(&[512, 512]);
        let ptr = a.data().as_ptr();
        drop(a);
        let b = Tensor::<f32>::full(&[262_144], 2.0);
        assert_eq!(b.data().as_ptr(), ptr, "the same size reuses the freed buffer");
        assert!(b.data().iter().all(|&v| v == 2.0), "and overwrites all of it");
        drop(b);
        let other = Tensor::<f32>::zeros(&[512, 511]);
        assert_ne!(other.data().as_ptr(), ptr, "another size does not get it");
        drop(other);
        assert_eq!(release_buffer_pool(), (512 * 512 + 512 * 511) * 4);
    }

    #[test]
    fn the_limit_bounds_what_a_pool_keeps() {
        let mut pool = Pool::<f64>::default();
        pool.put(Vec::with_capacity(1000), 0);
        assert!(pool.take(1000).is_none(), "nothing kept with a zero limit");
        pool.put(Vec::with_capacity(1000), 8000);
        pool.put(Vec::with_capacity(1000), 8000);
        assert_eq!(pool.bytes, 8000, "the second would pass the limit");
        assert!(pool.take(999).is_none() && pool.take(1000).is_some());
        assert_eq!((pool.bytes, pool.clear()), (0, 0));
    }
}
