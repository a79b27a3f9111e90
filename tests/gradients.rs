//! Every layer's, loss's and model's analytic gradient against central differences in f64.
//! The bar is a relative error below 1e-6 on every element.

mod common;

use common::spread;
use ferronet::Sequential;
use ferronet::gradcheck::{GradCheck, GradReport, check_layer, check_loss, check_model};
use ferronet::layers::Layer;
use ferronet::layers::{Activation, Dense, Flatten, ReLU, Sigmoid, Softmax};
use ferronet::loss::{BinaryCrossEntropy, CategoricalCrossEntropy, SoftmaxCrossEntropy, TargetBatch};
use ndarray::{Array2, array};
use rand::SeedableRng;
use rand::rngs::StdRng;

const BAR: f64 = 1e-6;

fn assert_passes(report: GradReport, min_checked: usize) {
    assert!(report.checked >= min_checked, "only {} derivatives checked", report.checked);
    assert!(report.max_rel_error < BAR, "{report}");
}

#[test]
fn dense_gradients_of_input_weight_and_bias() {
    let mut dense = Dense::<f64>::new(5, 4, &mut StdRng::seed_from_u64(1)).unwrap();
    let x = spread(&[3, 5], -2.0, 2.0, 0.0);
    // 15 input + 20 weight + 4 bias derivatives.
    assert_passes(check_layer(&mut dense, &x, &GradCheck::default()).unwrap(), 39);
}

#[test]
fn dense_bias_gradient_sums_the_upstream_over_rows() {
    let w = array![[1.0, 2.0], [3.0, 4.0]];
    let mut dense = Dense::from_weights(w, array![0.5, -0.5]).unwrap();
    let x = spread(&[6, 2], -1.0, 1.0, 0.0);
    assert_passes(check_layer(&mut dense, &x, &GradCheck::default()).unwrap(), 12 + 4 + 2);
}

#[test]
fn dense_with_relu_gradients_away_from_the_kink() {
    let (w, b) = (array![[1.0, -2.0, 0.5], [0.25, 1.5, -1.0]], array![0.1, -0.3, 0.2]);
    let x = spread(&[4, 2], -2.0, 2.0, 0.0);
    // Some units are cut and some pass, none within 1e-3 of the kink.
    let z = x.view().into_dimensionality::<ndarray::Ix2>().unwrap().dot(&w) + &b;
    assert!(z.iter().all(|v| v.abs() > 1e-3) && z.iter().any(|&v| v < 0.0) && z.iter().any(|&v| v > 0.0));
    let mut dense = Dense::from_weights(w, b).unwrap().with_activation(Activation::Relu);
    // 8 input + 6 weight + 3 bias derivatives.
    assert_passes(check_layer(&mut dense, &x, &GradCheck::default()).unwrap(), 17);
}

#[test]
fn relu_gradient_away_from_zero() {
    // Inputs stay 1e-3 away from 0, where the central difference would straddle the kink.
    let x = spread(&[4, 6], -3.0, 3.0, 1e-3);
    assert_passes(check_layer(&mut ReLU::new(), &x, &GradCheck::default()).unwrap(), 24);
}

#[test]
fn softmax_vector_jacobian_product() {
    let x = spread(&[3, 5], -4.0, 4.0, 0.0);
    assert_passes(check_layer(&mut Softmax::new(), &x, &GradCheck::default()).unwrap(), 15);
}

#[test]
fn softmax_gradient_with_large_logits() {
    let x = spread(&[2, 4], -4.0, 4.0, 0.0).mapv(|v| v + 500.0);
    assert_passes(check_layer(&mut Softmax::new(), &x, &GradCheck::default()).unwrap(), 8);
}

#[test]
fn flatten_passes_gradients_through_unchanged() {
    let x = spread(&[2, 3, 4], -1.0, 1.0, 0.0);
    assert_passes(check_layer(&mut Flatten::new(), &x, &GradCheck::default()).unwrap(), 24);
}

// Inside a Sequential, Flatten moves its buffer on instead of running: checked as a layer, so
// the input gradient goes back through the moved gradient buffer as well.
#[test]
fn a_sequential_with_flatten_between_layers_passes_gradients_to_its_input() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut model = Sequential::<f64>::new()
        .add(ReLU::new())
        .add(Flatten::new())
        .add(Dense::new(12, 4, &mut rng).unwrap())
        .add(Flatten::new())
        .add(Dense::new(4, 2, &mut rng).unwrap());
    let x = spread(&[2, 3, 4], -1.0, 1.0, 0.05);
    assert_passes(check_layer(&mut model, &x, &GradCheck::default()).unwrap(), 24 + 48 + 4 + 8 + 2);
}

#[test]
fn fused_loss_gradient_with_class_targets() {
    let z = spread(&[4, 5], -3.0, 3.0, 0.0).into_dimensionality().unwrap();
    let targets = TargetBatch::Classes(&[0, 4, 2, 2]);
    let report = check_loss(&SoftmaxCrossEntropy, z.view(), targets, &GradCheck::default()).unwrap();
    assert_passes(report, 20);
}

#[test]
fn fused_loss_gradient_with_soft_targets() {
    let z: Array2<f64> = spread(&[3, 4], -3.0, 3.0, 0.0).into_dimensionality().unwrap();
    let y = array![[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]];
    let report = check_loss(
        &SoftmaxCrossEntropy,
        z.view(),
        TargetBatch::Probabilities(y.view()),
        &GradCheck::default(),
    )
    .unwrap();
    assert_passes(report, 12);
}

#[test]
fn fused_loss_gradient_with_targets_that_do_not_sum_to_one() {
    let z: Array2<f64> = spread(&[2, 3], -2.0, 2.0, 0.0).into_dimensionality().unwrap();
    let y = array![[0.5, 0.2, 0.0], [1.0, 1.0, 0.5]];
    let report = check_loss(
        &SoftmaxCrossEntropy,
        z.view(),
        TargetBatch::Probabilities(y.view()),
        &GradCheck::default(),
    )
    .unwrap();
    assert_passes(report, 6);
}

#[test]
fn whole_network_through_the_fused_path() {
    // Flatten -> Dense -> ReLU -> Dense -> Softmax, trained with the fused loss: the final
    // Softmax is skipped and the loss sees the logits, exactly as in `fit`.
    let mut rng = StdRng::seed_from_u64(7);
    let mut model = Sequential::<f64>::new()
        .add(Flatten::new())
        .add(Dense::new(6, 5, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(5, 3, &mut rng).unwrap())
        .add(Softmax::new());
    let x = spread(&[4, 2, 3], -1.0, 1.0, 0.05);
    let report = check_model(
        &mut model,
        &x,
        TargetBatch::Classes(&[0, 1, 2, 1]),
        &SoftmaxCrossEntropy,
        &GradCheck::default(),
    )
    .unwrap();
    // 6*5 + 5 + 5*3 + 3 parameters.
    assert_passes(report, 53);
}

// A Flatten moves the buffer of the layer before it on; a layer whose backward pass reads its
// own output (a Dense with a ReLU, a Sigmoid) must still be given that output.
#[test]
fn layers_that_read_their_output_before_a_flatten() {
    let mut rng = StdRng::seed_from_u64(8);
    let fused = Sequential::<f64>::new()
        .add(Dense::new(6, 5, &mut rng).unwrap().with_activation(Activation::Relu))
        .add(Flatten::new())
        .add(Flatten::new())
        .add(Dense::new(5, 3, &mut rng).unwrap())
        .add(Softmax::new());
    let sigmoid = Sequential::<f64>::new()
        .add(Dense::new(6, 5, &mut rng).unwrap())
        .add(Sigmoid::new())
        .add(Flatten::new())
        .add(Dense::new(5, 3, &mut rng).unwrap())
        .add(Softmax::new());
    let x = spread(&[4, 6], -1.0, 1.0, 0.05);
    for mut model in [fused, sigmoid] {
        let targets = TargetBatch::Classes(&[0, 1, 2, 1]);
        let report =
            check_model(&mut model, &x, targets, &SoftmaxCrossEntropy, &GradCheck::default()).unwrap();
        // 6*5 + 5 + 5*3 + 3 parameters.
        assert_passes(report, 53);
    }
}

#[test]
fn cce_gradient_inside_the_clip() {
    // Probabilities in [0.05, 0.95]: a step of 1e-5 never reaches the clip at 1e-7 or 1 - 1e-7.
    let p: Array2<f64> = spread(&[3, 4], 0.05, 0.95, 0.0).into_dimensionality().unwrap();
    let y = array![[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]];
    let soft = TargetBatch::Probabilities(y.view());
    assert_passes(check_loss(&CategoricalCrossEntropy, p.view(), soft, &GradCheck::default()).unwrap(), 12);
    let classes = TargetBatch::Classes(&[3, 0, 1]);
    assert_passes(
        check_loss(&CategoricalCrossEntropy, p.view(), classes, &GradCheck::default()).unwrap(),
        12,
    );
}

fn softmax_model(seed: u64) -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Dense::new(4, 5, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(5, 3, &mut rng).unwrap())
        .add(Softmax::new())
}

#[test]
fn cce_after_softmax_trains_through_the_softmax_layer() {
    // CategoricalCrossEntropy folds in nothing: the Softmax layer runs, and so does its backward pass.
    let x = spread(&[4, 4], -1.0, 1.0, 0.05);
    let targets = TargetBatch::Classes(&[0, 2, 1, 2]);
    let report =
        check_model(&mut softmax_model(11), &x, targets, &CategoricalCrossEntropy, &GradCheck::default());
    assert_passes(report.unwrap(), 4 * 5 + 5 + 5 * 3 + 3);
}

#[test]
fn cce_after_softmax_gives_the_gradients_of_the_fused_loss() {
    // Away from the clip, -ln(softmax(z)) through two layers equals the fused loss on z.
    let x = spread(&[4, 4], -1.0, 1.0, 0.05);
    let targets = TargetBatch::Classes(&[0, 2, 1, 2]);
    let grads = |model: &mut Sequential<f64>| {
        let mut all = Vec::new();
        model.visit_params(&mut |p| all.extend(p.grad.iter().copied()));
        all
    };
    let (mut unfused, mut fused) = (softmax_model(11), softmax_model(11));
    let a = unfused.backprop(x.view(), targets, &CategoricalCrossEntropy).unwrap();
    let b = fused.backprop(x.view(), targets, &SoftmaxCrossEntropy).unwrap();
    assert!((a - b).abs() < 1e-15, "loss {a} against {b}");
    common::assert_close(&grads(&mut unfused), &grads(&mut fused), 1e-12, 1e-15, "parameter gradients");
}

#[test]
fn sigmoid_gradient() {
    let x = spread(&[3, 5], -6.0, 6.0, 0.0);
    assert_passes(check_layer(&mut Sigmoid::new(), &x, &GradCheck::default()).unwrap(), 15);
}

#[test]
fn bce_gradient_with_labels_on_one_output() {
    let z: Array2<f64> = spread(&[5, 1], -4.0, 4.0, 0.0).into_dimensionality().unwrap();
    let labels = TargetBatch::Classes(&[1, 0, 0, 1, 1]);
    assert_passes(check_loss(&BinaryCrossEntropy, z.view(), labels, &GradCheck::default()).unwrap(), 5);
}

#[test]
fn bce_gradient_with_multi_label_soft_targets() {
    let z: Array2<f64> = spread(&[2, 3], -4.0, 4.0, 0.0).into_dimensionality().unwrap();
    let y = array![[1.0, 0.0, 1.0], [0.1, 0.5, 0.9]];
    let soft = TargetBatch::Probabilities(y.view());
    assert_passes(check_loss(&BinaryCrossEntropy, z.view(), soft, &GradCheck::default()).unwrap(), 6);
}

#[test]
fn whole_binary_network_through_the_fused_sigmoid() {
    // Dense -> ReLU -> Dense(1) -> Sigmoid with the fused loss: the Sigmoid is skipped in training.
    let mut rng = StdRng::seed_from_u64(5);
    let mut model = Sequential::<f64>::new()
        .add(Dense::new(4, 3, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(3, 1, &mut rng).unwrap())
        .add(Sigmoid::new());
    let x = spread(&[5, 4], -1.0, 1.0, 0.05);
    let labels = TargetBatch::Classes(&[0, 1, 1, 0, 1]);
    let report = check_model(&mut model, &x, labels, &BinaryCrossEntropy, &GradCheck::default());
    assert_passes(report.unwrap(), 4 * 3 + 3 + 3 + 1);
}

#[test]
fn a_wrong_gradient_is_caught() {
    // A check that cannot fail proves nothing: a Dense whose bias gradient is doubled must fail.
    use ferronet::Result;
    use ferronet::layers::{Layer, Mode, Param};
    use ndarray::{ArrayD, ArrayViewD};

    struct DoubledBias(Dense<f64>);
    impl Layer<f64> for DoubledBias {
        fn kind(&self) -> &'static str {
            "doubled_bias"
        }
        fn forward(&mut self, x: ArrayViewD<f64>, y: &mut ArrayD<f64>, mode: Mode) -> Result<()> {
            self.0.forward(x, y, mode)
        }
        fn backward(
            &mut self,
            x: ArrayViewD<f64>,
            y: ArrayViewD<f64>,
            g: ArrayViewD<f64>,
            dx: Option<&mut ArrayD<f64>>,
        ) -> Result<()> {
            self.0.backward(x, y, g, dx)?;
            self.0.visit_params(&mut |p| {
                if p.name.ends_with("bias") {
                    p.grad.mapv_inplace(|v| 2.0 * v);
                }
            });
            Ok(())
        }
        fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param<f64>)) {
            self.0.visit_params(visit)
        }
    }
    let mut layer = DoubledBias(Dense::new(3, 2, &mut StdRng::seed_from_u64(3)).unwrap());
    let report = check_layer(&mut layer, &spread(&[2, 3], -1.0, 1.0, 0.0), &GradCheck::default()).unwrap();
    let worst = report.worst.unwrap();
    assert_eq!(worst.tensor, "dense.bias");
    assert!(
        (worst.rel_error - 0.5).abs() < 1e-6,
        "relative error of a doubled gradient is 1/2, got {}",
        worst.rel_error
    );
}

#[test]
fn a_nan_gradient_is_caught_wherever_it_is() {
    // NaN compares false with everything: a NaN derivative after the first must still be the
    // worst, or `max_rel_error < bar` would pass.
    use ferronet::Result;
    use ferronet::layers::{Layer, Mode, Param};
    use ndarray::{ArrayD, ArrayViewD};

    struct NanAtOne;
    impl Layer<f64> for NanAtOne {
        fn kind(&self) -> &'static str {
            "nan_at_one"
        }
        fn forward(&mut self, x: ArrayViewD<f64>, y: &mut ArrayD<f64>, _mode: Mode) -> Result<()> {
            *y = x.to_owned();
            Ok(())
        }
        fn backward(
            &mut self,
            _x: ArrayViewD<f64>,
            _y: ArrayViewD<f64>,
            g: ArrayViewD<f64>,
            dx: Option<&mut ArrayD<f64>>,
        ) -> Result<()> {
            if let Some(dx) = dx {
                *dx = g.to_owned();
                dx.as_slice_mut().unwrap()[1] = f64::NAN;
            }
            Ok(())
        }
        fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<f64>)) {}
    }
    let report = check_layer(&mut NanAtOne, &spread(&[2, 2], -1.0, 1.0, 0.0), &GradCheck::default()).unwrap();
    assert_eq!(report.checked, 4);
    assert!(report.max_rel_error.is_nan(), "{report}");
    assert_eq!(report.worst.unwrap().index, 1);
}

#[test]
fn a_step_or_floor_that_is_not_above_zero_is_refused() {
    let mut dense = Dense::<f64>::new(2, 2, &mut StdRng::seed_from_u64(1)).unwrap();
    let x = spread(&[2, 2], -1.0, 1.0, 0.0);
    for config in [
        GradCheck { step: 0.0, ..GradCheck::default() },
        GradCheck { step: f64::NAN, ..GradCheck::default() },
        GradCheck { floor: -1.0, ..GradCheck::default() },
    ] {
        let error = check_layer(&mut dense, &x, &config).unwrap_err();
        assert!(matches!(error, ferronet::Error::Config { .. }), "{config:?}: {error:?}");
    }
}
