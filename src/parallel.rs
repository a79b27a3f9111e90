//! The threads ferronet computes with: [`set_threads`] and a small pool that runs one job on
//! every thread and allocates nothing per job.
//!
//! Work is split so that every number is computed the same way whatever the split: Adam's
//! update is element by element, and a matrix product is cut along the rows or the columns of
//! its result, or, when it is deeper than it is wide, into whole depth blocks whose sums are
//! folded into the result in the order one thread adds them (see [`crate::linalg`]). So
//! training gives the same bits on one thread as on two.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

/// 0 means "not set": all the cores `std::thread::available_parallelism` reports.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads ferronet computes with from now on (at least 1); `0` restores the
/// default, every core. Results do not depend on it.
///
/// ferronet never computes with more threads than the machine has cores, nor more than 8
/// (more would not pay for networks this size): [`threads`] reports the number in effect.
///
/// ```
/// ferronet::parallel::set_threads(1);
/// assert_eq!(ferronet::parallel::threads(), 1);
/// ferronet::parallel::set_threads(0);
/// ```
pub fn set_threads(threads: usize) {
    THREADS.store(threads, Ordering::Relaxed);
}

/// The number of threads ferronet computes with: the [`set_threads`] setting, at most the
/// number of cores (and 8).
///
/// ```
/// ferronet::parallel::set_threads(usize::MAX);
/// assert!(ferronet::parallel::threads() <= 8);
/// ferronet::parallel::set_threads(0);
/// ```
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => cores(),
        n => n.min(cores()),
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

/// The pool. Handing out a job and reporting it done take a few atomic operations while the
/// threads are awake (they spin for a while between jobs); the mutex and condition variables
/// are only for waking a thread that has gone to sleep.
///
/// A job is cut into parts that threads claim one at a time, the caller first. A part is the
/// same computation whichever thread runs it, so when a worker is late (descheduled on a busy
/// machine) the caller claims its part and runs it instead of waiting.
struct Pool {
    /// The current job. Written by [`run`] only when no worker can be reading it: before it
    /// opens the claims on a new generation, after every part of the last one has finished.
    job: UnsafeCell<Option<Job>>,
    /// `generation << 8 | parts`: which job this is (workers wake when it changes) and how
    /// many parts it has, in one word so that a worker reads a matching pair.
    announced: AtomicU64,
    /// `generation << 16 | next part`: the claims on the current job's parts. A claim names
    /// its generation, so a worker that arrives after its job is over claims nothing.
    claims: AtomicU64,
    /// Parts of the current job that have finished.
    finished: AtomicUsize,
    /// Workers asleep on `start`, or about to be.
    sleepers: AtomicUsize,
    /// Whether the caller of [`run`] is asleep on `done`, or about to be.
    caller_asleep: AtomicBool,
    sleep: Mutex<()>,
    start: Condvar,
    done: Condvar,
    /// Serialises callers: the pool runs one job at a time.
    busy: Mutex<()>,
}

// SAFETY: `job` is written only by the caller holding `busy`, while no worker reads it (see
// the field); everything else is atomics and locks.
unsafe impl Sync for Pool {}

/// How many workers the pool started (it may be fewer than asked if spawning failed).
static WORKERS: AtomicUsize = AtomicUsize::new(0);

/// How many workers are running their loop.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// The pool, started on first use with one worker per core beyond the caller's.
fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            job: UnsafeCell::new(None),
            announced: AtomicU64::new(0),
            claims: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            caller_asleep: AtomicBool::new(false),
            sleep: Mutex::new(()),
            start: Condvar::new(),
            done: Condvar::new(),
            busy: Mutex::new(()),
        }));
        let mut workers = 0;
        for index in 1..cores() {
            let spawned =
                std::thread::Builder::new().name(format!("ferronet-{index}")).spawn(move || work(pool));
            // A pool with fewer workers still runs every job, with fewer parts.
            if spawned.is_err() {
                break;
            }
            workers += 1;
        }
        // A thread allocates as it starts; waiting for the workers here keeps that inside
        // the first parallel call instead of letting it land in some later one.
        while STARTED.load(Ordering::Acquire) < workers {
            std::thread::yield_now();
        }
        WORKERS.store(workers, Ordering::Relaxed);
        pool
    })
}

/// How long a worker spins for its next job before it sleeps (a few milliseconds). A training
/// step hands out a job every few tens of microseconds; waking a sleeping thread costs about
/// as much as the job.
const SPINS: u32 = 1 << 16;

/// How long the caller spins for the other parts of its job before it sleeps (~100 µs, longer
/// than the largest part of a step takes). A part not finished by then has lost its core to
/// another program; sleeping gives a core back to it.
const CALLER_SPINS: u32 = 1 << 11;

/// Spins until `ready` holds or `spins` run out; returns whether it holds.
fn spin_until(spins: u32, ready: impl Fn() -> bool) -> bool {
    for spin in 0..spins {
        if ready() {
            return true;
        }
        // On a machine busier than its cores, the thread being waited for may be waiting for
        // a core: offer this one now and then.
        if spin % YIELD_EVERY == YIELD_EVERY - 1 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    ready()
}

/// Spins between offers of the core in [`spin_until`]: rare enough to cost nothing on an idle
/// machine (a system call every ~20 microseconds of spinning).
const YIELD_EVERY: u32 = 1 << 9;

fn lock(mutex: &Mutex<()>) -> MutexGuard<'_, ()> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A worker's loop: wait for a new generation, then claim and run its parts while any are left.
///
/// The sleeping paths pair a `SeqCst` store of one side with a `SeqCst` load of the other
/// (`announced` / `sleepers`, `finished` / `caller_asleep`), so at least one of the two
/// threads sees the other's change, and the one that must wake the other takes `sleep`
/// first, which the sleeper holds until it is waiting: no wake-up is lost.
fn work(pool: &'static Pool) {
    STARTED.fetch_add(1, Ordering::Release);
    let mut seen = 0;
    loop {
        let fresh = |announced: u64| announced >> 8 != seen;
        if !spin_until(SPINS, || fresh(pool.announced.load(Ordering::Acquire))) {
            let mut guard = lock(&pool.sleep);
            pool.sleepers.fetch_add(1, Ordering::SeqCst);
            while !fresh(pool.announced.load(Ordering::SeqCst)) {
                guard = pool.start.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            pool.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
        let announced = pool.announced.load(Ordering::Acquire);
        seen = announced >> 8;
        run_parts(pool, seen, (announced & 0xff) as usize);
    }
}

/// Claims the parts of job `generation` that are left, one at a time, and runs them; returns
/// when none is left (or the job is already over).
fn run_parts(pool: &Pool, generation: u64, parts: usize) {
    loop {
        let claims = pool.claims.load(Ordering::Acquire);
        let part = (claims & 0xffff) as usize;
        if claims >> 16 != generation || part >= parts {
            return;
        }
        let claimed =
            pool.claims.compare_exchange_weak(claims, claims + 1, Ordering::AcqRel, Ordering::Acquire);
        if claimed.is_ok() {
            // SAFETY: the job was written before the claims of its generation were opened
            // (the Acquire above sees it), and `run` neither rewrites it nor returns (ending
            // the closure's borrow) before this part is counted in `finished`.
            unsafe { run_part(pool, part) };
            finish_part(pool, parts);
        }
    }
}

/// Runs part `part` of the current job.
///
/// # Safety
/// The caller holds a claim on `part` of the current job, not yet counted as finished.
unsafe fn run_part(pool: &Pool, part: usize) {
    // SAFETY: forwarded: the job stays written and alive while a claim on it is unfinished.
    if let Some(Job(job)) = unsafe { *pool.job.get() } {
        unsafe { (*job)(part) };
    }
}

/// Counts one part of the current job as finished, waking the caller if it was the last and
/// the caller sleeps.
fn finish_part(pool: &Pool, parts: usize) {
    if pool.finished.fetch_add(1, Ordering::SeqCst) + 1 == parts && pool.caller_asleep.load(Ordering::SeqCst)
    {
        let _guard = lock(&pool.sleep);
        pool.done.notify_all();
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
    let _one_at_a_time = lock(&pool.busy);
    let parts = parts.min(0xff);
    // SAFETY (of the erased lifetime): this function does not return before every part has
    // finished, that is before any thread is done calling the job.
    let erased: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(job) };
    // SAFETY: every part of the last job has finished and the claims on the next are not
    // open yet: no thread reads `job` now.
    unsafe { *pool.job.get() = Some(Job(erased)) };
    pool.finished.store(0, Ordering::SeqCst);
    let generation = (pool.announced.load(Ordering::Relaxed) >> 8) + 1;
    // Part 0 is the caller's from the start, so that each thread usually runs the same share
    // of every job, step after step, and finds its data in its own cache.
    pool.claims.store(generation << 16 | 1, Ordering::Release);
    pool.announced.store(generation << 8 | parts as u64, Ordering::SeqCst);
    if pool.sleepers.load(Ordering::SeqCst) > 0 {
        let _guard = lock(&pool.sleep);
        pool.start.notify_all();
    }
    // SAFETY: part 0 was claimed for the caller above and is not finished.
    unsafe { run_part(pool, 0) };
    finish_part(pool, parts);
    // Parts no worker has claimed yet (a worker late or asleep) are run here.
    run_parts(pool, generation, parts);
    if !spin_until(CALLER_SPINS, || pool.finished.load(Ordering::Acquire) == parts) {
        let mut guard = lock(&pool.sleep);
        pool.caller_asleep.store(true, Ordering::SeqCst);
        while pool.finished.load(Ordering::SeqCst) < parts {
            guard = pool.done.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        pool.caller_asleep.store(false, Ordering::SeqCst);
    }
}

/// The `part`-th of `parts` near-equal ranges of `0..len`, each starting at a multiple of `align`.
pub(crate) fn range(len: usize, parts: usize, part: usize, align: usize) -> std::ops::Range<usize> {
    let chunk = len.div_ceil(parts).next_multiple_of(align.max(1));
    let start = (part * chunk).min(len);
    start..((part + 1) * chunk).min(len)
}

/// Calls `fill(r, row)` for every row `r` of `out` (rows of `row_len` elements), split across
/// the threads by rows when `out` is large.
///
/// Used to copy or gather a batch: the thread that writes a share of it then holds that share
/// in its own cache, so the products that read the batch next do not fetch all of it from the
/// caller's.
pub(crate) fn for_each_row<F: Send>(out: &mut [F], row_len: usize, fill: &(dyn Fn(usize, &mut [F]) + Sync)) {
    let rows = out.len().checked_div(row_len).unwrap_or(0);
    let parts = if rows * row_len >= PARALLEL_MIN_ROWS_WORK { parts() } else { 1 };
    if parts <= 1 {
        out.chunks_exact_mut(row_len.max(1)).enumerate().for_each(|(r, row)| fill(r, row));
        return;
    }
    let out = &Shared(out.as_mut_ptr());
    run(parts, &|part| {
        for r in range(rows, parts, part, 1) {
            // SAFETY: row r lies inside `out` (r < rows = out.len() / row_len), the parts' row
            // ranges are disjoint, and `out` stays mutably borrowed until `run` returns.
            let row = unsafe { std::slice::from_raw_parts_mut(out.0.add(r * row_len), row_len) };
            fill(r, row);
        }
    });
}

/// Below this many elements a batch is filled on the calling thread: a hand-off costs more.
const PARALLEL_MIN_ROWS_WORK: usize = 1 << 15;

/// A pointer the pool's threads write through, each to its own rows.
struct Shared<F>(*mut F);

// SAFETY: see `for_each_row`: every thread writes disjoint rows.
unsafe impl<F: Send> Sync for Shared<F> {}
