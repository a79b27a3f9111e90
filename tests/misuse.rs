//! Misuse of the public API, as a specification: each misuse is an error before any work starts,
//! never a panic, and the message names the argument, layer or parameter, what was found and
//! what was expected. The `fit` tests also check that the weights are left exactly as they were.

mod common;

use common::{adam, small_model, weights};
use ferronet::data::{Features, Images, Targets};
use ferronet::layers::{Dense, Flatten, Layer, Mode, Param, ReLU, Softmax, resize};
use ferronet::loss::{SoftmaxCrossEntropy, TargetBatch};
use ferronet::optim::Optimizer;
use ferronet::{Error, FitConfig, Result, Sequential, Tensor};
use ndarray::{ArrayD, ArrayViewD, array};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// `n` samples of 3 features for [`small_model`], labelled 0, 1, 0, 1, ...
fn data(n: usize) -> (Tensor<f64>, Targets<f64>) {
    let x = Tensor::from_shape_vec(&[n, 3], (0..3 * n).map(|i| (i as f64 * 0.3).sin()).collect()).unwrap();
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    (x, Targets::classes(&labels, 2).unwrap())
}

/// Fits `model` expecting an error, asserts the weights did not move, and returns the message.
fn fit_error<X: Features<f64>>(
    model: &mut Sequential<f64>,
    x: &X,
    y: &Targets<f64>,
    config: &FitConfig,
) -> String {
    let before = weights(model);
    let error = model.fit(x, y, &SoftmaxCrossEntropy, &mut adam(), config).unwrap_err();
    assert_eq!(weights(model), before, "a misuse must leave the weights untouched ({error})");
    error.to_string()
}

// ---- inputs that do not fit the layers ----

#[test]
fn images_of_the_wrong_size_name_the_first_dense_layer_and_both_shapes() {
    let images = Images::new(2, 2, 3, vec![0; 12]).unwrap();
    let y = Targets::classes(&[0, 1], 2).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Sequential::<f64>::new()
        .add(Flatten::new())
        .add(Dense::new(4, 2, &mut rng).unwrap())
        .add(Softmax::new());
    assert_eq!(
        fit_error(&mut model, &images, &y, &FitConfig::default()),
        "layer dense_1: expected shape [2, 4], found [2, 6]"
    );
}

#[test]
fn evaluate_with_an_input_width_that_does_not_match_names_the_layer() {
    let x = Tensor::<f64>::zeros(&[2, 5]).unwrap();
    let y = Targets::classes(&[0, 1], 2).unwrap();
    let error = small_model(0).evaluate(&x, &y, &SoftmaxCrossEntropy, 2).unwrap_err();
    assert_eq!(error.to_string(), "layer dense_1: expected shape [2, 3], found [2, 5]");
}

#[test]
fn predict_with_an_input_width_that_does_not_match_names_the_layer() {
    let x = Tensor::<f64>::zeros(&[2, 5]).unwrap();
    let error = small_model(0).predict(&x, 2).unwrap_err();
    assert_eq!(error.to_string(), "layer dense_1: expected shape [2, 3], found [2, 5]");
}

// ---- targets that do not fit ----

#[test]
fn evaluate_with_fewer_targets_than_inputs_is_an_error() {
    let (x, _) = data(3);
    let y = Targets::classes(&[0, 1], 2).unwrap();
    let error = small_model(0).evaluate(&x, &y, &SoftmaxCrossEntropy, 2).unwrap_err();
    assert_eq!(error.to_string(), "data set: 3 input samples but 2 targets");
}

#[test]
fn class_targets_with_more_classes_than_outputs_are_a_shape_error() {
    let (x, _) = data(4);
    let y = Targets::classes(&[0, 1, 0, 1], 3).unwrap();
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default().with_batch_size(2)),
        "softmax_cross_entropy: the model's output width against the classes of the targets: expected shape [2], found [3]"
    );
}

#[test]
fn probability_targets_narrower_than_the_output_are_a_shape_error() {
    let (x, _) = data(2);
    let y = Targets::Probabilities(array![[1.0], [1.0]]);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default()),
        "softmax_cross_entropy: the model's output width against the classes of the targets: expected shape [2], found [1]"
    );
}

#[test]
fn evaluate_with_targets_of_another_width_is_a_shape_error() {
    let (x, _) = data(2);
    let y = Targets::classes(&[0, 1], 5).unwrap();
    let error = small_model(0).evaluate(&x, &y, &SoftmaxCrossEntropy, 2).unwrap_err();
    assert_eq!(
        error.to_string(),
        "softmax_cross_entropy: the model's output width against the classes of the targets: expected shape [2], found [5]"
    );
}

#[test]
fn a_label_out_of_range_is_an_error_before_training() {
    // Built directly, so Targets::classes never saw it; the bad label is in the last batch.
    let (x, _) = data(4);
    let y = Targets::Classes { labels: vec![0, 1, 0, 2], classes: 2 };
    let config = FitConfig::default().with_batch_size(2).with_shuffle(false);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &config),
        "data set: label 2 at index 3 is out of range for 2 classes"
    );
}

#[test]
fn evaluate_with_a_label_out_of_range_is_an_error() {
    let (x, _) = data(2);
    let y = Targets::Classes { labels: vec![7, 1], classes: 2 };
    let error = small_model(0).evaluate(&x, &y, &SoftmaxCrossEntropy, 2).unwrap_err();
    assert_eq!(error.to_string(), "data set: label 7 at index 0 is out of range for 2 classes");
}

#[test]
fn targets_from_a_label_of_10_for_10_classes_are_refused() {
    let error = Targets::<f32>::classes(&[0, 3, 10, 9], 10).unwrap_err();
    assert_eq!(error.to_string(), "data set: label 10 at index 2 is out of range for 10 classes");
    let error = Targets::<f32>::one_hot(&[0, 3, 10, 9], 10).unwrap_err();
    assert_eq!(error.to_string(), "data set: label 10 at index 2 is out of range for 10 classes");
}

// ---- batch size 0 ----

#[test]
fn fit_with_batch_size_0_is_a_config_error() {
    let (x, y) = data(2);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default().with_batch_size(0)),
        "invalid batch_size: expected at least 1, received batch_size=0"
    );
}

#[test]
fn evaluate_with_batch_size_0_is_a_config_error() {
    let (x, y) = data(2);
    let error = small_model(0).evaluate(&x, &y, &SoftmaxCrossEntropy, 0).unwrap_err();
    assert_eq!(error.to_string(), "invalid batch_size: expected at least 1, received batch_size=0");
}

#[test]
fn predict_with_batch_size_0_is_a_config_error() {
    let (x, _) = data(2);
    let error = small_model(0).predict(&x, 0).unwrap_err();
    assert_eq!(error.to_string(), "invalid batch_size: expected at least 1, received batch_size=0");
}

// ---- empty data ----

#[test]
fn fit_on_an_empty_data_set_is_an_error() {
    let (x, y) = data(0);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default()),
        "data set: there are no samples"
    );
}

#[test]
fn evaluate_on_an_empty_data_set_is_an_error() {
    let (x, y) = data(0);
    let error = small_model(0).evaluate(&x, &y, &SoftmaxCrossEntropy, 2).unwrap_err();
    assert_eq!(error.to_string(), "data set: there are no samples");
}

#[test]
fn predict_on_an_empty_data_set_is_an_error() {
    let (x, _) = data(0);
    let error = small_model(0).predict(&x, 2).unwrap_err();
    assert_eq!(error.to_string(), "data set: there are no samples to predict");
}

#[test]
fn a_0_dimensional_tensor_is_an_empty_data_set() {
    let x = Tensor::<f64>::full(&[], 1.0).unwrap();
    let y = Targets::classes(&[], 2).unwrap();
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default()),
        "data set: there are no samples"
    );
    let error = x.gather(&[], &mut ArrayD::zeros(vec![0])).unwrap_err();
    assert_eq!(error.to_string(), "data set: a 0-dimensional tensor has no sample axis to gather from");
}

#[test]
fn a_model_without_layers_cannot_be_trained() {
    let (x, y) = data(2);
    let error = Sequential::new().fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &FitConfig::default());
    assert_eq!(error.unwrap_err().to_string(), "data set: the model has no layers");
}

// ---- the configuration ----

#[test]
fn validation_split_outside_0_1_is_a_config_error() {
    let (x, y) = data(4);
    for (split, shown) in [(-0.1, "-0.1"), (1.0, "1"), (1.5, "1.5"), (f64::INFINITY, "inf")] {
        assert_eq!(
            fit_error(&mut small_model(0), &x, &y, &FitConfig::default().with_validation_split(split)),
            format!(
                "invalid validation_split: expected a number in [0, 1), received validation_split={shown}"
            )
        );
    }
}

#[test]
fn validation_split_nan_is_a_config_error() {
    let (x, y) = data(4);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default().with_validation_split(f64::NAN)),
        "invalid validation_split: expected a number in [0, 1), received validation_split=NaN"
    );
}

#[test]
fn validation_split_that_leaves_no_training_sample_is_an_error() {
    // floor(2 * (1 - 0.6)) = 0 training samples.
    let (x, y) = data(2);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default().with_validation_split(0.6)),
        "data set: validation_split 0.6 leaves no training samples out of 2"
    );
}

#[test]
fn fit_with_0_epochs_is_a_config_error() {
    let (x, y) = data(2);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &FitConfig::default().with_epochs(0)),
        "invalid epochs: expected at least 1, received epochs=0"
    );
}

#[test]
fn initial_epoch_not_below_epochs_is_a_config_error() {
    let (x, y) = data(2);
    let config = FitConfig::default().with_epochs(3).with_initial_epoch(3);
    assert_eq!(
        fit_error(&mut small_model(0), &x, &y, &config),
        "invalid initial_epoch: expected fewer than epochs, received initial_epoch=3"
    );
}

/// An optimizer that reports any learning rate and counts the steps it is asked for.
struct Reports {
    lr: f64,
    steps: usize,
}

impl Optimizer<f64> for Reports {
    fn step(&mut self, _model: &mut dyn Layer<f64>) -> Result<()> {
        self.steps += 1;
        Ok(())
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
}

#[test]
fn a_learning_rate_that_is_not_finite_and_positive_is_refused_by_fit() {
    let (x, y) = data(2);
    for (lr, shown) in [(0.0, "0"), (-1e-3, "-0.001"), (f64::NAN, "NaN"), (f64::INFINITY, "inf")] {
        let mut optimizer = Reports { lr, steps: 0 };
        let error = small_model(0)
            .fit(&x, &y, &SoftmaxCrossEntropy, &mut optimizer, &FitConfig::default())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("invalid learning_rate: expected a finite number > 0, received learning_rate={shown}")
        );
        assert_eq!(optimizer.steps, 0);
    }
}

// ---- parameters edited to the wrong shape ----

/// Applies `edit` to the parameter called `name`.
fn edit_param(model: &mut Sequential<f64>, name: &str, edit: impl Fn(&mut Param<f64>)) {
    model.visit_params(&mut |p| {
        if p.name == name {
            edit(p);
        }
    });
}

#[test]
fn a_weight_replaced_by_one_of_another_shape_is_a_shape_error_naming_it() {
    let (x, y) = data(2);
    let mut model = small_model(0);
    edit_param(&mut model, "dense_1.weight", |p| p.value = ArrayD::zeros(vec![12]));
    assert_eq!(
        fit_error(&mut model, &x, &y, &FitConfig::default()),
        "dense_1.weight: expected shape [3, 4], found [12]"
    );
    assert_eq!(
        model.predict(&x, 2).unwrap_err().to_string(),
        "dense_1.weight: expected shape [3, 4], found [12]"
    );
}

#[test]
fn a_bias_replaced_by_one_of_another_length_is_a_shape_error_naming_it() {
    let (x, y) = data(2);
    let mut model = small_model(0);
    edit_param(&mut model, "dense_2.bias", |p| {
        p.value = ArrayD::zeros(vec![5]);
        p.grad = ArrayD::zeros(vec![5]);
    });
    assert_eq!(
        fit_error(&mut model, &x, &y, &FitConfig::default()),
        "dense_2.bias: expected shape [2], found [5]"
    );
}

#[test]
fn a_gradient_replaced_by_one_of_another_shape_is_a_shape_error_naming_it() {
    let (x, y) = data(2);
    let mut model = small_model(0);
    edit_param(&mut model, "dense_2.weight", |p| p.grad = ArrayD::zeros(vec![1, 1]));
    assert_eq!(
        fit_error(&mut model, &x, &y, &FitConfig::default()),
        "dense_2.weight gradient: expected shape [4, 2], found [1, 1]"
    );
}

// ---- sizes too large to allocate ----

#[test]
fn a_tensor_too_large_for_memory_is_a_config_error() {
    let error = Tensor::<f32>::zeros(&[usize::MAX, 2]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid shape: expected dimensions whose product fits in memory (at most isize::MAX bytes), \
         received shape=[18446744073709551615, 2]"
    );
}

#[test]
fn an_empty_tensor_whose_other_dimensions_overflow_is_a_config_error() {
    // ndarray refuses such a shape even with no elements; the error comes before it would panic.
    assert!(matches!(
        Tensor::<f32>::full(&[0, 1 << 40, 1 << 40], 1.0),
        Err(Error::Config { name: "shape", .. })
    ));
}

#[test]
fn a_dense_layer_too_large_for_memory_is_a_config_error() {
    let error = Dense::<f32>::new(1 << 40, 1 << 40, &mut StdRng::seed_from_u64(0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid outputs: expected sizes whose [inputs, outputs] weight fits in memory, \
         received outputs=1099511627776 (with inputs=1099511627776)"
    );
}

#[test]
fn one_hot_rows_too_large_for_memory_are_a_config_error() {
    let error = Targets::<f32>::one_hot(&[0], usize::MAX).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid classes: expected a number of classes whose one-hot rows fit in memory, \
         received classes=18446744073709551615"
    );
}

#[test]
fn empty_images_too_large_to_ever_batch_are_refused() {
    let error = Images::new(0, 1 << 32, 1 << 32, Vec::new()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "data set: 0 images of 4294967296x4294967296 are too large: as f64 they need more than \
         isize::MAX bytes, counting only the non-zero dimensions"
    );
}

#[test]
fn gathering_an_index_out_of_range_is_an_error_before_allocating_the_batch() {
    // Each image would be 2^40 pixels: the index is checked before a batch of them is allocated.
    let images = Images::new(0, 1 << 20, 1 << 20, Vec::new()).unwrap();
    let error = Features::<f32>::gather(&images, &[0], &mut ArrayD::zeros(vec![0])).unwrap_err();
    assert_eq!(error.to_string(), "data set: sample index 0 is out of range for 0 samples");
}

#[test]
fn summary_of_an_input_shape_too_large_for_memory_is_a_config_error() {
    let error = small_model(0).summary(&[usize::MAX]).unwrap_err();
    assert!(matches!(error, Error::Config { name: "input_shape", .. }), "{error:?}");
}

// Sizes below isize::MAX bytes but beyond the memory there is: the allocator refuses them, and
// the refusal is an error, not an abort. Each is above 2^47 bytes (128 TiB), more than the address
// space of a Linux process, so it is refused even where the kernel overcommits without limit; the
// tests themselves allocate only a few bytes.

#[test]
fn a_tensor_beyond_the_memory_available_is_a_config_error() {
    // 2^50 f32 elements: 4 PiB.
    let shape = [1 << 40, 1 << 10];
    for error in [Tensor::<f32>::zeros(&shape).unwrap_err(), Tensor::<f32>::full(&shape, 1.0).unwrap_err()] {
        assert!(matches!(error, Error::Config { name: "shape", .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "invalid shape: expected dimensions whose product fits in the memory available, \
             received shape=[1099511627776, 1024]"
        );
    }
}

#[test]
fn a_dense_layer_beyond_the_memory_available_is_a_config_error() {
    // A [2^24, 2^24] f32 weight: 1 PiB.
    let error = Dense::<f32>::new(1 << 24, 1 << 24, &mut StdRng::seed_from_u64(0)).unwrap_err();
    assert!(matches!(error, Error::Config { name: "outputs", .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "invalid outputs: expected sizes whose [inputs, outputs] weight fits in memory, \
         received outputs=16777216 (with inputs=16777216)"
    );
}

#[test]
fn one_hot_rows_beyond_the_memory_available_are_a_config_error() {
    // Two f32 rows of 2^46 classes: 512 TiB.
    let error = Targets::<f32>::one_hot(&[0, 1], 1 << 46).unwrap_err();
    assert!(matches!(error, Error::Config { name: "classes", .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "invalid classes: expected a number of classes whose one-hot rows fit in memory, \
         received classes=70368744177664"
    );
}

#[test]
fn summary_of_an_input_shape_beyond_the_memory_available_is_a_config_error() {
    // One f32 sample of 2^46 values: 256 TiB.
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Sequential::<f32>::new()
        .add(Dense::new(8, 4, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(4, 2, &mut rng).unwrap())
        .add(Softmax::new());
    let error = model.summary(&[1 << 46]).unwrap_err();
    assert!(matches!(error, Error::Config { name: "input_shape", .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "invalid input_shape: expected dimensions whose product fits in the memory available, \
         received input_shape=[1, 70368744177664]"
    );
}

// ---- the pieces, called directly ----

#[test]
fn a_target_batch_has_no_class_past_its_last_sample() {
    assert_eq!(TargetBatch::<f32>::Classes(&[4, 2]).class(1), Some(2));
    assert_eq!(TargetBatch::<f32>::Classes(&[4, 2]).class(2), None);
    let rows = array![[0.1f32, 0.9]];
    assert_eq!(TargetBatch::Probabilities(rows.view()).class(0), Some(1));
    assert_eq!(TargetBatch::Probabilities(rows.view()).class(1), None);
}

#[test]
fn softmax_backward_of_a_0_dimensional_output_is_a_shape_error() {
    let scalar = ArrayD::<f32>::zeros(vec![]);
    let mut grad_input = ArrayD::zeros(vec![0]);
    let error = Softmax::new()
        .backward(scalar.view(), scalar.view(), scalar.view(), Some(&mut grad_input))
        .unwrap_err();
    assert!(matches!(error, Error::Shape { .. }), "{error:?}");
}

/// A layer of one's own made of a forward function alone: no parameters, no gradient.
struct ForwardOnly(fn(ArrayViewD<f64>, &mut ArrayD<f64>));

impl Layer<f64> for ForwardOnly {
    fn kind(&self) -> &'static str {
        "forward_only"
    }
    fn forward(&mut self, input: ArrayViewD<f64>, output: &mut ArrayD<f64>, _mode: Mode) -> Result<()> {
        (self.0)(input, output);
        Ok(())
    }
    fn backward(
        &mut self,
        _input: ArrayViewD<f64>,
        _output: ArrayViewD<f64>,
        _grad_output: ArrayViewD<f64>,
        _grad_input: Option<&mut ArrayD<f64>>,
    ) -> Result<()> {
        Ok(())
    }
    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<f64>)) {}
}

#[test]
fn predict_through_a_layer_that_changes_the_batch_size_is_a_shape_error() {
    let (x, _) = data(3);
    let first_row = ForwardOnly(|input, output| {
        let first = input.slice_axis(ndarray::Axis(0), (0..1).into());
        resize(output, first.shape());
        output.assign(&first);
    });
    let error = Sequential::new().add(first_row).predict(&x, 3).unwrap_err();
    assert_eq!(error.to_string(), "model output: expected shape [3, 3], found [1, 3]");
}

#[test]
fn predict_through_a_layer_without_a_batch_axis_is_a_shape_error() {
    let (x, _) = data(3);
    let sum_all = ForwardOnly(|input, output| {
        resize(output, &[]);
        output.fill(input.sum());
    });
    let error = Sequential::new().add(sum_all).predict(&x, 3).unwrap_err();
    assert_eq!(error.to_string(), "model output needs a batch axis: expected shape [3], found []");
}

#[test]
fn predict_with_a_model_without_layers_is_an_error() {
    let (x, _) = data(4);
    let error = Sequential::<f64>::new().predict(&x, 2).unwrap_err();
    assert_eq!(error.to_string(), "data set: the model has no layers");
}

#[test]
fn train_on_batch_with_no_samples_is_an_error_and_leaves_the_weights_alone() {
    let mut model = small_model(0);
    let mut optimizer = adam();
    let (x, _) = data(2);
    model
        .train_on_batch(x.view(), TargetBatch::Classes(&[0, 1]), &SoftmaxCrossEntropy, &mut optimizer)
        .unwrap();
    let before = weights(&mut model);
    let empty = Tensor::<f64>::from_shape_vec(&[0, 3], vec![]).unwrap();
    let error = model
        .train_on_batch(empty.view(), TargetBatch::Classes(&[]), &SoftmaxCrossEntropy, &mut optimizer)
        .unwrap_err();
    assert_eq!(error.to_string(), "data set: the batch holds no samples (shape [0, 3])");
    assert_eq!(weights(&mut model), before);
}

#[test]
fn a_negative_target_probability_is_an_error_naming_it() {
    let (x, _) = data(2);
    let y = Targets::Probabilities(array![[0.5, 0.5], [-5.0, 3.0]]);
    let error = fit_error(&mut small_model(0), &x, &y, &FitConfig::default());
    assert_eq!(error, "data set: targets: target -5.0 at [1, 0] is not a probability (a finite number >= 0)");
}

#[test]
fn a_nan_target_probability_in_a_batch_is_an_error_naming_it() {
    let (x, _) = data(2);
    let targets = array![[0.5, f64::NAN], [0.0, 1.0]];
    let error = small_model(0)
        .train_on_batch(
            x.view(),
            TargetBatch::Probabilities(targets.view()),
            &SoftmaxCrossEntropy,
            &mut adam(),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "data set: softmax_cross_entropy: target NaN at [0, 1] is not a probability (a finite number >= 0)"
    );
}

#[test]
fn sgd_refuses_a_learning_rate_that_overflows_f32() {
    use ferronet::optim::{Sgd, SgdConfig};
    let error = Sgd::<f32>::new(SgdConfig::default().with_lr(1e39)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("invalid lr: expected a number that is finite in the element type, received lr={}", 1e39)
    );
    assert!(Sgd::<f64>::new(SgdConfig::default().with_lr(1e39)).is_ok());
}
