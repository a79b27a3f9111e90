//! The threads ferronet computes with: [`set_threads`] and a small pool that runs one job on
//! every thread and allocates nothing per job.
//!
//! Work is split so that every number is computed the same way whatever the split: Adam's
//! update is element by element, and a matrix product is cut along the rows or the columns of
//! its result, never along the depth it sums over. So training gives the same bits on one
//! thread as on two.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

/// 0 means "not set": all the cores `std::thread::available_parallelism` reports.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads ferronet computes with from now on (at least 1); `0` restores the
/// default, every core. Results do not depend on it.
///
/// ```
/// ferronet::parallel::set_threads(1);
/// assert_eq!(ferronet::parallel::threads(), 1);
/// ferronet::parallel::set_threads(0);
/// ```
pub fn set_threads(threads: usize) {
    THREADS.store(threads, Ordering::Relaxed);
}

/// The number of threads ferronet computes with.
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => cores(),
        n => n.min(MAX_THREADS),
    }
}

/// The pool never grows past this; more would not pay for a network this size.
const MAX_THREADS: usize = 8;

/// The cores, asked once: the answer reads the cgroup files, which allocates.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS))
}

/// A job as the workers see it: the borrow is erased, and [`run`] waits for every worker to
/// finish with it before returning, so it never outlives the closure it points to.
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn(usize) + Sync));

// SAFETY: the closure is `Sync`, and `run` keeps it alive until every worker is done with it.
unsafe impl Send for Job {}

struct State {
    job: Option<Job>,
    /// Which job this is; a worker runs each generation once.
    generation: u64,
    /// Workers asked to take part in this generation.
    workers: usize,
}

struct Pool {
    state: Mutex<State>,
    /// `state.generation`, readable without the lock, for threads that spin.
    generation: AtomicU64,
    /// Workers that have not finished the current job yet.
    remaining: AtomicUsize,
    start: Condvar,
    done: Condvar,
    /// One job at a time: callers on other threads wait here.
    busy: Mutex<()>,
}

/// The workers the pool has besides the caller: one fewer than the cores, set once.
static WORKERS: AtomicUsize = AtomicUsize::new(0);

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            state: Mutex::new(State { job: None, generation: 0, workers: 0 }),
            generation: AtomicU64::new(0),
            remaining: AtomicUsize::new(0),
            start: Condvar::new(),
            done: Condvar::new(),
            busy: Mutex::new(()),
        }));
        let mut workers = 0;
        for index in 1..cores() {
            let spawned = std::thread::Builder::new()
                .name(format!("ferronet-{index}"))
                .spawn(move || work(pool, index));
            // A pool with fewer workers still runs every job, with fewer parts.
            if spawned.is_err() {
                break;
            }
            workers += 1;
        }
        WORKERS.store(workers, Ordering::Relaxed);
        pool
    })
}

/// How long a thread spins on an atomic before it sleeps on the condition variable: a training
/// step hands out a job every few tens of microseconds, and waking a sleeping thread costs
/// about as much as the job.
const SPINS: u32 = 1 << 16;

/// Spins until `ready()` holds or the spins run out; says whether it holds.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    for _ in 0..SPINS {
        if ready() {
            return true;
        }
        std::hint::spin_loop();
    }
    ready()
}

fn work(pool: &'static Pool, index: usize) {
    let mut seen = 0;
    loop {
        spin_until(|| pool.generation.load(Ordering::Acquire) != seen);
        let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.generation == seen || index > state.workers {
            if state.generation != seen {
                seen = state.generation; // not asked to take part in this one
            }
            state = pool.start.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        seen = state.generation;
        let Some(Job(job)) = state.job else { continue };
        drop(state);
        // SAFETY: `run` waits until `remaining` reaches 0, so the closure is alive.
        unsafe { (*job)(index) };
        if pool.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
            pool.done.notify_all();
        }
    }
}

/// How many parts a job may be cut into now: [`threads`], or fewer if the pool could not
/// start that many workers.
pub(crate) fn parts() -> usize {
    let wanted = threads();
    if wanted <= 1 {
        return 1;
    }
    pool();
    wanted.min(WORKERS.load(Ordering::Relaxed) + 1)
}

/// Runs `job(0)`, ..., `job(parts - 1)`, each on its own thread (the caller runs part 0), and
/// returns when all are done. `parts` must come from [`parts`]; with 1 the caller runs it alone.
pub(crate) fn run(parts: usize, job: &(dyn Fn(usize) + Sync)) {
    if parts <= 1 {
        job(0);
        return;
    }
    let pool = pool();
    let _one_at_a_time = pool.busy.lock().unwrap_or_else(|e| e.into_inner());
    let workers = parts - 1;
    {
        let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY (of the erased lifetime): this function does not return before `remaining`
        // is back to 0, that is before every worker has finished calling the job.
        let erased: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(job) };
        state.job = Some(Job(erased));
        state.generation += 1;
        state.workers = workers;
        pool.remaining.store(workers, Ordering::Release);
        pool.generation.store(state.generation, Ordering::Release);
        pool.start.notify_all();
    }
    job(0);
    if !spin_until(|| pool.remaining.load(Ordering::Acquire) == 0) {
        let mut state = pool.state.lock().unwrap_or_else(|e| e.into_inner());
        while pool.remaining.load(Ordering::Acquire) > 0 {
            state = pool.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
    pool.state.lock().unwrap_or_else(|e| e.into_inner()).job = None;
}

/// The `part`-th of `parts` near-equal ranges of `0..len`, each starting at a multiple of `align`.
pub(crate) fn range(len: usize, parts: usize, part: usize, align: usize) -> std::ops::Range<usize> {
    let chunk = len.div_ceil(parts).next_multiple_of(align.max(1));
    let start = (part * chunk).min(len);
    start..((part + 1) * chunk).min(len)
}
