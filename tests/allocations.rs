//! A training step performs no heap allocation once the model has seen a batch of its shape.
//! Counted, not timed: a global allocator counts the allocations made by every thread, the
//! pool's workers included. This test has its own `main` (`harness = false`), so no test
//! runner thread allocates while it counts; it prints one line per check, as the runner does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

use common::tutorial_model;
use ferronet::data::Targets;
use ferronet::loss::{SoftmaxCrossEntropy, TargetBatch};
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{FitConfig, Tensor};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

fn train_on_batch_allocates_nothing_after_the_first_step() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = ArrayD::from_shape_simple_fn(IxDyn(&[64, 28, 28]), || rng.random::<f32>());
    let y: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let mut model = tutorial_model(42);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let mut step = || {
        model.train_on_batch(x.view(), TargetBatch::Classes(&y), &SoftmaxCrossEntropy, &mut adam).unwrap();
    };
    assert!(allocations_during(&mut step) > 0, "the first step creates the buffers and Adam's state");
    for _ in 0..5 {
        assert_eq!(allocations_during(&mut step), 0);
    }
}

fn fit_allocates_the_same_for_10_steps_as_for_20() {
    // Per-epoch bookkeeping allocates; per-step work must not, so doubling the steps of an
    // epoch must not change the count.
    let count_for = |samples: usize| {
        let mut rng = StdRng::seed_from_u64(2);
        let x =
            Tensor::from_shape_vec(&[samples, 28, 28], (0..samples * 784).map(|_| rng.random()).collect())
                .unwrap();
        let labels: Vec<u8> = (0..samples).map(|i| (i % 10) as u8).collect();
        let y = Targets::classes(&labels, 10).unwrap();
        let mut model = tutorial_model(42);
        let mut adam = Adam::new(AdamConfig::default()).unwrap();
        let config = FitConfig::default().with_batch_size(64);
        allocations_during(|| {
            model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam, &config).unwrap();
        })
    };
    count_for(640); // starts the thread pool, which allocates once per process
    assert_eq!(count_for(640), count_for(1280));
}

fn main() {
    let checks: [(&str, fn()); 2] = [
        (
            "train_on_batch_allocates_nothing_after_the_first_step",
            train_on_batch_allocates_nothing_after_the_first_step,
        ),
        ("fit_allocates_the_same_for_10_steps_as_for_20", fit_allocates_the_same_for_10_steps_as_for_20),
    ];
    for (name, check) in checks {
        check();
        println!("test {name} ... ok");
    }
}
