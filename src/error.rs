//! One error type for the whole crate.

use std::fmt;
use std::path::PathBuf;

use crate::model::History;

/// The result type of every fallible function in ferronet.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in ferronet, each variant naming what it was
/// given and what it expected.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not a well-formed IDX file, or not the IDX file expected.
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file starts like gzip but does not decompress.
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decompressor reported.
        reason: String,
    },
    /// A data set is not usable as given (counts differ, a label is out of range, it is empty).
    Data(String),
    /// Two shapes that must agree do not.
    Shape {
        /// Where the mismatch was found (a layer, a loss, an argument).
        context: String,
        /// The shape that was expected.
        expected: Vec<usize>,
        /// The shape that was found.
        found: Vec<usize>,
    },
    /// A configuration value is out of its range.
    Config {
        /// The parameter's name.
        name: &'static str,
        /// The value received, formatted.
        value: String,
        /// What the value must satisfy.
        expected: &'static str,
    },
    /// Training produced a loss or gradient that is NaN or infinite, and
    /// [`Sequential::fit`](crate::Sequential::fit) stopped before the optimizer step that would
    /// have used it: the model (and the optimizer's state) are as they were after the previous
    /// step, and `history` holds the epochs completed before this one. A validation loss that
    /// is not finite stops training the same way at the end of its epoch (`step` is then the
    /// epoch's last step run). When a weight was already not finite (an earlier update
    /// overflowed, usually from too large a learning rate, or it was set so), `what` names it too.
    ///
    /// ```no_run
    /// # use ferronet::{Error, FitConfig, Sequential, Tensor, data::Targets, loss::SoftmaxCrossEntropy, optim::{Adam, AdamConfig}};
    /// # fn train(model: &mut Sequential, x: &Tensor, y: &Targets) -> ferronet::Result<()> {
    /// # let mut adam = Adam::new(AdamConfig::default())?;
    /// let history = match model.fit(x, y, &SoftmaxCrossEntropy, &mut adam, &FitConfig::default()) {
    ///     Ok(history) => history,
    ///     Err(Error::NonFinite { what, epoch, step, history }) => {
    ///         eprintln!("{what} diverged at epoch {epoch}, step {step}; keeping the weights before it");
    ///         history
    ///     }
    ///     Err(other) => return Err(other),
    /// };
    /// # Ok(()) }
    /// ```
    NonFinite {
        /// What was not finite: `"the loss (NaN)"`, or `"the gradient of dense_1.weight"` for the
        /// first parameter, in visiting order, whose gradient holds a NaN or an infinity.
        what: String,
        /// The epoch, counted from 1.
        epoch: usize,
        /// The step within the epoch, counted from 1.
        step: usize,
        /// The epochs completed before the failure (the failed epoch is not in it).
        history: History,
    },
    /// An optimizer's state does not belong to the parameters it was given.
    OptimizerState(String),
    /// A file is not a readable safetensors file: truncated, corrupted, or of another format.
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors reader reported.
        reason: String,
    },
    /// A safetensors file that does not fit what was asked of it (no ferronet architecture,
    /// tensors missing or extra, of another shape or dtype, values that are not finite), or a
    /// model that cannot be saved as it is.
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the tensor or parameter.
        reason: String,
    },
    /// A saved architecture names a kind of layer ferronet cannot build.
    UnknownLayer {
        /// The file.
        path: PathBuf,
        /// The layer's position in the model, from 0.
        index: usize,
        /// The kind the file names.
        kind: String,
    },
    /// A file's tensors are of another precision than the model's, and conversion was not asked for.
    Precision {
        /// The file.
        path: PathBuf,
        /// The file's dtype (`F32`, `F64`).
        file: String,
        /// The model's element type (`f32`, `f64`).
        model: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Idx { path, reason } => write!(f, "{}: not a valid IDX file: {reason}", path.display()),
            Error::Gzip { path, reason } => {
                write!(f, "{}: starts as gzip but does not decompress: {reason}", path.display())
            }
            Error::Data(reason) => write!(f, "data set: {reason}"),
            Error::Shape { context, expected, found } => {
                write!(f, "{context}: expected shape {expected:?}, found {found:?}")
            }
            Error::Config { name, value, expected } => {
                write!(f, "invalid {name}: expected {expected}, received {name}={value}")
            }
            Error::NonFinite { what, epoch, step, .. } => {
                write!(f, "{what} is not finite at epoch {epoch}, step {step}; training stopped there")
            }
            Error::OptimizerState(reason) => write!(f, "optimizer state: {reason}"),
            Error::Safetensors { path, reason } => {
                write!(f, "{}: not a valid safetensors file: {reason}", path.display())
            }
            Error::ModelFile { path, reason } => write!(f, "{}: {reason}", path.display()),
            Error::UnknownLayer { path, index, kind } => write!(
                f,
                "{}: layer {index} is of unknown kind `{kind}`; \
                 build the model in code and fill it with load_weights",
                path.display()
            ),
            Error::Precision { path, file, model } => write!(
                f,
                "{}: holds {file} tensors but the model is {model}; \
                 load with LoadOptions::default().with_convert(true) to convert them",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    pub(crate) fn shape(context: impl Into<String>, expected: &[usize], found: &[usize]) -> Self {
        Error::Shape { context: context.into(), expected: expected.to_vec(), found: found.to_vec() }
    }
}
