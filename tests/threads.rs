//! Training gives the same bits on one thread as on two: work is split along rows or columns
//! of products, along whole depth blocks of deep products (whose sums are folded in the order
//! one thread adds them), and along elements of Adam's update.

mod common;

use common::{tutorial_model, tutorial_model_with_relu_layers, weights};
use ferronet::data::{Mnist, Targets};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::parallel::set_threads;
use ferronet::{FitConfig, Sequential};

fn train_on(threads: usize) -> (Vec<f32>, f64) {
    set_threads(threads);
    train()
}

/// Trains the tutorial network for one epoch on 3,000 MNIST images with the current threads.
fn train() -> (Vec<f32>, f64) {
    train_model(tutorial_model(42))
}

fn train_model(mut model: Sequential<f32>) -> (Vec<f32>, f64) {
    let mnist = Mnist::load("data/mnist").unwrap();
    let x = mnist.train_images.select(0..3_000).unwrap();
    let y = Targets::classes(&mnist.train_labels[..3_000], 10).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let config = FitConfig::default().with_batch_size(256).with_validation_split(0.2).with_seed(7);
    let history = model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam, &config).unwrap();
    (weights(&mut model), history.epochs[0].loss)
}

#[test]
fn one_thread_and_two_threads_train_to_the_same_bits() {
    let (one, loss_one) = train_on(1);
    let (two, loss_two) = train_on(2);
    set_threads(0);
    assert_eq!(one.len(), 109_386);
    assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()), "weights differ");
    assert_eq!(loss_one.to_bits(), loss_two.to_bits());
}

// The ReLUs fused into the Dense layers (Keras's form) train to the bits of ReLU layers after
// them (PyTorch's form), on two threads, where the first layer's product is cut along its depth.
#[test]
fn dense_layers_with_relu_train_to_the_bits_of_relu_layers() {
    set_threads(2);
    let (fused, loss_fused) = train_model(tutorial_model(42));
    let (layers, loss_layers) = train_model(tutorial_model_with_relu_layers(42));
    set_threads(0);
    assert!(fused.iter().zip(&layers).all(|(a, b)| a.to_bits() == b.to_bits()), "weights differ");
    assert_eq!(loss_fused.to_bits(), loss_layers.to_bits());
}

// Two models trained at once from two threads share the pool: their jobs take turns, and
// each thread's parts are claimed by whichever thread is free, so the bits must still match.
#[test]
fn two_trainings_at_once_give_the_bits_of_one_alone() {
    let (alone, loss_alone) = train_on(2);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(train);
        let b = s.spawn(train);
        (a.join().unwrap(), b.join().unwrap())
    });
    set_threads(0);
    for (weights, loss) in [a, b] {
        assert!(alone.iter().zip(&weights).all(|(x, y)| x.to_bits() == y.to_bits()), "weights differ");
        assert_eq!(loss.to_bits(), loss_alone.to_bits());
    }
}

// A batch large enough to be gathered on every thread (64 x 784 values) holds the same values
// as one gathered on one thread, from a tensor and from images alike.
#[test]
fn a_batch_gathered_on_two_threads_equals_one_gathered_on_one() {
    use ferronet::Tensor;
    use ferronet::data::Features;
    use ndarray::ArrayD;
    let mnist = Mnist::load("data/mnist").unwrap();
    let images = mnist.test_images.select(0..500).unwrap();
    let tensor =
        Tensor::<f32>::from_shape_vec(&[500, 784], (0..500 * 784).map(|i| i as f32).collect()).unwrap();
    let indices: Vec<usize> = (0..64).map(|i| (i * 37) % 500).collect();
    let gather = |threads: usize| {
        set_threads(threads);
        let (mut from_images, mut from_tensor) =
            (ArrayD::<f32>::zeros(vec![0]), ArrayD::<f32>::zeros(vec![0]));
        images.gather(&indices, &mut from_images).unwrap();
        tensor.gather(&indices, &mut from_tensor).unwrap();
        (from_images, from_tensor)
    };
    let (one, two) = (gather(1), gather(2));
    set_threads(0);
    assert_eq!(one, two);
    assert_eq!(two.1[[1, 0]], (37 * 784) as f32, "row 1 is sample 37");
}

// Products deeper than they are wide are cut along the depth on two threads; the blocks' sums
// are folded into the result in order, so the bits are those of one thread, for any alpha and
// beta and a result that is not contiguous.
#[test]
fn a_product_cut_along_its_depth_gives_the_bits_of_one_thread() {
    use ferronet::linalg::{GemmScratch, gemm};
    use ndarray::{Array2, s};
    fn product<F: ferronet::Float>(threads: usize, [m, k, n]: [usize; 3]) -> Array2<F> {
        set_threads(threads);
        let value = |i: usize| F::from_f64(((i * 7919) % 1000) as f64 / 997.0 - 0.5);
        let a = Array2::from_shape_fn((m, k), |(i, j)| value(i * k + j));
        let b = Array2::from_shape_fn((k, n), |(i, j)| value(3 + i * n + j));
        let mut c = Array2::from_shape_fn((m, 2 * n), |(i, j)| value(5 + i * n + j));
        let mut scratch = GemmScratch::new();
        let alpha = F::from_f64(0.3);
        let beta = F::from_f64(0.7);
        gemm(alpha, a.view(), b.view(), beta, c.slice_mut(s![.., ..;2]), &mut scratch).unwrap();
        c
    }
    for dims in [[64, 784, 128], [5, 1000, 3], [300, 600, 20]] {
        let (one, two) = (product::<f32>(1, dims), product::<f32>(2, dims));
        assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()), "f32 {dims:?}");
        let (one, two) = (product::<f64>(1, dims), product::<f64>(2, dims));
        assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()), "f64 {dims:?}");
    }
    set_threads(0);
}
