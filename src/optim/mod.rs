//! Optimizers: the [`Optimizer`] trait and one file per optimizer.
//!
//! - [`Adam`], with optional decoupled weight decay (AdamW), configured by [`AdamConfig`];
//! - [`Sgd`], with momentum, dampening and Nesterov momentum, configured by [`SgdConfig`].

mod adam;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamState};
pub use sgd::{Sgd, SgdConfig, SgdState};

use crate::error::{Error, Result};
use crate::layers::{Layer, Param};
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

/// What an optimizer keeps for one parameter, tied to that parameter's name and shape.
pub(crate) trait ParamState<F: Float> {
    /// Fresh state for a parameter about to take its first step.
    fn for_param(param: &Param<F>) -> Self;
    /// The name of the parameter the state belongs to.
    fn name(&self) -> &str;
    /// The shape of that parameter.
    fn shape(&self) -> &[usize];

    /// What is wrong when this is not the state of parameter number `index`, `p`.
    fn mismatch(&self, index: usize, p: &Param<F>) -> Option<String> {
        (self.name() != p.name || self.shape() != p.value.shape()).then(|| {
            format!(
                "parameter {index} is {} {:?}, but the state is for {} {:?}",
                p.name,
                p.value.shape(),
                self.name(),
                self.shape()
            )
        })
    }
}

/// Checks that `state` holds one entry per parameter of `model`, in visiting order, each
/// belonging to its parameter by name and shape.
pub(crate) fn check_state<F: Float, S: ParamState<F>>(model: &mut dyn Layer<F>, state: &[S]) -> Result<()> {
    let mut index = 0;
    let mut problem = None;
    model.visit_params(&mut |p: &mut Param<F>| {
        if problem.is_none() {
            problem = match state.get(index) {
                Some(s) => s.mismatch(index, p),
                None => Some(format!("no state for parameter {index}, {} {:?}", p.name, p.value.shape())),
            };
        }
        index += 1;
    });
    if problem.is_none() && index != state.len() {
        problem = Some(format!("the model has {index} parameters, the state {}", state.len()));
    }
    problem.map_or(Ok(()), |p| Err(Error::OptimizerState(p)))
}

/// Lines `state` up with the parameters of `model` before a step: creates state for parameters
/// seen for the first time, then checks every entry ([`check_state`]) and every gradient's shape.
///
/// Called before a step changes anything, so a mismatch leaves the model as it was.
pub(crate) fn sync_state<F: Float, S: ParamState<F>>(
    state: &mut Vec<S>,
    model: &mut dyn Layer<F>,
) -> Result<()> {
    let mut index = 0;
    model.visit_params(&mut |p: &mut Param<F>| {
        if index >= state.len() {
            state.push(S::for_param(p));
        }
        index += 1;
    });
    check_state(model, state)?;
    let mut problem = None;
    model.visit_params(&mut |p: &mut Param<F>| {
        if problem.is_none() && p.grad.shape() != p.value.shape() {
            problem =
                Some(format!("{} has value {:?} but gradient {:?}", p.name, p.value.shape(), p.grad.shape()));
        }
    });
    problem.map_or(Ok(()), |p| Err(Error::OptimizerState(p)))
}
