//! [`Sequential`]: a stack of layers, with Keras's `fit`, `evaluate` and `predict`.

use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::callbacks::{BatchLog, Callback, Control};
use crate::data::{Batches, Features, TargetBuffer, Targets, copy_rows, split_point};
use crate::error::{Error, Result};
use crate::layers::{Layer, Mode, Param, resize, try_resize, view2};
use crate::loss::{Loss, TargetBatch};
use crate::optim::{Optimizer, check_hyper};
use crate::tensor::{Float, Tensor, all_finite, check_shape, try_array_from_fn};

/// The settings of [`Sequential::fit`], with Keras's names and defaults
/// (`epochs = 1`, `batch_size = 32`, `validation_split = 0.0`, `shuffle = true`,
/// `initial_epoch = 0`), and `seed = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    /// Passes over the training samples.
    pub epochs: usize,
    /// Samples per gradient step; the last batch of an epoch holds what is left.
    pub batch_size: usize,
    /// The fraction of samples, taken from the end before any shuffling, held out for validation.
    pub validation_split: f64,
    /// Whether to visit the training samples in a new random order every epoch.
    pub shuffle: bool,
    /// Seeds the shuffle. Epoch `e`'s order depends only on `seed` and `e`, so training resumed
    /// at `initial_epoch` visits the samples exactly as an uninterrupted run would.
    pub seed: u64,
    /// The number of epochs already done: training runs epochs `initial_epoch + 1 ..= epochs`
    /// (Keras's `initial_epoch`, for resuming).
    pub initial_epoch: usize,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            shuffle: true,
            seed: 0,
            initial_epoch: 0,
        }
    }
}

impl FitConfig {
    /// Sets `epochs`.
    pub fn with_epochs(self, epochs: usize) -> Self {
        FitConfig { epochs, ..self }
    }
    /// Sets `batch_size`.
    pub fn with_batch_size(self, batch_size: usize) -> Self {
        FitConfig { batch_size, ..self }
    }
    /// Sets `validation_split`.
    pub fn with_validation_split(self, validation_split: f64) -> Self {
        FitConfig { validation_split, ..self }
    }
    /// Sets `shuffle`.
    pub fn with_shuffle(self, shuffle: bool) -> Self {
        FitConfig { shuffle, ..self }
    }
    /// Sets `seed`.
    pub fn with_seed(self, seed: u64) -> Self {
        FitConfig { seed, ..self }
    }
    /// Sets `initial_epoch`.
    pub fn with_initial_epoch(self, initial_epoch: usize) -> Self {
        FitConfig { initial_epoch, ..self }
    }

    fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config { name: "epochs", value: "0".into(), expected: "at least 1" });
        }
        if self.initial_epoch >= self.epochs {
            return Err(Error::Config {
                name: "initial_epoch",
                value: self.initial_epoch.to_string(),
                expected: "fewer than epochs",
            });
        }
        check_batch_size(self.batch_size)?;
        split_point(0, self.validation_split).map(|_| ())
    }
}

/// What one epoch of training measured. Losses and accuracies are means over samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochLog {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The number of epochs asked for.
    pub epochs: usize,
    /// Mean training loss over the epoch's samples, as the weights were when each batch was seen.
    pub loss: f64,
    /// Training accuracy, measured the same way.
    pub accuracy: f64,
    /// Mean loss on the validation samples after the epoch, if any were held out.
    pub val_loss: Option<f64>,
    /// Accuracy on the validation samples after the epoch, if any were held out.
    pub val_accuracy: Option<f64>,
    /// Training samples seen in the epoch.
    pub samples: usize,
    /// Wall-clock seconds the epoch took, validation included.
    pub seconds: f64,
}

impl std::fmt::Display for EpochLog {
    /// Keras's epoch line: `Epoch 3/10 - loss 0.0712 - accuracy 0.9781 - val_loss ... - 1.9s`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Epoch {}/{} - loss {:.4} - accuracy {:.4}",
            self.epoch, self.epochs, self.loss, self.accuracy
        )?;
        if let (Some(loss), Some(accuracy)) = (self.val_loss, self.val_accuracy) {
            write!(f, " - val_loss {loss:.4} - val_accuracy {accuracy:.4}")?;
        }
        write!(f, " - {:.1}s", self.seconds)
    }
}

/// The record of a [`Sequential::fit`], one [`EpochLog`] per epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One entry per completed epoch.
    pub epochs: Vec<EpochLog>,
}

impl History {
    /// Training loss per epoch.
    pub fn loss(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }
    /// Training accuracy per epoch.
    pub fn accuracy(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.accuracy).collect()
    }
    /// Validation loss per epoch (empty without a validation split).
    pub fn val_loss(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_loss).collect()
    }
    /// Validation accuracy per epoch (empty without a validation split).
    pub fn val_accuracy(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_accuracy).collect()
    }
}

/// Loss and accuracy over a data set, as [`Sequential::evaluate`] returns them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f64,
    /// The fraction of samples classified correctly.
    pub accuracy: f64,
    /// The number classified correctly.
    pub correct: usize,
    /// The number of samples.
    pub samples: usize,
}

/// A stack of layers applied in order; itself a [`Layer`].
///
/// The model owns one buffer per activation and per activation gradient, reused from step to
/// step, so training allocates only when the batch shape changes.
///
/// # Example
/// ```
/// use ferronet::layers::{Dense, Flatten, ReLU, Softmax};
/// use ferronet::Sequential;
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let mut rng = StdRng::seed_from_u64(42);
/// let model = Sequential::<f32>::new()
///     .add(Flatten::new())
///     .add(Dense::new(784, 128, &mut rng)?)
///     .add(ReLU::new())
///     .add(Dense::new(128, 10, &mut rng)?)
///     .add(Softmax::new());
/// assert_eq!(model.len(), 5);
/// # Ok::<(), ferronet::Error>(())
/// ```
pub struct Sequential<F: Float = f32> {
    layers: Vec<Box<dyn Layer<F>>>,
    names: Vec<String>,
    /// `activations[0]` is the input batch, `activations[i + 1]` the output of layer `i`.
    activations: Vec<ArrayD<F>>,
    /// `grads[i]` is the gradient of the loss with respect to `activations[i]`.
    grads: Vec<ArrayD<F>>,
}

impl<F: Float> Default for Sequential<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> std::fmt::Debug for Sequential<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequential").field("layers", &self.names).finish()
    }
}

impl<F: Float> Sequential<F> {
    /// An empty model.
    pub fn new() -> Self {
        Sequential { layers: Vec::new(), names: Vec::new(), activations: vec![empty()], grads: vec![empty()] }
    }

    /// Appends a layer (builder style). Its parameters are named `{kind}_{k}.{param}`, `k`
    /// counting layers of that kind from 1: the first Dense's weight is `dense_1.weight`.
    #[allow(clippy::should_implement_trait)] // Keras's name, and a builder, not `+`
    pub fn add(mut self, layer: impl Layer<F> + 'static) -> Self {
        self.push(Box::new(layer));
        self
    }

    /// Appends a boxed layer.
    pub fn push(&mut self, mut layer: Box<dyn Layer<F>>) {
        let kind = layer.kind();
        let k = self.layers.iter().filter(|l| l.kind() == kind).count() + 1;
        let name = format!("{kind}_{k}");
        layer.set_name(&name);
        self.layers.push(layer);
        self.names.push(name);
        self.activations.push(empty());
        self.grads.push(empty());
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the model has no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The layers' names, in order (`flatten_1`, `dense_1`, ...).
    pub fn layer_names(&self) -> &[String] {
        &self.names
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<F>>] {
        &self.layers
    }

    /// How many layers training runs before the loss: all of them, or all but a final
    /// activation that the loss computes itself (a Softmax before [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy)).
    fn layers_before(&self, loss: &dyn Loss<F>) -> usize {
        match (self.layers.last(), loss.fused_activation()) {
            (Some(last), Some(fused)) if last.kind() == fused => self.layers.len() - 1,
            _ => self.layers.len(),
        }
    }

    /// The width of what the loss last saw (the last axis of the output of the layers before it).
    fn output_width(&self, loss: &dyn Loss<F>) -> usize {
        self.activations[self.layers_before(loss)].shape().last().copied().unwrap_or(0)
    }

    /// Runs the first `count` layers on `activations[0]`.
    fn forward_layers(&mut self, count: usize, mode: Mode) -> Result<()> {
        for (i, layer) in self.layers.iter_mut().enumerate().take(count) {
            let (done, rest) = self.activations.split_at_mut(i + 1);
            match layer.reshaped(done[i].shape()) {
                Some(shape) => pass_on(&mut done[i], &mut rest[0], &shape?)?,
                None => layer.forward(done[i].view(), &mut rest[0], mode)?,
            }
        }
        Ok(())
    }

    /// Back-propagates `grads[count]` through the first `count` layers; `grads[0]` is written only
    /// when `input_grad` is set. With `overwrite`, the parameter gradients are replaced by this
    /// batch's (every layer's, including those the pass does not reach); without, added to.
    ///
    /// Without `input_grad`, nothing below the first layer with parameters needs a gradient: the
    /// pass stops there, and that layer is not asked for its input gradient (for the tutorial's
    /// first Dense, behind Flatten, that spares a [64, 128] x [128, 784] product per step).
    fn backward_layers(&mut self, count: usize, input_grad: bool, overwrite: bool) -> Result<()> {
        let stop = if input_grad {
            0
        } else {
            self.layers.iter_mut().take(count).position(|layer| layer.param_count() > 0).unwrap_or(count)
        };
        if overwrite {
            for (i, layer) in self.layers.iter_mut().enumerate() {
                if !(stop..count).contains(&i) {
                    layer.zero_grad();
                }
            }
        }
        for i in (stop..count).rev() {
            let (lower, upper) = self.grads.split_at_mut(i + 1);
            let grad_input = if i > stop || input_grad { Some(&mut lower[i]) } else { None };
            let input = self.activations[i].view();
            let output = output_of(&self.layers, &self.activations, i, count)?;
            let layer = &mut self.layers[i];
            match grad_input {
                Some(grad_input) if layer.reshaped(input.shape()).is_some() => {
                    pass_on(&mut upper[0], grad_input, &input.raw_dim())?;
                }
                grad_input if overwrite => {
                    layer.backward_overwrite(input, output, upper[0].view(), grad_input)?;
                }
                grad_input => layer.backward(input, output, upper[0].view(), grad_input)?,
            }
        }
        Ok(())
    }

    /// Forward, loss and backward on the batch already in `activations[0]`: leaves the
    /// gradients in the parameters and returns the batch's mean loss and how many samples it got right.
    fn gradients_for_batch(&mut self, targets: TargetBatch<F>, loss: &dyn Loss<F>) -> Result<(F, usize)> {
        let count = self.layers_before(loss);
        self.forward_layers(count, Mode::Train)?;
        let predictions = view2(self.activations[count].view(), "model output")?;
        let correct = loss.correct(predictions, targets)?;
        let batch_loss = loss.loss(predictions, targets, Some(&mut self.grads[count]))?;
        self.backward_layers(count, false, true)?;
        Ok((batch_loss, correct))
    }

    fn set_input(&mut self, inputs: ArrayViewD<F>) {
        let batch = &mut self.activations[0];
        resize(batch, inputs.shape());
        // A contiguous batch (the usual case) is copied row by row on every thread; `assign`
        // walks it element by element on this one.
        if !copy_rows(&inputs, batch, &|r| r) {
            batch.assign(&inputs);
        }
    }

    /// Computes the gradient of `loss` on one batch into every parameter's `grad` (replacing what
    /// was there) and returns the batch's mean loss: PyTorch's `zero_grad(); loss.backward()`.
    ///
    /// A final Softmax is skipped when `loss` computes it itself, exactly as in [`Sequential::fit`].
    ///
    /// Like PyTorch's `backward`, it returns the loss and gradients as computed, finite or not;
    /// [`Sequential::fit`] is where non-finite values stop training.
    ///
    /// # Errors
    /// [`Error::Shape`] when the inputs or targets do not fit; [`Error::Data`] for a batch
    /// without samples or a model without layers.
    pub fn backprop(
        &mut self,
        inputs: ArrayViewD<F>,
        targets: TargetBatch<F>,
        loss: &dyn Loss<F>,
    ) -> Result<F> {
        self.check_batch(&inputs)?;
        self.set_input(inputs);
        self.gradients_for_batch(targets, loss).map(|(batch_loss, _)| batch_loss)
    }

    /// One optimizer step on one batch, Keras's `train_on_batch`: [`Sequential::backprop`], then
    /// `optimizer.step`. Returns the batch's mean loss, computed before the step.
    ///
    /// Once the model has seen a batch of this shape, the step allocates nothing on the heap.
    ///
    /// # Errors
    /// As [`Sequential::backprop`] and [`Optimizer::step`]; on any error the weights are unchanged.
    pub fn train_on_batch(
        &mut self,
        inputs: ArrayViewD<F>,
        targets: TargetBatch<F>,
        loss: &dyn Loss<F>,
        optimizer: &mut dyn Optimizer<F>,
    ) -> Result<F> {
        let batch_loss = self.backprop(inputs, targets, loss)?;
        optimizer.step(self)?;
        Ok(batch_loss)
    }

    /// The mean loss on one batch, through the same path as training but without gradients.
    ///
    /// # Errors
    /// [`Error::Shape`] when the inputs or targets do not fit; [`Error::Data`] for a batch
    /// without samples or a model without layers.
    pub fn batch_loss(
        &mut self,
        inputs: ArrayViewD<F>,
        targets: TargetBatch<F>,
        loss: &dyn Loss<F>,
    ) -> Result<F> {
        self.check_batch(&inputs)?;
        self.set_input(inputs);
        let count = self.layers_before(loss);
        self.forward_layers(count, Mode::Train)?;
        loss.loss(view2(self.activations[count].view(), "model output")?, targets, None)
    }

    fn check_layers(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::Data("the model has no layers".into()));
        }
        Ok(())
    }

    /// Refuses a batch without samples: its mean loss would be 0 and its step would still move
    /// the weights (through Adam's moments).
    fn check_batch(&self, inputs: &ArrayViewD<F>) -> Result<()> {
        self.check_layers()?;
        match inputs.shape().first() {
            Some(0) | None => {
                Err(Error::Data(format!("the batch holds no samples (shape {:?})", inputs.shape())))
            }
            Some(_) => Ok(()),
        }
    }

    fn check_data<X: Features<F> + ?Sized>(&self, x: &X, y: &Targets<F>) -> Result<()> {
        self.check_layers()?;
        if x.is_empty() {
            return Err(Error::Data("there are no samples".into()));
        }
        if x.len() != y.len() {
            return Err(Error::Data(format!("{} input samples but {} targets", x.len(), y.len())));
        }
        y.check_labels()
    }

    /// Runs the first batch forward in inference mode (nothing is cached, nothing changes) to
    /// check that the inputs fit the layers and the targets fit the output before training starts.
    fn check_first_batch<X: Features<F> + ?Sized>(
        &mut self,
        x: &X,
        y: &Targets<F>,
        loss: &dyn Loss<F>,
        batch_size: usize,
        train_end: usize,
    ) -> Result<()> {
        let first: Vec<usize> = (0..batch_size.min(train_end)).collect();
        x.gather(&first, &mut self.activations[0])?;
        let count = self.layers_before(loss);
        self.forward_layers(count, Mode::Infer)?;
        loss.check_classes(y.classes_count(), self.output_width(loss))
    }

    /// The NaN guard's check after a step's backward pass: the loss, then every parameter's
    /// gradient in visiting order, names the first that is not finite. One pass over the
    /// gradients; it allocates only to name a culprit.
    fn first_non_finite(&mut self, batch_loss: F) -> Option<String> {
        if !batch_loss.is_finite() {
            return Some(format!("the loss ({batch_loss:?})"));
        }
        let mut culprit = None;
        self.visit_params(&mut |p| {
            if culprit.is_none() && !all_finite(&p.grad) {
                culprit = Some(format!("the gradient of {}", p.name));
            }
        });
        culprit
    }

    /// The first parameter, in visiting order, whose value is not finite: after the NaN guard
    /// has fired, it tells a poisoned model (an earlier update overflowed) from poisoned data.
    fn first_non_finite_weight(&mut self) -> Option<String> {
        let mut culprit = None;
        self.visit_params(&mut |p| {
            if culprit.is_none() && !all_finite(&p.value) {
                culprit = Some(p.name.clone());
            }
        });
        culprit
    }

    /// The NaN guard's error: `what` was not finite at this epoch and step.
    fn non_finite(&mut self, what: String, epoch: usize, step: usize, history: History) -> Error {
        let what = match self.first_non_finite_weight() {
            Some(weight) => {
                format!(
                    "{what} of a model whose {weight} was already not finite (from an earlier update, or set so)"
                )
            }
            None => what,
        };
        Error::NonFinite { what, epoch, step, history }
    }

    /// Trains the model; see [`Sequential::fit_with`].
    ///
    /// # Errors
    /// As [`Sequential::fit_with`].
    pub fn fit<X: Features<F> + ?Sized>(
        &mut self,
        x: &X,
        y: &Targets<F>,
        loss: &dyn Loss<F>,
        optimizer: &mut dyn Optimizer<F>,
        config: &FitConfig,
    ) -> Result<History> {
        self.fit_with(x, y, loss, optimizer, config, &mut [])
    }

    /// Trains the model for `config.epochs` passes over `x` and `y`, calling `callbacks` at the
    /// start and end of training, of each epoch, and after each batch.
    ///
    /// The last `validation_split` of the samples is held out before anything is shuffled
    /// (as Keras does) and evaluated after every epoch. The training samples are visited in
    /// a new order each epoch, drawn from `config.seed`. Every batch, the last smaller one
    /// included, takes one optimizer step; the epoch's loss and accuracy are means over samples.
    ///
    /// Everything is checked before training starts: the configuration, the optimizer's learning
    /// rate, the data and targets, and (by running the first batch forward in inference mode)
    /// that the inputs fit the first layer and the targets fit the last. A misuse is an error
    /// that leaves the model untouched, never a panic.
    ///
    /// # The NaN guard
    /// After each step's backward pass, and before its optimizer step, the batch loss and every
    /// gradient are checked (one pass over the gradients, no allocation). At the first NaN or
    /// infinity, training stops with [`Error::NonFinite`], which names the epoch and the step
    /// (both from 1) and carries the [`History`] of the epochs completed until then. The
    /// optimizer never sees the bad gradients, so the model keeps the weights of the last good
    /// step, as Keras's `TerminateOnNaN` stops training, with the partial history in the error
    /// instead of a return value. The weights stay finite as long as the optimizer turns finite
    /// gradients into finite updates, as [`crate::optim::Adam`] does for any configuration it accepts.
    ///
    /// # Errors
    /// [`Error::Config`] for zero epochs, an `initial_epoch` not below `epochs`, a zero batch
    /// size, a split outside `[0, 1)` (NaN included) or a learning rate that is not finite and
    /// positive; [`Error::Data`] for an empty model or data set, inputs and targets of different
    /// counts, a label not below the number of classes, or a split that leaves no training samples;
    /// [`Error::Shape`] when the data does not fit the layers or the output does not fit the
    /// targets; [`Error::NonFinite`] from the NaN guard.
    pub fn fit_with<X: Features<F> + ?Sized>(
        &mut self,
        x: &X,
        y: &Targets<F>,
        loss: &dyn Loss<F>,
        optimizer: &mut dyn Optimizer<F>,
        config: &FitConfig,
        callbacks: &mut [&mut dyn Callback<F>],
    ) -> Result<History> {
        config.validate()?;
        check_hyper("learning_rate", optimizer.learning_rate(), |lr| lr > 0.0, "a finite number > 0")?;
        self.check_data(x, y)?;
        let samples = x.len();
        let train_end = split_point(samples, config.validation_split)?;
        if train_end == 0 {
            return Err(Error::Data(format!(
                "validation_split {} leaves no training samples out of {samples}",
                config.validation_split
            )));
        }
        self.check_first_batch(x, y, loss, config.batch_size, train_end)?;
        let validation: Vec<usize> = (train_end..samples).collect();
        let mut batches = Batches::new(0..train_end);
        let mut target_buffer = TargetBuffer::default();
        let mut history = History::default();

        for callback in callbacks.iter_mut() {
            callback.on_train_begin(config);
        }
        let steps = train_end.div_ceil(config.batch_size);
        for epoch in config.initial_epoch + 1..=config.epochs {
            let start = Instant::now();
            for callback in callbacks.iter_mut() {
                callback.on_epoch_begin(epoch);
            }
            if config.shuffle {
                batches.reset();
                batches.shuffle(&mut epoch_rng(config.seed, epoch));
            }
            let (mut loss_sum, mut correct, mut seen, mut ran) = (0.0, 0, 0, 0);
            let mut stop = false;
            for (step, indices) in batches.iter(config.batch_size).enumerate() {
                x.gather(indices, &mut self.activations[0])?;
                let targets = target_buffer.gather(y, indices)?;
                let (batch_loss, batch_correct) = self.gradients_for_batch(targets, loss)?;
                // The NaN guard: checked before the optimizer step, so the weights stay finite.
                if let Some(what) = self.first_non_finite(batch_loss) {
                    return Err(self.non_finite(what, epoch, step + 1, history));
                }
                optimizer.step(self)?;
                ran = step + 1;
                loss_sum += batch_loss.to_f64() * indices.len() as f64;
                correct += batch_correct;
                seen += indices.len();
                if !callbacks.is_empty() {
                    let log = BatchLog {
                        epoch,
                        step: step + 1,
                        steps,
                        samples: seen,
                        loss: loss_sum / seen as f64,
                        accuracy: correct as f64 / seen as f64,
                        seconds: start.elapsed().as_secs_f64(),
                    };
                    for callback in callbacks.iter_mut() {
                        stop |= callback.on_batch_end(&log) == Control::Stop;
                    }
                }
                if stop {
                    break;
                }
            }
            let validated = if validation.is_empty() {
                None
            } else {
                Some(self.evaluate_indices(x, y, &validation, loss, config.batch_size)?)
            };
            if let Some(v) = validated.filter(|v| !v.loss.is_finite()) {
                return Err(self.non_finite(
                    format!("the validation loss ({})", v.loss),
                    epoch,
                    ran,
                    history,
                ));
            }
            let log = EpochLog {
                epoch,
                epochs: config.epochs,
                loss: loss_sum / seen as f64,
                accuracy: correct as f64 / seen as f64,
                val_loss: validated.map(|v| v.loss),
                val_accuracy: validated.map(|v| v.accuracy),
                samples: seen,
                seconds: start.elapsed().as_secs_f64(),
            };
            history.epochs.push(log);
            for callback in callbacks.iter_mut() {
                stop |= callback.on_epoch_end(&log, &history, self) == Control::Stop;
            }
            if stop {
                break;
            }
        }
        for callback in callbacks.iter_mut() {
            callback.on_train_end(&history, self);
        }
        Ok(history)
    }

    /// The mean loss and the accuracy of the model on `x` and `y`, in batches of `batch_size`.
    ///
    /// # Errors
    /// As [`Sequential::fit`], for the data and the batch size.
    pub fn evaluate<X: Features<F> + ?Sized>(
        &mut self,
        x: &X,
        y: &Targets<F>,
        loss: &dyn Loss<F>,
        batch_size: usize,
    ) -> Result<Evaluation> {
        check_batch_size(batch_size)?;
        self.check_data(x, y)?;
        let all: Vec<usize> = (0..x.len()).collect();
        let evaluation = self.evaluate_indices(x, y, &all, loss, batch_size)?;
        if !evaluation.loss.is_finite() {
            let weights = match self.first_non_finite_weight() {
                Some(weight) => format!("the weight {weight} is"),
                None => "the inputs are".to_string(),
            };
            return Err(Error::Data(format!(
                "the loss is not finite ({}): {weights} not all finite",
                evaluation.loss
            )));
        }
        Ok(evaluation)
    }

    fn evaluate_indices<X: Features<F> + ?Sized>(
        &mut self,
        x: &X,
        y: &Targets<F>,
        indices: &[usize],
        loss: &dyn Loss<F>,
        batch_size: usize,
    ) -> Result<Evaluation> {
        check_batch_size(batch_size)?;
        let count = self.layers_before(loss);
        let mut target_buffer = TargetBuffer::default();
        let (mut loss_sum, mut correct) = (0.0, 0);
        for batch in indices.chunks(batch_size) {
            x.gather(batch, &mut self.activations[0])?;
            let targets = target_buffer.gather(y, batch)?;
            self.forward_layers(count, Mode::Infer)?;
            loss.check_classes(y.classes_count(), self.output_width(loss))?;
            let predictions = view2(self.activations[count].view(), "model output")?;
            loss_sum += loss.loss(predictions, targets, None)?.to_f64() * batch.len() as f64;
            correct += loss.correct(predictions, targets)?;
        }
        let samples = indices.len();
        Ok(Evaluation {
            loss: loss_sum / samples.max(1) as f64,
            accuracy: correct as f64 / samples.max(1) as f64,
            correct,
            samples,
        })
    }

    /// The model's output for every sample of `x` (per-class probabilities for a model that
    /// ends in Softmax), computed in batches of `batch_size`.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero batch size, [`Error::Data`] for an empty `x`,
    /// [`Error::Shape`] when `x` does not fit the layers (or a layer of your own returns a batch
    /// of another size).
    pub fn predict<X: Features<F> + ?Sized>(&mut self, x: &X, batch_size: usize) -> Result<Tensor<F>> {
        check_batch_size(batch_size)?;
        self.check_layers()?;
        if x.is_empty() {
            return Err(Error::Data("there are no samples to predict".into()));
        }
        let all: Vec<usize> = (0..x.len()).collect();
        let count = self.layers.len();
        let mut outputs: Option<ArrayD<F>> = None;
        let mut row = 0;
        for batch in all.chunks(batch_size) {
            x.gather(batch, &mut self.activations[0])?;
            self.forward_layers(count, Mode::Infer)?;
            let out = &self.activations[count];
            let all_out = match &mut outputs {
                Some(all_out) => all_out,
                None => {
                    let mut shape = out.shape().to_vec();
                    let Some(rows) = shape.first_mut() else {
                        return Err(Error::shape("model output needs a batch axis", &[batch.len()], &[]));
                    };
                    *rows = all.len();
                    check_shape::<F>("predictions", &shape)?;
                    outputs.insert(ArrayD::zeros(shape))
                }
            };
            let mut expected = all_out.shape().to_vec();
            if let Some(rows) = expected.first_mut() {
                *rows = batch.len();
            }
            if out.shape() != expected {
                return Err(Error::shape("model output", &expected, out.shape()));
            }
            all_out.slice_axis_mut(Axis(0), (row..row + batch.len()).into()).assign(out);
            row += batch.len();
        }
        // `x` is not empty, so there was a batch.
        outputs.map(Tensor::from_array).ok_or_else(|| Error::Data("there are no samples to predict".into()))
    }

    /// A table of the layers, their output shapes for one sample of `input_shape`, and their
    /// parameter counts, as Keras's `model.summary()` prints it.
    ///
    /// The shapes come from running the layers on a batch of one sample of zeros.
    ///
    /// # Errors
    /// [`Error::Shape`] when `input_shape` does not fit the layers; [`Error::Config`] naming
    /// `input_shape` when a sample of it is too large to allocate (more than `isize::MAX` bytes, or
    /// more than the allocator can provide), or naming the buffer of the pass that is (the output
    /// of a built-in layer, `relu output`, or the `batch shape` a Flatten passes on).
    pub fn summary(&mut self, input_shape: &[usize]) -> Result<String> {
        let mut shape = vec![1];
        shape.extend_from_slice(input_shape);
        self.activations[0] = try_array_from_fn("input_shape", IxDyn(&shape), F::zero)?;
        self.forward_layers(self.layers.len(), Mode::Infer)?;
        let mut text = format!("{:<16}{:<16}{:>10}\n", "Layer", "Output shape", "Params");
        let mut total = 0;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let params = layer.param_count();
            total += params;
            let out = format!("{:?}", self.activations[i + 1].shape().get(1..).unwrap_or_default());
            text += &format!("{:<16}{:<16}{:>10}\n", self.names[i], out, params);
        }
        text += &format!("Total params: {total}\n");
        Ok(text)
    }
}

fn check_batch_size(batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::Config { name: "batch_size", value: "0".into(), expected: "at least 1" });
    }
    Ok(())
}

/// The random numbers of epoch `epoch`, a function of the seed and the epoch alone.
fn epoch_rng(seed: u64, epoch: usize) -> StdRng {
    // Spread consecutive epochs far apart in the seed space (the 64-bit golden ratio).
    StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn empty<F: Float>() -> ArrayD<F> {
    ArrayD::zeros(vec![0])
}

/// Layer `i`'s output as the forward pass over the first `count` layers left it: in
/// `activations[i + 1]`, unless reshaping layers after it moved that buffer on, in which case
/// it is the buffer at the end of those moves, viewed under the layer's output shape (which the
/// moved-from slot keeps).
fn output_of<'a, F: Float>(
    layers: &[Box<dyn Layer<F>>],
    activations: &'a [ArrayD<F>],
    i: usize,
    count: usize,
) -> Result<ArrayViewD<'a, F>> {
    let mut at = i + 1;
    while at < count && layers[at].reshaped(activations[at].shape()).is_some() {
        at += 1;
    }
    let shape = activations[i + 1].raw_dim();
    activations[at]
        .view()
        .into_shape_with_order(shape)
        .map_err(|_| Error::shape("layer output", activations[i + 1].shape(), activations[at].shape()))
}

/// Moves the contents of `from` into `to` under `shape` (a reshaping layer's output, or its
/// input gradient), without copying: the buffers trade places, and `from` keeps its shape.
///
/// # Errors
/// [`Error::Config`] naming `batch shape` when either buffer must be allocated anew (the first
/// time a batch of this shape passes) and the memory cannot hold it.
fn pass_on<F: Float>(from: &mut ArrayD<F>, to: &mut ArrayD<F>, shape: &IxDyn) -> Result<()> {
    let from_shape = from.raw_dim();
    std::mem::swap(from, to);
    try_resize(to, shape.slice(), "batch shape")?;
    try_resize(from, from_shape.slice(), "batch shape")
}

impl<F: Float> Layer<F> for Sequential<F> {
    fn kind(&self) -> &'static str {
        "sequential"
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, mode: Mode) -> Result<()> {
        self.set_input(input);
        let count = self.layers.len();
        self.forward_layers(count, mode)?;
        resize(output, self.activations[count].shape());
        output.assign(&self.activations[count]);
        Ok(())
    }

    fn backward(
        &mut self,
        _input: ArrayViewD<F>,
        _output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        // The activations of the last forward pass are still in the model's own buffers.
        let count = self.layers.len();
        if grad_output.shape() != self.activations[count].shape() {
            return Err(Error::shape(
                "sequential gradient",
                self.activations[count].shape(),
                grad_output.shape(),
            ));
        }
        resize(&mut self.grads[count], grad_output.shape());
        self.grads[count].assign(&grad_output);
        self.backward_layers(count, grad_input.is_some(), false)?;
        if let Some(grad_input) = grad_input {
            resize(grad_input, self.grads[0].shape());
            grad_input.assign(&self.grads[0]);
        }
        Ok(())
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param<F>)) {
        for layer in &mut self.layers {
            layer.visit_params(visit);
        }
    }

    fn set_name(&mut self, prefix: &str) {
        for (layer, name) in self.layers.iter_mut().zip(&mut self.names) {
            *name = format!("{prefix}.{name}");
            layer.set_name(name);
        }
    }
}
