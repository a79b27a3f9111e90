//! `fit`, `evaluate` and `predict`: batching, the validation split, per-sample averages and
//! determinism (P13-P17 of ../shared/cases/pitfalls.md), and real training on MNIST.

mod common;

use common::{adam, small_model, weights};
use ferronet::data::{Batches, Features, Mnist, Targets, split_point};
use ferronet::layers::{Dense, Sigmoid, Softmax};
use ferronet::loss::{BinaryCrossEntropy, SoftmaxCrossEntropy};
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{Error, FitConfig, Sequential, Tensor};
use ndarray::ArrayD;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn column(values: &[f64]) -> Tensor<f64> {
    Tensor::from_shape_vec(&[values.len(), 1], values.to_vec()).unwrap()
}

#[test]
fn p13_shuffled_batches_keep_inputs_and_labels_paired() {
    let x = column(&(0..10).map(f64::from).collect::<Vec<_>>());
    let y: Targets<f64> = Targets::classes(&(0..10).collect::<Vec<u8>>(), 10).unwrap();
    let Targets::Classes { labels, .. } = &y else { unreachable!() };
    let mut batches = Batches::new(0..10);
    let mut rng = StdRng::seed_from_u64(42);
    for _epoch in 0..3 {
        batches.shuffle(&mut rng);
        let mut seen: Vec<usize> = batches.order().to_vec();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>(), "each epoch visits a permutation");
        let sizes: Vec<usize> = batches.iter(3).map(<[usize]>::len).collect();
        assert_eq!(sizes, [3, 3, 3, 1]);
        for indices in batches.iter(3) {
            let mut batch = ArrayD::zeros(vec![0]);
            x.gather(indices, &mut batch).unwrap();
            for (row, &i) in indices.iter().enumerate() {
                assert_eq!(batch[[row, 0]], labels[i] as f64);
            }
        }
    }
}

#[test]
fn p14_validation_split_takes_the_tail_before_shuffling() {
    assert_eq!(split_point(10, 0.2).unwrap(), 8);
    assert_eq!(split_point(7, 0.3).unwrap(), 4);
    assert_eq!(split_point(10, 0.0).unwrap(), 10);
}

/// A model with no parameters whose fused loss sees the inputs themselves as logits, so each
/// sample's loss and correctness are set by the data alone.
fn logits_only() -> Sequential<f64> {
    Sequential::new().add(Softmax::new())
}

/// Two-class logits `[0, b]` for label 0 with loss `l`: `ln(1 + e^b) = l`.
fn logits_with_loss(losses: &[f64]) -> Tensor<f64> {
    let rows: Vec<f64> = losses.iter().flat_map(|&l| [0.0, (l.exp() - 1.0).ln()]).collect();
    Tensor::from_shape_vec(&[losses.len(), 2], rows).unwrap()
}

#[test]
fn p15_epoch_loss_and_accuracy_are_per_sample_means() {
    // Per-sample losses 0.1..0.4 (correct) and 1.0 (wrong, b > 0), batches of 2, 2, 1.
    let x = logits_with_loss(&[0.1, 0.2, 0.3, 0.4, 1.0]);
    let y = Targets::classes(&[0; 5], 2).unwrap();
    let config = FitConfig::default().with_batch_size(2).with_shuffle(false);
    let history = logits_only().fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config).unwrap();
    assert!((history.epochs[0].loss - 0.4).abs() < 1e-12, "{:?}", history.epochs[0]);
    assert_eq!(history.epochs[0].accuracy, 0.8);
}

#[test]
fn p14_validation_is_the_last_samples_every_epoch() {
    // Samples 8 and 9 have losses 0.5 and 1.5; the first eight have other losses.
    let x = logits_with_loss(&[0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4, 0.5, 1.5]);
    let y = Targets::classes(&[0; 10], 2).unwrap();
    for seed in [1, 2, 3] {
        let config =
            FitConfig::default().with_epochs(2).with_batch_size(3).with_validation_split(0.2).with_seed(seed);
        let history = logits_only().fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config).unwrap();
        for epoch in &history.epochs {
            assert!((epoch.val_loss.unwrap() - 1.0).abs() < 1e-12);
            assert_eq!(epoch.val_accuracy, Some(0.5));
            assert!((epoch.loss - 0.25).abs() < 1e-12, "training sees only the first 8");
            assert_eq!(epoch.samples, 8);
        }
    }
}

#[test]
fn p16_accuracy_compares_argmax_with_labels() {
    let p = Tensor::from_array(ndarray::array![[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.6, 0.2]]);
    let y = Targets::classes(&[0, 1, 1], 3).unwrap();
    let result = logits_only().evaluate(&p, &y, &SoftmaxCrossEntropy, 2).unwrap();
    assert_eq!(result.correct, 2);
    assert_eq!(result.accuracy, 2.0 / 3.0);
}

fn train_six(seed: u64) -> (Vec<f64>, f64) {
    let x = Tensor::from_shape_vec(&[6, 3], (0..18).map(|i| (i as f64 * 0.37).sin()).collect()).unwrap();
    let y = Targets::classes(&[0, 1, 1, 0, 1, 0], 2).unwrap();
    let mut model = small_model(seed);
    let config = FitConfig::default().with_batch_size(2).with_seed(seed);
    let history = model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &config).unwrap();
    (weights(&mut model), history.epochs[0].loss)
}

#[test]
fn p17_one_seed_gives_bit_identical_training() {
    let (w1, loss1) = train_six(42);
    let (w2, loss2) = train_six(42);
    assert_eq!(w1, w2);
    assert_eq!(loss1.to_bits(), loss2.to_bits());
    let (w3, _) = train_six(43);
    assert_ne!(w1, w3);
}

#[test]
fn predict_returns_probabilities_from_the_softmax() {
    let mut model = small_model(1);
    let x = Tensor::from_shape_vec(&[5, 3], (0..15).map(|i| i as f64 / 7.0).collect()).unwrap();
    let p = model.predict(&x, 2).unwrap();
    assert_eq!(p.shape(), &[5, 2]);
    for row in p.as_slice().chunks(2) {
        assert!((row[0] + row[1] - 1.0).abs() < 1e-15);
        assert!(row.iter().all(|&v| v > 0.0));
    }
}

#[test]
fn zero_epochs_is_an_error() {
    let x = column(&[1.0]);
    let y = Targets::classes(&[0], 2).unwrap();
    let err =
        logits_only().fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &FitConfig::default().with_epochs(0));
    assert!(matches!(err, Err(Error::Config { name: "epochs", .. })));
}

#[test]
fn inputs_and_targets_of_different_counts_is_an_error() {
    let x = Tensor::<f64>::zeros(&[3, 2]).unwrap();
    let y = Targets::classes(&[0, 1], 2).unwrap();
    let err =
        logits_only().fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &FitConfig::default()).unwrap_err();
    assert_eq!(err.to_string(), "data set: 3 input samples but 2 targets");
}

#[test]
fn input_width_that_does_not_match_the_layer_names_both_shapes() {
    let x = Tensor::<f64>::zeros(&[2, 5]).unwrap();
    let y = Targets::classes(&[0, 1], 2).unwrap();
    let err =
        small_model(0).fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &FitConfig::default()).unwrap_err();
    assert_eq!(err.to_string(), "layer dense_1: expected shape [2, 3], found [2, 5]");
}

#[test]
fn one_epoch_on_an_mnist_subset_reaches_90_percent() {
    let mnist = Mnist::load("data/mnist").unwrap();
    let train = mnist.train_images.select(0..20_000).unwrap();
    let train_y = Targets::classes(&mnist.train_labels[..20_000], 10).unwrap();
    let test = mnist.test_images.select(0..2_000).unwrap();
    let test_y = Targets::classes(&mnist.test_labels[..2_000], 10).unwrap();

    let mut model = common::tutorial_model(42);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let config = FitConfig::default().with_batch_size(64).with_seed(42);
    model.fit(&train, &train_y, &SoftmaxCrossEntropy, &mut adam, &config).unwrap();
    let result = model.evaluate(&test, &test_y, &SoftmaxCrossEntropy, 500).unwrap();
    assert!(result.accuracy > 0.90, "accuracy {}", result.accuracy);

    let p = model.predict(&test, 500).unwrap();
    assert_eq!(p.shape(), &[2_000, 10]);
}

#[test]
fn resuming_at_initial_epoch_gives_the_weights_of_an_uninterrupted_run() {
    let x = Tensor::from_shape_vec(&[10, 3], (0..30).map(|i| (i as f64 * 0.71).cos()).collect()).unwrap();
    let y = Targets::classes(&[0, 1, 1, 0, 1, 0, 0, 1, 1, 0], 2).unwrap();
    let config = FitConfig::default().with_batch_size(3).with_seed(5).with_epochs(4);

    let mut straight = small_model(9);
    let mut adam_straight = adam();
    straight.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_straight, &config).unwrap();

    let mut resumed = small_model(9);
    let mut adam_resumed = adam();
    resumed.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_resumed, &config.with_epochs(2)).unwrap();
    let history =
        resumed.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam_resumed, &config.with_initial_epoch(2)).unwrap();
    assert_eq!(history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(weights(&mut straight), weights(&mut resumed));
}

#[test]
fn a_one_output_sigmoid_model_trains_on_labels_0_and_1() {
    // Label 1 exactly when x > 0: one Dense unit and a Sigmoid separate it.
    let x = column(&[-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]);
    let y = Targets::classes(&[0, 0, 0, 1, 1, 1], 2).unwrap();
    let mut model = Sequential::<f64>::new()
        .add(Dense::new(1, 1, &mut StdRng::seed_from_u64(3)).unwrap())
        .add(Sigmoid::new());
    let mut adam = Adam::new(AdamConfig::default().with_lr(0.1)).unwrap();
    let config = FitConfig::default().with_epochs(100).with_batch_size(6);
    model.fit(&x, &y, &BinaryCrossEntropy, &mut adam, &config).unwrap();
    assert_eq!(model.evaluate(&x, &y, &BinaryCrossEntropy, 6).unwrap().correct, 6);
    let p = model.predict(&x, 6).unwrap();
    assert_eq!(p.shape(), &[6, 1], "predict returns one probability per sample");
    assert!(p.as_slice().windows(2).all(|w| 0.0 < w[0] && w[0] < w[1] && w[1] < 1.0), "{p:?}");
}

#[test]
fn targets_built_for_another_number_of_classes_are_an_error() {
    // Every label is below 2, so only the declared class count, 3, disagrees with the 2 outputs.
    let x = Tensor::from_shape_vec(&[4, 3], (0..12).map(|i| i as f64 / 12.0).collect()).unwrap();
    let y = Targets::classes(&[0, 1, 1, 0], 3).unwrap();
    let mut model = small_model(2);
    let before = weights(&mut model);
    let err = model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam(), &FitConfig::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax_cross_entropy: the model's output width against the classes of the targets: expected shape [2], found [3]"
    );
    assert_eq!(weights(&mut model), before, "no step was taken");
    assert!(model.evaluate(&x, &y, &SoftmaxCrossEntropy, 4).is_err());
}

#[test]
fn one_sigmoid_output_takes_targets_for_two_classes_but_not_three() {
    let x = column(&[-1.0, 1.0]);
    let mut model = Sequential::<f64>::new()
        .add(Dense::new(1, 1, &mut StdRng::seed_from_u64(3)).unwrap())
        .add(Sigmoid::new());
    let two = Targets::classes(&[0, 1], 2).unwrap();
    assert!(model.evaluate(&x, &two, &BinaryCrossEntropy, 2).is_ok());
    let three = Targets::classes(&[0, 1], 3).unwrap();
    assert!(matches!(model.evaluate(&x, &three, &BinaryCrossEntropy, 2), Err(Error::Shape { .. })));
}
