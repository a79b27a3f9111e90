//! The Keras MNIST tutorial in ferronet: Flatten, Dense 128 relu, Dense 64 relu, Dense 10
//! softmax, Adam, categorical cross-entropy, 10 epochs of batch 64 with a 20% validation split,
//! then the class probabilities of one test image.
//!
//! ```text
//! cargo run --release --example mnist -- [--data DIR] [--epochs N] [--batch-size N] [--lr X] [--seed N] [--predict INDEX]
//!     [--save PATH] [--load PATH] [--checkpoint PATH] [--resume PATH]
//! ```
//!
//! `--save PATH` writes the trained model; `--load PATH` evaluates a saved one instead of
//! training. `--checkpoint PATH` saves model, optimizer and epoch after every epoch;
//! `--resume PATH` continues from such a file up to `--epochs`, with its own seed, batch size
//! and learning rate, to the weights an uninterrupted run would have reached.

use std::path::PathBuf;
use std::process::ExitCode;

use ferronet::callbacks::LambdaCallback;
use ferronet::data::{Images, Mnist, Targets};
use ferronet::layers::{Dense, Flatten, ReLU, Softmax};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig};
use ferronet::{Checkpoint, EpochLog, FitConfig, History, Sequential};
use rand::SeedableRng;
use rand::rngs::StdRng;

const USAGE: &str = "usage: mnist [--data DIR] [--epochs N] [--batch-size N] [--lr X] [--seed N] [--predict INDEX] \
                     [--save PATH] [--load PATH] [--checkpoint PATH] [--resume PATH]";

struct Args {
    data: PathBuf,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    predict: Option<usize>,
    save: Option<PathBuf>,
    load: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    resume: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: std::env::var_os("MNIST_DIR").map_or_else(|| PathBuf::from("data/mnist"), PathBuf::from),
        epochs: 10,
        batch_size: 64,
        lr: 1e-3,
        seed: 42,
        predict: None,
        save: None,
        load: None,
        checkpoint: None,
        resume: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = words.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--data" => args.data = PathBuf::from(&value),
            "--epochs" => args.epochs = value.parse().map_err(|e| bad(&e))?,
            "--batch-size" => args.batch_size = value.parse().map_err(|e| bad(&e))?,
            "--lr" => args.lr = value.parse().map_err(|e| bad(&e))?,
            "--seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
            "--predict" => args.predict = Some(value.parse().map_err(|e| bad(&e))?),
            "--save" => args.save = Some(PathBuf::from(&value)),
            "--load" => args.load = Some(PathBuf::from(&value)),
            "--checkpoint" => args.checkpoint = Some(PathBuf::from(&value)),
            "--resume" => args.resume = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if args.load.is_some() && (args.resume.is_some() || args.checkpoint.is_some()) {
        return Err(format!(
            "--load evaluates without training: it takes no --resume or --checkpoint\n{USAGE}"
        ));
    }
    Ok(args)
}

fn run(args: &Args) -> ferronet::Result<()> {
    // Load: pixels stay bytes; each batch is scaled to [0, 1] as it is gathered.
    let mnist = Mnist::load(&args.data)?;
    let train_targets = Targets::classes(&mnist.train_labels, 10)?;
    let test_targets = Targets::classes(&mnist.test_labels, 10)?;

    // Build: 784-128-64-10, Glorot-uniform weights from one seeded RNG.
    let mut rng = StdRng::seed_from_u64(args.seed);
    let model = Sequential::new()
        .add(Flatten::new())
        .add(Dense::new(784, 128, &mut rng)?)
        .add(ReLU::new())
        .add(Dense::new(128, 64, &mut rng)?)
        .add(ReLU::new())
        .add(Dense::new(64, 10, &mut rng)?)
        .add(Softmax::new());

    // Train: the final Softmax is fused into the loss while training.
    let loss = SoftmaxCrossEntropy;
    let optimizer = Adam::new(AdamConfig::default().with_lr(args.lr))?;
    let config = FitConfig::default()
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_validation_split(0.2)
        .with_seed(args.seed);
    let (mut model, mut optimizer, config) = saved_instead(args, model, optimizer, config)?;
    let report = |log: &EpochLog| println!("{log} - {:.0} samples/s", log.samples as f64 / log.seconds);
    let mut print_epoch = LambdaCallback::new().on_epoch(report);
    let history = if args.load.is_some() {
        History::default()
    } else if let Some(path) = &args.checkpoint {
        // One epoch at a time, each followed by a checkpoint: a crash loses one epoch at most.
        let mut history = History::default();
        for epoch in config.initial_epoch + 1..=config.epochs {
            let one = config.with_epochs(epoch).with_initial_epoch(epoch - 1);
            let done = model.fit(&mnist.train_images, &train_targets, &loss, &mut optimizer, &one)?;
            for log in &done.epochs {
                report(&EpochLog { epochs: config.epochs, ..*log });
            }
            Checkpoint::save(path, &mut model, &optimizer, &config, epoch)?;
            history.epochs.extend(done.epochs);
        }
        history
    } else {
        model.fit_with(
            &mnist.train_images,
            &train_targets,
            &loss,
            &mut optimizer,
            &config,
            &mut [&mut print_epoch],
        )?
    };
    if !history.epochs.is_empty() {
        let seconds: f64 = history.epochs.iter().map(|e| e.seconds).sum();
        let samples: usize = history.epochs.iter().map(|e| e.samples).sum();
        println!(
            "trained {} epochs in {seconds:.1}s ({:.0} samples/s)",
            history.epochs.len(),
            samples as f64 / seconds
        );
    }
    if let Some(path) = &args.save {
        model.save(path)?;
        println!("saved {}", path.display());
    }

    if let Some(index) = args.predict {
        predict_digit(&mut model, &mnist, index)?;
    }

    let test = model.evaluate(&mnist.test_images, &test_targets, &loss, 1000)?;
    println!(
        "test: loss {:.4}, accuracy {:.4} ({}/{})",
        test.loss, test.accuracy, test.correct, test.samples
    );
    Ok(())
}

/// What `--load` and `--resume` put in place of the new model: a saved model (for `--load`),
/// or a checkpoint's model, optimizer and run settings (for `--resume`, training up to `--epochs`).
fn saved_instead(
    args: &Args,
    model: Sequential,
    optimizer: Adam,
    config: FitConfig,
) -> ferronet::Result<(Sequential, Adam, FitConfig)> {
    if let Some(path) = &args.load {
        println!("loaded {}, evaluated as it is", path.display());
        return Ok((Sequential::load(path)?, optimizer, config));
    }
    let Some(path) = &args.resume else { return Ok((model, optimizer, config)) };
    let Checkpoint { model, optimizer, config } = Checkpoint::load(path)?;
    println!("resuming {} after epoch {} of {}", path.display(), config.initial_epoch, args.epochs);
    if config.initial_epoch >= args.epochs {
        return Err(ferronet::Error::Config {
            name: "epochs",
            value: args.epochs.to_string(),
            expected: "more than the epochs the checkpoint has done",
        });
    }
    Ok((model, optimizer, config.with_epochs(args.epochs)))
}

/// The tutorial's predict_digit: the image, its label, every class's probability, the prediction.
fn predict_digit(model: &mut Sequential, mnist: &Mnist, index: usize) -> ferronet::Result<()> {
    let [count, rows, cols] = mnist.test_images.shape();
    let pixels = mnist.test_images.image(index).ok_or_else(|| {
        ferronet::Error::Data(format!("--predict {index}: the test set has images 0 to {}", count - 1))
    })?;
    for row in pixels.chunks(cols) {
        let line: String =
            row.iter().map(|&p| [" ", "░", "▒", "▓", "█"][usize::from(p) * 5 / 256].repeat(2)).collect();
        println!("{line}");
    }
    let image = Images::new(1, rows, cols, pixels.to_vec())?;
    let probabilities = model.predict(&image, 1)?;
    println!("test image {index}, true label {}", mnist.test_labels[index]);
    for (class, p) in probabilities.as_slice().iter().enumerate() {
        println!("  {class}: {p:.4} {}", "#".repeat((p * 40.0).round() as usize));
    }
    println!("predicted class: {}", probabilities.argmax_rows()[0]);
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args).map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
