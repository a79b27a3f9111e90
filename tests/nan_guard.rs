//! The NaN guard of `fit`, as a specification: training stops at the first loss or gradient that
//! is NaN or infinite, with an error naming the epoch and the step (both from 1), before the
//! optimizer step that would have used it. The model keeps the weights of the last good step,
//! the optimizer its state, and the error carries the history of the epochs completed.

mod common;

use common::{adam, small_model, weights};
use ferronet::data::Targets;
use ferronet::layers::{Dense, Layer, Mode, Param, ReLU, Softmax, resize};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{Error, FitConfig, History, Result, Sequential, Tensor};
use ndarray::{ArrayD, ArrayViewD};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Six samples of 3 features, labelled 0, 1, 0, 1, 0, 1; sample `poisoned` (if any) holds `value`.
fn six_samples(poisoned: Option<(usize, f64)>) -> (Tensor<f64>, Targets<f64>) {
    let mut values: Vec<f64> = (0..18).map(|i| (i as f64 * 0.37).sin()).collect();
    if let Some((sample, value)) = poisoned {
        values[3 * sample + 1] = value;
    }
    (Tensor::from_shape_vec(&[6, 3], values).unwrap(), Targets::classes(&[0, 1, 0, 1, 0, 1], 2).unwrap())
}

/// Batches of 2 in order: steps 1, 2 and 3 of every epoch see samples 0-1, 2-3 and 4-5.
fn in_order() -> FitConfig {
    FitConfig::default().with_batch_size(2).with_shuffle(false)
}

/// Splits a NonFinite error into its parts, or fails the test.
fn non_finite(result: Result<History>) -> (String, usize, usize, History) {
    match result {
        Err(Error::NonFinite { what, epoch, step, history }) => (what, epoch, step, history),
        other => panic!("expected Error::NonFinite, found {other:?}"),
    }
}

#[test]
fn a_nan_input_stops_training_at_the_step_that_sees_it() {
    // ReLU keeps NaN (as PyTorch does), so the NaN reaches the loss.
    let (x, y) = six_samples(Some((4, f64::NAN)));
    let result = small_model(7).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &in_order());
    let (what, epoch, step, history) = non_finite(result);
    assert_eq!((what.as_str(), epoch, step), ("the loss (NaN)", 1, 3));
    assert!(history.epochs.is_empty());
}

#[test]
fn the_error_message_names_what_the_epoch_and_the_step() {
    let (x, y) = six_samples(Some((2, f64::INFINITY)));
    let error = small_model(7).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &in_order()).unwrap_err();
    assert_eq!(error.to_string(), "the loss (NaN) is not finite at epoch 1, step 2; training stopped there");
}

#[test]
fn an_infinite_input_stops_training_at_the_step_that_sees_it() {
    let (x, y) = six_samples(Some((2, f64::INFINITY)));
    let result = small_model(7).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &in_order());
    let (what, epoch, step, _) = non_finite(result);
    assert_eq!((what.as_str(), epoch, step), ("the loss (NaN)", 1, 2));
}

#[test]
fn the_model_keeps_exactly_the_weights_of_the_last_good_step() {
    // Steps 1 and 2 see samples 0 to 3 and are fine; step 3 sees the NaN in sample 4.
    let (x, y) = six_samples(Some((4, f64::NAN)));
    let mut failed = small_model(7);
    let mut failed_adam = adam();
    failed.fit(&x, &y, &SoftmaxCrossEntropy, &mut failed_adam, &in_order()).unwrap_err();

    // The same two steps on the clean samples 0 to 3 alone.
    let (clean_x, _) = six_samples(None);
    let first_four = Tensor::from_shape_vec(&[4, 3], clean_x.as_slice()[..12].to_vec()).unwrap();
    let first_four_y = Targets::classes(&[0, 1, 0, 1], 2).unwrap();
    let mut reference = small_model(7);
    let mut reference_adam = adam();
    reference
        .fit(&first_four, &first_four_y, &SoftmaxCrossEntropy, &mut reference_adam, &in_order())
        .unwrap();

    assert!(weights(&mut failed).iter().all(|w| w.is_finite()));
    assert_eq!(weights(&mut failed), weights(&mut reference));
    assert_eq!(failed_adam.state(), reference_adam.state(), "the optimizer never saw the bad step");
    assert!(failed_adam.state().iter().all(|s| s.step == 2));
}

#[test]
fn a_diverging_learning_rate_stops_at_epoch_1_step_2_with_finite_weights() {
    // Adam's first step moves every weight by lr = 1e30; at step 2 the hidden units are about
    // 1e30 and the logits about 1e60, which overflows f32: the loss is NaN.
    let x = Tensor::from_shape_vec(
        &[4, 3],
        vec![0.5f32, -0.2, 0.9, 0.1, 0.4, -0.7, -0.3, 0.8, 0.2, 0.6, 0.1, -0.5],
    )
    .unwrap();
    let y = Targets::classes(&[0, 1, 1, 0], 2).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let mut model = Sequential::<f32>::new()
        .add(Dense::new(3, 4, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(4, 2, &mut rng).unwrap())
        .add(Softmax::new());
    let mut huge = Adam::new(AdamConfig::default().with_lr(1e30)).unwrap();
    let config = FitConfig::default().with_epochs(5).with_batch_size(2).with_shuffle(false);

    let (what, epoch, step, history) =
        non_finite(model.fit(&x, &y, &SoftmaxCrossEntropy, &mut huge, &config));
    assert_eq!((what.as_str(), epoch, step), ("the loss (NaN)", 1, 2));
    assert!(history.epochs.is_empty());
    let after = weights(&mut model);
    assert!(after.iter().all(|w| w.is_finite()), "{after:?}");
    assert!(after.iter().any(|w| w.abs() > 1e29), "the first step did happen: {after:?}");
}

/// A layer that passes its input through and gives its one parameter a zero gradient, except
/// NaN at its backward pass number `poison_at` (counted from 1).
struct PoisonGradient {
    param: Param<f64>,
    calls: usize,
    poison_at: usize,
}

impl PoisonGradient {
    fn at(poison_at: usize) -> Self {
        PoisonGradient { param: Param::new("poison.scale", ArrayD::zeros(vec![1])), calls: 0, poison_at }
    }
}

impl Layer<f64> for PoisonGradient {
    fn kind(&self) -> &'static str {
        "poison"
    }
    fn forward(&mut self, input: ArrayViewD<f64>, output: &mut ArrayD<f64>, _mode: Mode) -> Result<()> {
        resize(output, input.shape());
        output.assign(&input);
        Ok(())
    }
    fn backward(
        &mut self,
        _input: ArrayViewD<f64>,
        _output: ArrayViewD<f64>,
        grad_output: ArrayViewD<f64>,
        grad_input: Option<&mut ArrayD<f64>>,
    ) -> Result<()> {
        self.calls += 1;
        if self.calls == self.poison_at {
            self.param.grad.fill(f64::NAN);
        }
        if let Some(grad_input) = grad_input {
            resize(grad_input, grad_output.shape());
            grad_input.assign(&grad_output);
        }
        Ok(())
    }
    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param<f64>)) {
        visit(&mut self.param);
    }
}

/// Dense 3-4, the poison layer, ReLU, Dense 4-2, Softmax.
fn poisoned_model(poison_at: usize) -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(7);
    Sequential::new()
        .add(Dense::new(3, 4, &mut rng).unwrap())
        .add(PoisonGradient::at(poison_at))
        .add(ReLU::new())
        .add(Dense::new(4, 2, &mut rng).unwrap())
        .add(Softmax::new())
}

#[test]
fn a_nan_gradient_under_a_finite_loss_names_the_parameter() {
    let (x, y) = six_samples(None);
    let result = poisoned_model(2).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &in_order());
    let (what, epoch, step, _) = non_finite(result);
    assert_eq!((what.as_str(), epoch, step), ("the gradient of poison_1.scale", 1, 2));
}

#[test]
fn a_failure_in_a_later_epoch_keeps_the_history_of_the_epochs_before_it() {
    // Three steps per epoch: backward pass 8 is epoch 3, step 2.
    let (x, y) = six_samples(None);
    let mut model = poisoned_model(8);
    let config = in_order().with_epochs(5);
    let (what, epoch, step, history) =
        non_finite(model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config));
    assert_eq!((what.as_str(), epoch, step), ("the gradient of poison_1.scale", 3, 2));
    assert_eq!(history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2]);
    assert!(history.loss().iter().all(|l| l.is_finite()));
    assert!(weights(&mut model).iter().all(|w| w.is_finite()));
}

#[test]
fn the_epoch_is_counted_from_the_start_when_resuming() {
    // Resumed at initial_epoch 2, the first epoch run is epoch 3.
    let (x, y) = six_samples(None);
    let config = in_order().with_epochs(5).with_initial_epoch(2);
    let result = poisoned_model(1).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config);
    let (_, epoch, step, _) = non_finite(result);
    assert_eq!((epoch, step), (3, 1));
}

#[test]
fn training_that_stays_finite_is_not_stopped() {
    let (x, y) = six_samples(None);
    let history =
        small_model(7).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &in_order().with_epochs(3)).unwrap();
    assert_eq!(history.epochs.len(), 3);
}

#[test]
fn a_nan_in_the_validation_samples_stops_training_at_the_end_of_the_first_epoch() {
    // The last 2 of 6 samples (a split of 1/3) are for validation; sample 5 holds the NaN.
    let (x, y) = six_samples(Some((5, f64::NAN)));
    let config = in_order().with_validation_split(1.0 / 3.0);
    let (what, epoch, step, history) =
        non_finite(small_model(7).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config));
    assert_eq!((what.as_str(), epoch, step), ("the validation loss (NaN)", 1, 2));
    assert!(history.epochs.is_empty());
}

#[test]
fn a_weight_made_nan_by_an_earlier_update_is_named_with_the_loss() {
    let (x, y) = six_samples(None);
    let mut model = small_model(7);
    model.visit_params(&mut |p| {
        if p.name == "dense_2.weight" {
            p.value[[0, 0]] = f64::INFINITY;
        }
    });
    let (what, ..) = non_finite(model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &in_order()));
    assert_eq!(
        what,
        "the loss (NaN) of a model whose dense_2.weight was already not finite (from an earlier update, or set so)"
    );
}

#[test]
fn evaluate_on_an_input_holding_nan_is_an_error_not_a_number() {
    let (x, y) = six_samples(Some((1, f64::NAN)));
    let error = small_model(7).evaluate(&x, &y, &SoftmaxCrossEntropy, 2).unwrap_err();
    assert_eq!(error.to_string(), "data set: the loss is not finite (NaN): the inputs are not all finite");
}

// A callback that stops an epoch after its first step: a NaN validation loss then names step 1,
// the last step run, not the epoch's planned 2.
#[test]
fn a_nan_validation_loss_after_an_epoch_stopped_early_names_the_last_step_run() {
    use ferronet::callbacks::{BatchLog, Callback, Control};
    struct StopAfterFirstStep;
    impl Callback<f64> for StopAfterFirstStep {
        fn on_batch_end(&mut self, _log: &BatchLog) -> Control {
            Control::Stop
        }
    }
    let (x, y) = six_samples(Some((5, f64::NAN)));
    let config = in_order().with_validation_split(1.0 / 3.0);
    let result = small_model(7).fit_with(
        &x,
        &y,
        &SoftmaxCrossEntropy,
        &mut adam(),
        &config,
        &mut [&mut StopAfterFirstStep],
    );
    let (what, epoch, step, _) = non_finite(result);
    assert_eq!((what.as_str(), epoch, step), ("the validation loss (NaN)", 1, 1));
}
