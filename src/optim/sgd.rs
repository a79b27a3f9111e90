//! [`Sgd`]: stochastic gradient descent with momentum, dampening and Nesterov momentum.

use ndarray::{ArrayD, Zip};

use super::{Optimizer, ParamState, check_hyper, sync_state};
use crate::error::{Error, Result};
use crate::layers::{Layer, Param};
use crate::tensor::Float;

/// SGD's hyper-parameters, named as in PyTorch's `torch.optim.SGD`. Defaults: `lr = 0.01`
/// (Keras's; PyTorch's is `1e-3`), `momentum = 0`, `dampening = 0`, `nesterov = false`.
///
/// ```
/// use ferronet::optim::{Sgd, SgdConfig};
///
/// let sgd = Sgd::<f32>::new(SgdConfig::default().with_lr(0.1).with_momentum(0.9).with_nesterov(true))?;
/// assert!(Sgd::<f32>::new(SgdConfig::default().with_nesterov(true)).is_err()); // Nesterov needs momentum
/// # Ok::<(), ferronet::Error>(())
/// ```
#[doc(alias = "SGD")]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// The step size.
    pub lr: f64,
    /// The momentum factor `mu`, in `[0, 1)`; 0 is plain gradient descent.
    pub momentum: f64,
    /// The dampening `d`, in `[0, 1]`: the gradient enters the momentum buffer scaled by `1 - d`.
    pub dampening: f64,
    /// Nesterov momentum: step along `g + mu * buf` instead of `buf`.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 0.01, momentum: 0.0, dampening: 0.0, nesterov: false }
    }
}

impl SgdConfig {
    /// Sets the learning rate.
    pub fn with_lr(self, lr: f64) -> Self {
        SgdConfig { lr, ..self }
    }
    /// Sets the momentum.
    pub fn with_momentum(self, momentum: f64) -> Self {
        SgdConfig { momentum, ..self }
    }
    /// Sets the dampening.
    pub fn with_dampening(self, dampening: f64) -> Self {
        SgdConfig { dampening, ..self }
    }
    /// Turns Nesterov momentum on or off.
    pub fn with_nesterov(self, nesterov: bool) -> Self {
        SgdConfig { nesterov, ..self }
    }

    fn validate(&self) -> Result<()> {
        check_hyper("lr", self.lr, |v| v > 0.0, "a finite number > 0")?;
        check_hyper("momentum", self.momentum, |v| (0.0..1.0).contains(&v), "a number in [0, 1)")?;
        check_hyper("dampening", self.dampening, |v| (0.0..=1.0).contains(&v), "a number in [0, 1]")?;
        if self.nesterov && self.momentum == 0.0 {
            let value = self.momentum.to_string();
            return Err(Error::Config { name: "momentum", value, expected: "a number > 0 with nesterov" });
        }
        if self.nesterov && self.dampening != 0.0 {
            let value = self.dampening.to_string();
            return Err(Error::Config { name: "dampening", value, expected: "0 with nesterov" });
        }
        Ok(())
    }
}

/// SGD's state for one parameter: its momentum buffer.
///
/// [`Sgd::state`] lends it, one per parameter, for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct SgdState<F> {
    /// The parameter's name.
    pub name: String,
    /// The momentum buffer `buf`: `None` before the first step, and always when momentum is 0.
    pub momentum_buffer: Option<ArrayD<F>>,
    shape: Vec<usize>,
}

impl<F: Float> ParamState<F> for SgdState<F> {
    fn for_param(p: &Param<F>) -> Self {
        SgdState { name: p.name.clone(), momentum_buffer: None, shape: p.value.shape().to_vec() }
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
}

/// Stochastic gradient descent as PyTorch's `torch.optim.SGD` computes it, for a gradient `g`:
///
/// ```text
/// buf = g                                  at the first step (not dampened)
/// buf = mu * buf + (1 - dampening) * g     at every later step
/// p   = p - lr * buf                       (momentum)
/// p   = p - lr * (g + mu * buf)            (Nesterov)
/// p   = p - lr * g                         (mu = 0: no buffer is kept)
/// ```
///
/// The learning rate multiplies the buffer when it is applied, not when it is accumulated
/// (Sutskever et al. and Keras put it inside the buffer; the two agree while `lr` is constant).
///
/// # Example
/// ```
/// use ferronet::layers::{Dense, Layer};
/// use ferronet::optim::{Optimizer, Sgd, SgdConfig};
/// use ndarray::array;
///
/// // One weight w = 1, gradient 1 at every step, lr 0.1, momentum 0.9:
/// // buf = 1, 1.9, 2.71 and w = 0.9, 0.71, 0.439.
/// let mut layer = Dense::<f64>::from_weights(array![[1.0]], array![0.0])?;
/// let mut sgd = Sgd::new(SgdConfig::default().with_lr(0.1).with_momentum(0.9))?;
/// for _ in 0..3 {
///     layer.visit_params(&mut |p| p.grad.fill(if p.name.ends_with("weight") { 1.0 } else { 0.0 }));
///     sgd.step(&mut layer)?;
/// }
/// assert!((layer.weight().value[[0, 0]] - 0.439).abs() < 1e-15);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[doc(alias = "SGD")]
#[derive(Debug, Clone)]
pub struct Sgd<F = f32> {
    config: SgdConfig,
    state: Vec<SgdState<F>>,
}

impl<F: Float> Sgd<F> {
    /// An SGD optimizer with no state yet.
    ///
    /// # Errors
    /// [`Error::Config`] for a learning rate that is not finite and positive (in the element type too), a momentum outside
    /// `[0, 1)`, a dampening outside `[0, 1]`, or Nesterov without momentum or with dampening.
    pub fn new(config: SgdConfig) -> Result<Self> {
        config.validate()?;
        check_hyper(
            "lr",
            config.lr,
            |lr| F::from_f64(lr).is_finite(),
            "a number that is finite in the element type",
        )?;
        Ok(Sgd { config, state: Vec::new() })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    /// The per-parameter state, in the order the parameters are visited.
    pub fn state(&self) -> &[SgdState<F>] {
        &self.state
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn step(&mut self, model: &mut dyn Layer<F>) -> Result<()> {
        // Every parameter is checked before any is changed, so a mismatch leaves the model as it was.
        sync_state(&mut self.state, model)?;
        let SgdConfig { lr, momentum, dampening, nesterov } = self.config;
        let (lr, mu, keep) = (F::from_f64(lr), F::from_f64(momentum), F::from_f64(1.0 - dampening));
        let mut states = self.state.iter_mut();
        model.visit_params(&mut |p: &mut Param<F>| {
            let Some(s) = states.next() else { return };
            if momentum == 0.0 {
                Zip::from(&mut p.value).and(&p.grad).for_each(|w, &g| *w -= lr * g);
                return;
            }
            let buf = match &mut s.momentum_buffer {
                Some(buf) => {
                    Zip::from(&mut *buf).and(&p.grad).for_each(|b, &g| *b = mu * *b + keep * g);
                    buf
                }
                // The first step copies the gradient, once: the buffer is reused from then on.
                none => none.insert(p.grad.clone()),
            };
            if nesterov {
                Zip::from(&mut p.value).and(&p.grad).and(&*buf).for_each(|w, &g, &b| *w -= lr * (g + mu * b));
            } else {
                Zip::from(&mut p.value).and(&*buf).for_each(|w, &b| *w -= lr * b);
            }
        });
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }
}
