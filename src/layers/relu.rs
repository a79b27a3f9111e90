//! [`ReLU`]: `y = max(x, 0)`.

use ndarray::{ArrayD, ArrayViewD, Zip};

use super::{Layer, Mode, Param, resize, try_resize};
use crate::error::{Error, Result};
use crate::tensor::Float;

/// The rectified linear unit, `y = max(x, 0)`, element-wise.
///
/// Its derivative is taken as 0 at exactly 0, as in PyTorch and Keras: `dx = dy * (x > 0)`.
/// A NaN input gives a NaN output, as in PyTorch, so that bad data surfaces as a non-finite loss
/// instead of being silently zeroed.
///
/// # Shapes
/// Any shape; the output has the input's shape.
///
/// # Example
/// ```
/// use ferronet::layers::{Layer, Mode, ReLU};
/// use ndarray::{array, ArrayD};
///
/// let x = array![[-1.0f32, 0.0, 2.0]].into_dyn();
/// let mut y = ArrayD::zeros(vec![0]);
/// ReLU::new().forward(x.view(), &mut y, Mode::Infer)?;
/// assert_eq!(y, array![[0.0f32, 0.0, 2.0]].into_dyn());
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReLU;

impl ReLU {
    /// A ReLU layer.
    pub fn new() -> Self {
        ReLU
    }
}

impl<F: Float> Layer<F> for ReLU {
    fn kind(&self) -> &'static str {
        "relu"
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
        try_resize(output, input.shape(), "relu output")?;
        // `x <= 0` rather than `x > 0`: a NaN fails both tests, and must come out as NaN (as in
        // PyTorch) so that a NaN in the data reaches the loss and the NaN guard.
        Zip::from(output).and(&input).for_each(|y, &x| *y = if x <= F::zero() { F::zero() } else { x });
        Ok(())
    }

    fn backward(
        &mut self,
        input: ArrayViewD<F>,
        _output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        if grad_output.shape() != input.shape() {
            return Err(Error::shape("relu gradient", input.shape(), grad_output.shape()));
        }
        if let Some(grad_input) = grad_input {
            resize(grad_input, input.shape());
            Zip::from(grad_input).and(&input).and(&grad_output).for_each(|dx, &x, &dy| {
                *dx = if x <= F::zero() { F::zero() } else { dy };
            });
        }
        Ok(())
    }

    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<F>)) {}
}
