//! Callbacks: EarlyStopping on scripted histories (Keras's semantics), and the hooks `fit` calls.

use ferronet::callbacks::{Callback, Control, EarlyStopping, LambdaCallback, Monitor};
use ferronet::data::Targets;
use ferronet::layers::{Dense, Layer, Softmax};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{EpochLog, FitConfig, History, Sequential, Tensor};
use ndarray::array;

fn log(epoch: usize, val_loss: f64, val_accuracy: f64) -> EpochLog {
    EpochLog {
        epoch,
        epochs: 100,
        loss: 1.0,
        accuracy: 0.5,
        val_loss: Some(val_loss),
        val_accuracy: Some(val_accuracy),
        samples: 10,
        seconds: 0.1,
    }
}

/// A one-weight model whose weight is set to the epoch number before each epoch's callback.
fn scalar_model() -> Dense<f64> {
    Dense::from_weights(array![[0.0]], array![0.0]).unwrap()
}

fn set_weight(model: &mut Dense<f64>, value: f64) {
    model.visit_params(&mut |p| {
        if p.name.ends_with("weight") {
            p.value.fill(value)
        }
    });
}

/// Feeds `val_losses` epoch by epoch; returns the epoch after which the callback said stop.
fn run(stopper: &mut EarlyStopping<f64>, model: &mut Dense<f64>, val_losses: &[f64]) -> Option<usize> {
    stopper.on_train_begin(&FitConfig::default());
    let history = History::default();
    let mut stopped = None;
    for (i, &v) in val_losses.iter().enumerate() {
        set_weight(model, (i + 1) as f64);
        if stopper.on_epoch_end(&log(i + 1, v, 1.0 - v), &history, model) == Control::Stop {
            stopped = Some(i + 1);
            break;
        }
    }
    stopper.on_train_end(&history, model);
    stopped
}

#[test]
fn stops_after_patience_epochs_without_improvement() {
    let mut stopper = EarlyStopping::new(Monitor::ValLoss).with_patience(2);
    let stopped = run(&mut stopper, &mut scalar_model(), &[1.0, 0.9, 0.95, 0.92, 0.91, 0.5]);
    assert_eq!(stopped, Some(4));
    assert_eq!(stopper.best(), Some((0.9, 2)));
    assert_eq!(stopper.stopped_epoch(), Some(4));
}

#[test]
fn patience_zero_stops_at_the_first_epoch_without_improvement() {
    let mut stopper = EarlyStopping::new(Monitor::ValLoss);
    assert_eq!(run(&mut stopper, &mut scalar_model(), &[1.0, 0.9, 0.9]), Some(3));
}

#[test]
fn an_improvement_smaller_than_min_delta_does_not_count() {
    let mut stopper = EarlyStopping::new(Monitor::ValLoss).with_min_delta(0.05).with_patience(1);
    assert_eq!(run(&mut stopper, &mut scalar_model(), &[1.0, 0.97, 0.5]), Some(2));
}

#[test]
fn accuracy_is_better_when_higher() {
    // val_accuracy is 1 - val_loss in the script: 0.0, 0.1, 0.05.
    let mut stopper = EarlyStopping::new(Monitor::ValAccuracy);
    assert_eq!(run(&mut stopper, &mut scalar_model(), &[1.0, 0.9, 0.95]), Some(3));
    assert_eq!(stopper.best().map(|(_, epoch)| epoch), Some(2));
}

#[test]
fn never_stops_while_improving() {
    let mut stopper = EarlyStopping::new(Monitor::ValLoss).with_patience(1);
    assert_eq!(run(&mut stopper, &mut scalar_model(), &[1.0, 0.9, 0.8, 0.7]), None);
}

#[test]
fn restores_the_weights_of_the_best_epoch() {
    let mut model = scalar_model();
    let mut stopper = EarlyStopping::new(Monitor::ValLoss).with_patience(2).with_restore_best_weights(true);
    run(&mut stopper, &mut model, &[1.0, 0.8, 0.9, 0.95]);
    assert_eq!(model.weight().value[[0, 0]], 2.0, "the weight set at epoch 2, the best");
}

#[test]
fn without_restoring_the_last_weights_stay() {
    let mut model = scalar_model();
    let mut stopper = EarlyStopping::new(Monitor::ValLoss).with_patience(2);
    run(&mut stopper, &mut model, &[1.0, 0.8, 0.9, 0.95]);
    assert_eq!(model.weight().value[[0, 0]], 4.0);
}

#[test]
fn fit_calls_batch_and_epoch_hooks_and_stops_when_asked() {
    let x = Tensor::from_shape_vec(&[10, 2], (0..20).map(|i| i as f64 / 20.0).collect()).unwrap();
    let y = Targets::classes(&[0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 2).unwrap();
    let mut model = Sequential::<f64>::new().add(Softmax::new());
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let (mut batches, mut epochs) = (Vec::new(), 0);
    let mut counter = LambdaCallback::new()
        .on_batch(|b| batches.push((b.epoch, b.step, b.steps, b.samples)))
        .on_epoch(|_| epochs += 1);
    let mut stopper = EarlyStopping::new(Monitor::Loss);
    let config = FitConfig::default().with_epochs(5).with_batch_size(4);
    let history = model
        .fit_with(&x, &y, &SoftmaxCrossEntropy, &mut adam, &config, &mut [&mut counter, &mut stopper])
        .unwrap();
    drop(counter);
    // A model without parameters has the same loss every epoch: epoch 2 does not improve.
    assert_eq!(history.epochs.len(), 2);
    assert_eq!(epochs, 2);
    assert_eq!(batches[..3], [(1, 1, 3, 4), (1, 2, 3, 8), (1, 3, 3, 10)]);
    assert_eq!(batches.len(), 6);
}
