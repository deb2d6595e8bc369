//! A team of threads for the short parallel sections of a training step.
//!
//! A recurrent step is a chain of small products and elementwise ops of
//! 10–100 µs each. Handing half of one to a thread that went to sleep after
//! the previous one costs a wake-up (tens of µs on a virtual machine), so a
//! thread pool that sleeps when idle (rayon's) gains little there: the
//! caller usually finishes both halves itself before the other thread is
//! up. The team's threads instead keep polling for [`SPIN`] after each job
//! (as OpenMP runtimes do by default), and only then park; after the first
//! ~100 µs they yield the CPU between polls, so that a thread sharing their
//! CPU is not held up.
//!
//! One team serves the process, with [`num_threads`]` - 1` helpers besides
//! the calling thread (as set when it first runs; a later, lower setting
//! uses fewer of them). One caller at a time: a section started while the
//! team is busy (from another thread, or nested inside a section) runs its
//! parts on the calling thread, one after another. Every part runs
//! exactly once either way, so results never depend on whether the team
//! took part.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::matmul::num_threads;

/// How long a helper keeps polling for work after its last job.
pub(crate) const SPIN: Duration = Duration::from_micros(1000);
/// Polls (of ~50 ns) before a helper yields its CPU between polls.
const HOT_POLLS: u32 = 2000;

/// A section's work: part `i` of `parts`, for `i` in `0..parts`.
type Job = *const (dyn Fn(usize) + Sync);

struct Shared {
    /// Bumped once per section; a helper runs when it sees a new value.
    generation: AtomicU64,
    /// The current section's work and its number of parts.
    job: Mutex<Option<(SendJob, usize)>>,
    /// Helpers that have not yet finished the current section.
    pending: AtomicUsize,
    /// A panic from a helper's part, passed on to the caller.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Per helper: parked (or about to park) waiting for work.
    sleeping: Vec<AtomicBool>,
}

/// A job pointer moved to the helpers; see the safety notes in [`run`].
#[derive(Clone, Copy)]
struct SendJob(Job);
// SAFETY: the pointee is `Sync` and outlives every use (see `run`).
unsafe impl Send for SendJob {}

struct Team {
    shared: &'static Shared,
    helpers: Vec<Thread>,
    busy: AtomicBool,
}

static TEAM: OnceLock<Option<Team>> = OnceLock::new();

/// The team, started on first use; `None` with one thread, or if helper
/// threads cannot be spawned.
fn team() -> Option<&'static Team> {
    TEAM.get_or_init(|| {
        let helpers = num_threads().saturating_sub(1);
        if helpers == 0 {
            return None;
        }
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            generation: AtomicU64::new(0),
            job: Mutex::new(None),
            pending: AtomicUsize::new(0),
            panic: Mutex::new(None),
            sleeping: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
        }));
        let mut threads = Vec::with_capacity(helpers);
        for i in 0..helpers {
            let spawned = thread::Builder::new().name(format!("tapegrad-team-{}", i + 1)).spawn(move || helper(shared, i));
            threads.push(spawned.ok()?.thread().clone());
        }
        Some(Team { shared, helpers: threads, busy: AtomicBool::new(false) })
    })
    .as_ref()
}

/// A helper's loop: poll for a new section, run its part, report.
fn helper(shared: &'static Shared, index: usize) {
    // Products a part runs (rten-gemm) parallelize through rayon when the
    // current rayon pool has several threads; this one-thread pool makes
    // them run here, serially.
    let _pool = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().ok();
    let mut seen = 0;
    loop {
        let mut since = Instant::now();
        let mut polls = 0u32;
        let generation = loop {
            let g = shared.generation.load(Ordering::Acquire);
            if g != seen {
                break g;
            }
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(64) && since.elapsed() > SPIN {
                shared.sleeping[index].store(true, Ordering::SeqCst);
                if shared.generation.load(Ordering::SeqCst) == seen {
                    thread::park();
                }
                shared.sleeping[index].store(false, Ordering::SeqCst);
                since = Instant::now();
                polls = 0;
            }
            if polls < HOT_POLLS {
                std::hint::spin_loop();
            } else {
                // Still polling, but giving way to any thread that shares
                // this CPU (the caller itself, if the OS put both here).
                thread::yield_now();
            }
        };
        seen = generation;
        let job = *shared.job.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((SendJob(f), parts)) = job {
            if index + 1 < parts {
                // SAFETY: the caller of `run` keeps the closure alive until
                // `pending` reaches zero, which this helper has not yet
                // signalled.
                let f = unsafe { &*f };
                let result = panic::catch_unwind(AssertUnwindSafe(|| f(index + 1)));
                if let Err(p) = result {
                    *shared.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
                }
            }
        }
        shared.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `f(0)`, …, `f(parts - 1)`, each exactly once, on the team when it
/// is free (part 0 on the calling thread), else one after another here.
/// Returns the number of threads that took part.
///
/// # Panics
/// If a part panics (after every part has finished).
pub(crate) fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) -> usize {
    let team = match team() {
        Some(t) if parts > 1 && num_threads() > 1 && t.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() => {
            t
        }
        _ => {
            (0..parts).for_each(f);
            return 1;
        }
    };
    let shared = team.shared;
    // A panic left by a section whose own part 0 panicked first.
    shared.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    let helpers = team.helpers.len();
    // Parts beyond the team's size (or the thread setting) run here after part 0.
    let spread = parts.min(helpers + 1).min(num_threads());
    // SAFETY (of publishing a borrowed closure): the pointer is cleared and
    // `pending` awaited in `Finish::drop`, which runs before this function
    // returns or unwinds, so no helper uses it after `f`'s lifetime.
    let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f) };
    *shared.job.lock().unwrap_or_else(|e| e.into_inner()) = Some((SendJob(job), spread));
    shared.pending.store(helpers, Ordering::Release);
    shared.generation.fetch_add(1, Ordering::SeqCst);
    for (i, h) in team.helpers.iter().enumerate() {
        if shared.sleeping[i].load(Ordering::SeqCst) {
            h.unpark();
        }
    }
    struct Finish(&'static Team);
    impl Drop for Finish {
        fn drop(&mut self) {
            let shared = self.0.shared;
            while shared.pending.load(Ordering::Acquire) != 0 {
                std::hint::spin_loop();
            }
            *shared.job.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.0.busy.store(false, Ordering::Release);
        }
    }
    let finish = Finish(team);
    f(0);
    (spread..parts).for_each(f);
    drop(finish);
    if let Some(p) = shared.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
        panic::resume_unwind(p);
    }
    spread
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_and_panics_reach_the_caller() {
        for parts in [0, 1, 2, 3, 7] {
            let hits: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
            run(parts, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "{parts} parts");
        }
        let last = num_threads().max(2) - 1;
        let caught = panic::catch_unwind(|| run(last + 1, &|i| assert!(i != last, "part {i} fails")));
        assert!(caught.is_err());
        // The team is usable again afterwards.
        let sum = AtomicUsize::new(0);
        run(4, &|i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn sections_from_many_threads_at_once_all_complete() {
        let total = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        run(3, &|i| {
                            total.fetch_add(i + 1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 200 * 6);
    }
}
