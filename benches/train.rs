//! Training and inference throughput of the tutorial network (784-128-64-10, Adam), in samples
//! per second, next to the rate its matrix products alone allow on the same shapes.
//!
//! ```text
//! cargo bench --bench train
//! ```

use std::hint::black_box;

#[path = "../tests/common/mod.rs"]
mod common;

use common::tutorial_model;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferronet::FitConfig;
use ferronet::data::{Mnist, Targets};
use ferronet::layers::Layer;
use ferronet::linalg::{GemmScratch, gemm};
use ferronet::loss::{SoftmaxCrossEntropy, TargetBatch};
use ferronet::optim::{Adam, AdamConfig, Optimizer};
use ferronet::parallel::set_threads;
use gemm::Parallelism;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewMut2, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BATCHES: [usize; 3] = [64, 128, 256];

fn random_batch(batch: usize, rng: &mut StdRng) -> (ArrayD<f32>, Vec<usize>) {
    let x = ArrayD::from_shape_simple_fn(IxDyn(&[batch, 28, 28]), || rng.random::<f32>());
    let y = (0..batch).map(|_| rng.random_range(0..10)).collect();
    (x, y)
}

/// One training step: forward, fused loss, backward, Adam.
fn train_step(c: &mut Criterion) {
    train_step_on(c, "train_step", 0);
    train_step_on(c, "train_step_1_thread", 1);
}

/// The training step on `threads` threads (0: every core), as group `name`.
fn train_step_on(c: &mut Criterion, name: &str, threads: usize) {
    set_threads(threads);
    let mut group = c.benchmark_group(name);
    for batch in BATCHES {
        let mut rng = StdRng::seed_from_u64(1);
        let (x, y) = random_batch(batch, &mut rng);
        let mut model = tutorial_model(42);
        let mut adam = Adam::new(AdamConfig::default()).unwrap();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                model
                    .train_on_batch(x.view(), TargetBatch::Classes(&y), &SoftmaxCrossEntropy, &mut adam)
                    .unwrap()
            })
        });
    }
    group.finish();
    set_threads(0);
}

/// One Adam update of the tutorial network's 109,386 parameters.
fn adam_step(c: &mut Criterion) {
    let mut model = tutorial_model(42);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    model.visit_params(&mut |p| p.grad.fill(1e-3));
    let mut group = c.benchmark_group("adam_step");
    group.throughput(Throughput::Elements(109_386));
    group.bench_function("tutorial_params", |b| b.iter(|| adam.step(&mut model).unwrap()));
    group.finish();
}

/// The buffers of one training step's matrix products at `batch`, made once: per layer the
/// weight, its gradient, the input, the output and the input gradient.
struct StepBuffers {
    weights: Vec<Array2<f32>>,
    grads: Vec<Array2<f32>>,
    inputs: Vec<Array2<f32>>,
    outputs: Vec<Array2<f32>>,
    input_grads: Vec<Array2<f32>>,
}

impl StepBuffers {
    fn new(batch: usize) -> Self {
        let sizes = [(784, 128), (128, 64), (64, 10)];
        let mut rng = StdRng::seed_from_u64(2);
        let mut fill =
            |r: usize, c: usize| Array2::from_shape_simple_fn((r, c), || rng.random::<f32>() - 0.5);
        StepBuffers {
            weights: sizes.iter().map(|&(i, o)| fill(i, o)).collect(),
            grads: sizes.iter().map(|&(i, o)| fill(i, o)).collect(),
            inputs: sizes.iter().map(|&(i, _)| fill(batch, i)).collect(),
            outputs: sizes.iter().map(|&(_, o)| fill(batch, o)).collect(),
            input_grads: sizes.iter().map(|&(i, _)| fill(batch, i)).collect(),
        }
    }
}

/// The matrix products of one training step alone, on the same shapes, into buffers made once:
/// forward x W for three layers, dW = x^T G for three, dX = G W^T for the two upper layers,
/// through ndarray's `general_mat_mul` (the `matrixmultiply` crate, one thread).
fn matmul_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul_only");
    for batch in BATCHES {
        let StepBuffers { weights, mut grads, inputs, mut outputs, mut input_grads } =
            StepBuffers::new(batch);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                for l in 0..3 {
                    general_mat_mul(1.0, &inputs[l], &weights[l], 0.0, &mut outputs[l]);
                }
                for l in (0..3).rev() {
                    general_mat_mul(1.0, &inputs[l].t(), &outputs[l], 1.0, &mut grads[l]);
                    if l > 0 {
                        general_mat_mul(1.0, &outputs[l], &weights[l].t(), 0.0, &mut input_grads[l]);
                    }
                }
                black_box(&grads);
            })
        });
    }
    group.finish();
}

/// The same products as `matmul_only` through ferronet's own `linalg::gemm`, one scratch per
/// layer as the Dense layers keep.
fn gemm_only(c: &mut Criterion) {
    gemm_only_on(c, "gemm_only", 0);
    gemm_only_on(c, "gemm_only_1_thread", 1);
}

/// [`gemm_only`] on `threads` threads (0: every core), as group `name`.
fn gemm_only_on(c: &mut Criterion, name: &str, threads: usize) {
    set_threads(threads);
    let mut group = c.benchmark_group(name);
    for batch in BATCHES {
        let StepBuffers { weights, mut grads, inputs, mut outputs, mut input_grads } =
            StepBuffers::new(batch);
        let mut scratch: Vec<GemmScratch<f32>> = (0..3).map(|_| GemmScratch::new()).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                for l in 0..3 {
                    gemm(
                        1.0,
                        inputs[l].view(),
                        weights[l].view(),
                        0.0,
                        outputs[l].view_mut(),
                        &mut scratch[l],
                    )
                    .unwrap();
                }
                for l in (0..3).rev() {
                    gemm(1.0, inputs[l].t(), outputs[l].view(), 1.0, grads[l].view_mut(), &mut scratch[l])
                        .unwrap();
                    if l > 0 {
                        let (g, w) = (outputs[l].view(), weights[l].t());
                        gemm(1.0, g, w, 0.0, input_grads[l].view_mut(), &mut scratch[l]).unwrap();
                    }
                }
                black_box(&grads);
            })
        });
    }
    group.finish();
    set_threads(0);
}

/// `c = a b` (or `c += a b` with `accumulate`) through the `gemm` crate, on any strides.
fn gemm_crate(
    a: ArrayView2<f32>,
    b: ArrayView2<f32>,
    mut c: ArrayViewMut2<f32>,
    accumulate: bool,
    par: Parallelism,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert_eq!((b.nrows(), c.dim()), (k, (m, n)));
    let (cs, rs) = (c.strides()[1], c.strides()[0]);
    // SAFETY: the pointers and strides come from views of the asserted shapes, and `c` is a
    // mutable borrow, so it overlaps neither `a` nor `b`. gemm computes
    // dst = alpha dst + beta lhs rhs, reading dst only when asked.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            cs,
            rs,
            accumulate,
            a.as_ptr(),
            a.strides()[1],
            a.strides()[0],
            b.as_ptr(),
            b.strides()[1],
            b.strides()[0],
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// The same products as `matmul_only` through the `gemm` crate, on both cores and on one: the
/// reference rate issue 6 measured the peers against.
fn gemm_crate_only(c: &mut Criterion) {
    for (name, par) in
        [("gemm_crate_only", Parallelism::Rayon(2)), ("gemm_crate_only_1_thread", Parallelism::None)]
    {
        let mut group = c.benchmark_group(name);
        for batch in BATCHES {
            let StepBuffers { weights, mut grads, inputs, mut outputs, mut input_grads } =
                StepBuffers::new(batch);
            // Once, untimed: the crate's products agree with ours, so both benches do the same work.
            let mut ours = outputs[0].clone();
            gemm(1.0, inputs[0].view(), weights[0].view(), 0.0, ours.view_mut(), &mut GemmScratch::new())
                .unwrap();
            gemm_crate(inputs[0].view(), weights[0].view(), outputs[0].view_mut(), false, par);
            let worst = (&ours - &outputs[0]).iter().fold(0.0f32, |w, d| w.max(d.abs()));
            assert!(worst < 1e-3, "the gemm crate and ours differ by {worst}");
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(BenchmarkId::from_parameter(batch), |b| {
                b.iter(|| {
                    for l in 0..3 {
                        gemm_crate(inputs[l].view(), weights[l].view(), outputs[l].view_mut(), false, par);
                    }
                    for l in (0..3).rev() {
                        gemm_crate(inputs[l].t(), outputs[l].view(), grads[l].view_mut(), true, par);
                        if l > 0 {
                            let (g, w) = (outputs[l].view(), weights[l].t());
                            gemm_crate(g, w, input_grads[l].view_mut(), false, par);
                        }
                    }
                    black_box(&grads);
                })
            });
        }
        group.finish();
    }
}

/// One epoch of the tutorial on the shipped MNIST: 48,000 training samples in batches of 64,
/// then validation on the other 12,000.
fn epoch(c: &mut Criterion) {
    let mnist = Mnist::load("data/mnist").unwrap();
    let y = Targets::classes(&mnist.train_labels, 10).unwrap();
    let mut model = tutorial_model(42);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let config = FitConfig::default().with_batch_size(64).with_validation_split(0.2).with_seed(42);
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(48_000));
    group.bench_function("mnist_48k_batch_64", |b| {
        b.iter(|| model.fit(&mnist.train_images, &y, &SoftmaxCrossEntropy, &mut adam, &config).unwrap())
    });
    group.finish();
}

/// `predict` over the 10,000 test images.
fn predict(c: &mut Criterion) {
    let mnist = Mnist::load("data/mnist").unwrap();
    let mut model = tutorial_model(42);
    let mut group = c.benchmark_group("predict");
    group.sample_size(20);
    group.throughput(Throughput::Elements(10_000));
    for batch in [256, 1000] {
        group.bench_function(BenchmarkId::new("mnist_test_10k", batch), |b| {
            b.iter(|| model.predict(&mnist.test_images, batch).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, train_step, adam_step, matmul_only, gemm_only, gemm_crate_only, epoch, predict);
criterion_main!(benches);
