//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod reference;

use ferronet::Sequential;
use ferronet::layers::{Activation, Dense, Flatten, Layer, ReLU, Softmax};
use ferronet::optim::{Adam, AdamConfig};
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The Keras tutorial's network, 784-128-64-10 with ReLU and a final Softmax, its weights
/// drawn from `seed`: `Dense(128, activation="relu")` and so on, as the tutorial writes it.
pub fn tutorial_model(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Flatten::new())
        .add(Dense::new(784, 128, &mut rng).unwrap().with_activation(Activation::Relu))
        .add(Dense::new(128, 64, &mut rng).unwrap().with_activation(Activation::Relu))
        .add(Dense::new(64, 10, &mut rng).unwrap())
        .add(Softmax::new())
}

/// The same network with each ReLU a layer of its own after its Dense (PyTorch's form): the
/// same weights from `seed`, and the same bits in training.
pub fn tutorial_model_with_relu_layers(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Flatten::new())
        .add(Dense::new(784, 128, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(128, 64, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(64, 10, &mut rng).unwrap())
        .add(Softmax::new())
}

/// Asserts `|actual - expected| <= atol + rtol * |expected|` element-wise (numpy's `allclose`),
/// reporting the first element that is too far, with its index and both values.
pub fn assert_close(actual: &[f64], expected: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: {} values, expected {}", actual.len(), expected.len());
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = (a - e).abs() <= atol + rtol * e.abs() || (a.is_nan() && e.is_nan());
        assert!(
            ok,
            "{what}[{i}]: got {a:e}, expected {e:e} (difference {:e}, rtol {rtol:e}, atol {atol:e})",
            (a - e).abs()
        );
    }
}

/// A deterministic array of the given shape with values spread over `[lo, hi]`, none within `gap` of zero.
pub fn spread(shape: &[usize], lo: f64, hi: f64, gap: f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let values = (0..n)
        .map(|i| {
            // A fixed irrational stride visits the interval evenly without repeating.
            let t = (i as f64 * 0.618_033_988_749_895 + 0.1).fract();
            let v = lo + (hi - lo) * t;
            if v.abs() < gap { v.signum() * gap + v } else { v }
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

/// Adam with the default configuration, in f64.
pub fn adam() -> Adam<f64> {
    Adam::new(AdamConfig::default()).unwrap()
}

/// A 3-4-2 classifier in f64 (Dense, ReLU, Dense, Softmax), its weights drawn from `seed`.
pub fn small_model(seed: u64) -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Dense::new(3, 4, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(4, 2, &mut rng).unwrap())
        .add(Softmax::new())
}

/// Every parameter value of a model, in visiting order.
pub fn weights<F: ferronet::Float>(model: &mut Sequential<F>) -> Vec<F> {
    let mut all = Vec::new();
    model.visit_params(&mut |p| all.extend(p.value.iter().copied()));
    all
}
