//! Finite-difference gradient checks in `f64`, for any [`Layer`], [`Loss`] or [`Sequential`].
//!
//! Each analytic derivative is compared with the central difference
//! `(L(x + h) - L(x - h)) / 2h` of a scalar objective, element by element. The report names
//! the worst element: where it is, both values, and their relative error
//! `|analytic - numeric| / max(|analytic|, |numeric|, floor)`. The floor (default `1e-6`)
//! keeps derivatives that are zero, or nearly, from dividing by nothing; for them the
//! check is an absolute one at `1e-6 * 1e-6 = 1e-12`.
//!
//! A central difference needs a smooth function: keep ReLU inputs farther than `h` from 0.
//!
//! [`check_layer`] checks a layer of your own in three lines (its docs show one);
//! [`check_loss`] and [`check_model`] do the same for a loss and for a whole model.
//!
//! ```
//! use ferronet::gradcheck::{GradCheck, check_layer};
//! use ferronet::layers::Dense;
//! use ndarray::ArrayD;
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut dense = Dense::<f64>::new(3, 2, &mut rng)?;
//! let x = ArrayD::from_shape_vec(vec![2, 3], vec![0.1, -0.2, 0.3, 0.4, 0.5, -0.6]).unwrap();
//! let report = check_layer(&mut dense, &x, &GradCheck::default())?;
//! assert!(report.max_rel_error < 1e-6, "{report}");
//! # Ok::<(), ferronet::Error>(())
//! ```

use std::fmt;

use ndarray::{ArrayD, ArrayView2, Zip};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Uniform};

use crate::error::{Error, Result};
use crate::layers::{Layer, Mode};
use crate::loss::{Loss, TargetBatch};
use crate::model::Sequential;

/// Settings of a gradient check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// The step `h` of the central difference (default `1e-5`).
    pub step: f64,
    /// The smallest denominator of the relative error (default `1e-6`).
    pub floor: f64,
    /// Seeds the random upstream gradient a layer check projects the output onto (default 0).
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck { step: 1e-5, floor: 1e-6, seed: 0 }
    }
}

impl GradCheck {
    /// A step or floor that is not finite and above 0 makes every relative error NaN or
    /// meaningless; it is refused before anything is computed.
    fn validate(&self) -> Result<()> {
        for (name, value) in [("step", self.step), ("floor", self.floor)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::Config {
                    name,
                    value: value.to_string(),
                    expected: "a finite number above 0",
                });
            }
        }
        Ok(())
    }
}

/// The element whose analytic and numeric derivatives differ most.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// What the element belongs to: `"input"` or a parameter's name.
    pub tensor: String,
    /// The element's row-major index within that tensor.
    pub index: usize,
    /// The derivative the code computed.
    pub analytic: f64,
    /// The central difference.
    pub numeric: f64,
    /// Their relative error.
    pub rel_error: f64,
}

/// The outcome of a gradient check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GradReport {
    /// The number of derivatives compared.
    pub checked: usize,
    /// The largest relative error seen (0 when nothing was checked); NaN when a derivative
    /// was not finite on either side, so that `max_rel_error < bar` fails.
    pub max_rel_error: f64,
    /// The element with that error.
    pub worst: Option<Mismatch>,
}

impl fmt::Display for GradReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.worst {
            None => write!(f, "{} derivatives checked", self.checked),
            Some(w) => write!(
                f,
                "{} derivatives checked; worst: {}[{}] analytic {:e}, numeric {:e}, relative error {:e}",
                self.checked, w.tensor, w.index, w.analytic, w.numeric, w.rel_error
            ),
        }
    }
}

impl GradReport {
    fn record(&mut self, tensor: &str, index: usize, analytic: f64, numeric: f64, floor: f64) {
        let rel_error = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor);
        self.checked += 1;
        // A NaN (a non-finite derivative on either side) is the worst there is, and stays so:
        // `max_rel_error < bar` is then false, as a check must be.
        let worse = rel_error > self.max_rel_error || (rel_error.is_nan() && !self.max_rel_error.is_nan());
        if self.worst.is_none() || worse {
            self.max_rel_error = rel_error;
            self.worst = Some(Mismatch { tensor: tensor.to_string(), index, analytic, numeric, rel_error });
        }
    }
}

/// Adds `delta` to element `index` of parameter number `param` (in visiting order).
fn nudge_param<L: Layer<f64> + ?Sized>(layer: &mut L, param: usize, index: usize, delta: f64) {
    let mut visited = 0;
    layer.visit_params(&mut |p| {
        if visited == param
            && let Some(v) = p.value.iter_mut().nth(index)
        {
            *v += delta;
        }
        visited += 1;
    });
}

/// The names and gradients of a layer's parameters, copied out.
fn param_grads<L: Layer<f64> + ?Sized>(layer: &mut L) -> Vec<(String, Vec<f64>)> {
    let mut grads = Vec::new();
    layer.visit_params(&mut |p| grads.push((p.name.clone(), p.grad.iter().copied().collect())));
    grads
}

/// Compares every parameter's gradient with central differences of `objective`.
fn check_params<L: Layer<f64> + ?Sized>(
    layer: &mut L,
    analytic: &[(String, Vec<f64>)],
    config: &GradCheck,
    objective: &mut dyn FnMut(&mut L) -> Result<f64>,
    report: &mut GradReport,
) -> Result<()> {
    let h = config.step;
    for (param, (name, grads)) in analytic.iter().enumerate() {
        for (index, &grad) in grads.iter().enumerate() {
            nudge_param(layer, param, index, h);
            let plus = objective(layer)?;
            nudge_param(layer, param, index, -2.0 * h);
            let minus = objective(layer)?;
            nudge_param(layer, param, index, h);
            report.record(name, index, grad, (plus - minus) / (2.0 * h), config.floor);
        }
    }
    Ok(())
}

/// Checks a layer's input gradient and every parameter gradient at `input`.
///
/// The scalar objective is `sum(G * layer(input))` for a fixed random `G` (uniform in
/// `[-1, 1]`, drawn from `config.seed`), so its gradient is what `backward` returns for `G`.
///
/// # Example: checking a layer of your own
/// ```
/// use ferronet::gradcheck::{GradCheck, check_layer};
/// use ferronet::layers::{Layer, Mode, Param, resize};
/// use ferronet::Result;
/// use ndarray::{ArrayD, ArrayViewD, Zip};
///
/// /// y = x^3, element-wise.
/// struct Cube;
///
/// impl Layer<f64> for Cube {
///     fn kind(&self) -> &'static str { "cube" }
///     fn forward(&mut self, x: ArrayViewD<f64>, y: &mut ArrayD<f64>, _: Mode) -> Result<()> {
///         resize(y, x.shape());
///         Zip::from(y).and(&x).for_each(|y, &x| *y = x * x * x);
///         Ok(())
///     }
///     fn backward(&mut self, x: ArrayViewD<f64>, _: ArrayViewD<f64>, dy: ArrayViewD<f64>,
///                 dx: Option<&mut ArrayD<f64>>) -> Result<()> {
///         if let Some(dx) = dx {
///             resize(dx, x.shape());
///             Zip::from(dx).and(&x).and(&dy).for_each(|dx, &x, &dy| *dx = 3.0 * x * x * dy);
///         }
///         Ok(())
///     }
///     fn visit_params(&mut self, _: &mut dyn FnMut(&mut Param<f64>)) {}
/// }
///
/// // The check: an input, the report, the bar.
/// let x = ArrayD::from_shape_vec(vec![2, 2], vec![0.5, -1.0, 1.5, 2.0]).unwrap();
/// let report = check_layer(&mut Cube, &x, &GradCheck::default())?;
/// assert!(report.max_rel_error < 1e-6, "{report}");
///
/// // The report names its worst element: "4 derivatives checked; worst: input[2] analytic ...,
/// // numeric ..., relative error ...", and `report.worst` holds the same as fields.
/// assert!(report.to_string().starts_with("4 derivatives checked; worst: input["));
/// # Ok::<(), ferronet::Error>(())
/// ```
///
/// # Errors
/// Whatever the layer's `forward` or `backward` returns; [`Error::Config`] for a step or floor
/// that is not finite and above 0.
pub fn check_layer(
    layer: &mut dyn Layer<f64>,
    input: &ArrayD<f64>,
    config: &GradCheck,
) -> Result<GradReport> {
    config.validate()?;
    let mut output = ArrayD::zeros(vec![0]);
    layer.forward(input.view(), &mut output, Mode::Train)?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let unit = Uniform::new_inclusive(-1.0, 1.0).map_err(|e| Error::Data(e.to_string()))?;
    let upstream = output.map(|_| unit.sample(&mut rng));

    layer.zero_grad();
    let mut grad_input = ArrayD::zeros(vec![0]);
    layer.backward(input.view(), output.view(), upstream.view(), Some(&mut grad_input))?;
    let analytic_params = param_grads(layer);

    let objective = |layer: &mut dyn Layer<f64>, x: &ArrayD<f64>| -> Result<f64> {
        let mut y = ArrayD::zeros(vec![0]);
        layer.forward(x.view(), &mut y, Mode::Train)?;
        Ok(Zip::from(&y).and(&upstream).fold(0.0, |acc, &y, &g| acc + y * g))
    };

    let mut report = GradReport::default();
    let h = config.step;
    let mut x = input.clone();
    for index in 0..x.len() {
        let analytic = grad_input.iter().nth(index).copied().unwrap_or(f64::NAN);
        let original = x.iter().nth(index).copied().unwrap_or(0.0);
        set(&mut x, index, original + h);
        let plus = objective(layer, &x)?;
        set(&mut x, index, original - h);
        let minus = objective(layer, &x)?;
        set(&mut x, index, original);
        report.record("input", index, analytic, (plus - minus) / (2.0 * h), config.floor);
    }
    check_params(layer, &analytic_params, config, &mut |layer| objective(layer, &x), &mut report)?;
    Ok(report)
}

fn set(x: &mut ArrayD<f64>, index: usize, value: f64) {
    if let Some(v) = x.iter_mut().nth(index) {
        *v = value;
    }
}

/// Checks a loss's gradient with respect to its predictions (logits for a fused loss).
///
/// ```
/// use ferronet::gradcheck::{GradCheck, check_loss};
/// use ferronet::loss::{BinaryCrossEntropy, TargetBatch};
/// use ndarray::array;
///
/// let logits = array![[0.3, -1.2], [2.0, 0.1]];
/// let targets = array![[1.0, 0.0], [0.5, 1.0]];
/// let targets = TargetBatch::Probabilities(targets.view());
/// let report = check_loss(&BinaryCrossEntropy, logits.view(), targets, &GradCheck::default())?;
/// assert!(report.max_rel_error < 1e-6, "{report}");
/// # Ok::<(), ferronet::Error>(())
/// ```
///
/// # Errors
/// Whatever the loss returns for these predictions and targets, [`Error::Shape`] when the
/// gradient it writes is not the shape of the predictions, and [`Error::Config`] as
/// [`check_layer`].
pub fn check_loss(
    loss: &dyn Loss<f64>,
    predictions: ArrayView2<f64>,
    targets: TargetBatch<f64>,
    config: &GradCheck,
) -> Result<GradReport> {
    config.validate()?;
    let mut grad = ArrayD::zeros(vec![0]);
    loss.loss(predictions, targets, Some(&mut grad))?;
    if grad.shape() != predictions.shape() {
        return Err(Error::shape(format!("{} gradient", loss.name()), predictions.shape(), grad.shape()));
    }
    let mut report = GradReport::default();
    let h = config.step;
    let mut z = predictions.to_owned();
    let width = z.ncols().max(1);
    for (index, &analytic) in grad.iter().enumerate() {
        let (row, col) = (index / width, index % width);
        let original = z[[row, col]];
        z[[row, col]] = original + h;
        let plus = loss.loss(z.view(), targets, None)?;
        z[[row, col]] = original - h;
        let minus = loss.loss(z.view(), targets, None)?;
        z[[row, col]] = original;
        report.record("predictions", index, analytic, (plus - minus) / (2.0 * h), config.floor);
    }
    Ok(report)
}

/// Checks every parameter gradient of a whole model trained with `loss`, through the same
/// path training takes (so a final Softmax is fused into the loss when the loss allows it).
///
/// ```
/// use ferronet::gradcheck::{GradCheck, check_model};
/// use ferronet::layers::{Dense, Sigmoid};
/// use ferronet::loss::{BinaryCrossEntropy, TargetBatch};
/// use ferronet::Sequential;
/// use ndarray::array;
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut model = Sequential::<f64>::new().add(Dense::new(2, 1, &mut rng)?).add(Sigmoid::new());
/// let x = array![[0.5, -1.0], [1.5, 0.25]].into_dyn();
/// let labels = TargetBatch::Classes(&[1, 0]);
/// let report = check_model(&mut model, &x, labels, &BinaryCrossEntropy, &GradCheck::default())?;
/// assert_eq!(report.checked, 3); // weight 2x1, bias 1
/// assert!(report.max_rel_error < 1e-6, "{report}");
/// # Ok::<(), ferronet::Error>(())
/// ```
///
/// # Errors
/// Whatever the model or the loss return for these inputs and targets, and [`Error::Config`]
/// as [`check_layer`].
pub fn check_model(
    model: &mut Sequential<f64>,
    inputs: &ArrayD<f64>,
    targets: TargetBatch<f64>,
    loss: &dyn Loss<f64>,
    config: &GradCheck,
) -> Result<GradReport> {
    config.validate()?;
    model.backprop(inputs.view(), targets, loss)?;
    let analytic = param_grads(model);
    let mut report = GradReport::default();
    let mut objective = |model: &mut Sequential<f64>| model.batch_loss(inputs.view(), targets, loss);
    check_params(model, &analytic, config, &mut objective, &mut report)?;
    Ok(report)
}
