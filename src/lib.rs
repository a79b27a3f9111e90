//! ferronet: a small, exact neural-network library for classification.
#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod layers;
pub mod loss;
pub mod model;
pub mod optim;
pub mod tensor;

pub use error::{Error, Result};
pub use model::{Callback, Control, EpochLog, Evaluation, FitConfig, History, Sequential};
pub use tensor::{Float, Tensor};
