//! Optimizers: the [`Optimizer`] trait and one file per optimizer.

mod adam;

#[cfg(feature = "safetensors")]
pub(crate) use adam::check_against;
pub use adam::{Adam, AdamConfig, AdamState};

use crate::error::{Error, Result};
use crate::layers::Layer;
use crate::tensor::Float;

/// Updates a model's parameters from their accumulated gradients.
///
/// State is kept per parameter, in the order [`Layer::visit_params`] visits them, and is
/// checked against each parameter's name and shape at every step: an optimizer never
/// applies one parameter's state to another.
pub trait Optimizer<F: Float = f32> {
    /// Applies one update to every parameter of `model`.
    ///
    /// # Errors
    /// [`Error::OptimizerState`] when the model's parameters are not those the state was built for.
    fn step(&mut self, model: &mut dyn Layer<F>) -> Result<()>;

    /// The learning rate in use.
    fn learning_rate(&self) -> f64;
}

/// Checks a hyper-parameter: finite and inside `range`, or a [`Error::Config`] naming it.
pub(crate) fn check_hyper(
    name: &'static str,
    value: f64,
    ok: impl Fn(f64) -> bool,
    expected: &'static str,
) -> Result<()> {
    if value.is_finite() && ok(value) {
        Ok(())
    } else {
        Err(Error::Config { name, value: value.to_string(), expected })
    }
}
