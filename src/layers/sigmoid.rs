//! [`Sigmoid`]: the logistic function `y = 1 / (1 + exp(-x))`.

use ndarray::{ArrayD, ArrayViewD, Zip};

use super::{Layer, Mode, Param, resize, try_resize};
use crate::error::{Error, Result};
use crate::tensor::Float;

/// The logistic sigmoid, `y = 1 / (1 + exp(-x))`, element-wise: a probability per output.
///
/// It is computed from `e = exp(-|x|)`, which never overflows: `1 / (1 + e)` for `x >= 0` and
/// `e / (1 + e)` for `x < 0`. So `sigmoid(-1e4)` is 0 and `sigmoid(1e4)` is 1, with no
/// infinity on the way, and `sigmoid(-40) = 4.25e-18` keeps its full precision (`1 - sigmoid(40)`
/// would be 0). The backward pass is `dx = dy * y * (1 - y)`.
///
/// A [`Sequential`](crate::Sequential) that ends in `Sigmoid` and is trained with
/// [`BinaryCrossEntropy`](crate::loss::BinaryCrossEntropy) skips this layer while training and
/// hands the logits to the fused loss; `predict` still returns probabilities.
///
/// # Shapes
/// Any shape; the output has the input's shape.
///
/// # Example
/// ```
/// use ferronet::layers::{Layer, Mode, Sigmoid};
/// use ndarray::{array, ArrayD};
///
/// let x = array![[-1e4f32, 0.0, 1e4]].into_dyn();
/// let mut y = ArrayD::zeros(vec![0]);
/// Sigmoid::new().forward(x.view(), &mut y, Mode::Infer)?;
/// assert_eq!(y, array![[0.0f32, 0.5, 1.0]].into_dyn());
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid;

impl Sigmoid {
    /// A sigmoid layer.
    pub fn new() -> Self {
        Sigmoid
    }
}

/// `sigmoid(x)` from `exp(-|x|)`, which cannot overflow.
fn sigmoid<F: Float>(x: F) -> F {
    let e = (-x.abs()).exp();
    if x >= F::zero() { F::one() / (F::one() + e) } else { e / (F::one() + e) }
}

impl<F: Float> Layer<F> for Sigmoid {
    fn kind(&self) -> &'static str {
        "sigmoid"
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
        try_resize(output, input.shape(), "sigmoid output")?;
        Zip::from(output).and(&input).for_each(|y, &x| *y = sigmoid(x));
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
            return Err(Error::shape("sigmoid gradient", output.shape(), grad_output.shape()));
        }
        if let Some(grad_input) = grad_input {
            resize(grad_input, output.shape());
            Zip::from(grad_input).and(&output).and(&grad_output).for_each(|dx, &y, &dy| {
                *dx = dy * y * (F::one() - y);
            });
        }
        Ok(())
    }

    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<F>)) {}
}
