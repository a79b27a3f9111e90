//! One digit against the rest: a 784-64-1 network with a sigmoid output and binary
//! cross-entropy tells MNIST's zeros from every other digit, then reports test accuracy,
//! precision and recall (about 10% of the images are zeros, so accuracy alone flatters).
//!
//! ```text
//! cargo run --release --example binary -- [--data DIR] [--digit D] [--epochs N] [--seed N]
//! ```

// Of the examples' presentation code (examples/common/), only the progress bar (and the
// printing it uses).
mod common {
    pub mod out;
    pub mod progress;
}

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use common::out::outln;
use common::progress::Progress;
use ferronet::data::{Mnist, Targets};
use ferronet::layers::{Dense, Flatten, ReLU, Sigmoid};
use ferronet::loss::BinaryCrossEntropy;
use ferronet::metrics::BinaryCounts;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{FitConfig, Sequential};
use rand::SeedableRng;
use rand::rngs::StdRng;

const USAGE: &str = "usage: binary [--data DIR] [--digit D] [--epochs N] [--seed N]";

fn parse_args() -> Result<(PathBuf, u8, usize, u64), String> {
    let mut data = std::env::var_os("MNIST_DIR").map_or_else(|| PathBuf::from("data/mnist"), PathBuf::from);
    let (mut digit, mut epochs, mut seed) = (0, 5, 42);
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        if flag == "--help" || flag == "-h" {
            outln!("{USAGE}");
            std::process::exit(0);
        }
        let value = words.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--data" => data = PathBuf::from(&value),
            "--digit" => {
                digit = value.parse().map_err(|e| bad(&e))?;
                if digit > 9 {
                    return Err(bad(&"MNIST's digits are 0 to 9"));
                }
            }
            "--epochs" => epochs = value.parse().map_err(|e| bad(&e))?,
            "--seed" => seed = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    Ok((data, digit, epochs, seed))
}

fn run(data: &PathBuf, digit: u8, epochs: usize, seed: u64) -> ferronet::Result<()> {
    let start = Instant::now();
    // Labels become 1 for the chosen digit and 0 for the rest: two classes, one output column.
    let mnist = Mnist::load(data)?;
    let is_digit = |labels: &[u8]| labels.iter().map(|&l| u8::from(l == digit)).collect::<Vec<u8>>();
    let train_targets = Targets::classes(&is_digit(&mnist.train_labels), 2)?;
    let test_targets = Targets::classes(&is_digit(&mnist.test_labels), 2)?;

    // Build: 784-64-1; the Sigmoid turns the logit into a probability for `predict`.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Sequential::<f32>::new()
        .add(Flatten::new())
        .add(Dense::new(784, 64, &mut rng)?)
        .add(ReLU::new())
        .add(Dense::new(64, 1, &mut rng)?)
        .add(Sigmoid::new());

    // Train: the final Sigmoid is fused into the loss, which sees the logit.
    let mut adam = Adam::new(AdamConfig::default())?;
    let config = FitConfig::default().with_epochs(epochs).with_batch_size(64).with_seed(seed);
    let mut progress = Progress::new(false);
    let history = model.fit_with(
        &mnist.train_images,
        &train_targets,
        &BinaryCrossEntropy,
        &mut adam,
        &config,
        &mut [&mut progress],
    )?;
    progress.finish(&history);

    // Evaluate: accuracy from the loss's own count, precision and recall from the probabilities.
    let test = model.evaluate(&mnist.test_images, &test_targets, &BinaryCrossEntropy, 1000)?;
    let probabilities = model.predict(&mnist.test_images, 1000)?;
    let counts = BinaryCounts::count(probabilities.view(), test_targets.as_batch(), 0.5)?;
    outln!(
        "digit {digit} against the rest, {} test images, {:.1}s in all",
        test.samples,
        start.elapsed().as_secs_f64()
    );
    outln!("test: loss {:.4}, accuracy {:.4} ({}/{})", test.loss, test.accuracy, test.correct, test.samples);
    outln!(
        "precision {:.4}, recall {:.4} (true positives {}, false positives {}, false negatives {})",
        counts.precision(),
        counts.recall(),
        counts.true_positives,
        counts.false_positives,
        counts.false_negatives
    );
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args()
        .and_then(|(data, digit, epochs, seed)| run(&data, digit, epochs, seed).map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
