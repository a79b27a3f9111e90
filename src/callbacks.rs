//! Hooks into training: the [`Callback`] trait, [`EarlyStopping`] and [`LambdaCallback`].
//!
//! [`Sequential::fit_with`](crate::Sequential::fit_with) calls every callback at the start and
//! end of training, of each epoch and after each batch. Any of them may ask training to stop.
//! The library prints nothing itself: progress output is a callback the caller chooses.

use ndarray::ArrayD;

use crate::layers::Layer;
use crate::model::{EpochLog, FitConfig, History};
use crate::tensor::Float;

/// Whether training goes on after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop: after this batch (from `on_batch_end`, the epoch is then closed with what it saw)
    /// or after this epoch.
    Stop,
}

/// Where training is after one batch: running means over the samples of the epoch so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchLog {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The batch within the epoch, counted from 1.
    pub step: usize,
    /// The number of batches in the epoch.
    pub steps: usize,
    /// Training samples seen so far this epoch.
    pub samples: usize,
    /// Mean training loss over those samples.
    pub loss: f64,
    /// Training accuracy over those samples.
    pub accuracy: f64,
    /// Seconds since the epoch started.
    pub seconds: f64,
}

/// Hooks into [`Sequential::fit_with`](crate::Sequential::fit_with); each does nothing unless overridden.
///
/// `model` is the model being trained, seen as a [`Layer`]: its parameters can be read
/// and written with [`Layer::visit_params`].
pub trait Callback<F: Float = f32> {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _config: &FitConfig) {}

    /// Before each epoch.
    fn on_epoch_begin(&mut self, _epoch: usize) {}

    /// After each optimizer step.
    fn on_batch_end(&mut self, _log: &BatchLog) -> Control {
        Control::Continue
    }

    /// After each epoch (and its validation), with its log and the history that now holds it.
    fn on_epoch_end(&mut self, _log: &EpochLog, _history: &History, _model: &mut dyn Layer<F>) -> Control {
        Control::Continue
    }

    /// After the last epoch, or after a callback stopped training.
    fn on_train_end(&mut self, _history: &History, _model: &mut dyn Layer<F>) {}
}

/// A callback made of closures, Keras's `LambdaCallback`.
///
/// ```
/// use ferronet::callbacks::LambdaCallback;
///
/// let mut print_epochs = LambdaCallback::new().on_epoch(|log| println!("{log}"));
/// # let _ = &mut print_epochs;
/// ```
#[derive(Default)]
pub struct LambdaCallback<'a> {
    on_epoch: Option<Hook<'a, EpochLog>>,
    on_batch: Option<Hook<'a, BatchLog>>,
}

type Hook<'a, Log> = Box<dyn FnMut(&Log) + 'a>;

impl std::fmt::Debug for LambdaCallback<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaCallback")
            .field("on_epoch", &self.on_epoch.is_some())
            .field("on_batch", &self.on_batch.is_some())
            .finish()
    }
}

impl<'a> LambdaCallback<'a> {
    /// A callback that does nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `f` after every epoch.
    pub fn on_epoch(mut self, f: impl FnMut(&EpochLog) + 'a) -> Self {
        self.on_epoch = Some(Box::new(f));
        self
    }

    /// Calls `f` after every batch.
    pub fn on_batch(mut self, f: impl FnMut(&BatchLog) + 'a) -> Self {
        self.on_batch = Some(Box::new(f));
        self
    }
}

impl<F: Float> Callback<F> for LambdaCallback<'_> {
    fn on_batch_end(&mut self, log: &BatchLog) -> Control {
        if let Some(f) = self.on_batch.as_mut() {
            f(log);
        }
        Control::Continue
    }

    fn on_epoch_end(&mut self, log: &EpochLog, _history: &History, _model: &mut dyn Layer<F>) -> Control {
        if let Some(f) = self.on_epoch.as_mut() {
            f(log);
        }
        Control::Continue
    }
}

/// The quantity an [`EarlyStopping`] watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    /// Training loss (lower is better).
    Loss,
    /// Training accuracy (higher is better).
    Accuracy,
    /// Validation loss (lower is better).
    ValLoss,
    /// Validation accuracy (higher is better).
    ValAccuracy,
}

impl Monitor {
    fn read(self, log: &EpochLog) -> Option<f64> {
        match self {
            Monitor::Loss => Some(log.loss),
            Monitor::Accuracy => Some(log.accuracy),
            Monitor::ValLoss => log.val_loss,
            Monitor::ValAccuracy => log.val_accuracy,
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(self, Monitor::Accuracy | Monitor::ValAccuracy)
    }
}

/// Stops training when a monitored quantity has stopped improving, as Keras's `EarlyStopping`.
///
/// An epoch improves on the best so far when it is better by more than `min_delta`. After
/// `patience` epochs in a row without improvement, training stops. With
/// `restore_best_weights`, the model gets back the weights of its best epoch when training
/// ends, whether it stopped early or not.
///
/// ```
/// use ferronet::callbacks::{EarlyStopping, Monitor};
///
/// let stopper: EarlyStopping = EarlyStopping::new(Monitor::ValLoss).with_patience(2).with_restore_best_weights(true);
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping<F = f32> {
    monitor: Monitor,
    min_delta: f64,
    patience: usize,
    restore_best_weights: bool,
    best: Option<(f64, usize)>,
    wait: usize,
    stopped_epoch: Option<usize>,
    best_weights: Vec<ArrayD<F>>,
}

impl<F: Float> EarlyStopping<F> {
    /// Watches `monitor` with `min_delta = 0`, `patience = 0` and no weight restoring (Keras's defaults).
    pub fn new(monitor: Monitor) -> Self {
        EarlyStopping {
            monitor,
            min_delta: 0.0,
            patience: 0,
            restore_best_weights: false,
            best: None,
            wait: 0,
            stopped_epoch: None,
            best_weights: Vec::new(),
        }
    }

    /// The smallest change that counts as an improvement (its sign is ignored).
    pub fn with_min_delta(self, min_delta: f64) -> Self {
        EarlyStopping { min_delta: min_delta.abs(), ..self }
    }

    /// Epochs without improvement after which training stops.
    pub fn with_patience(self, patience: usize) -> Self {
        EarlyStopping { patience, ..self }
    }

    /// Whether to give the model back its best epoch's weights when training ends.
    pub fn with_restore_best_weights(self, restore: bool) -> Self {
        EarlyStopping { restore_best_weights: restore, ..self }
    }

    /// The best value seen and its epoch.
    pub fn best(&self) -> Option<(f64, usize)> {
        self.best
    }

    /// The epoch after which training was stopped, if it was.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    fn improves(&self, value: f64) -> bool {
        match self.best {
            None => !value.is_nan(),
            Some((best, _)) if self.monitor.higher_is_better() => value > best + self.min_delta,
            Some((best, _)) => value < best - self.min_delta,
        }
    }
}

impl<F: Float> Callback<F> for EarlyStopping<F> {
    fn on_train_begin(&mut self, _config: &FitConfig) {
        self.best = None;
        self.wait = 0;
        self.stopped_epoch = None;
        self.best_weights.clear();
    }

    fn on_epoch_end(&mut self, log: &EpochLog, _history: &History, model: &mut dyn Layer<F>) -> Control {
        // An epoch without the monitored value (no validation split) neither improves nor waits.
        let Some(value) = self.monitor.read(log) else { return Control::Continue };
        if self.improves(value) {
            self.best = Some((value, log.epoch));
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights.clear();
                model.visit_params(&mut |p| self.best_weights.push(p.value.clone()));
            }
            return Control::Continue;
        }
        self.wait += 1;
        if self.wait >= self.patience {
            self.stopped_epoch = Some(log.epoch);
            return Control::Stop;
        }
        Control::Continue
    }

    fn on_train_end(&mut self, _history: &History, model: &mut dyn Layer<F>) {
        if !self.restore_best_weights || self.best_weights.is_empty() {
            return;
        }
        let mut saved = self.best_weights.iter();
        model.visit_params(&mut |p| {
            if let Some(best) = saved.next().filter(|best| best.shape() == p.value.shape()) {
                p.value.assign(best);
            }
        });
    }
}
