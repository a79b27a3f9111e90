//! The `ferronet` entry of a file's metadata: the architecture, written from a model and
//! rebuilt into one, and a checkpoint's training settings.

use ndarray::{Array1, Array2};
use serde_json::{Map, Value, json};

use crate::layers::{Activation, Dense, Flatten, Layer, ReLU, Sigmoid, Softmax};
use crate::model::{FitConfig, Sequential};
use crate::optim::AdamConfig;
use crate::tensor::Float;

/// The version of the layout described in the module docs; a file of a later one is refused.
pub(super) const FORMAT_VERSION: u64 = 1;

/// What the `ferronet` metadata entry says.
#[derive(Debug)]
pub(super) struct Description {
    /// The tensors' dtype as safetensors names it (`F32`, `F64`).
    pub dtype: String,
    /// One entry per layer: its kind and its settings.
    pub layers: Vec<(String, Vec<(String, f64)>)>,
    /// A checkpoint's training settings, `initial_epoch` being the epochs done.
    pub fit: Option<FitConfig>,
    /// A checkpoint's optimizer settings.
    pub optimizer: Option<AdamConfig>,
}

/// The JSON of a model's architecture: format version, dtype, and each layer's kind and settings.
pub(super) fn describe<F: Float>(model: &Sequential<F>, dtype: &str) -> Result<Map<String, Value>, String> {
    let mut layers = Vec::with_capacity(model.len());
    for (index, layer) in model.layers().iter().enumerate() {
        let kind = layer.kind();
        let mut entry = Map::new();
        entry.insert("kind".into(), kind.into());
        for (name, value) in layer.config() {
            if name == "kind" || !value.is_finite() {
                return Err(format!(
                    "layer {index} ({kind}) has a setting {name} = {value} that cannot be saved"
                ));
            }
            entry.insert(name.into(), number(value));
        }
        layers.push(Value::Object(entry));
    }
    let mut description = Map::new();
    description.insert("format_version".into(), FORMAT_VERSION.into());
    description.insert("dtype".into(), dtype.into());
    description.insert("layers".into(), layers.into());
    Ok(description)
}

/// Adds a checkpoint's training settings to a description.
pub(super) fn describe_training(description: &mut Map<String, Value>, fit: &FitConfig, adam: &AdamConfig) {
    let fit = json!({
        "epochs": fit.epochs,
        "batch_size": fit.batch_size,
        "validation_split": fit.validation_split,
        "shuffle": fit.shuffle,
        "seed": fit.seed,
        "initial_epoch": fit.initial_epoch,
    });
    let mut optimizer =
        json!({ "kind": "adam", "lr": adam.lr, "beta1": adam.beta1, "beta2": adam.beta2, "eps": adam.eps });
    // AdamW's decoupled weight decay; plain Adam's entry stays as it was.
    if adam.weight_decay != 0.0 {
        optimizer["weight_decay"] = adam.weight_decay.into();
    }
    description.insert("fit".into(), fit);
    description.insert("optimizer".into(), optimizer);
}

/// A whole number as a JSON integer (`784`, not `784.0`), anything else as a JSON float.
fn number(value: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer up to it is exact
    if value.fract() == 0.0 && value.abs() <= EXACT { (value as i64).into() } else { value.into() }
}

/// Reads the `ferronet` metadata entry.
pub(super) fn parse(text: &str) -> Result<Description, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("its ferronet metadata is not JSON: {e}"))?;
    let top = object(&value, "the ferronet metadata")?;
    let version = field(top, "format_version", "the ferronet metadata")?
        .as_u64()
        .ok_or("format_version is not a whole number")?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "it is in ferronet format {version}; this ferronet reads format {FORMAT_VERSION}"
        ));
    }
    let dtype =
        field(top, "dtype", "the ferronet metadata")?.as_str().ok_or("dtype is not a string")?.to_string();
    let entries = field(top, "layers", "the ferronet metadata")?.as_array().ok_or("layers is not a list")?;
    let mut layers = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let what = format!("layer {index}");
        let entry = object(entry, &what)?;
        let kind = field(entry, "kind", &what)?.as_str().ok_or(format!("{what}: kind is not a string"))?;
        let mut settings = Vec::new();
        for (name, value) in entry.iter().filter(|(name, _)| *name != "kind") {
            let value = value.as_f64().ok_or(format!("{what} ({kind}): {name} is not a number"))?;
            settings.push((name.clone(), value));
        }
        layers.push((kind.to_string(), settings));
    }
    let fit = top.get("fit").map(parse_fit).transpose()?;
    let optimizer = top.get("optimizer").map(parse_adam).transpose()?;
    Ok(Description { dtype, layers, fit, optimizer })
}

fn parse_fit(value: &Value) -> Result<FitConfig, String> {
    let what = "the checkpoint's fit settings";
    let fit = object(value, what)?;
    let count = |name: &str| -> Result<usize, String> {
        let n = field(fit, name, what)?.as_u64().ok_or(format!("{what}: {name} is not a whole number"))?;
        usize::try_from(n).map_err(|_| format!("{what}: {name} = {n} is too large"))
    };
    let split = field(fit, "validation_split", what)?
        .as_f64()
        .ok_or(format!("{what}: validation_split is not a number"))?;
    let shuffle =
        field(fit, "shuffle", what)?.as_bool().ok_or(format!("{what}: shuffle is not true or false"))?;
    let seed = field(fit, "seed", what)?.as_u64().ok_or(format!("{what}: seed is not a whole number"))?;
    Ok(FitConfig::default()
        .with_epochs(count("epochs")?)
        .with_batch_size(count("batch_size")?)
        .with_validation_split(split)
        .with_shuffle(shuffle)
        .with_seed(seed)
        .with_initial_epoch(count("initial_epoch")?))
}

fn parse_adam(value: &Value) -> Result<AdamConfig, String> {
    let what = "the checkpoint's optimizer";
    let adam = object(value, what)?;
    let kind = field(adam, "kind", what)?.as_str().unwrap_or("");
    if kind != "adam" {
        return Err(format!("{what} is `{kind}`; ferronet checkpoints hold Adam"));
    }
    let number =
        |name: &str| field(adam, name, what)?.as_f64().ok_or(format!("{what}: {name} is not a number"));
    // AdamW's decoupled weight decay; absent for plain Adam.
    let weight_decay = if adam.contains_key("weight_decay") { number("weight_decay")? } else { 0.0 };
    Ok(AdamConfig::default()
        .with_lr(number("lr")?)
        .with_beta1(number("beta1")?)
        .with_beta2(number("beta2")?)
        .with_eps(number("eps")?)
        .with_weight_decay(weight_decay))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value.as_object().ok_or(format!("{what} is not a JSON object"))
}

fn field<'a>(object: &'a Map<String, Value>, name: &str, what: &str) -> Result<&'a Value, String> {
    object.get(name).ok_or(format!("{what} has no {name}"))
}

/// What can go wrong in rebuilding one layer.
pub(super) enum BuildError {
    /// The kind is not one ferronet builds.
    UnknownKind,
    /// The settings do not fit the kind, or ask for more values than the file holds.
    Settings(String),
}

/// Builds a layer of `kind` with `settings`, its parameters zero (loading fills them in).
///
/// `budget` is how many more parameter values the file holds; a layer asking for more is
/// refused before anything is allocated, so a corrupted size cannot exhaust the memory.
/// The kinds are those of [`crate::layers`]: `flatten`, `dense(inputs, outputs)`, `relu`, `softmax`.
pub(super) fn build<F: Float>(
    kind: &str,
    settings: &[(String, f64)],
    budget: &mut usize,
) -> Result<Box<dyn Layer<F>>, BuildError> {
    let expect = |names: &[&str]| -> Result<(), BuildError> {
        match settings.iter().find(|(name, _)| !names.contains(&name.as_str())) {
            Some((name, _)) => Err(BuildError::Settings(format!("{kind} has no setting `{name}`"))),
            None => Ok(()),
        }
    };
    Ok(match kind {
        "flatten" => expect(&[]).map(|()| Box::new(Flatten::new()) as Box<dyn Layer<F>>)?,
        "relu" => expect(&[]).map(|()| Box::new(ReLU::new()) as Box<dyn Layer<F>>)?,
        "softmax" => expect(&[]).map(|()| Box::new(Softmax::new()) as Box<dyn Layer<F>>)?,
        "sigmoid" => expect(&[]).map(|()| Box::new(Sigmoid::new()) as Box<dyn Layer<F>>)?,
        "dense" => {
            expect(&["inputs", "outputs", "relu"])?;
            let activation = match settings.iter().find(|(name, _)| name == "relu").map(|&(_, v)| v) {
                None => Activation::Linear,
                Some(1.0) => Activation::Relu,
                Some(v) => return Err(BuildError::Settings(format!("dense relu = {v} is not 1"))),
            };
            let (inputs, outputs) = (size(kind, settings, "inputs")?, size(kind, settings, "outputs")?);
            let values = inputs.checked_mul(outputs).and_then(|n| n.checked_add(outputs));
            match values {
                Some(n) if n <= *budget => *budget -= n,
                _ => {
                    return Err(BuildError::Settings(format!(
                        "dense(inputs={inputs}, outputs={outputs}) needs more values than the file holds"
                    )));
                }
            }
            let dense = Dense::from_weights(Array2::zeros((inputs, outputs)), Array1::zeros(outputs))
                .map_err(|e| BuildError::Settings(e.to_string()))?
                .with_activation(activation);
            Box::new(dense)
        }
        _ => return Err(BuildError::UnknownKind),
    })
}

/// A size setting: a whole number, at least 1.
fn size(kind: &str, settings: &[(String, f64)], name: &str) -> Result<usize, BuildError> {
    let value = settings.iter().find(|(n, _)| n == name).map(|&(_, v)| v);
    match value {
        Some(v) if v >= 1.0 && v.fract() == 0.0 && v <= u32::MAX as f64 => Ok(v as usize),
        Some(v) => {
            Err(BuildError::Settings(format!("{kind} {name} = {v} is not a whole number of at least 1")))
        }
        None => Err(BuildError::Settings(format!("{kind} has no {name}"))),
    }
}
