//! [`Softmax`]: probabilities over the last axis.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Zip};

use super::{Layer, Mode, Param, resize, try_resize};
use crate::error::{Error, Result};
use crate::tensor::Float;

/// Softmax over the last axis: `y_j = exp(x_j - max x) / sum_k exp(x_k - max x)`.
///
/// Subtracting the row's maximum first keeps every `exp` at or below 1, so the result is
/// finite and sums to 1 for any finite input. The backward pass is the exact
/// vector-Jacobian product `dx = y * (dy - sum_j dy_j y_j)`.
///
/// A [`Sequential`](crate::Sequential) that ends in `Softmax` and is trained with
/// [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy) skips this layer while training
/// and hands the logits to the fused loss; `predict` still returns probabilities.
///
/// # Shapes
/// Any shape with at least one axis; the output has the input's shape.
///
/// # Example
/// ```
/// use ferronet::layers::{Layer, Mode, Softmax};
/// use ndarray::{array, ArrayD};
///
/// let x = array![[1000.0f32, 1000.0]].into_dyn();
/// let mut y = ArrayD::zeros(vec![0]);
/// Softmax::new().forward(x.view(), &mut y, Mode::Infer)?;
/// assert_eq!(y, array![[0.5f32, 0.5]].into_dyn());
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax;

impl Softmax {
    /// A softmax layer.
    pub fn new() -> Self {
        Softmax
    }
}

/// Writes the softmax of each row of `logits` (last axis) into `probs`, which has the same shape.
pub(crate) fn softmax_rows<F: Float>(logits: ArrayViewD<F>, mut probs: ArrayViewMutD<F>) {
    let last = Axis(logits.ndim().saturating_sub(1));
    for (x, mut y) in logits.lanes(last).into_iter().zip(probs.lanes_mut(last)) {
        let max = x.fold(F::neg_infinity(), |m, &v| m.max(v));
        let mut sum = F::zero();
        Zip::from(&mut y).and(&x).for_each(|y, &x| {
            *y = (x - max).exp();
            sum += *y;
        });
        let inv = sum.recip();
        y.mapv_inplace(|v| v * inv);
    }
}

impl<F: Float> Layer<F> for Softmax {
    fn kind(&self) -> &'static str {
        "softmax"
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
        if input.ndim() == 0 {
            return Err(Error::shape("softmax input needs at least one axis", &[0], &[]));
        }
        try_resize(output, input.shape(), "softmax output")?;
        softmax_rows(input, output.view_mut());
        Ok(())
    }

    fn backward(
        &mut self,
        _input: ArrayViewD<F>,
        output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        if grad_output.shape() != output.shape() {
            return Err(Error::shape("softmax gradient", output.shape(), grad_output.shape()));
        }
        if output.ndim() == 0 {
            return Err(Error::shape("softmax output needs at least one axis", &[0], &[]));
        }
        let Some(grad_input) = grad_input else { return Ok(()) };
        resize(grad_input, output.shape());
        let last = Axis(output.ndim().saturating_sub(1));
        let lanes = output.lanes(last).into_iter().zip(grad_output.lanes(last));
        for ((y, dy), mut dx) in lanes.zip(grad_input.lanes_mut(last)) {
            let dot = Zip::from(&y).and(&dy).fold(F::zero(), |acc, &y, &dy| acc + y * dy);
            Zip::from(&mut dx).and(&y).and(&dy).for_each(|dx, &y, &dy| *dx = y * (dy - dot));
        }
        Ok(())
    }

    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<F>)) {}
}
