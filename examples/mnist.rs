//! The Keras MNIST tutorial in ferronet: Flatten, Dense 128 relu, Dense 64 relu, Dense 10
//! softmax, Adam, categorical cross-entropy, 10 epochs of batch 64 with a 20% validation split,
//! then the class probabilities of one test image.
//!
//! ```text
//! cargo run --release --example mnist -- [--data DIR] [--epochs N] [--batch-size N] [--lr X] [--seed N] [--predict INDEX]
//!                                          [--optimizer adam|adamw|sgd] [--quiet] [--plot PATH.svg]
//!                                          [--predict-png PATH.png] [--report]
//!                                          [--save PATH] [--load PATH] [--checkpoint PATH] [--resume PATH]
//!                                          [--threads N]
//! ```
//!
//! `--optimizer`: `adam` (the tutorial's, default), `adamw` (weight decay 0.01) or `sgd` (momentum 0.9,
//! lr 0.01 unless `--lr` says otherwise). `--quiet`: no progress, only what other flags ask for and
//! the final `test:` line. `--plot`: the loss and accuracy per epoch as an SVG. `--predict-png`:
//! the `--predict` image, 10 times its size. `--report`: confusion matrix, precision, recall, F1
//! and the most confident mistakes on the test set.
//!
//! `--save PATH` writes the trained model; `--load PATH` evaluates a saved one instead of
//! training. `--checkpoint PATH` saves model, optimizer and epoch after every epoch;
//! `--resume PATH` continues from such a file up to `--epochs`, with its own seed, batch size
//! and learning rate, to the weights an uninterrupted run would have reached. Checkpoints hold
//! Adam's state, so these two go with `--optimizer adam`.
//!
//! A flag the chosen mode would ignore is an error that names it: `--load` takes none of the
//! training flags (`--epochs`, `--batch-size`, `--lr`, `--seed`, `--optimizer`, `--plot`,
//! `--checkpoint`, `--resume`), and `--resume` takes no `--batch-size`, `--lr` or `--seed`.
//!
//! What is shown rather than computed (progress bar, plot, drawings, report) is in `common/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use common::out::{out, outln};
use common::{draw, plot, progress::Progress, report};
use ferronet::callbacks::{Callback, Control};
use ferronet::data::{Images, Mnist, Targets};
use ferronet::layers::{Activation, Dense, Flatten, Layer, Softmax};
use ferronet::loss::SoftmaxCrossEntropy;
use ferronet::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use ferronet::{Checkpoint, EpochLog, FitConfig, History, Sequential};
use rand::SeedableRng;
use rand::rngs::StdRng;

const USAGE: &str = "usage: mnist [--data DIR] [--epochs N] [--batch-size N] [--lr X] [--seed N] [--predict INDEX] [--optimizer adam|adamw|sgd] [--quiet] [--plot PATH.svg] [--predict-png PATH.png] [--report] [--save PATH] [--load PATH] [--checkpoint PATH] [--resume PATH] [--threads N]";

#[derive(Debug)]
struct Args {
    data: PathBuf,
    epochs: usize,
    batch_size: usize,
    lr: Option<f64>,
    seed: u64,
    predict: Option<usize>,
    optimizer: String,
    quiet: bool,
    plot: Option<PathBuf>,
    predict_png: Option<PathBuf>,
    report: bool,
    save: Option<PathBuf>,
    load: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    resume: Option<PathBuf>,
}

/// The settings `words` (the command line after the program's name) ask for.
fn parse_args(words: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        data: std::env::var_os("MNIST_DIR").map_or_else(|| PathBuf::from("data/mnist"), PathBuf::from),
        epochs: 10,
        batch_size: 64,
        lr: None,
        seed: 42,
        predict: None,
        optimizer: "adam".into(),
        quiet: false,
        plot: None,
        predict_png: None,
        report: false,
        save: None,
        load: None,
        checkpoint: None,
        resume: None,
    };
    let mut given = Vec::new();
    let mut words = words.into_iter();
    while let Some(flag) = words.next() {
        // Only a flag known to take a value takes the next word, so an unknown flag is named
        // as such even when it comes last.
        let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value (see --help)"));
        match flag.as_str() {
            "--help" | "-h" => {
                outln!("{USAGE}");
                std::process::exit(0);
            }
            "--quiet" => args.quiet = true,
            "--report" => args.report = true,
            "--data" => args.data = PathBuf::from(value()?),
            "--epochs" => args.epochs = parsed(&flag, value()?)?,
            "--batch-size" => args.batch_size = parsed(&flag, value()?)?,
            "--lr" => args.lr = Some(parsed(&flag, value()?)?),
            "--seed" => args.seed = parsed(&flag, value()?)?,
            "--predict" => args.predict = Some(parsed(&flag, value()?)?),
            "--optimizer" => args.optimizer = value()?,
            "--threads" => ferronet::parallel::set_threads(parsed(&flag, value()?)?),
            "--plot" => args.plot = Some(PathBuf::from(value()?)),
            "--predict-png" => args.predict_png = Some(PathBuf::from(value()?)),
            "--save" => args.save = Some(PathBuf::from(value()?)),
            "--load" => args.load = Some(PathBuf::from(value()?)),
            "--checkpoint" => args.checkpoint = Some(PathBuf::from(value()?)),
            "--resume" => args.resume = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown flag {flag} (see --help)")),
        }
        given.push(flag);
    }
    check_combination(&args, &given)?;
    // An output whose folder is missing is an error now, not once training has been done.
    let outputs = [
        ("--plot", &args.plot),
        ("--predict-png", &args.predict_png),
        ("--save", &args.save),
        ("--checkpoint", &args.checkpoint),
    ];
    for (flag, path) in outputs {
        path.as_deref().map_or(Ok(()), |path| common::check_output(flag, path))?;
    }
    Ok(args)
}

fn run(args: &Args) -> ferronet::Result<()> {
    // Load: pixels stay bytes; each batch is scaled to [0, 1] as it is gathered.
    let mnist = Mnist::load(&args.data)?;
    let train_targets = Targets::classes(&mnist.train_labels, 10)?;
    let test_targets = Targets::classes(&mnist.test_labels, 10)?;
    if let Some(index) = args.predict {
        test_image(&mnist, index)?; // a wrong index fails now, not after training
    }

    // Build: 784-128-64-10, Glorot-uniform weights from one seeded RNG. The ReLUs are part of
    // their Dense layers, as in Keras's `Dense(128, activation="relu")`: the bias and the ReLU
    // are applied as the matrix product writes its output.
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut model = Sequential::new()
        .add(Flatten::new())
        .add(Dense::new(784, 128, &mut rng)?.with_activation(Activation::Relu))
        .add(Dense::new(128, 64, &mut rng)?.with_activation(Activation::Relu))
        .add(Dense::new(64, 10, &mut rng)?)
        .add(Softmax::new());

    // Train: the final Softmax is fused into the loss while training.
    let loss = SoftmaxCrossEntropy;
    let history = if let Some(path) = &args.load {
        model = Sequential::load(path)?;
        History::default()
    } else {
        train(args, &mut model, &mnist.train_images, &train_targets, fit_config(args))?
    };
    if let Some(path) = &args.save {
        model.save(path)?;
    }
    if let Some(path) = &args.plot {
        plot::history_svg(&history, path)?;
    }

    if let Some(index) = args.predict {
        predict_digit(&mut model, &mnist, index, args.predict_png.as_deref())?;
    }
    if args.report {
        let probabilities = model.predict(&mnist.test_images, 1000)?;
        let report = report::report(&probabilities, &mnist.test_labels, 10)?;
        out!("{report}");
    }

    let test = model.evaluate(&mnist.test_images, &test_targets, &loss, 1000)?;
    outln!("test: loss {:.4}, accuracy {:.4} ({}/{})", test.loss, test.accuracy, test.correct, test.samples);
    Ok(())
}

/// The flags only training reads: `--load` trains nothing, so with it each would be ignored.
const TRAINING_ONLY: [&str; 8] =
    ["--epochs", "--batch-size", "--lr", "--seed", "--optimizer", "--plot", "--checkpoint", "--resume"];

/// The settings a checkpoint holds and `--resume` restores (Adam's learning rate among them),
/// so that the resumed run is the interrupted one: with `--resume` each flag would be ignored.
const RESTORED_BY_RESUME: [&str; 3] = ["--batch-size", "--lr", "--seed"];

/// Refuses flags that contradict each other, and flags the chosen mode would ignore: a
/// setting silently dropped is found out only after the run, if at all. `given` is every flag
/// on the command line, in order, so the error names the first that does not fit.
fn check_combination(args: &Args, given: &[String]) -> Result<(), String> {
    let first_of = |flags: &[&str]| given.iter().find(|flag| flags.contains(&flag.as_str())).cloned();
    if args.load.is_some() {
        if let Some(flag) = first_of(&TRAINING_ONLY) {
            return Err(format!("--load evaluates without training: it takes no {flag}"));
        }
    }
    if args.resume.is_some() {
        if let Some(flag) = first_of(&RESTORED_BY_RESUME) {
            return Err(format!(
                "--resume continues with the checkpoint's batch size, learning rate and seed: it takes no {flag}"
            ));
        }
    }
    if (args.resume.is_some() || args.checkpoint.is_some()) && args.optimizer != "adam" {
        return Err("--checkpoint and --resume keep Adam's state: they need --optimizer adam".into());
    }
    if args.predict_png.is_some() && args.predict.is_none() {
        return Err("--predict-png needs --predict INDEX".into());
    }
    Ok(())
}

/// `value`, the value given to `flag`, as a number; or the error that names both.
fn parsed<T: std::str::FromStr>(flag: &str, value: String) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{flag} {value}: {e}"))
}

/// The tutorial's run with the flags' epochs, batch size and seed: 20% of the training images
/// held out for validation.
fn fit_config(args: &Args) -> FitConfig {
    FitConfig::default()
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_validation_split(0.2)
        .with_seed(args.seed)
}

/// The optimizer `--optimizer` names, with the learning rate `--lr` gives or its own default.
fn optimizer(name: &str, lr: Option<f64>) -> ferronet::Result<Box<dyn Optimizer>> {
    Ok(match name {
        "adam" => Box::new(Adam::new(AdamConfig::default().with_lr(lr.unwrap_or(1e-3)))?),
        "adamw" => Box::new(Adam::new(AdamConfig::adamw().with_lr(lr.unwrap_or(1e-3)))?),
        "sgd" => Box::new(Sgd::new(SgdConfig::default().with_lr(lr.unwrap_or(0.01)).with_momentum(0.9))?),
        _ => {
            let value = name.to_string();
            return Err(ferronet::Error::Config { name: "optimizer", value, expected: "adam, adamw or sgd" });
        }
    })
}

/// Trains `model` as the flags ask, showing progress (a live bar on a terminal, epoch lines in
/// a pipe or a log, nothing with `--quiet`) and ending with one line for the whole run.
fn train(
    args: &Args,
    model: &mut Sequential,
    x: &Images,
    y: &Targets,
    config: FitConfig,
) -> ferronet::Result<History> {
    let mut progress = Progress::new(args.quiet);
    let history = if args.checkpoint.is_some() || args.resume.is_some() {
        train_with_checkpoints(args, model, x, y, config, &mut progress)?
    } else {
        let mut optimizer = optimizer(&args.optimizer, args.lr)?;
        model.fit_with(x, y, &SoftmaxCrossEntropy, optimizer.as_mut(), &config, &mut [&mut progress])?
    };
    progress.finish(&history);
    Ok(history)
}

/// Trains from a fresh model or a `--resume` checkpoint, stopping after each epoch to save a
/// `--checkpoint`: a crash loses one epoch at most. Each `fit` is given the whole run and
/// stopped by [`PauseAfterEachEpoch`], so the epoch lines count the run's epochs. The run ends on
/// the weights an uninterrupted run reaches, since each epoch's shuffle depends only on the
/// seed and the epoch.
fn train_with_checkpoints(
    args: &Args,
    model: &mut Sequential,
    x: &Images,
    y: &Targets,
    config: FitConfig,
    progress: &mut Progress,
) -> ferronet::Result<History> {
    let mut adam = Adam::new(AdamConfig::default().with_lr(args.lr.unwrap_or(1e-3)))?;
    let mut config = config;
    if let Some(path) = &args.resume {
        let saved = Checkpoint::load(path)?;
        if saved.config.initial_epoch >= args.epochs {
            let value = args.epochs.to_string();
            let expected = "more than the epochs the checkpoint has done";
            return Err(ferronet::Error::Config { name: "epochs", value, expected });
        }
        (*model, adam, config) = (saved.model, saved.optimizer, saved.config.with_epochs(args.epochs));
    }
    let mut history = History::default();
    for done in config.initial_epoch..config.epochs {
        let rest = config.with_initial_epoch(done);
        let callbacks: &mut [&mut dyn Callback] = &mut [&mut *progress, &mut PauseAfterEachEpoch];
        let epoch = model.fit_with(x, y, &SoftmaxCrossEntropy, &mut adam, &rest, callbacks)?;
        if let Some(path) = &args.checkpoint {
            Checkpoint::save(path, model, &adam, &config, done + 1)?;
        }
        history.epochs.extend(epoch.epochs);
    }
    Ok(history)
}

/// Stops `fit` after its first epoch, so that a checkpoint can be saved before the next. The
/// saving cannot be a callback itself: `fit` holds the optimizer while it runs, and a callback
/// sees the model only as a `dyn Layer`, while a checkpoint needs Adam's state and the `Sequential`.
struct PauseAfterEachEpoch;

impl Callback for PauseAfterEachEpoch {
    fn on_epoch_end(&mut self, _log: &EpochLog, _history: &History, _model: &mut dyn Layer<f32>) -> Control {
        Control::Stop
    }
}

/// The tutorial's predict_digit: the image beside every class's probability, the prediction,
/// and the image as a PNG if asked.
fn predict_digit(
    model: &mut Sequential,
    mnist: &Mnist,
    index: usize,
    png: Option<&Path>,
) -> ferronet::Result<()> {
    let [_, rows, cols] = mnist.test_images.shape();
    let pixels = test_image(mnist, index)?;
    let image = Images::new(1, rows, cols, pixels.to_vec())?;
    let probabilities = model.predict(&image, 1)?;
    let label = mnist.test_labels[index];
    outln!("test image {index}, true label {label}");
    out!("{}", draw::digit_beside_probabilities(pixels, cols, probabilities.as_slice(), label.into()));
    outln!("predicted class: {}", probabilities.argmax_rows()[0]);
    if let Some(path) = png {
        draw::write_png(path, pixels, cols, 10)?;
        outln!("wrote {}", path.display());
    }
    Ok(())
}

/// Test image `index`, or the error `--predict` gives for an index past the end.
fn test_image(mnist: &Mnist, index: usize) -> ferronet::Result<&[u8]> {
    mnist.test_images.image(index).ok_or_else(|| {
        let last = mnist.test_images.count().saturating_sub(1);
        ferronet::Error::Data(format!("--predict {index}: the test set has images 0 to {last}"))
    })
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(|args| run(&args).map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `parse_args` makes of the command line `line`.
    fn parse(line: &str) -> Result<Args, String> {
        parse_args(line.split_whitespace().map(String::from))
    }

    #[test]
    fn the_defaults_are_the_tutorials() {
        let args = parse("").unwrap();
        assert_eq!((args.epochs, args.batch_size, args.lr, args.seed), (10, 64, None, 42));
        assert_eq!(args.optimizer, "adam");
    }

    #[test]
    fn flags_set_their_settings() {
        let args = parse("--epochs 3 --batch-size 7 --lr 0.5 --seed 9 --quiet --report --predict 4").unwrap();
        assert_eq!((args.epochs, args.batch_size, args.lr, args.seed), (3, 7, Some(0.5), 9));
        assert!(args.quiet && args.report);
        assert_eq!(args.predict, Some(4));
    }

    #[test]
    fn a_known_flag_without_its_value_says_so() {
        assert_eq!(parse("--epochs").unwrap_err(), "--epochs needs a value (see --help)");
    }

    #[test]
    fn a_value_that_does_not_parse_is_named() {
        assert_eq!(parse("--epochs ten").unwrap_err(), "--epochs ten: invalid digit found in string");
    }

    #[test]
    fn load_refuses_every_flag_of_training_naming_the_first() {
        let training = [
            "--epochs",
            "--batch-size",
            "--lr",
            "--seed",
            "--optimizer",
            "--plot",
            "--checkpoint",
            "--resume",
        ];
        for flag in training {
            let expected = format!("--load evaluates without training: it takes no {flag}");
            assert_eq!(parse(&format!("--load m.st {flag} 1")).unwrap_err(), expected);
            assert_eq!(parse(&format!("{flag} 1 --load m.st")).unwrap_err(), expected);
        }
        assert_eq!(
            parse("--load m.st --epochs 5 --optimizer sgd").unwrap_err(),
            "--load evaluates without training: it takes no --epochs"
        );
    }

    #[test]
    fn load_takes_the_flags_that_evaluate_and_save() {
        let args =
            parse("--load m.st --predict 3 --predict-png d.png --report --save copy.st --quiet").unwrap();
        assert_eq!(args.load, Some(PathBuf::from("m.st")));
    }

    #[test]
    fn resume_refuses_the_settings_the_checkpoint_restores() {
        assert_eq!(
            parse("--resume ck.st --batch-size 7 --lr 0.5 --seed 99").unwrap_err(),
            "--resume continues with the checkpoint's batch size, learning rate and seed: it takes no --batch-size"
        );
        for flag in ["--lr", "--seed"] {
            let err = parse(&format!("--resume ck.st {flag} 1")).unwrap_err();
            assert!(err.ends_with(&format!("it takes no {flag}")), "{err}");
        }
    }

    #[test]
    fn resume_takes_the_epochs_to_reach_and_another_checkpoint() {
        let args =
            parse("--resume ck.st --epochs 6 --checkpoint ck.st --optimizer adam --plot h.svg --quiet")
                .unwrap();
        assert_eq!((args.epochs, args.resume), (6, Some(PathBuf::from("ck.st"))));
    }

    #[test]
    fn checkpoints_need_adam() {
        for line in ["--checkpoint ck.st --optimizer sgd", "--optimizer adamw --resume ck.st"] {
            assert_eq!(
                parse(line).unwrap_err(),
                "--checkpoint and --resume keep Adam's state: they need --optimizer adam"
            );
        }
    }

    #[test]
    fn every_output_file_needs_an_existing_folder_before_training() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        for flag in ["--plot", "--save", "--checkpoint"] {
            let path = missing.join("out.st");
            let err = parse_args([flag.to_string(), path.display().to_string()]).unwrap_err();
            assert_eq!(err, format!("{flag} {}: no folder {}", path.display(), missing.display()));
            assert!(parse_args([flag.to_string(), dir.path().join("out.st").display().to_string()]).is_ok());
        }
        let png = missing.join("digit.png");
        let words = ["--predict", "0", "--predict-png", png.to_str().unwrap()].map(String::from);
        assert_eq!(
            parse_args(words).unwrap_err(),
            format!("--predict-png {}: no folder {}", png.display(), missing.display())
        );
    }

    #[test]
    fn an_output_file_that_is_an_existing_folder_is_refused_before_training() {
        let dir = tempfile::tempdir().unwrap();
        for flag in ["--plot", "--save", "--checkpoint"] {
            let err = parse_args([flag.to_string(), dir.path().display().to_string()]).unwrap_err();
            assert_eq!(err, format!("{flag} {}: is a folder; name a file in it", dir.path().display()));
        }
    }

    #[test]
    fn an_unknown_flag_is_named_with_or_without_a_word_after_it() {
        for line in ["--bogus 3", "--bogus", "--epochs 3 --bogus", "--bogus --quiet"] {
            assert_eq!(parse(line).unwrap_err(), "unknown flag --bogus (see --help)", "{line}");
        }
    }

    /// Twelve 2x2 images of two classes, and a 4-3-2 network for them, seeded by `seed`.
    fn tiny_run(seed: u64) -> (Images, Targets, Sequential) {
        let pixels: Vec<u8> = (0..48).map(|i| (i * 37 % 256) as u8).collect();
        let labels: Vec<u8> = (0..12).map(|i| u8::from(i % 3 == 0)).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let model = Sequential::new()
            .add(Flatten::new())
            .add(Dense::new(4, 3, &mut rng).unwrap().with_activation(Activation::Relu))
            .add(Dense::new(3, 2, &mut rng).unwrap())
            .add(Softmax::new());
        (Images::new(12, 2, 2, pixels).unwrap(), Targets::classes(&labels, 2).unwrap(), model)
    }

    /// Every weight's bits, in the order the parameters are visited.
    fn bits(model: &mut Sequential) -> Vec<u32> {
        let mut all = Vec::new();
        model.visit_params(&mut |p| all.extend(p.value.iter().map(|v| v.to_bits())));
        all
    }

    /// `model` trained by `train_with_checkpoints` as the flags `words` ask, quietly; and the
    /// epochs it reports, as its epoch lines begin.
    fn checkpointed(words: &[&str], x: &Images, y: &Targets, model: &mut Sequential) -> Vec<String> {
        let args = parse_args(words.iter().map(|w| w.to_string())).unwrap();
        let quiet = &mut Progress::new(true);
        let history = train_with_checkpoints(&args, model, x, y, fit_config(&args), quiet).unwrap();
        history.epochs.iter().map(|e| format!("Epoch {}/{}", e.epoch, e.epochs)).collect()
    }

    /// `tiny_run(1)`'s model after `epochs` epochs of batch 5 in one `fit`, as a run without
    /// `--checkpoint` trains.
    fn uninterrupted(epochs: usize) -> Sequential {
        let (x, y, mut model) = tiny_run(1);
        let args = parse(&format!("--epochs {epochs} --batch-size 5")).unwrap();
        let mut adam = optimizer("adam", None).unwrap();
        model.fit(&x, &y, &SoftmaxCrossEntropy, adam.as_mut(), &fit_config(&args)).unwrap();
        model
    }

    #[test]
    fn a_checkpointed_run_counts_its_epochs_and_resumes_to_the_uninterrupted_weights() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.st");
        let path = path.to_str().unwrap();

        let (x, y, mut first) = tiny_run(1);
        let epochs =
            checkpointed(&["--epochs", "3", "--batch-size", "5", "--checkpoint", path], &x, &y, &mut first);
        assert_eq!(epochs, ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]);
        assert_eq!(bits(&mut first), bits(&mut uninterrupted(3)));

        // Other initial weights: the checkpoint replaces them.
        let (x, y, mut resumed) = tiny_run(2);
        let epochs = checkpointed(&["--epochs", "5", "--resume", path], &x, &y, &mut resumed);
        assert_eq!(epochs, ["Epoch 4/5", "Epoch 5/5"]);
        assert_eq!(bits(&mut resumed), bits(&mut uninterrupted(5)));
    }
}
