//! Training progress as a [`Callback`]: a live bar during each epoch, replaced at the end of
//! the epoch by Keras's epoch line; and, from [`Progress::finish`], one line for the whole run.
//!
//! The bar is drawn on stderr, and only when stderr is a terminal; the epoch lines go to
//! stdout. Piped into a file or a CI log, a run therefore shows the epoch lines and nothing
//! else.

use std::io::IsTerminal;

use ferronet::callbacks::{BatchLog, Callback, Control};
use ferronet::layers::Layer;
use ferronet::{EpochLog, FitConfig, Float, History};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::out::outln;

/// Prints training progress: a bar and epoch lines, epoch lines only, or nothing.
#[derive(Debug)]
pub struct Progress {
    live: bool,
    quiet: bool,
    epoch: usize,
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress with a live bar when stderr is a terminal; with `quiet`, nothing at all.
    pub fn new(quiet: bool) -> Self {
        Progress { live: !quiet && std::io::stderr().is_terminal(), quiet, epoch: 0, epochs: 0, bar: None }
    }

    /// The run's last line, `trained N epochs in Ts (S samples/s)`, over `history`, which holds
    /// every epoch of the run. It is not printed at `on_train_end` because one run may be
    /// several `fit` calls: the mnist example's `--checkpoint` stops `fit` after each epoch to
    /// save, and that run should still end with one line, not one per epoch.
    pub fn finish(&self, history: &History) {
        if self.quiet {
            return;
        }
        let seconds: f64 = history.epochs.iter().map(|e| e.seconds).sum();
        let samples: usize = history.epochs.iter().map(|e| e.samples).sum();
        let epochs = history.epochs.len();
        let plural = if epochs == 1 { "" } else { "s" };
        outln!("trained {epochs} epoch{plural} in {seconds:.1}s ({:.0} samples/s)", samples as f64 / seconds);
    }
}

/// A bar for this epoch's `steps` batches, with the prefix `prefix`.
fn new_bar(prefix: String, steps: usize) -> ProgressBar {
    let style =
        ProgressStyle::with_template("{prefix} {wide_bar:.cyan/blue} {pos}/{len} {elapsed} < {eta} - {msg}")
            .map_or_else(|_| ProgressStyle::default_bar(), |style| style.progress_chars("=> "));
    let bar = ProgressBar::hidden().with_style(style).with_prefix(prefix);
    bar.set_length(steps as u64);
    bar
}

impl<F: Float> Callback<F> for Progress {
    fn on_train_begin(&mut self, config: &FitConfig) {
        self.epochs = config.epochs;
    }

    fn on_epoch_begin(&mut self, epoch: usize) {
        self.epoch = epoch;
    }

    fn on_batch_end(&mut self, log: &BatchLog) -> Control {
        if !self.live {
            return Control::Continue;
        }
        let first = self.bar.is_none();
        let bar = self
            .bar
            .get_or_insert_with(|| new_bar(format!("Epoch {}/{}", self.epoch, self.epochs), log.steps));
        bar.set_position(log.step as u64);
        bar.set_message(format!(
            "{:.0} samples/s - loss {:.4} - accuracy {:.4}",
            log.samples as f64 / log.seconds,
            log.loss,
            log.accuracy
        ));
        if first {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        Control::Continue
    }

    fn on_epoch_end(&mut self, log: &EpochLog, _history: &History, _model: &mut dyn Layer<F>) -> Control {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            outln!("{log} - {:.0} samples/s", log.samples as f64 / log.seconds);
        }
        Control::Continue
    }
}
