//! A team of threads for the short parallel sections of a training step.
//!
//! A recurrent step is a chain of small products and elementwise ops of
//! 10–100 µs each. Handing half of one to a thread that went to sleep after
//! the previous one costs a wake-up (tens of µs on a virtual machine), so a
//! thread pool that sleeps when idle (rayon's) gains little there. The
//! team's threads instead keep polling for a while after a job they took
//! part in, yielding their CPU between polls, and then park.
//!
//! Work is *claimed*, not assigned: a section's parts are taken one at a
//! time from a shared counter by whichever thread gets there first, the
//! calling thread included. A helper that is descheduled (the cores are
//! shared with other programs) or still parked simply takes no part; the
//! caller never waits for a thread that has not started a part, and waits
//! for one that has by yielding, never by spinning alone. A helper that
//! keeps arriving too late to take a part shortens its polling to nothing,
//! so that on a busy machine it costs no CPU between sections.
//!
//! One team serves the process, with [`num_threads`]` - 1` helpers besides
//! the calling thread (as set when it first runs, and never more than the
//! CPUs the process may use; a later, lower setting uses fewer of them).
//! One caller at a time: a section started while the team is busy (from
//! another thread, or nested inside a section) runs its parts on the
//! calling thread, one after another. Every part runs exactly once either
//! way, so results never depend on which thread ran it.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::num_threads;

/// How long a helper keeps polling for work after a job it took part in.
pub(crate) const SPIN: Duration = Duration::from_micros(1000);
/// Polls (of ~50 ns) before a helper yields its CPU between polls.
const HOT_POLLS: u32 = 200;
/// Busy-wait polls of the caller for a part a helper is running, before
/// it yields between polls.
const CALLER_POLLS: u32 = 200;
/// How long the caller yields between polls for a running part before it
/// parks until the part is done.
const CALLER_YIELD: Duration = Duration::from_micros(50);

/// A section's work: part `i` of `parts`, for `i` in `0..parts`.
type Job = *const (dyn Fn(usize) + Sync);

/// A job pointer moved to the helpers; see the safety notes in [`run`].
#[derive(Clone, Copy)]
struct SendJob(Job);
// SAFETY: the pointee is `Sync` and outlives every use (see `run`).
unsafe impl Send for SendJob {}

struct Shared {
    /// Bumped once per section; a helper looks for work when it changes.
    generation: AtomicU64,
    /// The current section's work and its number of parts, `None` between
    /// sections. A helper joins a section only under this lock, while it
    /// is `Some`, by counting itself into `active`.
    job: Mutex<Option<(SendJob, usize, Thread)>>,
    /// The next unclaimed part of the current section.
    next: AtomicUsize,
    /// Helpers inside the current section (they may still run a part).
    active: AtomicUsize,
    /// The caller has stopped polling for `active` to reach zero and
    /// parks: the last helper to leave unparks it.
    caller_parked: AtomicBool,
    /// A panic from a helper's part, passed on to the caller.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Per helper: parked (or about to park) waiting for work.
    sleeping: Vec<AtomicBool>,
}

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
            next: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            caller_parked: AtomicBool::new(false),
            panic: Mutex::new(None),
            sleeping: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
        }));
        let mut threads = Vec::with_capacity(helpers);
        for i in 0..helpers {
            let spawned = thread::Builder::new().name(format!("tapegrad-team-{}", i + 1)).spawn(move || helper(shared, i));
            match spawned {
                Ok(handle) => threads.push(handle.thread().clone()),
                // Fewer helpers than asked for: the section runs with those there are.
                Err(_) => break,
            }
        }
        (!threads.is_empty()).then(|| Team { shared, helpers: threads, busy: AtomicBool::new(false) })
    })
    .as_ref()
}

/// Waits until the generation moves past `seen`: polls for `budget`
/// (yielding between polls after the first few), then parks.
fn wait_for_section(shared: &Shared, index: usize, seen: u64, budget: Duration) -> u64 {
    let since = Instant::now();
    let mut polls = 0u32;
    loop {
        let g = shared.generation.load(Ordering::Acquire);
        if g != seen {
            return g;
        }
        polls = polls.saturating_add(1);
        if polls.is_multiple_of(16) && since.elapsed() >= budget {
            shared.sleeping[index].store(true, Ordering::SeqCst);
            while shared.generation.load(Ordering::SeqCst) == seen {
                thread::park();
            }
            shared.sleeping[index].store(false, Ordering::SeqCst);
            return shared.generation.load(Ordering::Acquire);
        }
        if polls < HOT_POLLS {
            std::hint::spin_loop();
        } else {
            // Still polling, but giving way to any thread that shares this
            // CPU (the caller itself, if the OS put both here).
            thread::yield_now();
        }
    }
}

/// Claims and runs parts of the section `f` of `parts` parts until none is
/// left; returns how many it ran. A panicking part is recorded for the
/// caller and ends this thread's share.
fn claim_parts(shared: &Shared, f: &(dyn Fn(usize) + Sync), parts: usize) -> usize {
    let mut ran = 0;
    loop {
        let i = shared.next.fetch_add(1, Ordering::AcqRel);
        if i >= parts {
            return ran;
        }
        ran += 1;
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| f(i))) {
            shared.panic.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(p);
        }
    }
}

/// A helper's loop: wait for a section, join it, claim parts, leave.
fn helper(shared: &'static Shared, index: usize) {
    // Products a part runs (rten-gemm) parallelize through rayon when the
    // current rayon pool has several threads; this one-thread pool makes
    // them run here, serially.
    let _pool = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build().ok();
    let mut seen = 0;
    // Polling time after a section: the whole `SPIN` after a section this
    // helper took part in, halved after each one it came too late for.
    let mut budget = SPIN;
    loop {
        seen = wait_for_section(shared, index, seen, budget);
        #[cfg(test)]
        if tests::HELPERS_STALLED.load(Ordering::Acquire) {
            continue;
        }
        let joined = {
            let job = shared.job.lock().unwrap_or_else(|e| e.into_inner());
            job.as_ref().map(|(f, parts, caller)| {
                shared.active.fetch_add(1, Ordering::AcqRel);
                (*f, *parts, caller.clone())
            })
        };
        let Some((SendJob(f), parts, caller)) = joined else { continue };
        // SAFETY: the caller of `run` keeps the closure alive until
        // `active` is back to zero, which this helper has not yet signalled.
        let ran = claim_parts(shared, unsafe { &*f }, parts);
        if shared.active.fetch_sub(1, Ordering::AcqRel) == 1 && shared.caller_parked.load(Ordering::SeqCst) {
            caller.unpark();
        }
        budget = if ran > 0 { SPIN } else { budget / 2 };
        if budget < Duration::from_micros(10) {
            budget = Duration::ZERO;
        }
    }
}

/// Runs `f(0)`, …, `f(parts - 1)`, each exactly once, on the team when it
/// is free (the calling thread claiming parts like every helper), else one
/// after another here. Returns the number of threads that could take part.
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
    // A panic left over from an earlier section (none is, normally).
    shared.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    let helpers = team.helpers.len().min(num_threads() - 1);
    // SAFETY (of publishing a borrowed closure): the job is withdrawn and
    // `active` awaited in `Finish::drop`, which runs before this function
    // returns or unwinds, so no helper uses it after `f`'s lifetime.
    let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), &'static (dyn Fn(usize) + Sync)>(f) };
    {
        let mut slot = shared.job.lock().unwrap_or_else(|e| e.into_inner());
        shared.next.store(0, Ordering::Release);
        *slot = Some((SendJob(job), parts, thread::current()));
        shared.generation.fetch_add(1, Ordering::SeqCst);
    }
    for (i, h) in team.helpers.iter().enumerate().take(helpers) {
        if shared.sleeping[i].load(Ordering::SeqCst) {
            h.unpark();
        }
    }
    struct Finish(&'static Team);
    impl Drop for Finish {
        fn drop(&mut self) {
            let shared = self.0.shared;
            // Every part is claimed: let no more helpers join, then wait
            // for those running a part: a short spin, then yielding, then
            // parked, so that a helper the OS took off its CPU can be run
            // on this one.
            *shared.job.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let since = Instant::now();
            let mut polls = 0u32;
            while shared.active.load(Ordering::Acquire) != 0 {
                polls = polls.saturating_add(1);
                if polls < CALLER_POLLS {
                    std::hint::spin_loop();
                } else if since.elapsed() < CALLER_YIELD {
                    thread::yield_now();
                } else {
                    shared.caller_parked.store(true, Ordering::SeqCst);
                    if shared.active.load(Ordering::SeqCst) != 0 {
                        thread::park_timeout(Duration::from_micros(200));
                    }
                    shared.caller_parked.store(false, Ordering::SeqCst);
                }
            }
            self.0.busy.store(false, Ordering::Release);
        }
    }
    let finish = Finish(team);
    // The caller claims parts too; a panic here is recorded like a helper's.
    claim_parts(shared, f, parts);
    drop(finish);
    if let Some(p) = shared.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
        panic::resume_unwind(p);
    }
    helpers + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_and_panics_reach_the_caller() {
        for parts in [0, 1, 2, 3, 7, 64] {
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

    /// Set by a test: helpers see sections but never join them, as when
    /// the OS has descheduled them.
    pub(super) static HELPERS_STALLED: AtomicBool = AtomicBool::new(false);

    /// Regression: parts were fixed to helpers, so a descheduled helper
    /// held every section until the OS ran it again. Now the caller claims
    /// every part no helper has started, and never waits for one.
    #[test]
    fn a_descheduled_helper_never_holds_the_caller() {
        let me = thread::current().id();
        HELPERS_STALLED.store(true, Ordering::Release);
        let by_caller = AtomicUsize::new(0);
        for _ in 0..100 {
            run(8, &|_| {
                if thread::current().id() == me {
                    by_caller.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        HELPERS_STALLED.store(false, Ordering::Release);
        // A section that started before the flag was set may have had a
        // helper in it; every later part ran here.
        assert!(by_caller.load(Ordering::Relaxed) >= 8 * 99, "{} of 800 parts ran on the caller", by_caller.load(Ordering::Relaxed));
    }
}
