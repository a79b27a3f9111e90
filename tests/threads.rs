//! Training gives the same bits on one thread as on two: work is split along rows or columns
//! of products and elements of Adam's update, never along a sum.

mod common;

use common::{tutorial_model, weights};
use ferronet::data::{Mnist, Targets};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::parallel::set_threads;
use ferronet::{FitConfig, Sequential};

fn train_on(threads: usize) -> (Vec<f32>, f64) {
    set_threads(threads);
    let mnist = Mnist::load("data/mnist").unwrap();
    let x = mnist.train_images.select(0..3_000).unwrap();
    let y = Targets::classes(&mnist.train_labels[..3_000], 10).unwrap();
    let mut model: Sequential<f32> = tutorial_model(42);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let config = FitConfig::default().with_batch_size(256).with_validation_split(0.2).with_seed(7);
    let history = model.fit(&x, &y, &SoftmaxCrossEntropy, &mut adam, &config).unwrap();
    (weights(&mut model), history.epochs[0].loss)
}

#[test]
fn one_thread_and_two_threads_train_to_the_same_bits() {
    let (one, loss_one) = train_on(1);
    let (two, loss_two) = train_on(2);
    set_threads(0);
    assert_eq!(one.len(), 109_386);
    assert!(one.iter().zip(&two).all(|(a, b)| a.to_bits() == b.to_bits()), "weights differ");
    assert_eq!(loss_one.to_bits(), loss_two.to_bits());
}
