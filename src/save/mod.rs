//! Saving and loading models and checkpoints as [safetensors](https://huggingface.co/docs/safetensors),
//! the format PyTorch, candle and numpy read: [`Sequential::save`], [`Sequential::load`],
//! [`Sequential::load_weights`] and [`Checkpoint`].
//!
//! # The file
//! A safetensors file is an 8-byte little-endian header length, a JSON header naming each
//! tensor's dtype, shape and place, then the tensors' bytes, row-major and little-endian.
//!
//! - **Tensor names** are those of a PyTorch `nn.Sequential`'s `state_dict()`: the layer's
//!   position in the model from 0, a dot, the parameter (`1.weight`, `1.bias`, `3.weight`, ...).
//!   Layers without parameters (Flatten, ReLU, Softmax) keep their position, so the numbers are
//!   those of an `nn.Sequential` of the same modules. A Dense with a ReLU takes two positions,
//!   as `nn.Linear` and `nn.ReLU` do, so Keras's form of the tutorial network
//!   (`Dense(128, activation="relu")`) and PyTorch's name their tensors alike.
//! - **Layout**: a Dense weight, `[in, out]` in ferronet, is stored transposed, `[out, in]`, as
//!   `nn.Linear` keeps it; it is transposed back on loading.
//! - **Precision**: an `f32` model is stored as `F32` tensors, an `f64` model as `F64`. Loading
//!   one into the other is an [`Error::Precision`] unless [`LoadOptions::convert`] asks for it.
//! - **Metadata**: `__metadata__` holds one entry, `ferronet`, whose value is JSON recording
//!   the format version, the dtype and each layer's kind and settings, from which
//!   [`Sequential::load`] rebuilds the model:
//!
//! ```text
//! {"dtype":"F32","format_version":1,"layers":[{"kind":"flatten"},
//!  {"inputs":784,"kind":"dense","outputs":128},{"kind":"relu"}, ... ,{"kind":"softmax"}]}
//! ```
//!
//! A single entry, with its keys in a fixed order, makes the same model save to the same bytes
//! (safetensors writes the metadata from a hash map, whose order changes from run to run).
//!
//! In PyTorch, with the modules in the same order:
//!
//! ```python
//! model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
//!                       nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
//! model.load_state_dict(safetensors.torch.load_file("mnist.safetensors"))
//! ```
//!
//! A file written by PyTorch (`safetensors.torch.save_file(model.state_dict(), path)`) has no
//! `ferronet` entry: [`Sequential::load_weights`] fills a model built in code from it.
//!
//! A [`Checkpoint`] file is a model file with Adam's state added, and training settings in the
//! `ferronet` entry; see there.
//!
//! # No lost work
//! Saving writes a temporary file in the target's directory, flushes it and syncs it to the
//! disk, renames it over the target, then syncs the directory. An error or a crash at any
//! moment leaves the old file or the new one, whole, never a mixture. Weights that are not
//! finite are refused before anything is written. Loading reads the whole file and checks
//! every name, shape, dtype and value before changing the model: a truncated, corrupted or
//! foreign file is an error naming the file and the problem, and leaves the model as it was.

mod architecture;
mod atomic;
mod checkpoint;

pub use checkpoint::Checkpoint;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors, View};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::layers::Layer;
use crate::model::Sequential;
use crate::tensor::Float;
use architecture::{BuildError, Description};

/// The metadata key under which ferronet describes the model.
const METADATA_KEY: &str = "ferronet";

/// The prefix of a checkpoint's optimizer tensors, which a model's own names never start with.
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// How [`Sequential::load_with`] and [`Sequential::load_weights_with`] treat a file.
/// The default, [`LoadOptions::default`], converts nothing.
///
/// ```no_run
/// use ferronet::{LoadOptions, Sequential};
///
/// // An f32 model from a file saved by an f64 one: every weight is rounded to f32.
/// let model = Sequential::<f32>::load_with("model64.safetensors", &LoadOptions::default().with_convert(true))?;
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Whether tensors of the other precision are converted to the model's: F64 values rounded
    /// to nearest into an `f32` model (a value beyond `f32`'s range is then an error), F32
    /// values widened exactly into an `f64` one. Off by default: such a file is an
    /// [`Error::Precision`].
    pub convert: bool,
}

impl LoadOptions {
    /// Sets `convert`.
    pub fn with_convert(self, convert: bool) -> Self {
        LoadOptions { convert }
    }
}

/// The dtype an `F` model is saved as.
fn dtype_of<F: Float>() -> Dtype {
    if size_of::<F>() == size_of::<f32>() { Dtype::F32 } else { Dtype::F64 }
}

fn model_file(path: &Path, reason: impl Into<String>) -> Error {
    Error::ModelFile { path: path.to_path_buf(), reason: reason.into() }
}

impl<F: Float> Sequential<F> {
    /// Saves the model to `path` as safetensors: its weights, named as PyTorch's
    /// `nn.Sequential` names them, and its architecture, so that [`Sequential::load`] rebuilds
    /// it and PyTorch's `load_state_dict` reads it. See [the module docs](crate::save) for the
    /// layout.
    ///
    /// The file is replaced whole or not at all: the bytes go to a temporary file beside it,
    /// synced to the disk, then renamed over it. The model is not changed (`&mut` only because
    /// layers lend their parameters through [`Layer::visit_params`]).
    ///
    /// ```
    /// use ferronet::layers::{Dense, Flatten, ReLU, Softmax};
    /// use ferronet::Sequential;
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// let mut rng = StdRng::seed_from_u64(42);
    /// let mut model = Sequential::<f32>::new()
    ///     .add(Flatten::new())
    ///     .add(Dense::new(784, 128, &mut rng)?)
    ///     .add(ReLU::new())
    ///     .add(Dense::new(128, 10, &mut rng)?)
    ///     .add(Softmax::new());
    /// let path = std::env::temp_dir().join("ferronet-doc-save.safetensors");
    /// model.save(&path)?;
    ///
    /// let mut again = Sequential::<f32>::load(&path)?;
    /// assert_eq!(again.layer_names(), model.layer_names());
    /// assert_eq!(again.summary(&[28, 28])?, model.summary(&[28, 28])?);
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), ferronet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ModelFile`] when a weight is NaN or infinite (nothing is written then);
    /// [`Error::Io`] when the file cannot be written, the old one being left as it was.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = to_bytes(self, path, None)?;
        atomic::write(path, &bytes)
    }

    /// Loads a model saved by [`Sequential::save`] (or a [`Checkpoint`]): rebuilds its layers
    /// from the file's metadata and fills in their weights. The file must hold the model's
    /// precision; [`Sequential::load_with`] can convert.
    ///
    /// See [`Sequential::save`] for an example.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Safetensors`] when it is not a
    /// safetensors file (truncated, corrupted, another format); [`Error::ModelFile`] when it
    /// has no ferronet metadata (a file from elsewhere: build the model in code and use
    /// [`Sequential::load_weights`]) or its tensors do not fit its architecture, or hold a
    /// value that is not finite; [`Error::UnknownLayer`] for a kind of layer ferronet cannot
    /// build; [`Error::Precision`] for tensors of the other precision.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// [`Sequential::load`], with options.
    ///
    /// # Errors
    /// As [`Sequential::load`].
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self> {
        let file = SavedFile::read(path.as_ref())?;
        let tensors = file.tensors()?;
        let description = file.description()?;
        let mut model = file.build(&description, &tensors, options)?;
        let values = file.weights(&mut model, &tensors, options)?;
        assign(&mut model, values);
        Ok(model)
    }

    /// Fills the model's weights from a safetensors file: one saved by ferronet, or a PyTorch
    /// `nn.Sequential`'s `state_dict` saved with `safetensors.torch.save_file`.
    ///
    /// Every parameter must be in the file under its PyTorch name (`{position}.{name}`) with
    /// its shape (a Dense weight as `[out, in]`) and the model's dtype, and the file must hold
    /// nothing else (a checkpoint's optimizer state aside). Everything is checked before
    /// anything is changed: on error the model is as it was.
    ///
    /// ```no_run
    /// use ferronet::layers::{Dense, Flatten, ReLU, Softmax};
    /// use ferronet::Sequential;
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// // PyTorch: nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let mut model = Sequential::<f32>::new()
    ///     .add(Flatten::new())
    ///     .add(Dense::new(784, 128, &mut rng)?)
    ///     .add(ReLU::new())
    ///     .add(Dense::new(128, 10, &mut rng)?)
    ///     .add(Softmax::new());
    /// model.load_weights("from_pytorch.safetensors")?;
    /// # Ok::<(), ferronet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Safetensors`] and [`Error::Precision`] as [`Sequential::load`];
    /// [`Error::ModelFile`] naming every missing, unexpected or misshapen tensor, or a value
    /// that is not finite.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.load_weights_with(path, &LoadOptions::default())
    }

    /// [`Sequential::load_weights`], with options.
    ///
    /// # Errors
    /// As [`Sequential::load_weights`].
    pub fn load_weights_with(&mut self, path: impl AsRef<Path>, options: &LoadOptions) -> Result<()> {
        let file = SavedFile::read(path.as_ref())?;
        let tensors = file.tensors()?;
        let values = file.weights(self, &tensors, options)?;
        assign(self, values);
        Ok(())
    }
}

/// One parameter of a model and the tensor that holds it in a file.
struct Slot {
    /// The name in the file, `{position}.{parameter}`.
    file_name: String,
    /// The parameter's name in the model, `dense_1.weight`.
    param: String,
    /// The shape in the model.
    shape: Vec<usize>,
    /// Whether the file holds the transpose (a Dense weight).
    transposed: bool,
}

impl Slot {
    fn file_shape(&self) -> Vec<usize> {
        let mut shape = self.shape.clone();
        if self.transposed {
            shape.reverse();
        }
        shape
    }
}

/// The model's parameters, in the order they are visited, with their names in a file.
fn slots<F: Float>(model: &mut Sequential<F>) -> std::result::Result<Vec<Slot>, String> {
    // Positions as PyTorch counts them: a Dense with a ReLU is `nn.Linear` and `nn.ReLU`.
    let mut next = 0;
    let layers: Vec<(usize, String, &'static str)> = model
        .layer_names()
        .iter()
        .zip(model.layers())
        .map(|(name, layer)| {
            let position = next;
            next += layer.torch_modules();
            (position, name.clone(), layer.kind())
        })
        .collect();
    let mut slots = Vec::new();
    let mut problem = None;
    model.visit_params(&mut |p| {
        // A layer's parameters are named `{layer name}.{parameter}` (Sequential::push sees to it).
        let owner = layers.iter().find_map(|(position, name, kind)| {
            let local = p.name.strip_prefix(name.as_str())?.strip_prefix('.')?;
            Some((*position, *kind, local))
        });
        match owner {
            Some((position, kind, local)) => slots.push(Slot {
                file_name: format!("{position}.{local}"),
                param: p.name.clone(),
                shape: p.value.shape().to_vec(),
                transposed: kind == "dense" && local == "weight" && p.value.ndim() == 2,
            }),
            None => problem = Some(format!("parameter {} is not named after any layer of the model", p.name)),
        }
    });
    problem.map_or(Ok(slots), Err)
}

/// A tensor on its way into a file: its bytes in the file's dtype and layout.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// `values` in row-major order as `F`'s dtype, little-endian; or the first value that is not
/// finite, with its index.
fn encode<F: Float>(values: ArrayViewD<F>) -> std::result::Result<Bytes, (Vec<usize>, F)> {
    if let Some((at, &v)) = values.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err((ndarray::Dimension::slice(&at).to_vec(), v));
    }
    let dtype = dtype_of::<F>();
    let mut data = Vec::with_capacity(values.len() * size_of::<F>());
    for &v in values.iter() {
        match dtype {
            // Exact: an F of 4 bytes is an f32.
            Dtype::F32 => data.extend_from_slice(&(v.to_f64() as f32).to_le_bytes()),
            _ => data.extend_from_slice(&v.to_f64().to_le_bytes()),
        }
    }
    Ok(Bytes { dtype, shape: values.shape().to_vec(), data })
}

/// What a checkpoint adds to a model file.
struct Training {
    /// Entries of the `ferronet` metadata: `fit` and `optimizer`.
    description: Map<String, Value>,
    /// The optimizer's tensors.
    tensors: Vec<(String, Bytes)>,
}

/// A whole file's bytes: the model's weights and architecture, and a checkpoint's `training`.
fn to_bytes<F: Float>(model: &mut Sequential<F>, path: &Path, training: Option<Training>) -> Result<Vec<u8>> {
    // `load` refuses a file without layers, so one is never written.
    if model.is_empty() {
        return Err(model_file(path, "the model has no layers; nothing was saved"));
    }
    let dtype = format!("{:?}", dtype_of::<F>());
    let mut description = architecture::describe(model, &dtype).map_err(|e| model_file(path, e))?;
    check_rebuilds(model).map_err(|e| model_file(path, format!("{e}; nothing was saved")))?;
    let slots = slots(model).map_err(|e| model_file(path, e))?;
    let mut tensors = Vec::with_capacity(slots.len());
    let mut problem = None;
    let mut index = 0;
    model.visit_params(&mut |p| {
        let Some(slot) = slots.get(index) else { return };
        index += 1;
        let values = if slot.transposed { p.value.t() } else { p.value.view() };
        match encode(values) {
            Ok(bytes) => tensors.push((slot.file_name.clone(), bytes)),
            Err((mut at, v)) if problem.is_none() => {
                if slot.transposed {
                    at.reverse();
                }
                problem = Some(format!("parameter {} is {v:?} at {at:?}; nothing was saved", p.name));
            }
            Err(_) => {}
        }
    });
    if let Some(problem) = problem {
        return Err(model_file(path, problem));
    }
    if let Some(training) = training {
        description.extend(training.description);
        tensors.extend(training.tensors);
    }
    let metadata = HashMap::from([(METADATA_KEY.to_string(), Value::Object(description).to_string())]);
    safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| model_file(path, format!("cannot be written: {e}")))
}

/// Saves only what `load` reads back: every layer that `load` can rebuild from its kind and
/// settings must come back with parameters of the shapes the model's have (they are public, so
/// they may have been replaced by arrays of other shapes, or built with a zero size).
fn check_rebuilds<F: Float>(model: &mut Sequential<F>) -> std::result::Result<(), String> {
    let mut shapes = HashMap::new();
    model.visit_params(&mut |p| {
        shapes.insert(p.name.clone(), p.value.shape().to_vec());
    });
    for (index, (name, layer)) in model.layer_names().iter().zip(model.layers()).enumerate() {
        let kind = layer.kind();
        let settings: Vec<(String, f64)> =
            layer.config().into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        let mut no_limit = usize::MAX;
        let mut rebuilt = match architecture::build::<F>(kind, &settings, &mut no_limit) {
            Ok(rebuilt) => rebuilt,
            // A layer of the user's own: `load` cannot rebuild it, `load_weights` can fill it.
            Err(BuildError::UnknownKind) => continue,
            Err(BuildError::Settings(reason)) => return Err(format!("layer {index} ({kind}): {reason}")),
        };
        let mut problem = None;
        rebuilt.visit_params(&mut |p| {
            let local = p.name.rsplit('.').next().unwrap_or_default();
            let param = format!("{name}.{local}");
            match shapes.get(&param) {
                Some(shape) if shape == p.value.shape() => {}
                found if problem.is_none() => {
                    let found = found.map_or("missing".to_string(), |shape| format!("{shape:?}"));
                    problem = Some(format!(
                        "{param} is {found}, but {kind} {settings:?} needs {:?}",
                        p.value.shape()
                    ));
                }
                _ => {}
            }
        });
        if let Some(problem) = problem {
            return Err(problem);
        }
    }
    Ok(())
}

/// A file read whole into memory.
struct SavedFile<'a> {
    path: &'a Path,
    bytes: Vec<u8>,
}

impl<'a> SavedFile<'a> {
    fn read(path: &'a Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Ok(SavedFile { path, bytes })
    }

    fn path(&self) -> PathBuf {
        self.path.to_path_buf()
    }

    /// The tensors, once the header and the offsets have been checked.
    fn tensors(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.bytes)
            .map_err(|e| Error::Safetensors { path: self.path(), reason: e.to_string() })
    }

    /// The `ferronet` metadata entry.
    fn description(&self) -> Result<Description> {
        let (_, header) = SafeTensors::read_metadata(&self.bytes)
            .map_err(|e| Error::Safetensors { path: self.path(), reason: e.to_string() })?;
        let Some(text) = header.metadata().as_ref().and_then(|m| m.get(METADATA_KEY)) else {
            return Err(model_file(
                self.path,
                "has no ferronet metadata, so the model cannot be rebuilt from it \
                 (a file from elsewhere?): build the model in code and use load_weights",
            ));
        };
        architecture::parse(text).map_err(|e| model_file(self.path, e))
    }

    /// A model of the described layers, its weights zero.
    fn build<F: Float>(
        &self,
        description: &Description,
        tensors: &SafeTensors<'_>,
        options: &LoadOptions,
    ) -> Result<Sequential<F>> {
        if !matches!(description.dtype.as_str(), "F32" | "F64") {
            let reason = format!("its dtype {} is not one ferronet reads (F32, F64)", description.dtype);
            return Err(model_file(self.path, reason));
        }
        let model_dtype = format!("{:?}", dtype_of::<F>());
        if description.dtype != model_dtype && !options.convert {
            return Err(self.precision::<F>(&description.dtype));
        }
        if description.layers.is_empty() {
            return Err(model_file(self.path, "its architecture has no layers"));
        }
        // No layer may ask for more values than the file holds: a corrupted size is refused
        // before it is allocated.
        let mut budget: usize = tensors.iter().map(|(_, t)| t.shape().iter().product::<usize>()).sum();
        let mut model = Sequential::new();
        for (index, (kind, settings)) in description.layers.iter().enumerate() {
            match architecture::build(kind, settings, &mut budget) {
                Ok(layer) => model.push(layer),
                Err(BuildError::UnknownKind) => {
                    return Err(Error::UnknownLayer { path: self.path(), index, kind: kind.clone() });
                }
                Err(BuildError::Settings(reason)) => {
                    return Err(model_file(self.path, format!("layer {index}: {reason}")));
                }
            }
        }
        Ok(model)
    }

    fn precision<F: Float>(&self, found: &str) -> Error {
        Error::Precision { path: self.path(), file: found.to_string(), model: F::NAME }
    }

    /// The model's new weights, in the order its parameters are visited, each checked against
    /// the file: present, of the right shape and dtype, finite; and no tensor left over (but a
    /// checkpoint's optimizer state).
    fn weights<F: Float>(
        &self,
        model: &mut Sequential<F>,
        tensors: &SafeTensors<'_>,
        options: &LoadOptions,
    ) -> Result<Vec<ArrayD<F>>> {
        let slots = slots(model).map_err(|e| model_file(self.path, e))?;
        let mut problems = Vec::new();
        for slot in &slots {
            match tensors.tensor(&slot.file_name) {
                Err(_) => problems
                    .push(format!("missing tensor {} for {} {:?}", slot.file_name, slot.param, slot.shape)),
                Ok(view) if view.shape() != slot.file_shape() => problems.push(format!(
                    "tensor {} is {:?}, but {} needs {:?}{}",
                    slot.file_name,
                    view.shape(),
                    slot.param,
                    slot.file_shape(),
                    if slot.transposed { " ([out, in], as nn.Linear)" } else { "" }
                )),
                Ok(_) => {}
            }
        }
        let expected: HashSet<&str> = slots.iter().map(|s| s.file_name.as_str()).collect();
        // A checkpoint's optimizer state is read by Checkpoint::load; in any other file it is unexpected.
        let checkpoint = self.description().is_ok_and(|d| d.optimizer.is_some());
        let belongs =
            |name: &str| expected.contains(name) || (checkpoint && name.starts_with(OPTIMIZER_PREFIX));
        let mut unexpected: Vec<&str> = tensors.names().into_iter().filter(|name| !belongs(name)).collect();
        unexpected.sort_unstable();
        for name in unexpected {
            problems.push(format!("unexpected tensor {name}: the model has no parameter for it"));
        }
        if !problems.is_empty() {
            return Err(model_file(self.path, format!("does not fit the model: {}", problems.join("; "))));
        }
        let mut values = Vec::with_capacity(slots.len());
        for slot in &slots {
            let view = tensors.tensor(&slot.file_name).map_err(|e| model_file(self.path, e.to_string()))?;
            let value = self.decode(&slot.file_name, &view, options)?;
            values.push(if slot.transposed { value.reversed_axes() } else { value });
        }
        Ok(values)
    }

    /// A tensor's values as `F`, checked to be of the model's dtype (or converted) and finite.
    fn decode<F: Float>(
        &self,
        name: &str,
        view: &TensorView<'_>,
        options: &LoadOptions,
    ) -> Result<ArrayD<F>> {
        let found = view.dtype();
        if found != dtype_of::<F>() && !(options.convert && matches!(found, Dtype::F32 | Dtype::F64)) {
            return Err(match found {
                Dtype::F32 | Dtype::F64 => self.precision::<F>(&format!("{found:?}")),
                other => {
                    model_file(self.path, format!("tensor {name} is {other:?}; ferronet reads F32 and F64"))
                }
            });
        }
        let raw: Vec<f64> = match found {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
            _ => view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
        };
        let values: Vec<F> = raw.iter().map(|&v| F::from_f64(v)).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            let at = unravel(i, view.shape());
            let reason = if raw[i].is_finite() {
                format!("tensor {name} holds {} at {at:?}, beyond the range of {}", raw[i], F::NAME)
            } else {
                format!("tensor {name} holds {} at {at:?}; weights must be finite", raw[i])
            };
            return Err(model_file(self.path, reason));
        }
        ArrayD::from_shape_vec(IxDyn(view.shape()), values)
            .map_err(|e| model_file(self.path, format!("tensor {name}: {e}")))
    }
}

/// The index in `shape` of the `flat`-th element in row-major order.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut at = vec![0; shape.len()];
    for (i, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            at[i] = flat % n;
            flat /= n;
        }
    }
    at
}

/// Writes checked weights into the model, in the order its parameters are visited.
fn assign<F: Float>(model: &mut Sequential<F>, values: Vec<ArrayD<F>>) {
    let mut values = values.into_iter();
    model.visit_params(&mut |p| {
        if let Some(value) = values.next() {
            p.value.assign(&value);
        }
    });
}
