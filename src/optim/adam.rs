//! [`Adam`]: adaptive moment estimation (Kingma & Ba, 2015, Algorithm 1).

use ndarray::{ArrayD, Zip};

use super::{Optimizer, check_hyper};
use crate::error::{Error, Result};
use crate::layers::{Layer, Param};
use crate::tensor::Float;

/// Adam's hyper-parameters, named as in the paper. Defaults: `lr = 1e-3`, `beta1 = 0.9`,
/// `beta2 = 0.999`, `eps = 1e-8` (the paper's, PyTorch's and Keras's).
///
/// ```
/// use ferronet::optim::{Adam, AdamConfig};
///
/// let adam = Adam::<f32>::new(AdamConfig::default().with_lr(3e-4))?;
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// The step size, alpha in the paper.
    pub lr: f64,
    /// Decay of the first-moment estimate.
    pub beta1: f64,
    /// Decay of the second-moment estimate.
    pub beta2: f64,
    /// Added to the bias-corrected `sqrt(v_hat)` before dividing.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

impl AdamConfig {
    /// Sets the learning rate.
    pub fn with_lr(self, lr: f64) -> Self {
        AdamConfig { lr, ..self }
    }
    /// Sets beta1.
    pub fn with_beta1(self, beta1: f64) -> Self {
        AdamConfig { beta1, ..self }
    }
    /// Sets beta2.
    pub fn with_beta2(self, beta2: f64) -> Self {
        AdamConfig { beta2, ..self }
    }
    /// Sets eps.
    pub fn with_eps(self, eps: f64) -> Self {
        AdamConfig { eps, ..self }
    }

    fn validate(&self) -> Result<()> {
        check_hyper("lr", self.lr, |v| v > 0.0, "a finite number > 0")?;
        check_hyper("beta1", self.beta1, |v| (0.0..1.0).contains(&v), "a number in [0, 1)")?;
        check_hyper("beta2", self.beta2, |v| (0.0..1.0).contains(&v), "a number in [0, 1)")?;
        // eps = 0 would make a parameter whose gradients have all been 0 divide 0 by 0.
        check_hyper("eps", self.eps, |v| v > 0.0, "a finite number > 0")
    }
}

/// Adam's state for one parameter: the raw (not bias-corrected) moment estimates and its step count.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamState<F> {
    /// The parameter's name.
    pub name: String,
    /// First-moment estimate, `m`.
    pub m: ArrayD<F>,
    /// Second-moment estimate, `v`.
    pub v: ArrayD<F>,
    /// Steps taken, `t`.
    pub step: u64,
}

/// The Adam optimizer, as in Kingma & Ba's Algorithm 1 (the form PyTorch's `torch.optim.Adam` uses):
///
/// ```text
/// m = beta1 m + (1 - beta1) g
/// v = beta2 v + (1 - beta2) g^2
/// p = p - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
/// ```
///
/// `eps` is added to `sqrt(v_hat)`, after bias correction. Keras adds it to `sqrt(v)` before
/// ("epsilon hat"); the two differ when gradients are near `eps` in size.
#[derive(Debug, Clone)]
pub struct Adam<F = f32> {
    config: AdamConfig,
    state: Vec<AdamState<F>>,
}

impl<F: Float> Adam<F> {
    /// An Adam optimizer with no state yet; state is created for each parameter at its first step.
    ///
    /// Every configuration it accepts turns finite gradients into finite updates, which is what
    /// lets [`Sequential::fit`](crate::Sequential::fit)'s NaN guard promise finite weights.
    ///
    /// # Errors
    /// [`Error::Config`] for a learning rate that is not finite and positive, a beta outside
    /// `[0, 1)` or an eps that is not finite and positive; and, in `F`, for a first step
    /// `lr / (1 - beta1)` that overflows or an `eps` that rounds to 0.
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate()?;
        let first_step = F::from_f64(config.lr / (1.0 - config.beta1));
        check_hyper(
            "lr",
            config.lr,
            |_| first_step.is_finite(),
            "a number whose first step lr / (1 - beta1) is finite in the element type",
        )?;
        check_hyper(
            "eps",
            config.eps,
            |eps| F::from_f64(eps) > F::zero(),
            "a number that stays above 0 in the element type",
        )?;
        Ok(Adam { config, state: Vec::new() })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The per-parameter state, in the order the parameters are visited.
    pub fn state(&self) -> &[AdamState<F>] {
        &self.state
    }

    fn check_state(&mut self, model: &mut dyn Layer<F>) -> Result<()> {
        let mut index = 0;
        let mut problem = None;
        let state = &mut self.state;
        model.visit_params(&mut |p: &mut Param<F>| {
            if problem.is_some() {
                return;
            }
            match state.get(index) {
                None => state.push(AdamState {
                    name: p.name.clone(),
                    m: ArrayD::zeros(p.value.raw_dim()),
                    v: ArrayD::zeros(p.value.raw_dim()),
                    step: 0,
                }),
                Some(s) if s.name != p.name || s.m.shape() != p.value.shape() => {
                    problem = Some(format!(
                        "parameter {index} is {} {:?}, but the state is for {} {:?}",
                        p.name,
                        p.value.shape(),
                        s.name,
                        s.m.shape()
                    ));
                }
                Some(_) => {}
            }
            if p.grad.shape() != p.value.shape() && problem.is_none() {
                problem = Some(format!(
                    "{} has value {:?} but gradient {:?}",
                    p.name,
                    p.value.shape(),
                    p.grad.shape()
                ));
            }
            index += 1;
        });
        if problem.is_none() && index != state.len() {
            problem = Some(format!("the model has {index} parameters, the state {}", state.len()));
        }
        problem.map_or(Ok(()), |p| Err(Error::OptimizerState(p)))
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, model: &mut dyn Layer<F>) -> Result<()> {
        // Every parameter is checked before any is changed, so a mismatch leaves the model as it was.
        self.check_state(model)?;
        let AdamConfig { lr, beta1, beta2, eps } = self.config;
        let (b1, b2, eps) = (F::from_f64(beta1), F::from_f64(beta2), F::from_f64(eps));
        let mut states = self.state.iter_mut();
        model.visit_params(&mut |p: &mut Param<F>| {
            let Some(s) = states.next() else { return };
            s.step += 1;
            let t = i32::try_from(s.step).unwrap_or(i32::MAX);
            // The bias corrections are formed in f64 so that f32 training sees them rounded once.
            let step_size = F::from_f64(lr / (1.0 - beta1.powi(t)));
            let inv_sqrt_bias2 = F::from_f64(1.0 / (1.0 - beta2.powi(t)).sqrt());
            Zip::from(&mut p.value).and(&p.grad).and(&mut s.m).and(&mut s.v).for_each(|w, &g, m, v| {
                *m = b1 * *m + (F::one() - b1) * g;
                *v = b2 * *v + (F::one() - b2) * g * g;
                *w -= step_size * *m / (v.sqrt() * inv_sqrt_bias2 + eps);
            });
        });
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }
}
