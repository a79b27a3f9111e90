//! Saving and loading models as safetensors: the file's names, layout and metadata, round
//! trips in f32 and f64, and every way a file can be wrong.
#![cfg(feature = "safetensors")]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ferronet::data::Targets;
use ferronet::layers::{Activation, Dense, Flatten, Layer, ReLU, Sigmoid, Softmax};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{Error, FitConfig, Float, LoadOptions, Sequential, Tensor};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tempfile::TempDir;

/// Flatten, Dense 4->3, ReLU, Dense 3->2, Softmax, with weights that are exact binary
/// fractions: dense_1's `W[i][j] = (3i + j + 1) / 8`, dense_2's `W[i][j] = (2i + j + 1) / 16`.
fn tiny<F: Float>() -> Sequential<F> {
    let f = F::from_f64;
    let w1 = Array2::from_shape_fn((4, 3), |(i, j)| f((3 * i + j + 1) as f64 / 8.0));
    let w2 = Array2::from_shape_fn((3, 2), |(i, j)| f((2 * i + j + 1) as f64 / 16.0));
    Sequential::new()
        .add(Flatten::new())
        .add(Dense::from_weights(w1, Array1::from(vec![f(-0.5), f(0.25), f(0.125)])).unwrap())
        .add(ReLU::new())
        .add(Dense::from_weights(w2, Array1::from(vec![f(0.0625), f(-0.0625)])).unwrap())
        .add(Softmax::new())
}

/// Flatten, Dense 4->hidden, ReLU, Dense hidden->2, Softmax, with Glorot weights from `seed`.
fn random(hidden: usize, seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Flatten::new())
        .add(Dense::new(4, hidden, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(hidden, 2, &mut rng).unwrap())
        .add(Softmax::new())
}

/// The tiny f64 model with its first weight 0.1, which no f32 holds.
fn tiny_with_a_tenth() -> Sequential<f64> {
    let mut model = tiny::<f64>();
    model.visit_params(&mut |p| {
        if p.name == "dense_1.weight" {
            p.value[[0, 0]] = 0.1;
        }
    });
    model
}

/// A path `name` in a fresh directory, removed when the guard is dropped.
fn scratch(name: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

/// `model` saved as `model.safetensors` in a fresh directory.
fn saved<F: Float>(mut model: Sequential<F>) -> (TempDir, PathBuf) {
    let (dir, path) = scratch("model.safetensors");
    model.save(&path).unwrap();
    (dir, path)
}

fn weights<F: Float>(model: &mut Sequential<F>) -> Vec<F> {
    let mut all = Vec::new();
    model.visit_params(&mut |p| all.extend(p.value.iter().copied()));
    all
}

fn inputs<F: Float>() -> Tensor<F> {
    let values = (0..12).map(|i| F::from_f64((i as f64 * 0.37).sin())).collect();
    Tensor::from_shape_vec(&[3, 2, 2], values).unwrap()
}

/// The tensors of a file, as f64, by name, with their dtypes and shapes.
fn read_tensors(path: &Path) -> HashMap<String, (Dtype, Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    file.iter()
        .map(|(name, view)| {
            let values = match view.dtype() {
                Dtype::F32 => {
                    view.data().chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64).collect()
                }
                Dtype::F64 => {
                    view.data().chunks(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
                }
                other => panic!("{name} is {other:?}"),
            };
            (name.to_string(), (view.dtype(), view.shape().to_vec(), values))
        })
        .collect()
}

/// Writes a safetensors file of F32 tensors, with `metadata` as the `ferronet` entry when given.
fn write_file(path: &Path, tensors: &[(&str, &[usize], &[f32])], metadata: Option<&str>) {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| (*name, TensorView::new(Dtype::F32, shape.to_vec(), data).unwrap()))
        .collect();
    let metadata = metadata.map(|m| HashMap::from([("ferronet".to_string(), m.to_string())]));
    std::fs::write(path, safetensors::serialize(views, metadata).unwrap()).unwrap();
}

const TINY_METADATA: &str = r#"{"dtype":"F32","format_version":1,"layers":[{"kind":"flatten"},{"inputs":4,"kind":"dense","outputs":3},{"kind":"relu"},{"inputs":3,"kind":"dense","outputs":2},{"kind":"softmax"}]}"#;

/// The tiny model's tensors as PyTorch names and lays them out.
fn tiny_tensors() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    let w1: Vec<f32> = (0..12).map(|k| ((k % 4) * 3 + k / 4 + 1) as f32 / 8.0).collect();
    let w2: Vec<f32> = (0..6).map(|k| ((k % 3) * 2 + k / 3 + 1) as f32 / 16.0).collect();
    vec![
        ("1.weight", vec![3, 4], w1),
        ("1.bias", vec![3], vec![-0.5, 0.25, 0.125]),
        ("3.weight", vec![2, 3], w2),
        ("3.bias", vec![2], vec![0.0625, -0.0625]),
    ]
}

fn write_tiny_with(
    path: &Path,
    change: impl FnOnce(&mut Vec<(&'static str, Vec<usize>, Vec<f32>)>),
    metadata: &str,
) {
    let mut tensors = tiny_tensors();
    change(&mut tensors);
    let borrowed: Vec<(&str, &[usize], &[f32])> =
        tensors.iter().map(|(n, s, v)| (*n, s.as_slice(), v.as_slice())).collect();
    write_file(path, &borrowed, Some(metadata));
}

#[test]
fn tensors_are_named_by_position_as_in_pytorch_with_dense_weights_transposed() {
    let (_dir, path) = saved(tiny::<f32>());
    let tensors = read_tensors(&path);
    let mut names: Vec<&str> = tensors.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["1.bias", "1.weight", "3.bias", "3.weight"]);
    for (name, shape, values) in tiny_tensors() {
        let values: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        assert_eq!(tensors[name], (Dtype::F32, shape, values), "{name}");
    }
    // Row 0 of PyTorch's [out, in] weight is column 0 of ferronet's [in, out]: 1/8, 4/8, 7/8, 10/8.
    assert_eq!(tensors["1.weight"].2[..4], [0.125, 0.5, 0.875, 1.25]);
}

#[test]
fn the_metadata_records_format_version_dtype_and_layers() {
    let (_dir, path) = saved(tiny::<f32>());
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata, HashMap::from([("ferronet".to_string(), TINY_METADATA.to_string())]));
}

#[test]
fn an_f32_model_round_trips_bit_for_bit() {
    let (_dir, path) = scratch("model.safetensors");
    let mut model = random(5, 3);
    model.save(&path).unwrap();
    let mut loaded = Sequential::<f32>::load(&path).unwrap();
    assert_eq!(loaded.layer_names(), ["flatten_1", "dense_1", "relu_1", "dense_2", "softmax_1"]);
    let bits = |w: Vec<f32>| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(weights(&mut loaded)), bits(weights(&mut model)));
    assert_eq!(loaded.predict(&inputs(), 3).unwrap(), model.predict(&inputs(), 3).unwrap());
}

// The ReLU of a Dense is a setting of its own, `"relu": 1`, written only when set, so the
// files of Dense layers without one are as they were.
#[test]
fn a_dense_with_relu_is_rebuilt_with_its_relu() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut model = Sequential::<f32>::new()
        .add(Flatten::new())
        .add(Dense::new(4, 5, &mut rng).unwrap().with_activation(Activation::Relu))
        .add(Dense::new(5, 2, &mut rng).unwrap())
        .add(Softmax::new());
    let (_dir, path) = scratch("relu.safetensors");
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = &header.metadata().as_ref().unwrap()["ferronet"];
    assert!(metadata.contains(r#"{"inputs":4,"kind":"dense","outputs":5,"relu":1}"#), "{metadata}");
    assert!(metadata.contains(r#"{"inputs":5,"kind":"dense","outputs":2}"#), "{metadata}");
    // The tensors are named as PyTorch's Flatten, Linear, ReLU, Linear, Softmax name them.
    let mut names: Vec<String> = read_tensors(&path).into_keys().collect();
    names.sort();
    assert_eq!(names, ["1.bias", "1.weight", "3.bias", "3.weight"]);
    let mut loaded = Sequential::<f32>::load(&path).unwrap();
    assert_eq!(loaded.layer_names(), ["flatten_1", "dense_1", "dense_2", "softmax_1"]);
    assert_eq!(loaded.predict(&inputs(), 3).unwrap(), model.predict(&inputs(), 3).unwrap());
}

#[test]
fn a_binary_model_ending_in_sigmoid_is_rebuilt_by_load() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut model = Sequential::<f32>::new()
        .add(Flatten::new())
        .add(Dense::new(4, 1, &mut rng).unwrap())
        .add(Sigmoid::new());
    let (_dir, path) = scratch("binary.safetensors");
    model.save(&path).unwrap();
    let mut loaded = Sequential::<f32>::load(&path).unwrap();
    assert_eq!(loaded.layer_names(), ["flatten_1", "dense_1", "sigmoid_1"]);
    assert_eq!(loaded.predict(&inputs(), 3).unwrap(), model.predict(&inputs(), 3).unwrap());
}

#[test]
fn an_f64_model_is_saved_as_f64_and_round_trips_bit_for_bit() {
    let mut model = tiny_with_a_tenth();
    let (_dir, path) = saved(tiny_with_a_tenth());
    assert!(read_tensors(&path).values().all(|(dtype, _, _)| *dtype == Dtype::F64));
    let mut loaded = Sequential::<f64>::load(&path).unwrap();
    assert_eq!(weights(&mut loaded)[0].to_bits(), 0.1f64.to_bits());
    assert_eq!(weights(&mut loaded), weights(&mut model));
}

#[test]
fn saving_the_same_model_twice_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    tiny::<f32>().save(&a).unwrap();
    tiny::<f32>().save(&b).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

/// 784*128 + 128 + 128*64 + 64 + 64*10 + 10 = 109,386 f32 values (437,544 bytes), the 8-byte
/// header length, and a 728-byte JSON header (752 with the ReLUs as layers of their own).
#[test]
fn a_saved_tutorial_model_takes_438_280_bytes() {
    let (_dir, path) = scratch("mnist.safetensors");
    common::tutorial_model(42).save(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 438_280);
    common::tutorial_model_with_relu_layers(42).save(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 438_304);
}

#[test]
fn load_weights_fills_a_model_built_in_code() {
    let (_dir, path) = saved(tiny::<f32>());
    let mut model = random(3, 0);
    model.load_weights(&path).unwrap();
    assert_eq!(weights(&mut model), weights(&mut tiny::<f32>()));
}

#[test]
fn load_weights_into_a_model_of_another_shape_names_each_tensor_and_changes_nothing() {
    let (_dir, path) = saved(tiny::<f32>());
    let mut model = random(5, 0);
    let before = weights(&mut model);
    let err = model.load_weights(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: does not fit the model: tensor 1.weight is [3, 4], but dense_1.weight needs [5, 4] \
             ([out, in], as nn.Linear); tensor 1.bias is [3], but dense_1.bias needs [5]; \
             tensor 3.weight is [2, 3], but dense_2.weight needs [2, 5] ([out, in], as nn.Linear)",
            path.display()
        )
    );
    assert_eq!(weights(&mut model), before);
}

#[test]
fn load_weights_names_missing_and_unexpected_tensors() {
    let (_dir, path) = saved(tiny::<f32>());
    // Dense 4->3 alone, at position 0 where the file has it at position 1.
    let mut shifted =
        Sequential::<f32>::new().add(Dense::from_weights(Array2::zeros((4, 3)), Array1::zeros(3)).unwrap());
    let err = shifted.load_weights(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: does not fit the model: missing tensor 0.weight for dense_1.weight [4, 3]; \
             missing tensor 0.bias for dense_1.bias [3]; \
             unexpected tensor 1.bias: the model has no parameter for it; \
             unexpected tensor 1.weight: the model has no parameter for it; \
             unexpected tensor 3.bias: the model has no parameter for it; \
             unexpected tensor 3.weight: the model has no parameter for it",
            path.display()
        )
    );
}

#[test]
fn an_f64_file_in_an_f32_model_is_a_precision_error() {
    let (_dir, path) = saved(tiny::<f64>());
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::Precision { file, model: "f32", .. } if file == "F64"), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: holds F64 tensors but the model is f32; \
             load with LoadOptions::default().with_convert(true) to convert them",
            path.display()
        )
    );
    let err = tiny::<f32>().load_weights(&path).unwrap_err();
    assert!(matches!(err, Error::Precision { .. }), "{err:?}");
}

#[test]
fn with_convert_an_f64_file_loads_into_an_f32_model_rounded_to_nearest() {
    let mut model = tiny_with_a_tenth();
    let (_dir, path) = saved(tiny_with_a_tenth());
    let convert = LoadOptions::default().with_convert(true);
    let mut loaded = Sequential::<f32>::load_with(&path, &convert).unwrap();
    let expected: Vec<f32> = weights(&mut model).iter().map(|&v| v as f32).collect();
    assert_eq!(weights(&mut loaded), expected);
    assert_eq!(weights(&mut loaded)[0], 0.1f32);
}

#[test]
fn with_convert_an_f32_file_loads_into_an_f64_model_exactly() {
    let (_dir, path) = saved(tiny::<f32>());
    let mut model = tiny::<f64>();
    model.visit_params(&mut |p| p.value.fill(0.0));
    let convert = LoadOptions::default().with_convert(true);
    model.load_weights_with(&path, &convert).unwrap();
    assert_eq!(weights(&mut model), weights(&mut tiny::<f64>()));
}

#[test]
fn every_truncation_of_a_file_is_a_safetensors_error_naming_it() {
    let (dir, path) = saved(tiny::<f32>());
    let whole = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.safetensors");
    for len in 0..whole.len() {
        std::fs::write(&cut, &whole[..len]).unwrap();
        let err = Sequential::<f32>::load(&cut).unwrap_err();
        assert!(matches!(err, Error::Safetensors { .. }), "{len} bytes: {err:?}");
        assert!(err.to_string().starts_with(&format!("{}: not a valid safetensors file: ", cut.display())));
    }
}

#[test]
fn a_file_with_any_byte_flipped_loads_or_is_an_error_never_a_panic() {
    let (dir, path) = saved(tiny::<f32>());
    let whole = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.safetensors");
    let mut errors = 0;
    for at in 0..whole.len() {
        let mut bytes = whole.clone();
        bytes[at] ^= 0xff;
        std::fs::write(&bad, &bytes).unwrap();
        if let Err(err) = Sequential::<f32>::load(&bad) {
            assert!(err.to_string().starts_with(&bad.display().to_string()), "{err}");
            errors += 1;
        }
    }
    // Every header byte matters; a flipped weight byte may still be a finite weight.
    assert!(errors >= whole.len() - 23 * 4, "{errors} errors in {} flips", whole.len());
}

#[test]
fn a_file_of_another_format_is_a_safetensors_error() {
    let path = Path::new("tests/data/bad_idx/good-labels-idx1-ubyte");
    let err = Sequential::<f32>::load(path).unwrap_err();
    assert!(matches!(err, Error::Safetensors { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("tests/data/bad_idx/good-labels-idx1-ubyte: not a valid safetensors file")
    );
}

#[test]
fn a_safetensors_file_without_ferronet_metadata_cannot_be_loaded_but_its_weights_can() {
    let (_dir, path) = scratch("foreign.safetensors");
    let tensors = tiny_tensors();
    let borrowed: Vec<(&str, &[usize], &[f32])> =
        tensors.iter().map(|(n, s, v)| (*n, s.as_slice(), v.as_slice())).collect();
    write_file(&path, &borrowed, None);
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: has no ferronet metadata, so the model cannot be rebuilt from it (a file from elsewhere?): \
             build the model in code and use load_weights",
            path.display()
        )
    );
    let mut model = tiny::<f32>();
    model.visit_params(&mut |p| p.value.fill(0.0));
    model.load_weights(&path).unwrap();
    assert_eq!(weights(&mut model), weights(&mut tiny::<f32>()));
}

#[test]
fn a_weight_that_is_not_finite_is_refused_on_loading() {
    let (_dir, path) = scratch("nan.safetensors");
    write_tiny_with(&path, |t| t[2].2[4] = f32::NAN, TINY_METADATA);
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: tensor 3.weight holds NaN at [1, 1]; weights must be finite", path.display())
    );
    write_tiny_with(&path, |t| t[1].2[0] = f32::NEG_INFINITY, TINY_METADATA);
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: tensor 1.bias holds -inf at [0]; weights must be finite", path.display())
    );
}

#[test]
fn a_weight_that_is_not_finite_is_refused_on_saving_and_the_old_file_stays() {
    let (_dir, path) = saved(tiny::<f32>());
    let old = std::fs::read(&path).unwrap();
    let mut broken = tiny::<f32>();
    broken.visit_params(&mut |p| {
        if p.name == "dense_2.weight" {
            p.value[[2, 0]] = f32::INFINITY;
        }
    });
    let err = broken.save(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: parameter dense_2.weight is inf at [2, 0]; nothing was saved", path.display())
    );
    assert_eq!(std::fs::read(&path).unwrap(), old);
}

#[test]
fn an_unknown_kind_of_layer_is_a_typed_error_naming_it() {
    let (_dir, path) = scratch("conv.safetensors");
    let metadata = TINY_METADATA.replace(r#"{"kind":"relu"}"#, r#"{"kind":"conv2d"}"#);
    write_tiny_with(&path, |_| {}, &metadata);
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::UnknownLayer { index: 2, kind, .. } if kind == "conv2d"), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: layer 2 is of unknown kind `conv2d`; build the model in code and fill it with load_weights",
            path.display()
        )
    );
}

#[test]
fn a_corrupted_layer_size_is_refused_before_anything_is_allocated() {
    let (_dir, path) = scratch("huge.safetensors");
    let metadata = TINY_METADATA.replace(r#""inputs":4"#, r#""inputs":4000000000"#);
    write_tiny_with(&path, |_| {}, &metadata);
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: layer 1: dense(inputs=4000000000, outputs=3) needs more values than the file holds",
            path.display()
        )
    );
}

#[test]
fn architecture_and_tensors_that_disagree_are_an_error() {
    let (_dir, path) = scratch("disagree.safetensors");
    let metadata = TINY_METADATA
        .replace(r#""inputs":3,"kind":"dense","outputs":2"#, r#""inputs":3,"kind":"dense","outputs":1"#);
    write_tiny_with(&path, |_| {}, &metadata);
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert!(matches!(err, Error::ModelFile { .. }), "{err:?}");
    assert!(err.to_string().contains("tensor 3.weight is [2, 3], but dense_2.weight needs [1, 3]"), "{err}");
}

#[test]
fn a_dtype_other_than_f32_and_f64_is_refused_even_with_convert() {
    let (_dir, path) = scratch("bf16.safetensors");
    write_tiny_with(&path, |_| {}, &TINY_METADATA.replace(r#""dtype":"F32""#, r#""dtype":"BF16""#));
    let convert = LoadOptions::default().with_convert(true);
    let err = Sequential::<f32>::load_with(&path, &convert).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: its dtype BF16 is not one ferronet reads (F32, F64)", path.display())
    );
}

#[test]
fn a_tensor_of_another_dtype_is_refused_naming_it() {
    let (_dir, path) = scratch("half.safetensors");
    // dense_1's weight as twelve BF16 zeros, the rest as F32.
    let half = [0u8; 24];
    let rest: Vec<(String, Vec<usize>, Vec<u8>)> = tiny_tensors()
        .into_iter()
        .filter(|(name, _, _)| *name != "1.weight")
        .map(|(name, shape, values)| {
            (name.to_string(), shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect();
    let mut views = vec![("1.weight".to_string(), TensorView::new(Dtype::BF16, vec![3, 4], &half).unwrap())];
    views
        .extend(rest.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap())));
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let err = tiny::<f32>().load_weights_with(&path, &LoadOptions::default().with_convert(true)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: tensor 1.weight is BF16; ferronet reads F32 and F64", path.display())
    );
}

#[test]
fn a_file_of_a_later_format_version_is_refused() {
    let (_dir, path) = scratch("v2.safetensors");
    write_tiny_with(&path, |_| {}, &TINY_METADATA.replace(r#""format_version":1"#, r#""format_version":2"#));
    let err = Sequential::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: it is in ferronet format 2; this ferronet reads format 1", path.display())
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = Sequential::<f32>::load("no/such/model.safetensors").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with("no/such/model.safetensors: "), "{err}");
}

#[test]
fn saving_where_the_file_cannot_be_replaced_is_an_io_error_and_leaves_no_temporary_file() {
    let (dir, path) = scratch("taken");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("inside"), b"").unwrap();
    let err = tiny::<f32>().save(&path).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["taken"]);
}

#[test]
fn a_trained_model_predicts_the_same_after_a_reload() {
    let (_dir, path) = scratch("trained.safetensors");
    let x = inputs::<f32>();
    let y = Targets::classes(&[0, 1, 1], 2).unwrap();
    let mut model = tiny::<f32>();
    let mut adam = Adam::new(AdamConfig::default().with_lr(0.05)).unwrap();
    let config = FitConfig::default().with_epochs(5).with_batch_size(2);
    model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam, &config).unwrap();
    model.save(&path).unwrap();
    let mut loaded = Sequential::<f32>::load(&path).unwrap();
    assert_eq!(loaded.predict(&x, 3).unwrap(), model.predict(&x, 3).unwrap());
}

#[test]
fn saving_a_model_without_layers_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.safetensors");
    let error = Sequential::<f32>::new().save(&path).unwrap_err();
    assert!(
        error.to_string().ends_with("empty.safetensors: the model has no layers; nothing was saved"),
        "{error}"
    );
    assert!(!path.exists());
}

// Only a Dense with a ReLU stands for two PyTorch modules: another layer with a setting of the
// same name keeps one position (the default of `Layer::torch_modules`).
#[test]
fn a_relu_setting_on_another_kind_of_layer_takes_one_position() {
    use ferronet::Result;
    use ferronet::layers::{Mode, Param};
    use ndarray::{ArrayD, ArrayViewD};
    struct Leaky;
    impl Layer<f32> for Leaky {
        fn kind(&self) -> &'static str {
            "leaky"
        }
        fn config(&self) -> Vec<(&'static str, f64)> {
            vec![("relu", 1.0)]
        }
        fn forward(&mut self, x: ArrayViewD<f32>, y: &mut ArrayD<f32>, _mode: Mode) -> Result<()> {
            *y = x.to_owned();
            Ok(())
        }
        fn backward(
            &mut self,
            _x: ArrayViewD<f32>,
            _y: ArrayViewD<f32>,
            g: ArrayViewD<f32>,
            dx: Option<&mut ArrayD<f32>>,
        ) -> Result<()> {
            if let Some(dx) = dx {
                *dx = g.to_owned();
            }
            Ok(())
        }
        fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<f32>)) {}
    }
    let model = Sequential::new().add(Leaky).add(Dense::new(2, 2, &mut StdRng::seed_from_u64(1)).unwrap());
    let (_dir, path) = saved(model);
    let mut names: Vec<String> = read_tensors(&path).into_keys().collect();
    names.sort();
    assert_eq!(names, ["1.bias", "1.weight"]);
}

// Parameters are public: one replaced by an array of another shape makes a file `load` would
// refuse, so `save` refuses it instead, and writes nothing.
#[test]
fn a_parameter_of_the_wrong_shape_is_refused_on_saving() {
    let mut model = tiny::<f32>();
    model.visit_params(&mut |p| {
        if p.name == "dense_2.bias" {
            p.value = ndarray::ArrayD::zeros(vec![2, 1]);
        }
    });
    let (_dir, path) = scratch("model.safetensors");
    let error = model.save(&path).unwrap_err();
    assert!(matches!(error, Error::ModelFile { .. }), "{error:?}");
    assert!(error.to_string().contains("dense_2.bias is [2, 1]"), "{error}");
    assert!(!path.exists());
}

#[test]
fn a_dense_without_inputs_or_outputs_is_refused() {
    for shape in [(0, 3), (3, 0)] {
        let error = Dense::<f32>::from_weights(Array2::zeros(shape), Array1::zeros(shape.1)).unwrap_err();
        assert!(matches!(error, Error::Config { name: "weight", .. }), "{error:?}");
    }
}
