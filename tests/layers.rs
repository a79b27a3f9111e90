//! Exact layer values: ReLU at 0 (P8) and the Glorot initialisation (P9) of
//! ../shared/cases/pitfalls.md, the sigmoid at the ends of its range, and a Dense with a ReLU
//! against a Dense followed by a ReLU layer.

use ferronet::layers::{Activation, Dense, Layer, Mode, ReLU, Sigmoid};
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

fn sigmoid<F: ferronet::Float>(x: ArrayD<F>) -> ArrayD<F> {
    let mut y = ArrayD::zeros(vec![0]);
    Sigmoid::new().forward(x.view(), &mut y, Mode::Infer).unwrap();
    y
}

// exp(1e4) overflows in both precisions; the stable form gives 0 and 1 exactly.
#[test]
fn sigmoid_of_plus_minus_1e4_is_exactly_0_and_1() {
    assert_eq!(sigmoid(array![[-1e4f64, 0.0, 1e4]].into_dyn()), array![[0.0, 0.5, 1.0]].into_dyn());
    assert_eq!(sigmoid(array![[-1e4f32, 0.0, 1e4]].into_dyn()), array![[0.0f32, 0.5, 1.0]].into_dyn());
}

// Python: math.exp(-40) / (1 + math.exp(-40)) = 4.248354255291589e-18; in f32,
// sigmoid(-20) = 2.0611537e-09. Computing 1 - sigmoid(40) would give 0.
#[test]
fn sigmoid_of_a_large_negative_input_keeps_full_precision() {
    let y = sigmoid(array![[-40.0f64]].into_dyn())[[0, 0]];
    assert!((y / 4.248354255291589e-18 - 1.0).abs() < 1e-15, "{y}");
    assert_eq!(sigmoid(array![[-20.0f32]].into_dyn())[[0, 0]], 2.0611537e-9);
}

// dx = dy * y * (1 - y): at x = 0, y = 1/2 and the slope is 1/4; at x = ln 3, y = 3/4, slope 3/16.
#[test]
fn sigmoid_backward_is_upstream_times_y_times_one_minus_y() {
    let x = array![[0.0f64, 3f64.ln()]].into_dyn();
    let y = sigmoid(x.clone());
    let mut dx = ArrayD::zeros(vec![0]);
    let dy = array![[2.0, 1.0]].into_dyn();
    Sigmoid::new().backward(x.view(), y.view(), dy.view(), Some(&mut dx)).unwrap();
    assert_eq!(dx[[0, 0]], 0.5);
    assert!((dx[[0, 1]] - 3.0 / 16.0).abs() < 1e-16, "{dx}");
}

// x = [[1, 2]], dL/dy = [[1, -1]]: dW = x^T g = [[1, -1], [2, -2]], db = [1, -1].
#[test]
fn dense_backward_adds_into_gradients_and_backward_overwrite_replaces_them() {
    let mut dense = Dense::<f64>::from_weights(array![[0.0, 0.0], [0.0, 0.0]], array![0.0, 0.0]).unwrap();
    let x = array![[1.0, 2.0]].into_dyn();
    let g = array![[1.0, -1.0]].into_dyn();
    let y = array![[0.0, 0.0]].into_dyn();
    dense.visit_params(&mut |p| p.grad.fill(f64::NAN));
    dense.backward_overwrite(x.view(), y.view(), g.view(), None).unwrap();
    assert_eq!(dense.weight().grad, array![[1.0, -1.0], [2.0, -2.0]].into_dyn());
    assert_eq!(dense.bias().grad, array![1.0, -1.0].into_dyn());

    dense.backward(x.view(), y.view(), g.view(), None).unwrap();
    assert_eq!(dense.weight().grad, array![[2.0, -2.0], [4.0, -4.0]].into_dyn());
    assert_eq!(dense.bias().grad, array![2.0, -2.0].into_dyn());
}

#[test]
fn resize_to_a_shape_of_the_same_size_keeps_the_buffer() {
    let mut buffer = ArrayD::<f32>::zeros(vec![64, 28, 28]);
    let memory = buffer.as_ptr();
    ferronet::layers::resize(&mut buffer, &[64, 784]);
    assert_eq!((buffer.shape(), buffer.as_ptr()), (&[64, 784][..], memory));
    ferronet::layers::resize(&mut buffer, &[10, 784]);
    assert_eq!(buffer.shape(), &[10, 784]);
}

// PyTorch's relu keeps NaN; sending it to 0 would hide bad data from the NaN guard.
#[test]
fn relu_of_nan_is_nan() {
    let x = array![[f32::NAN, -1.0, 1.0]].into_dyn();
    let mut y = ArrayD::zeros(vec![0]);
    ReLU::new().forward(x.view(), &mut y, Mode::Infer).unwrap();
    assert!(y[[0, 0]].is_nan());
    assert_eq!((y[[0, 1]], y[[0, 2]]), (0.0, 1.0));
}

/// Forward and backward through `layers` in turn: the output, the input gradient and every
/// parameter gradient (the upstream gradient is `g`).
fn pass(layers: &mut [&mut dyn Layer<f32>], x: &ArrayD<f32>, g: &ArrayD<f32>) -> Vec<ArrayD<f32>> {
    let mut outputs = vec![x.clone()];
    for layer in layers.iter_mut() {
        let mut y = ArrayD::zeros(vec![0]);
        layer.forward(outputs.last().unwrap().view(), &mut y, Mode::Train).unwrap();
        outputs.push(y);
    }
    let mut grad = g.clone();
    let mut params = Vec::new();
    for (i, layer) in layers.iter_mut().enumerate().rev() {
        let mut dx = ArrayD::zeros(vec![0]);
        layer.backward(outputs[i].view(), outputs[i + 1].view(), grad.view(), Some(&mut dx)).unwrap();
        layer.visit_params(&mut |p| params.push(p.grad.clone()));
        grad = dx;
    }
    [outputs.pop().unwrap(), grad].into_iter().chain(params).collect()
}

// The ReLU is fused into the Dense's product (and, at [64, 784] x [784, 128], into the fold of
// the depth blocks when two threads share it); the bits must be those of the two layers.
#[test]
fn a_dense_with_relu_gives_the_bits_of_a_dense_then_a_relu() {
    for [batch, inputs, outputs] in [[64, 784, 128], [5, 3, 20], [7, 40, 9]] {
        let mut rng = StdRng::seed_from_u64(5);
        let mut plain = Dense::<f32>::new(inputs, outputs, &mut rng).unwrap();
        plain.visit_params(&mut |p| {
            p.value.iter_mut().enumerate().for_each(|(i, v)| *v += (i % 7) as f32 * 0.01)
        });
        let mut fused = plain.clone().with_activation(Activation::Relu);
        let x = ArrayD::from_shape_fn(vec![batch, inputs], |i| {
            ((i[0] * 31 + i[1] * 17) % 23) as f32 / 11.0 - 1.0
        });
        let g =
            ArrayD::from_shape_fn(vec![batch, outputs], |i| ((i[0] * 13 + i[1] * 7) % 19) as f32 / 9.0 - 1.0);
        let expected = pass(&mut [&mut plain, &mut ReLU::new()], &x, &g);
        let got = pass(&mut [&mut fused], &x, &g);
        assert!(expected[0].iter().any(|&y| y == 0.0) && expected[0].iter().any(|&y| y > 0.0));
        for (what, (e, o)) in ["output", "input gradient", "weight gradient", "bias gradient"]
            .iter()
            .zip(expected.iter().zip(&got))
        {
            assert_eq!(e.shape(), o.shape(), "{what}");
            assert!(
                e.iter().zip(o).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{what} of {batch}x{inputs}x{outputs}"
            );
        }
    }
}

// A NaN input makes a NaN output that the ReLU keeps, and a NaN gradient, as with a ReLU layer.
#[test]
fn a_dense_with_relu_keeps_nan() {
    let mut dense = Dense::from_weights(array![[1.0f32, -1.0]], array![0.0, 0.0])
        .unwrap()
        .with_activation(Activation::Relu);
    let x = array![[f32::NAN], [2.0]].into_dyn();
    let mut y = ArrayD::zeros(vec![0]);
    dense.forward(x.view(), &mut y, Mode::Train).unwrap();
    assert!(y[[0, 0]].is_nan() && y[[0, 1]].is_nan());
    assert_eq!((y[[1, 0]], y[[1, 1]]), (2.0, 0.0));
}
