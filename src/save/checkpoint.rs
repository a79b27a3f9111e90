//! [`Checkpoint`]: a model, its optimizer and the position of training, saved between two
//! epochs so that training resumes exactly.

use std::path::Path;

use ndarray::ArrayD;
use safetensors::{Dtype, SafeTensors};
use serde_json::Map;

use super::architecture::Description;
use super::{
    Bytes, LoadOptions, OPTIMIZER_PREFIX, SavedFile, Training, assign, atomic, dtype_of, encode, model_file,
    slots, to_bytes,
};
use crate::error::{Error, Result};
use crate::model::{FitConfig, Sequential};
use crate::optim::{Adam, AdamConfig, AdamState, check_state};
use crate::tensor::Float;

/// A training run stopped between two epochs: the model, the Adam optimizer with its state,
/// and the settings of the run with the number of epochs done. Saved, loaded and trained on,
/// it gives bit for bit the weights the run would have reached without stopping.
///
/// # What a checkpoint holds, and why that is enough
/// - **The weights**, as [`Sequential::save`] writes them (so [`Sequential::load`] reads a
///   checkpoint as a model).
/// - **Adam's state** for each parameter, under the parameter's ferronet name and in ferronet's
///   layout: `optimizer.dense_1.weight.m` and `.v` (the raw moment estimates, of the model's
///   dtype and the parameter's shape) and `.step` (an I64 scalar, the step count `t`).
///   [`Adam::set_state`] checks them against the model's names and shapes.
/// - **The position of training**: the [`FitConfig`] of the run (epochs, batch size,
///   validation split, shuffle, seed) with `initial_epoch` set to the epochs done, and Adam's
///   hyper-parameters, in the file's `ferronet` metadata entry as `"fit"` and `"optimizer"`.
///
/// No random-number state is stored because there is none to store: [`Sequential::fit`]
/// draws epoch `e`'s order from a generator seeded with `(seed, e)` alone, so the seed and
/// the number of epochs done fix every later epoch. Nothing else in a step is random.
/// Callbacks keep their own state ([`EarlyStopping`](crate::callbacks::EarlyStopping)'s
/// best value, for one), which a checkpoint does not hold.
///
/// # Example
/// ```
/// use ferronet::data::Targets;
/// use ferronet::layers::{Dense, ReLU, Softmax};
/// use ferronet::loss::SoftmaxCrossEntropy;
/// use ferronet::optim::{Adam, AdamConfig};
/// use ferronet::{Checkpoint, FitConfig, Sequential, Tensor};
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let x = Tensor::from_shape_vec(&[4, 2], vec![1.0f32, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0])?;
/// let y = Targets::classes(&[0, 0, 1, 1], 2)?;
/// let mut rng = StdRng::seed_from_u64(42);
/// let mut model = Sequential::new()
///     .add(Dense::new(2, 8, &mut rng)?)
///     .add(ReLU::new())
///     .add(Dense::new(8, 2, &mut rng)?)
///     .add(Softmax::new());
/// let mut adam = Adam::new(AdamConfig::default())?;
/// let config = FitConfig::default().with_epochs(10).with_batch_size(2).with_seed(7);
/// let path = std::env::temp_dir().join("ferronet-doc-checkpoint.safetensors");
///
/// // Train 4 of the 10 epochs, and save.
/// model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam, &config.with_epochs(4))?;
/// Checkpoint::save(&path, &mut model, &adam, &config, 4)?;
///
/// // Later, perhaps in another process: the last 6.
/// let Checkpoint { mut model, mut optimizer, config } = Checkpoint::<f32>::load(&path)?;
/// assert_eq!((config.initial_epoch, config.epochs), (4, 10));
/// let history = model.fit(&x, &y, &SoftmaxCrossEntropy, &mut optimizer, &config)?;
/// assert_eq!(history.epochs[0].epoch, 5);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug)]
pub struct Checkpoint<F: Float = f32> {
    /// The model, rebuilt from the file.
    pub model: Sequential<F>,
    /// Adam, with the saved hyper-parameters and per-parameter state.
    pub optimizer: Adam<F>,
    /// The run's settings, `initial_epoch` being the epochs done: passed to
    /// [`Sequential::fit`] it trains the epochs that remain (raise `epochs` to train more).
    pub config: FitConfig,
}

impl<F: Float> Checkpoint<F> {
    /// Saves `model`, `optimizer` and the position of a run of `config` after `epochs_done`
    /// epochs to `path`, replacing the file whole or not at all, as [`Sequential::save`] does.
    ///
    /// See [`Checkpoint`] for an example.
    ///
    /// # Errors
    /// [`Error::Config`] when `epochs_done` is more than `config.epochs`;
    /// [`Error::OptimizerState`] when the optimizer's state is not for this model's parameters;
    /// [`Error::ModelFile`] when a weight or a moment estimate is not finite; [`Error::Io`]
    /// when the file cannot be written, the old one being left as it was.
    pub fn save(
        path: impl AsRef<Path>,
        model: &mut Sequential<F>,
        optimizer: &Adam<F>,
        config: &FitConfig,
        epochs_done: usize,
    ) -> Result<()> {
        let path = path.as_ref();
        if epochs_done > config.epochs {
            return Err(Error::Config {
                name: "epochs_done",
                value: epochs_done.to_string(),
                expected: "at most the run's epochs",
            });
        }
        if !optimizer.state().is_empty() {
            check_state(model, optimizer.state())?;
        }
        let mut tensors = Vec::with_capacity(3 * optimizer.state().len());
        for state in optimizer.state() {
            for (part, values) in [("m", &state.m), ("v", &state.v)] {
                let bytes = encode(values.view()).map_err(|(at, v)| {
                    model_file(
                        path,
                        format!("Adam's {part} for {} is {v:?} at {at:?}; nothing was saved", state.name),
                    )
                })?;
                tensors.push((format!("{OPTIMIZER_PREFIX}{}.{part}", state.name), bytes));
            }
            let step = i64::try_from(state.step).unwrap_or(i64::MAX);
            let step = Bytes { dtype: Dtype::I64, shape: Vec::new(), data: step.to_le_bytes().to_vec() };
            tensors.push((format!("{OPTIMIZER_PREFIX}{}.step", state.name), step));
        }
        let mut description = Map::new();
        super::architecture::describe_training(
            &mut description,
            &config.with_initial_epoch(epochs_done),
            optimizer.config(),
        );
        let bytes = to_bytes(model, path, Some(Training { description, tensors }))?;
        atomic::write(path, &bytes)
    }

    /// Loads a checkpoint written by [`Checkpoint::save`]: the model rebuilt from its
    /// architecture, Adam with its hyper-parameters and state, and the run's settings.
    ///
    /// The file must hold the precision of `F`: a checkpoint is for resuming exactly, which a
    /// conversion would defeat.
    ///
    /// # Errors
    /// As [`Sequential::load`]; [`Error::ModelFile`] when the file is a model but not a
    /// checkpoint, or its optimizer state is incomplete or of the wrong dtype;
    /// [`Error::OptimizerState`] when that state does not fit the model.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let file = SavedFile::read(path.as_ref())?;
        let tensors = file.tensors()?;
        let description = file.description()?;
        let (config, adam) = training::<F>(&file, &description)?;
        let exact = LoadOptions::default();
        let mut model = file.build(&description, &tensors, &exact)?;
        let values = file.weights(&mut model, &tensors, &exact)?;
        assign(&mut model, values);
        let state = optimizer_state(&file, &mut model, &tensors)?;
        let mut optimizer = Adam::new(adam)?;
        optimizer.set_state(&mut model, state)?;
        Ok(Checkpoint { model, optimizer, config })
    }

    /// Restores a checkpoint into a model built in code and an optimizer: the model's weights
    /// are replaced, and `optimizer` becomes the saved one (hyper-parameters and state, as
    /// PyTorch's `optimizer.load_state_dict` does). Returns the run's settings.
    ///
    /// Everything is checked before anything is changed: a model whose parameter names or
    /// shapes differ from the checkpoint's is an error, and the model and optimizer are then
    /// as they were.
    ///
    /// # Errors
    /// As [`Checkpoint::load`], and [`Sequential::load_weights`] for the model.
    pub fn restore(
        path: impl AsRef<Path>,
        model: &mut Sequential<F>,
        optimizer: &mut Adam<F>,
    ) -> Result<FitConfig> {
        let file = SavedFile::read(path.as_ref())?;
        let tensors = file.tensors()?;
        let description = file.description()?;
        let (config, adam) = training::<F>(&file, &description)?;
        let values = file.weights(model, &tensors, &LoadOptions::default())?;
        let state = optimizer_state(&file, model, &tensors)?;
        let mut restored = Adam::new(adam)?;
        restored.set_state(model, state)?;
        assign(model, values);
        *optimizer = restored;
        Ok(config)
    }
}

/// The run's settings and Adam's, from a checkpoint in `F`'s precision.
fn training<F: Float>(file: &SavedFile<'_>, description: &Description) -> Result<(FitConfig, AdamConfig)> {
    let (Some(config), Some(adam)) = (description.fit, description.optimizer) else {
        let reason =
            "is a model but not a checkpoint: it holds no training state (load it with Sequential::load)";
        return Err(model_file(file.path, reason));
    };
    if description.dtype != format!("{:?}", dtype_of::<F>()) {
        return Err(model_file(
            file.path,
            format!(
                "is a checkpoint in {}, and a checkpoint resumes only in its own precision, not {} \
                 (Sequential::load_with can convert the model alone)",
                description.dtype,
                F::NAME
            ),
        ));
    }
    Ok((config, adam))
}

/// Adam's state for each of the model's parameters, in order: none at all (a checkpoint taken
/// before the first step) or all of it.
fn optimizer_state<F: Float>(
    file: &SavedFile<'_>,
    model: &mut Sequential<F>,
    tensors: &SafeTensors<'_>,
) -> Result<Vec<AdamState<F>>> {
    let stored = tensors.names().into_iter().filter(|n| n.starts_with(OPTIMIZER_PREFIX)).count();
    if stored == 0 {
        return Ok(Vec::new());
    }
    let slots = slots(model).map_err(|e| model_file(file.path, e))?;
    if stored != 3 * slots.len() {
        return Err(model_file(
            file.path,
            format!(
                "holds {stored} optimizer tensors; a model of {} parameters needs {}",
                slots.len(),
                3 * slots.len()
            ),
        ));
    }
    let exact = LoadOptions::default();
    let mut state = Vec::with_capacity(slots.len());
    for slot in &slots {
        let tensor = |part: &str| {
            let name = format!("{OPTIMIZER_PREFIX}{}.{part}", slot.param);
            tensors.tensor(&name).map(|view| (name.clone(), view)).map_err(|_| {
                model_file(file.path, format!("missing tensor {name}: Adam's state for {}", slot.param))
            })
        };
        let (m_name, m) = tensor("m")?;
        let (v_name, v) = tensor("v")?;
        let (step_name, step) = tensor("step")?;
        let m: ArrayD<F> = file.decode(&m_name, &m, &exact)?;
        let v: ArrayD<F> = file.decode(&v_name, &v, &exact)?;
        let step = match (step.dtype(), step.shape(), step.data()) {
            (Dtype::I64, [], &[b0, b1, b2, b3, b4, b5, b6, b7]) => {
                u64::try_from(i64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7])).ok()
            }
            _ => None,
        };
        let Some(step) = step else {
            return Err(model_file(
                file.path,
                format!("tensor {step_name} is not a step count (an I64 scalar, 0 or more)"),
            ));
        };
        state.push(AdamState { name: slot.param.clone(), m, v, step });
    }
    Ok(state)
}
