//! [`Flatten`]: `[batch, d1, d2, ...]` to `[batch, d1 * d2 * ...]`.

use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn};

use super::{Layer, Mode, Param, resize, try_resize};
use crate::error::{Error, Result};
use crate::tensor::Float;

/// Flattens every sample into one row: `[batch, 28, 28]` becomes `[batch, 784]`.
///
/// # Shapes
/// - input: `[batch, d1, d2, ...]` (at least one axis)
/// - output: `[batch, d1 * d2 * ...]`
///
/// # Example
/// ```
/// use ferronet::layers::{Flatten, Layer, Mode};
/// use ndarray::ArrayD;
///
/// let x = ArrayD::<f32>::zeros(vec![5, 28, 28]);
/// let mut y = ArrayD::zeros(vec![0]);
/// Flatten::new().forward(x.view(), &mut y, Mode::Infer)?;
/// assert_eq!(y.shape(), &[5, 784]);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Flatten
    }
}

impl<F: Float> Layer<F> for Flatten {
    fn kind(&self) -> &'static str {
        "flatten"
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
        let shape = flattened(input.shape())?;
        try_resize(output, shape.slice(), "flatten output")?;
        copy_in_order(input, output);
        Ok(())
    }

    fn reshaped(&self, input_shape: &[usize]) -> Option<Result<IxDyn>> {
        Some(flattened(input_shape))
    }

    fn backward(
        &mut self,
        input: ArrayViewD<F>,
        _output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        if grad_output.len() != input.len() {
            return Err(Error::shape("flatten gradient", input.shape(), grad_output.shape()));
        }
        if let Some(grad_input) = grad_input {
            resize(grad_input, input.shape());
            copy_in_order(grad_output, grad_input);
        }
        Ok(())
    }

    fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<F>)) {}
}

/// `[batch, d1 * d2 * ...]` for an input of `[batch, d1, d2, ...]`.
fn flattened(input_shape: &[usize]) -> Result<IxDyn> {
    let Some((&batch, rest)) = input_shape.split_first() else {
        return Err(Error::shape("flatten input needs a batch axis", &[0], &[]));
    };
    // No overflow: ndarray keeps the product of an array's non-zero axes within isize::MAX,
    // so every partial product is within it too (or 0 once a 0 axis is met).
    Ok(IxDyn(&[batch, rest.iter().product()]))
}

/// Copies `from` into `to` element by element in row-major order (the shapes may differ,
/// the element counts may not).
fn copy_in_order<F: Float>(from: ArrayViewD<F>, to: &mut ArrayD<F>) {
    match (from.as_slice(), to.as_slice_mut()) {
        (Some(from), Some(to)) => to.copy_from_slice(from),
        // A strided input (a view of a bigger array) takes the element-by-element path.
        (_, _) => to.iter_mut().zip(from.iter()).for_each(|(y, &x)| *y = x),
    }
}
