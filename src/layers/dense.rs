//! [`Dense`]: the fully connected layer, `y = x W + b`, optionally through a ReLU.

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Axis, Ix1, Ix2, Zip};
use rand::Rng;
use rand_distr::{Distribution, Uniform};

use super::{Layer, Mode, Param, relu_gradient, resize, try_resize, view1_mut, view2, view2_mut};
use crate::error::{Error, Result};
use crate::linalg::{GemmScratch, affine, gemm};
use crate::tensor::{Float, try_array_from_fn};

/// A fully connected layer: `y = x W + b`, or `y = max(x W + b, 0)` with
/// [`Activation::Relu`] (Keras's `Dense(128, activation="relu")`).
///
/// With the ReLU, the bias add and the ReLU happen as the matrix product writes `y`
/// ([`affine`](crate::linalg::affine)), so the layer's forward pass is one pass over its output,
/// and its backward pass masks the gradient and sums the bias gradient in one pass. The results
/// are bit for bit those of a linear `Dense` followed by a [`ReLU`](super::ReLU) layer.
///
/// The weight `W` is stored as `[in, out]` (Keras's kernel layout), so the forward pass is one
/// matrix product with no transpose. PyTorch's `nn.Linear` stores the transpose, `[out, in]`.
///
/// # Shapes
/// - input: `[batch, in]`
/// - output: `[batch, out]`
/// - `weight`: `[in, out]`, `bias`: `[out]`
///
/// # Example
/// ```
/// use ferronet::layers::{Activation, Dense, Layer, Mode};
/// use ndarray::{array, ArrayD};
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let mut rng = StdRng::seed_from_u64(42);
/// let mut dense = Dense::<f32>::new(3, 2, &mut rng)?.with_activation(Activation::Relu);
/// let x = array![[1.0f32, 2.0, 3.0]].into_dyn();
/// let mut y = ArrayD::zeros(vec![0]);
/// dense.forward(x.view(), &mut y, Mode::Infer)?;
/// assert_eq!(y.shape(), &[1, 2]);
/// assert!(y.iter().all(|&v| v >= 0.0));
/// # Ok::<(), ferronet::Error>(())
/// ```
#[doc(alias = "Linear")]
#[derive(Debug, Clone)]
pub struct Dense<F = f32> {
    weight: Param<F>,
    bias: Param<F>,
    /// `[in, out]` as built. The parameters' fields are public, so their shapes are checked
    /// against it before every use.
    shape: [usize; 2],
    activation: Activation,
    /// Packing memory for this layer's matrix products, sized by the first batch.
    scratch: GemmScratch<F>,
    /// The output gradient masked by the ReLU, `[batch, out]`: kept across steps, so that the
    /// backward pass allocates nothing once it has seen a batch.
    masked: Array2<F>,
}

/// The function a [`Dense`] layer applies to `x W + b`: Keras's `activation` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// None: the output is `x W + b`.
    #[default]
    Linear,
    /// `max(x W + b, 0)`, as a [`ReLU`](super::ReLU) layer after the Dense computes it (NaN
    /// stays NaN), with derivative 0 at 0.
    Relu,
}

impl<F: Float> Dense<F> {
    /// A layer from `inputs` to `outputs` units with Keras's default initialisation:
    /// Glorot-uniform weights in `±sqrt(6 / (inputs + outputs))` drawn from `rng`, zero bias.
    ///
    /// # Errors
    /// [`Error::Config`] when either size is zero, or (naming `outputs`) when the `[inputs, outputs]`
    /// weight, the bias or their gradients would not fit in memory: more than `isize::MAX` bytes,
    /// or more than the allocator can provide.
    pub fn new(inputs: usize, outputs: usize, rng: &mut impl Rng) -> Result<Self> {
        for (name, value) in [("inputs", inputs), ("outputs", outputs)] {
            if value == 0 {
                return Err(Error::Config { name, value: value.to_string(), expected: "at least 1 unit" });
            }
        }
        let too_large = || Error::Config {
            name: "outputs",
            value: format!("{outputs} (with inputs={inputs})"),
            expected: "sizes whose [inputs, outputs] weight fits in memory",
        };
        // Summed in f64: `inputs + outputs` may overflow usize, the f64 sum cannot.
        let limit = F::from_f64((6.0 / (inputs as f64 + outputs as f64)).sqrt());
        let glorot = Uniform::new_inclusive(-limit, limit).map_err(|_| Error::Config {
            name: "inputs",
            value: inputs.to_string(),
            expected: "sizes whose Glorot limit is finite",
        })?;
        let weight = try_array_from_fn("outputs", Ix2(inputs, outputs), || glorot.sample(rng))
            .map_err(|_| too_large())?;
        let bias = try_array_from_fn("outputs", Ix1(outputs), F::zero).map_err(|_| too_large())?;
        Self::from_weights(weight, bias).map_err(|error| match error {
            // The gradients, as large as the weight and the bias, did not fit.
            Error::Config { .. } => too_large(),
            other => other,
        })
    }

    /// A layer with the given weight (`[in, out]`) and bias (`[out]`).
    ///
    /// # Errors
    /// [`Error::Shape`] when the bias length is not the weight's number of columns;
    /// [`Error::Config`] naming `weight` when it has no rows or no columns (as [`Dense::new`]
    /// refuses a size of 0), or naming `weight` or `bias` when its gradient would not fit in
    /// memory.
    pub fn from_weights(weight: Array2<F>, bias: Array1<F>) -> Result<Self> {
        if bias.len() != weight.ncols() {
            return Err(Error::shape("Dense bias", &[weight.ncols()], bias.shape()));
        }
        if weight.is_empty() {
            return Err(Error::Config {
                name: "weight",
                value: format!("{:?}", weight.shape()),
                expected: "at least 1 input and 1 output",
            });
        }
        Ok(Dense {
            shape: [weight.nrows(), weight.ncols()],
            weight: Param::try_new("dense.weight", weight.into_dyn(), "weight")?,
            bias: Param::try_new("dense.bias", bias.into_dyn(), "bias")?,
            activation: Activation::Linear,
            scratch: GemmScratch::new(),
            masked: Array2::zeros((0, 0)),
        })
    }

    /// The layer with `activation` applied to its output, Keras's `Dense(units, activation=...)`.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// The function applied to `x W + b`.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The number of input features.
    pub fn inputs(&self) -> usize {
        self.shape[0]
    }

    /// The number of output units.
    pub fn outputs(&self) -> usize {
        self.shape[1]
    }

    /// The weight parameter, `[in, out]`.
    pub fn weight(&self) -> &Param<F> {
        &self.weight
    }

    /// The bias parameter, `[out]`.
    pub fn bias(&self) -> &Param<F> {
        &self.bias
    }

    fn name(&self) -> &str {
        self.weight.name.split('.').next().unwrap_or("dense")
    }

    fn bias_error(&self) -> Error {
        Error::shape(self.bias.name.clone(), &[self.outputs()], self.bias.grad.shape())
    }

    /// The parameters' fields are public (optimizers and users may edit them through
    /// `visit_params`), so their shapes are checked before every use against the layer's
    /// `[in, out]`: the weight and its gradient `[in, out]`, the bias and its gradient `[out]`.
    /// Comparisons only; nothing is allocated unless there is an error.
    fn check_params(&self) -> Result<()> {
        let [_, outputs] = self.shape;
        for (param, expected) in [(&self.weight, &self.shape[..]), (&self.bias, &[outputs][..])] {
            if param.value.shape() != expected {
                return Err(Error::shape(param.name.clone(), expected, param.value.shape()));
            }
            if param.grad.shape() != expected {
                return Err(Error::shape(format!("{} gradient", param.name), expected, param.grad.shape()));
            }
        }
        Ok(())
    }

    fn check_input(&self, input: &ArrayViewD<F>) -> Result<()> {
        if input.ndim() != 2 || input.shape()[1] != self.inputs() {
            let batch = input.shape().first().copied().unwrap_or(0);
            return Err(Error::shape(
                format!("layer {}", self.name()),
                &[batch, self.inputs()],
                input.shape(),
            ));
        }
        Ok(())
    }

    /// The backward pass, adding the parameter gradients into what is there (`overwrite`
    /// false) or replacing it.
    fn backward_into(
        &mut self,
        input: ArrayViewD<F>,
        output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
        overwrite: bool,
    ) -> Result<()> {
        self.check_params()?;
        self.check_input(&input)?;
        let batch = input.shape()[0];
        // The output is read only to mask the gradient where the ReLU cut it.
        let relu = self.activation == Activation::Relu;
        for (what, given, used) in [("gradient", grad_output.shape(), true), ("output", output.shape(), relu)]
        {
            if used && given != [batch, self.outputs()] {
                return Err(Error::shape(
                    format!("layer {} {what}", self.name()),
                    &[batch, self.outputs()],
                    given,
                ));
            }
        }
        let x = view2(input, "dense input")?;
        let mut db = view1_mut(self.bias.grad.view_mut(), &self.bias.name)?;
        if overwrite {
            db.fill(F::zero());
        }
        // The gradient of `x W + b`: the output gradient, masked where the ReLU cut the output.
        // The mask's buffer is taken out of `self` while `g` borrows it, and put back below.
        let mut masked = std::mem::take(&mut self.masked);
        let g = match self.activation {
            Activation::Linear => {
                let g = view2(grad_output, "dense gradient")?;
                for row in g.axis_iter(Axis(0)) {
                    db += &row;
                }
                // Views are invariant in their lifetime: shorten it to the mask's.
                g.reborrow()
            }
            Activation::Relu => {
                let (g, y) = (view2(grad_output, "dense gradient")?, view2(output, "dense output")?);
                if masked.dim() != g.dim() {
                    masked = Array2::zeros(g.dim());
                }
                for ((mut masked, g), y) in masked.rows_mut().into_iter().zip(g.rows()).zip(y.rows()) {
                    Zip::from(&mut masked).and(&mut db).and(&g).and(&y).for_each(|masked, db, &g, &y| {
                        *masked = relu_gradient(y, g);
                        *db += *masked;
                    });
                }
                masked.view()
            }
        };

        let dw = view2_mut(self.weight.grad.view_mut(), &self.weight.name)?;
        let beta = if overwrite { F::zero() } else { F::one() };
        gemm(F::one(), x.t(), g, beta, dw, &mut self.scratch)?;

        if let Some(grad_input) = grad_input {
            resize(grad_input, &[batch, self.inputs()]);
            let w = view2(self.weight.value.view(), &self.weight.name)?;
            let dx = view2_mut(grad_input.view_mut(), "dense input gradient")?;
            gemm(F::one(), g, w.t(), F::zero(), dx, &mut self.scratch)?;
        }
        self.masked = masked;
        Ok(())
    }
}

impl<F: Float> Layer<F> for Dense<F> {
    fn kind(&self) -> &'static str {
        "dense"
    }

    fn config(&self) -> Vec<(&'static str, f64)> {
        let mut config = vec![("inputs", self.inputs() as f64), ("outputs", self.outputs() as f64)];
        if self.activation == Activation::Relu {
            config.push(("relu", 1.0));
        }
        config
    }

    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
        self.check_params()?;
        self.check_input(&input)?;
        let x = view2(input, "dense input")?;
        try_resize(output, &[x.nrows(), self.outputs()], "dense output")?;
        let w = view2(self.weight.value.view(), &self.weight.name)?;
        let b = self.bias.value.view().into_dimensionality::<Ix1>().map_err(|_| self.bias_error())?;
        let y = view2_mut(output.view_mut(), "dense output")?;
        affine(x, w, b, self.activation == Activation::Relu, y, &mut self.scratch)
    }

    fn backward(
        &mut self,
        input: ArrayViewD<F>,
        output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        self.backward_into(input, output, grad_output, grad_input, false)
    }

    fn backward_overwrite(
        &mut self,
        input: ArrayViewD<F>,
        output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        self.backward_into(input, output, grad_output, grad_input, true)
    }

    fn torch_modules(&self) -> usize {
        match self.activation {
            Activation::Linear => 1,
            Activation::Relu => 2,
        }
    }

    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param<F>)) {
        visit(&mut self.weight);
        visit(&mut self.bias);
    }
}
