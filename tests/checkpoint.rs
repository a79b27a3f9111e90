//! Checkpoints: training stopped, saved, reloaded from disk and resumed gives the weights of an
//! uninterrupted run, bit for bit; and a checkpoint that does not fit is refused.
#![cfg(feature = "safetensors")]

use ferronet::data::Targets;
use ferronet::layers::{Dense, Layer, ReLU, Softmax};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig, Optimizer};
use ferronet::{Checkpoint, Error, FitConfig, Sequential, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::PathBuf;
use tempfile::TempDir;

fn model(seed: u64, hidden: usize) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .add(Dense::new(3, hidden, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(hidden, 2, &mut rng).unwrap())
        .add(Softmax::new())
}

/// 20 samples of 3 features, two classes, as bits: the comparisons below are exact.
fn data() -> (Tensor<f32>, Targets<f32>) {
    let x = Tensor::from_shape_vec(&[20, 3], (0..60).map(|i| (i as f32 * 0.71).cos()).collect()).unwrap();
    let labels: Vec<u8> = (0..20).map(|i| ((i * 7) % 3 == 0) as u8).collect();
    (x, Targets::classes(&labels, 2).unwrap())
}

fn adam() -> Adam<f32> {
    Adam::new(AdamConfig::default().with_lr(0.01)).unwrap()
}

/// `model(9, 4)` after `epochs` epochs of `config()`, and its checkpoint in a fresh directory.
fn checkpointed(epochs: usize) -> (TempDir, PathBuf, Sequential<f32>) {
    let (x, y) = data();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let mut first = model(9, 4);
    let mut adam_first = adam();
    first.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_first, &config().with_epochs(epochs)).unwrap();
    Checkpoint::save(&path, &mut first, &adam_first, &config(), epochs).unwrap();
    (dir, path, first)
}

/// Every weight's bits, in the order the parameters are visited.
fn bits(model: &mut Sequential<f32>) -> Vec<u32> {
    let mut all = Vec::new();
    model.visit_params(&mut |p| all.extend(p.value.iter().map(|v| v.to_bits())));
    all
}

/// Ten epochs of batch 3 (the last batch of each epoch is smaller), shuffled from seed 5,
/// with a 20% validation split.
fn config() -> FitConfig {
    FitConfig::default().with_epochs(10).with_batch_size(3).with_validation_split(0.2).with_seed(5)
}

#[test]
fn ten_epochs_straight_equal_four_then_a_checkpoint_reloaded_from_disk_then_six() {
    let (x, y) = data();
    let mut straight = model(9, 4);
    let mut adam_straight = adam();
    straight.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_straight, &config()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    {
        let mut first = model(9, 4);
        let mut adam_first = adam();
        first.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_first, &config().with_epochs(4)).unwrap();
        Checkpoint::save(&path, &mut first, &adam_first, &config(), 4).unwrap();
    } // the first model and optimizer are gone: only the file remains

    let Checkpoint { model: mut resumed, optimizer: mut adam_resumed, config: resume } =
        Checkpoint::<f32>::load(&path).unwrap();
    assert_eq!(resume, config().with_initial_epoch(4));
    let history = resumed.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_resumed, &resume).unwrap();
    assert_eq!(history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [5, 6, 7, 8, 9, 10]);
    assert_eq!(bits(&mut resumed), bits(&mut straight));
    assert_eq!(adam_resumed.state(), adam_straight.state(), "m, v and the step counts too");
}

// AdamW's weight decay is part of the optimizer a checkpoint records: without it the resumed
// run would be plain Adam.
#[test]
fn an_adamw_run_resumes_from_its_checkpoint_to_the_same_bits() {
    let (x, y) = data();
    let adamw = || Adam::new(AdamConfig::adamw().with_lr(0.01).with_weight_decay(0.1)).unwrap();
    let mut straight = model(9, 4);
    straight.fit(&x, &y, &SoftmaxCrossEntropy, &mut adamw(), &config()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let (mut first, mut adam_first) = (model(9, 4), adamw());
    first.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_first, &config().with_epochs(4)).unwrap();
    Checkpoint::save(&path, &mut first, &adam_first, &config(), 4).unwrap();

    let Checkpoint { model: mut resumed, optimizer: mut adam_resumed, config: resume } =
        Checkpoint::<f32>::load(&path).unwrap();
    assert_eq!(adam_resumed.config().weight_decay, 0.1);
    resumed.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_resumed, &resume).unwrap();
    assert_eq!(bits(&mut resumed), bits(&mut straight));
}

#[test]
fn restoring_into_a_model_built_in_code_resumes_exactly() {
    let (x, y) = data();
    let mut straight = model(9, 4);
    straight.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config()).unwrap();

    let (_dir, path, _) = checkpointed(4);

    // Other initial weights and a default Adam (lr 1e-3): the checkpoint replaces both.
    let mut fresh = model(1, 4);
    let mut fresh_adam = Adam::new(AdamConfig::default()).unwrap();
    let resume = Checkpoint::restore(&path, &mut fresh, &mut fresh_adam).unwrap();
    assert_eq!(fresh_adam.config().lr, 0.01);
    fresh.fit(&x, &y, &SoftmaxCrossEntropy, &mut fresh_adam, &resume).unwrap();
    assert_eq!(bits(&mut fresh), bits(&mut straight));
}

#[test]
fn a_checkpoint_records_the_run_settings_and_adam_hyper_parameters_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let odd = AdamConfig::default().with_lr(0.1 + 0.2).with_beta1(0.85).with_beta2(0.9995).with_eps(1e-7);
    let run = FitConfig::default()
        .with_epochs(30)
        .with_batch_size(17)
        .with_validation_split(0.15)
        .with_shuffle(false)
        .with_seed(u64::MAX);
    Checkpoint::save(&path, &mut model(0, 4), &Adam::new(odd).unwrap(), &run, 12).unwrap();
    let checkpoint = Checkpoint::<f32>::load(&path).unwrap();
    assert_eq!(checkpoint.config, run.with_initial_epoch(12));
    assert_eq!(*checkpoint.optimizer.config(), odd);
    assert!(checkpoint.optimizer.state().is_empty(), "no step was taken, so there is no state");
}

#[test]
fn restoring_into_a_model_of_other_shapes_is_an_error_and_changes_nothing() {
    let (x, y) = data();
    let (_dir, path, _) = checkpointed(2);

    let mut wider = model(1, 5);
    let mut wider_adam = adam();
    wider.fit(&x, &y, &SoftmaxCrossEntropy, &mut wider_adam, &config().with_epochs(1)).unwrap();
    let (before, state_before) = (bits(&mut wider), wider_adam.state().to_vec());
    let err = Checkpoint::restore(&path, &mut wider, &mut wider_adam).unwrap_err();
    assert!(matches!(err, Error::ModelFile { .. }), "{err:?}");
    assert!(err.to_string().contains("tensor 0.weight is [4, 3], but dense_1.weight needs [5, 3]"), "{err}");
    assert_eq!(bits(&mut wider), before);
    assert_eq!(wider_adam.state(), state_before);
}

#[test]
fn adam_state_for_parameters_of_other_names_is_refused() {
    let mut named = model(0, 4);
    let mut adam = adam();
    named.visit_params(&mut |p| p.grad.fill(0.5));
    adam.step(&mut named).unwrap();
    let state = adam.state().to_vec();

    // The same shapes under other names: the layers sit inside a Sequential named `inner`.
    let mut renamed = model(0, 4);
    renamed.set_name("inner");
    let err = Adam::<f32>::new(AdamConfig::default()).unwrap().set_state(&mut renamed, state).unwrap_err();
    assert_eq!(
        err.to_string(),
        "optimizer state: parameter 0 is inner.dense_1.weight [3, 4], \
         but the state is for dense_1.weight [3, 4] (m) and [3, 4] (v)"
    );
}

#[test]
fn adam_state_of_other_shapes_is_refused() {
    let mut small = model(0, 4);
    let mut adam = adam();
    small.visit_params(&mut |p| p.grad.fill(0.5));
    adam.step(&mut small).unwrap();
    let err = Adam::<f32>::new(AdamConfig::default())
        .unwrap()
        .set_state(&mut model(0, 6), adam.state().to_vec())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "optimizer state: parameter 0 is dense_1.weight [3, 6], \
         but the state is for dense_1.weight [3, 4] (m) and [3, 4] (v)"
    );
}

#[test]
fn a_checkpoint_loads_as_a_model() {
    let (_dir, path, mut first) = checkpointed(1);
    let mut loaded = Sequential::<f32>::load(&path).unwrap();
    assert_eq!(bits(&mut loaded), bits(&mut first));
}

#[test]
fn a_model_file_is_not_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    model(0, 4).save(&path).unwrap();
    let err = Checkpoint::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: is a model but not a checkpoint: it holds no training state (load it with Sequential::load)",
            path.display()
        )
    );
}

#[test]
fn more_epochs_done_than_the_run_has_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let err = Checkpoint::save(&path, &mut model(0, 4), &adam(), &config(), 11).unwrap_err();
    assert!(matches!(err, Error::Config { name: "epochs_done", .. }), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn an_optimizer_of_another_model_is_refused_on_saving() {
    let mut small = model(0, 4);
    let mut adam = adam();
    small.visit_params(&mut |p| p.grad.fill(0.5));
    adam.step(&mut small).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let err = Checkpoint::save(&path, &mut model(0, 6), &adam, &config(), 1).unwrap_err();
    assert!(matches!(err, Error::OptimizerState(_)), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn a_checkpoint_missing_part_of_adams_state_is_refused() {
    let (_dir, path, _) = checkpointed(1);

    // The same file without `optimizer.dense_2.bias.v`.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let kept: Vec<_> =
        file.tensors().into_iter().filter(|(name, _)| name != "optimizer.dense_2.bias.v").collect();
    std::fs::write(&path, safetensors::serialize(kept, header.metadata().clone()).unwrap()).unwrap();

    let err = Checkpoint::<f32>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: holds 11 optimizer tensors; a model of 4 parameters needs 12", path.display())
    );
}

#[test]
fn a_checkpoint_resumes_only_in_its_own_precision() {
    let (_dir, path, _) = checkpointed(1);
    let err = Checkpoint::<f64>::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: is a checkpoint in F32, and a checkpoint resumes only in its own precision, not f64 \
             (Sequential::load_with can convert the model alone)",
            path.display()
        )
    );
}
