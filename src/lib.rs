//! # ferronet
//!
//! A small neural-network library for multi-class classification, on [`ndarray`], exact to the
//! last digit of a gradient. It does the classic Keras MNIST tutorial in Rust: Flatten,
//! Dense 128 relu, Dense 64 relu, Dense 10 softmax, Adam and categorical cross-entropy.
//!
//! ## The tutorial, step by step
//!
//! ```
//! use ferronet::data::{Mnist, Targets};
//! use ferronet::layers::{Activation, Dense, Flatten, Softmax};
//! use ferronet::loss::SoftmaxCrossEntropy;
//! use ferronet::optim::{Adam, AdamConfig};
//! use ferronet::{FitConfig, Sequential};
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! // 1. Load. Pixels stay bytes; each batch is scaled to [0, 1] (x / 255) as it is gathered.
//! let mnist = Mnist::load("data/mnist")?;
//! let (x_train, x_test) = (mnist.train_images.select(0..2_000)?, mnist.test_images.select(0..500)?);
//!
//! // 2. Targets: class indices, checked against the number of classes.
//! //    `Targets::one_hot` gives one-hot rows instead; the loss accepts either.
//! let y_train = Targets::classes(&mnist.train_labels[..2_000], 10)?;
//! let y_test = Targets::classes(&mnist.test_labels[..500], 10)?;
//!
//! // 3. Build. One seeded RNG makes the initial weights reproducible; `::<f32>` names the
//! //    precision (nothing else here would tell the compiler). `Activation::Relu` is Keras's
//! //    `activation="relu"`, applied as the product is written; a `ReLU` layer after a linear
//! //    Dense (PyTorch's form) gives the same bits, one pass over the output later.
//! let mut rng = StdRng::seed_from_u64(42);
//! let mut model = Sequential::<f32>::new()
//!     .add(Flatten::new())                       // [N, 28, 28] -> [N, 784]
//!     .add(Dense::new(784, 128, &mut rng)?.with_activation(Activation::Relu))
//!     .add(Dense::new(128, 64, &mut rng)?.with_activation(Activation::Relu))
//!     .add(Dense::new(64, 10, &mut rng)?)
//!     .add(Softmax::new());                      // probabilities out of predict
//!
//! // 4. Train. The final Softmax is fused into the loss while training.
//! let mut adam = Adam::new(AdamConfig::default())?;  // lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8
//! let config = FitConfig::default().with_epochs(1).with_batch_size(64).with_validation_split(0.2).with_seed(42);
//! let history = model.fit(&x_train, &y_train, &SoftmaxCrossEntropy, &mut adam, &config)?;
//! println!("{}", history.epochs[0]);
//!
//! // 5. Evaluate and predict.
//! let test = model.evaluate(&x_test, &y_test, &SoftmaxCrossEntropy, 500)?;
//! assert!(test.accuracy > 0.7);
//! let probabilities = model.predict(&x_test.select(0..1)?, 1)?;   // [1, 10], rows sum to 1
//! assert!((probabilities.as_slice().iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! # Ok::<(), ferronet::Error>(())
//! ```
//!
//! ## Categorical cross-entropy, and why it is fused with the softmax
//!
//! For a sample with logits `z` (the last Dense layer's output) and target probabilities `y`
//! (one-hot for a plain label), the softmax gives `p_j = exp(z_j) / sum_k exp(z_k)` and the
//! categorical cross-entropy is `L = -sum_j y_j ln p_j`, averaged over the batch.
//!
//! Computed in that order, a confident wrong prediction rounds `p_j` to 0 and `ln 0` is
//! infinite, and `exp` of a large logit overflows. Written on the logits instead,
//! `L = sum_j y_j ((m - z_j) + ln sum_k exp(z_k - m))` with `m = max_k z_k`, every term is
//! finite, and the gradient is simply `p - y` (divided by the batch size).
//! [`loss::SoftmaxCrossEntropy`] computes exactly that, and a [`Sequential`] that ends in
//! [`layers::Softmax`] hands it the logits while training, as Keras does.
//!
//! ## When to use binary cross-entropy instead
//!
//! The softmax makes the classes compete: their probabilities sum to 1, so it answers "which
//! one of these `K` classes?". When the question is not "exactly one of `K`", end the model
//! in [`layers::Sigmoid`] and train with [`loss::BinaryCrossEntropy`]:
//!
//! - **A yes/no question** (is this digit a zero?): one output, `Dense::new(.., 1, ..)` then
//!   `Sigmoid`, targets 0 or 1 (`Targets::classes(&labels, 2)`). A two-class softmax would
//!   learn the same thing with a second, redundant column of weights.
//! - **Several yes/no questions at once**, multi-label (which of these tags apply? any number
//!   may): `K` outputs, each its own sigmoid, and one target row per sample with a 1 for every
//!   tag that applies ([`data::Targets::Probabilities`]).
//!
//! Each output `z` with target `y` costs `L = -y ln σ(z) - (1 - y) ln(1 - σ(z))`, with
//! `σ(z) = 1 / (1 + exp(-z))`, averaged over every output of the batch. For the same reasons
//! as above it is computed on the logit, as `max(z, 0) - z y + ln(1 + exp(-|z|))`, and its
//! gradient is `σ(z) - y`. An output says "yes" when its probability is above 1/2. When "yes"
//! is rare, accuracy flatters: [`metrics::BinaryCounts`] gives precision and recall, and
//! `examples/binary.rs` tells MNIST's zeros from the other digits with them.
//!
//! ```
//! use ferronet::data::Targets;
//! use ferronet::layers::{Dense, Sigmoid};
//! use ferronet::loss::BinaryCrossEntropy;
//! use ferronet::optim::{Adam, AdamConfig};
//! use ferronet::{FitConfig, Sequential, Tensor};
//! use ndarray::array;
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! // Two tags per point, "x0 is positive" and "x1 is positive": none, one or both may apply.
//! let x = Tensor::from_shape_vec(&[4, 2], vec![1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0])?;
//! let y = Targets::Probabilities(array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]);
//!
//! let mut rng = StdRng::seed_from_u64(42);
//! let mut model = Sequential::new().add(Dense::new(2, 2, &mut rng)?).add(Sigmoid::new());
//! let mut adam = Adam::new(AdamConfig::default().with_lr(0.1))?;
//! let config = FitConfig::default().with_epochs(100).with_batch_size(4);
//! model.fit(&x, &y, &BinaryCrossEntropy, &mut adam, &config)?;
//!
//! // One probability per tag, independent of the other: rows need not sum to 1.
//! let tags: Vec<bool> = model.predict(&x, 4)?.as_slice().iter().map(|&p| p > 0.5).collect();
//! assert_eq!(tags, [true, false, false, true, true, true, false, false]);
//! # Ok::<(), ferronet::Error>(())
//! ```
//!
//! ## Beyond the tutorial
//! - **Probabilities you already hold**: [`loss::CategoricalCrossEntropy`], clipped as Keras clips.
//! - **Other optimizers**: [`optim::Sgd`] (momentum, Nesterov) and AdamW
//!   ([`optim::AdamConfig::adamw`]), with PyTorch's update rules.
//! - **Your own layer**: implement [`layers::Layer`] and check it with [`gradcheck::check_layer`].
//!
//! ## How one training step runs
//! [`Sequential::fit`] gathers a batch ([`data::Features::gather`]), calls
//! [`layers::Layer::forward`] on each layer into buffers the model keeps, computes the fused
//! loss and its gradient, calls [`layers::Layer::backward`] in reverse, and lets the
//! [`optim::Optimizer`] update every parameter it visits. [`gradcheck`] checks any layer,
//! loss or model against central differences in `f64`.
#![warn(missing_docs)]

pub mod callbacks;
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod layers;
pub mod linalg;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod parallel;
#[cfg(feature = "safetensors")]
pub mod save;
pub mod tensor;

pub use callbacks::{Callback, Control};
pub use error::{Error, Result};
pub use model::{EpochLog, Evaluation, FitConfig, History, Sequential};
#[cfg(feature = "safetensors")]
pub use save::{Checkpoint, LoadOptions};
pub use tensor::{Float, Tensor};

/// The README's usage snippet, compiled and run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
