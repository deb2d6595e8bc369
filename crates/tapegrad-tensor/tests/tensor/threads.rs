//! The thread setting and tapegrad's effect on a caller's own threads.

use tapegrad_tensor::Tensor;

/// Regression: `TAPEGRAD_NUM_THREADS=100000` tried to spawn 99,999 helpers
/// and aborted; more threads than CPUs only wait for each other.
#[test]
fn thread_setting_is_capped_at_the_cpus_the_process_may_use() {
    let _setting = crate::THREAD_SETTING.lock().unwrap_or_else(|e| e.into_inner());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    tapegrad_tensor::set_num_threads(100_000);
    assert_eq!(tapegrad_tensor::num_threads(), cpus);
    // Products split between the threads there are still agree with one thread.
    let a = Tensor::<f32>::from_vec((0..512 * 256).map(|i| (i % 17) as f32 - 8.0).collect(), &[512, 256]);
    let b = Tensor::<f32>::from_vec((0..256 * 128).map(|i| (i % 13) as f32 - 6.0).collect(), &[256, 128]);
    let many = a.matmul(&b);
    tapegrad_tensor::set_num_threads(1);
    assert_eq!(tapegrad_tensor::num_threads(), 1);
    assert_eq!(many.data(), a.matmul(&b).data());
    tapegrad_tensor::set_num_threads(cpus);
}

/// Products run inside the caller's own rayon pool leave it as it was
/// (outside any pool, a thread that runs an f32 product becomes a
/// one-thread pool of its own for good: the documented limitation in the
/// crate docs, "Threads and memory").
#[test]
fn products_inside_a_callers_rayon_pool_leave_that_pool_as_it_was() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        let w = Tensor::<f32>::from_vec((0..512 * 128).map(|i| ((i * 7) % 11) as f32 * 0.1).collect(), &[512, 128]);
        let h = Tensor::<f32>::ones(&[8, 128]);
        let first = h.matmul(w.t());
        // The same weight again: the product that would use a cached packing.
        let again = h.matmul(w.t());
        assert_eq!(first.data(), again.data());
        assert_eq!(rayon::current_num_threads(), 2, "the caller's pool changed size");
    });
}
