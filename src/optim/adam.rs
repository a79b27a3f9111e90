//! [`Adam`]: adaptive moment estimation (Kingma & Ba, 2015, Algorithm 1), with optional
//! decoupled weight decay (AdamW, Loshchilov & Hutter, 2019).

use ndarray::{ArrayD, Zip};

use super::{Optimizer, ParamState, check_hyper, check_state, sync_state};
use crate::error::{Error, Result};
use crate::layers::{Layer, Param};
use crate::tensor::Float;

/// Adam's hyper-parameters, named as in the paper. Defaults: `lr = 1e-3`, `beta1 = 0.9`,
/// `beta2 = 0.999`, `eps = 1e-8` (the paper's, PyTorch's and Keras's), `weight_decay = 0`.
///
/// A `weight_decay` above 0 makes it AdamW: see [`Adam`] for where the decay is applied.
///
/// ```
/// use ferronet::optim::{Adam, AdamConfig};
///
/// let adam = Adam::<f32>::new(AdamConfig::default().with_lr(3e-4))?;
/// let adamw = Adam::<f32>::new(AdamConfig::adamw())?;          // weight_decay 0.01, as torch.optim.AdamW
/// assert_eq!(adamw.config().weight_decay, 0.01);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[doc(alias = "AdamW")]
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
    /// Decoupled weight decay: each step first multiplies every parameter by `1 - lr * weight_decay`.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

impl AdamConfig {
    /// AdamW with PyTorch's defaults (`torch.optim.AdamW`): Adam's defaults and `weight_decay = 0.01`.
    pub fn adamw() -> Self {
        AdamConfig { weight_decay: 0.01, ..AdamConfig::default() }
    }
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
    /// Sets the decoupled weight decay (0 turns it off).
    pub fn with_weight_decay(self, weight_decay: f64) -> Self {
        AdamConfig { weight_decay, ..self }
    }

    fn validate(&self) -> Result<()> {
        check_hyper("lr", self.lr, |v| v > 0.0, "a finite number > 0")?;
        check_hyper("beta1", self.beta1, |v| (0.0..1.0).contains(&v), "a number in [0, 1)")?;
        check_hyper("beta2", self.beta2, |v| (0.0..1.0).contains(&v), "a number in [0, 1)")?;
        // eps = 0 would make a parameter whose gradients have all been 0 divide 0 by 0.
        check_hyper("eps", self.eps, |v| v > 0.0, "a finite number > 0")?;
        check_hyper("weight_decay", self.weight_decay, |v| v >= 0.0, "a finite number >= 0")?;
        // The decoupled decay multiplies each weight by 1 - lr * weight_decay: past 1 it would
        // flip the weights' signs and grow them instead of decaying them.
        let lr = self.lr;
        check_hyper(
            "weight_decay",
            self.weight_decay,
            |v| lr * v <= 1.0,
            "a number with lr * weight_decay at most 1",
        )
    }
}

/// Adam's state for one parameter: the raw (not bias-corrected) moment estimates and its step count.
///
/// [`Adam::state`] lends it, one per parameter, for inspection.
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

impl<F: Float> ParamState<F> for AdamState<F> {
    fn for_param(p: &Param<F>) -> Self {
        let zeros = || ArrayD::zeros(p.value.raw_dim());
        AdamState { name: p.name.clone(), m: zeros(), v: zeros(), step: 0 }
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn shape(&self) -> &[usize] {
        self.m.shape()
    }
    fn mismatch(&self, index: usize, p: &Param<F>) -> Option<String> {
        let fits =
            self.name == p.name && self.m.shape() == p.value.shape() && self.v.shape() == p.value.shape();
        (!fits).then(|| {
            format!(
                "parameter {index} is {} {:?}, but the state is for {} {:?} (m) and {:?} (v)",
                p.name,
                p.value.shape(),
                self.name,
                self.m.shape(),
                self.v.shape()
            )
        })
    }
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
///
/// # AdamW: decoupled weight decay
/// With `weight_decay = wd > 0` each step first shrinks the parameter, then takes the Adam step
/// above, exactly as PyTorch's `torch.optim.AdamW` (and Keras 3's `Adam(weight_decay=...)`):
///
/// ```text
/// p = p - lr * wd * p
/// ```
///
/// The decay never enters `m` or `v`. PyTorch's `torch.optim.Adam(weight_decay=...)`, which adds
/// `wd * p` to the gradient instead (an L2 term in the loss), is not offered.
///
/// AdamW is this type with a config, not a type of its own: the two share every line but one, and
/// one type means one kind of state to save and check. [`AdamConfig::adamw`] gives PyTorch's defaults.
///
/// # Example
/// ```
/// use ferronet::layers::{Dense, Layer};
/// use ferronet::optim::{Adam, AdamConfig, Optimizer};
/// use ndarray::array;
///
/// // One weight w = 1 with gradient 1: Adam's first step is lr (times m_hat / sqrt(v_hat) = 1).
/// let mut layer = Dense::<f64>::from_weights(array![[1.0]], array![0.0])?;
/// layer.visit_params(&mut |p| p.grad.fill(if p.name.ends_with("weight") { 1.0 } else { 0.0 }));
/// let mut adamw = Adam::new(AdamConfig::adamw())?;
/// adamw.step(&mut layer)?;
/// // 1 - 1e-3 * 0.01 * 1 (decay), then - 1e-3 * 1 / (1 + 1e-8) (Adam).
/// assert!((layer.weight().value[[0, 0]] - (1.0 - 1e-5 - 1e-3 / (1.0 + 1e-8))).abs() < 1e-15);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adam<F = f32> {
    config: AdamConfig,
    state: Vec<AdamState<F>>,
    slots: Slots<F>,
}

impl<F: Float> Adam<F> {
    /// An Adam optimizer with no state yet; state is created for each parameter at its first step.
    ///
    /// Every configuration it accepts turns finite gradients into finite updates, which is what
    /// lets [`Sequential::fit`](crate::Sequential::fit)'s NaN guard promise finite weights.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for a learning rate that is not finite and positive,
    /// a beta outside `[0, 1)`, an eps that is not finite and positive, or a weight decay that
    /// is negative, not finite, or above `1 / lr` (the decay factor `1 - lr * weight_decay` must
    /// stay in `[0, 1]`); and, in `F`, for a first step `lr / (1 - beta1)` that overflows
    /// or an `eps` that rounds to 0.
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
        Ok(Adam { config, state: Vec::new(), slots: Slots(Vec::new()) })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The per-parameter state, in the order the parameters are visited.
    pub fn state(&self) -> &[AdamState<F>] {
        &self.state
    }

    /// Replaces the per-parameter state with `state` (as [`Adam::state`] gave it, for instance
    /// from a checkpoint), after checking it against `model`: one entry per parameter, in the
    /// order they are visited, each with the parameter's name and its shape for `m` and `v`.
    /// An empty `state` starts afresh, as [`Adam::new`] does.
    ///
    /// ```
    /// use ferronet::layers::Dense;
    /// use ferronet::optim::{Adam, AdamConfig};
    /// use ferronet::Sequential;
    /// use rand::{SeedableRng, rngs::StdRng};
    ///
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let mut small = Sequential::<f32>::new().add(Dense::new(2, 3, &mut rng)?);
    /// let mut wide = Sequential::<f32>::new().add(Dense::new(2, 4, &mut rng)?);
    /// let mut adam = Adam::new(AdamConfig::default())?;
    /// # use ferronet::optim::Optimizer;
    /// adam.step(&mut small)?;                       // state for dense_1.weight [2, 3], ...
    /// let state = adam.state().to_vec();
    /// let mut other = Adam::new(AdamConfig::default())?;
    /// assert!(other.set_state(&mut wide, state.clone()).is_err());
    /// other.set_state(&mut small, state)?;
    /// assert_eq!(other.state()[0].step, 1);
    /// # Ok::<(), ferronet::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OptimizerState`](crate::Error::OptimizerState) naming the first parameter whose name or shape differs, or the
    /// two counts when they differ, or the first moment that is not finite or second moment that
    /// is negative (the next step would make its weight NaN); the optimizer is then unchanged.
    pub fn set_state(&mut self, model: &mut dyn Layer<F>, state: Vec<AdamState<F>>) -> Result<()> {
        if !state.is_empty() {
            check_state(model, &state)?;
        }
        for s in &state {
            let m = s.m.iter().position(|m| !m.is_finite()).map(|i| ("m", i, s.m.iter().nth(i)));
            let v =
                s.v.iter()
                    .position(|v| !(v.is_finite() && *v >= F::zero()))
                    .map(|i| ("v", i, s.v.iter().nth(i)));
            if let Some((moment, index, Some(value))) = m.or(v) {
                return Err(Error::OptimizerState(format!(
                    "{} {moment} holds {value:?} at element {index}; a first moment must be finite, a second \
                     finite and not negative",
                    s.name
                )));
            }
        }
        self.state = state;
        Ok(())
    }
}

/// The constants of one Adam step, in the parameter's precision.
struct Hyper<F> {
    b1: F,
    b2: F,
    eps: F,
    /// `1 - lr * weight_decay`: exactly 1 for plain Adam.
    decay: F,
    step_size: F,
    inv_sqrt_bias2: F,
}

impl<F: Float> Hyper<F> {
    /// One element's update: the whole of Algorithm 1's loop body.
    #[inline(always)]
    fn update(&self, w: &mut F, g: F, m: &mut F, v: &mut F) {
        *m = flush_subnormal(self.b1 * *m + (F::one() - self.b1) * g);
        *v = flush_subnormal(self.b2 * *v + (F::one() - self.b2) * g * g);
        *w = *w * self.decay - self.step_size * *m / (v.sqrt() * self.inv_sqrt_bias2 + self.eps);
    }
}

/// Zero for a value below the smallest normal number, the value itself otherwise (NaN included).
///
/// A moment whose gradients have stopped (a dead ReLU unit, a pixel that is always blank)
/// decays geometrically into the subnormal range and stays there: `0.9 x` the smallest
/// subnormals rounds back to itself. On Intel processors every operation on a subnormal
/// takes a microcode assist, about 100 times a normal one, so such moments once made Adam
/// half of a training step. Flushing them changes nothing a normal float can represent.
#[inline(always)]
fn flush_subnormal<F: Float>(x: F) -> F {
    if x.abs() < F::min_positive_value() { F::zero() } else { x }
}

fn update_portable<F: Float>(w: &mut [F], g: &[F], m: &mut [F], v: &mut [F], hyper: &Hyper<F>) {
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        hyper.update(w, g, m, v);
    }
}

/// The same loop compiled for AVX: twice the lanes for the square roots and divisions, which
/// dominate the step. Square root and division are correctly rounded and no multiply-add is
/// fused, so both paths give bit-identical weights.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn update_avx<F: Float>(w: &mut [F], g: &[F], m: &mut [F], v: &mut [F], hyper: &Hyper<F>) {
    update_portable(w, g, m, v, hyper);
}

/// Steps smaller than this (in elements, all parameters together) run on one thread: a
/// hand-off costs more than they take.
const PARALLEL_MIN: usize = 1 << 15;

/// One parameter's update as raw parts: its four arrays and its constants.
///
/// Every thread of the pool takes the same share of every slot, step after step, so each
/// finds its part of `m` and `v` in its own cache where it left them, and its part of the
/// weight gradient where the matrix product that wrote it (split the same way) left it.
struct Slot<F> {
    w: *mut F,
    g: *const F,
    m: *mut F,
    v: *mut F,
    len: usize,
    hyper: Hyper<F>,
}

/// The slots of the step in progress. Empty between steps: only its capacity is kept, so
/// that a step allocates nothing after the first.
#[derive(Default)]
struct Slots<F>(Vec<Slot<F>>);

// SAFETY: slots exist only inside `Adam::step`, while the arrays they point into stay
// mutably borrowed through the model, and the pool's threads write disjoint ranges of them.
unsafe impl<F: Send> Send for Slots<F> {}
// SAFETY: as for `Send`.
unsafe impl<F: Send> Sync for Slots<F> {}

impl<F> Clone for Slots<F> {
    fn clone(&self) -> Self {
        Slots(Vec::new())
    }
}

impl<F> std::fmt::Debug for Slots<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slots")
    }
}

fn update_on_this_thread<F: Float>(w: &mut [F], g: &[F], m: &mut [F], v: &mut [F], hyper: &Hyper<F>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the processor supports AVX, checked just above.
        unsafe { update_avx(w, g, m, v, hyper) };
        return;
    }
    update_portable(w, g, m, v, hyper);
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, model: &mut dyn Layer<F>) -> Result<()> {
        // Every parameter is checked before any is changed, so a mismatch leaves the model as it was.
        sync_state(&mut self.state, model)?;
        let AdamConfig { lr, beta1, beta2, eps, weight_decay } = self.config;
        let (b1, b2, eps) = (F::from_f64(beta1), F::from_f64(beta2), F::from_f64(eps));
        // Exactly 1 without weight decay, so plain Adam's arithmetic is untouched.
        let decay = F::from_f64(1.0 - lr * weight_decay);
        let slots = &mut self.slots.0;
        slots.clear();
        let mut states = self.state.iter_mut();
        model.visit_params(&mut |p: &mut Param<F>| {
            let Some(s) = states.next() else { return };
            // Saturating: a step count restored from elsewhere may be at the end of its range, and a
            // wrap to 0 would make the bias corrections divide by zero.
            s.step = s.step.saturating_add(1);
            let t = i32::try_from(s.step).unwrap_or(i32::MAX);
            // The bias corrections are formed in f64 so that f32 training sees them rounded once.
            let step_size = F::from_f64(lr / (1.0 - beta1.powi(t)));
            let inv_sqrt_bias2 = F::from_f64(1.0 / (1.0 - beta2.powi(t)).sqrt());
            let hyper = Hyper { b1, b2, eps, decay, step_size, inv_sqrt_bias2 };
            // Contiguous arrays go to the vectorised, threaded pass below; Zip is the general fallback.
            match (p.value.as_slice_mut(), p.grad.as_slice(), s.m.as_slice_mut(), s.v.as_slice_mut()) {
                (Some(w), Some(g), Some(m), Some(v)) => slots.push(Slot {
                    len: w.len().min(g.len()).min(m.len()).min(v.len()),
                    w: w.as_mut_ptr(),
                    g: g.as_ptr(),
                    m: m.as_mut_ptr(),
                    v: v.as_mut_ptr(),
                    hyper,
                }),
                _ => Zip::from(&mut p.value).and(&p.grad).and(&mut s.m).and(&mut s.v).for_each(
                    |w, &g, m, v| {
                        hyper.update(w, g, m, v);
                    },
                ),
            }
        });
        let elements: usize = slots.iter().map(|slot| slot.len).sum();
        let parts = if elements >= PARALLEL_MIN { crate::parallel::parts() } else { 1 };
        let slots = &self.slots;
        crate::parallel::run(parts, &|part| {
            for slot in &slots.0 {
                let r = crate::parallel::range(slot.len, parts, part, 16);
                // SAFETY: the pointers come from slices of `len` elements that stay borrowed
                // (through `model`, mutably where written) until `run` returns; the ranges
                // of different parts are disjoint and inside `0..len`.
                unsafe {
                    let part_of = |p: *mut F| std::slice::from_raw_parts_mut(p.add(r.start), r.len());
                    update_on_this_thread(
                        part_of(slot.w),
                        std::slice::from_raw_parts(slot.g.add(r.start), r.len()),
                        part_of(slot.m),
                        part_of(slot.v),
                        &slot.hyper,
                    );
                }
            }
        });
        self.slots.0.clear();
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }
}
