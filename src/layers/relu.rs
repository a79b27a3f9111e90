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

/// ReLU's value, the one rule every ReLU in ferronet follows (this layer, a Dense with
/// [`Activation::Relu`](super::Activation), the matrix product that applies it): `x <= 0` is
/// false for NaN, so NaN stays NaN (as in PyTorch) and reaches the loss and the NaN guard;
/// `-0.0` becomes `0.0`.
pub(crate) fn relu<F: Float>(x: F) -> F {
    if x <= F::zero() { F::zero() } else { x }
}

/// The gradient `dy` passed back through a ReLU whose input, or output, is `x`: 0 where
/// `x <= 0` (0 at exactly 0, as in PyTorch and Keras), `dy` elsewhere, NaN `x` included.
pub(crate) fn relu_gradient<F: Float>(x: F, dy: F) -> F {
    if x <= F::zero() { F::zero() } else { dy }
}

impl<F: Float> Layer<F> for ReLU {
    fn kind(&self) -> &'static str {
        "relu"
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
        try_resize(output, input.shape(), "relu output")?;
        Zip::from(output).and(&input).for_each(|y, &x| *y = relu(x));
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
            Zip::from(grad_input)
                .and(&input)
                .and(&grad_output)
                .for_each(|dx, &x, &dy| *dx = relu_gradient(x, dy));
        }
        Ok(())
    }

    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<F>)) {}
}
