//! Exact layer values: ReLU at 0 (P8) and the Glorot initialisation (P9) of
//! ../shared/cases/pitfalls.md.

use ferronet::layers::{Dense, Layer, Mode, ReLU};
use ndarray::{ArrayD, array};
use rand::SeedableRng;
use rand::rngs::StdRng;

// P8: the derivative of max(x, 0) is taken as 0 at exactly 0 (PyTorch, Keras, jax.nn.relu).
// x = [-1, 0, 2], upstream [1, 1, 1]: dx = [0, 0, 1] (a central difference at 0 would say 0.5).
#[test]
fn p8_relu_derivative_at_exactly_zero_is_zero() {
    let x = array![[-1.0f64, 0.0, 2.0]].into_dyn();
    let (mut y, mut dx) = (ArrayD::zeros(vec![0]), ArrayD::zeros(vec![0]));
    let mut relu = ReLU::new();
    relu.forward(x.view(), &mut y, Mode::Train).unwrap();
    relu.backward(x.view(), y.view(), array![[1.0, 1.0, 1.0]].into_dyn().view(), Some(&mut dx)).unwrap();
    assert_eq!(dx, array![[0.0, 0.0, 1.0]].into_dyn());
}

// P9: Glorot uniform for 784 -> 128 draws from [-b, b], b = sqrt(6 / (784 + 128)) =
// 0.08111071056538127, whose variance is b^2 / 3 = 2 / 912 = 0.0021929824561403508.
// (A bound of sqrt(2 / 912) would make the variance 3x too small and max |w| about 0.047.)
#[test]
fn p9_glorot_uniform_bound_and_variance_for_784_to_128() {
    let dense = Dense::<f32>::new(784, 128, &mut StdRng::seed_from_u64(42)).unwrap();
    let w: Vec<f64> = dense.weight().value.iter().map(|&v| f64::from(v)).collect();
    let bound = 0.08111071056538127;
    let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(max <= bound, "max |w| = {max} is past the bound {bound}");
    assert!(max > 0.08, "max |w| = {max}: the draws do not reach the bound");
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let variance = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let expected = 0.0021929824561403508;
    assert!((variance / expected - 1.0).abs() < 0.02, "variance {variance}, expected {expected}");
    assert!(dense.bias().value.iter().all(|&b| b == 0.0), "the bias starts at zero");
}
