//! Layers: the [`Layer`] trait, [`Param`], [`Mode`], and one file per layer.
//!
//! A layer never allocates on its own in a training step. Its caller (usually
//! [`Sequential`](crate::Sequential)) owns the activation and gradient buffers and hands
//! them in: `forward` writes its output into a buffer, and `backward` receives the input
//! and output of the forward pass back, so no layer needs to cache or copy them. A buffer
//! is reallocated only when its shape must change (for example for the last, smaller batch).

mod dense;
mod flatten;
mod relu;
mod sigmoid;
mod softmax;

pub use dense::{Activation, Dense};
pub use flatten::Flatten;
pub use relu::ReLU;
pub(crate) use relu::{relu, relu_gradient};
pub use sigmoid::Sigmoid;
pub use softmax::Softmax;

use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut1, ArrayViewMut2, ArrayViewMutD, Ix1, Ix2, IxDyn};

use crate::error::{Error, Result};
use crate::tensor::{Float, try_array_from_fn};

/// Whether a forward pass is part of training or of inference.
///
/// Layers whose behaviour differs between the two (dropout, batch normalisation) read it;
/// Dense, ReLU, Sigmoid, Softmax and Flatten compute the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A training pass: a backward pass will follow.
    Train,
    /// Inference only: no backward pass follows.
    Infer,
}

/// A trainable tensor: its value, the gradient accumulated for it, and its name.
///
/// The name (`dense_1.weight`) is what saved files and optimizer state are keyed by.
#[derive(Debug, Clone, PartialEq)]
pub struct Param<F = f32> {
    /// The parameter's full name, `layer.param`.
    pub name: String,
    /// The current value.
    pub value: ArrayD<F>,
    /// The gradient of the loss with respect to `value`, accumulated by `backward`.
    pub grad: ArrayD<F>,
}

impl<F: Float> Param<F> {
    /// A parameter with the given value and a zero gradient of the same shape.
    ///
    /// The gradient is allocated as `ndarray` allocates, so a gradient the memory cannot hold
    /// aborts the process; ferronet's own layers allocate theirs fallibly instead.
    pub fn new(name: impl Into<String>, value: ArrayD<F>) -> Self {
        let grad = ArrayD::zeros(value.raw_dim());
        Param { name: name.into(), value, grad }
    }

    /// [`Param::new`], with the gradient allocated fallibly: a gradient is as large as its value,
    /// so a value that barely fits in memory may leave no room for it.
    ///
    /// `argument` names where the value came from, for the message.
    ///
    /// # Errors
    /// [`Error::Config`] naming `argument` when the gradient cannot be allocated.
    pub(crate) fn try_new(name: impl Into<String>, value: ArrayD<F>, argument: &'static str) -> Result<Self> {
        let grad = try_array_from_fn(argument, value.raw_dim(), F::zero)?;
        Ok(Param { name: name.into(), value, grad })
    }
}

/// One stage of a network.
///
/// # The contract
/// - `forward(input, output, mode)` writes the layer's output into `output`, resizing it
///   only when its shape is wrong.
/// - `backward(input, output, grad_output, grad_input)` receives the same `input` and
///   `output` as the forward pass that preceded it, **adds** the gradient of the loss
///   into every parameter's `grad`, and, when `grad_input` is given, **writes** the
///   gradient with respect to the input there. The first layer of a network is passed
///   `None`, which spares a matrix product nobody reads.
/// - `visit_params` visits every parameter, always in the same order.
///
/// # Example: a layer of your own
/// ```
/// use ferronet::layers::{Layer, Mode, Param};
/// use ferronet::{Float, Result};
/// use ndarray::{ArrayD, ArrayViewD};
///
/// /// y = 2x
/// struct Double;
///
/// impl<F: Float> Layer<F> for Double {
///     fn kind(&self) -> &'static str { "double" }
///     fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, _mode: Mode) -> Result<()> {
///         ferronet::layers::resize(output, input.shape());
///         output.zip_mut_with(&input, |y, &x| *y = x + x);
///         Ok(())
///     }
///     fn backward(&mut self, _input: ArrayViewD<F>, _output: ArrayViewD<F>,
///                 grad_output: ArrayViewD<F>, grad_input: Option<&mut ArrayD<F>>) -> Result<()> {
///         if let Some(grad_input) = grad_input {
///             ferronet::layers::resize(grad_input, grad_output.shape());
///             grad_input.zip_mut_with(&grad_output, |dx, &dy| *dx = dy + dy);
///         }
///         Ok(())
///     }
///     fn visit_params(&mut self, _visit: &mut dyn FnMut(&mut Param<F>)) {}
/// }
/// ```
pub trait Layer<F: Float = f32> {
    /// A short lower-case name for the kind of layer (`"dense"`), used to name parameters.
    fn kind(&self) -> &'static str;

    /// What rebuilds this layer besides its kind, as `(name, value)` pairs: Dense gives
    /// `[("inputs", 784.0), ("outputs", 128.0)]`, and `("relu", 1.0)` after them with
    /// [`Activation::Relu`]. Saved files record it so that
    /// `Sequential::load` can rebuild the model. The default, nothing, suits a layer with no
    /// settings such as ReLU.
    fn config(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// How many modules of a PyTorch `nn.Sequential` this layer stands for: saved tensors are
    /// named by position as PyTorch names them, so a layer counts the positions it takes. One
    /// by default; a Dense with a ReLU is `nn.Linear` and `nn.ReLU`, two.
    fn torch_modules(&self) -> usize {
        1
    }

    /// Computes the layer's output for a batch.
    ///
    /// # Errors
    /// [`Error::Shape`] when the input's shape does not fit the layer.
    fn forward(&mut self, input: ArrayViewD<F>, output: &mut ArrayD<F>, mode: Mode) -> Result<()>;

    /// Propagates `grad_output` (dL/d output) back: adds into parameter gradients and
    /// writes dL/d input into `grad_input` when it is given.
    ///
    /// # Errors
    /// [`Error::Shape`] when the gradient's shape does not match the output.
    fn backward(
        &mut self,
        input: ArrayViewD<F>,
        output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()>;

    /// [`Layer::backward`], except that every parameter gradient is **overwritten** with this
    /// batch's instead of added to.
    ///
    /// [`Sequential`](crate::Sequential)'s training step calls it, which spares writing zeros
    /// into every gradient before each batch. The default is exactly `zero_grad` then
    /// `backward`; [`Dense`] writes its gradients directly.
    ///
    /// # Errors
    /// As [`Layer::backward`].
    fn backward_overwrite(
        &mut self,
        input: ArrayViewD<F>,
        output: ArrayViewD<F>,
        grad_output: ArrayViewD<F>,
        grad_input: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        self.zero_grad();
        self.backward(input, output, grad_output, grad_input)
    }

    /// For a layer whose output is its input's elements in the same order under another shape
    /// ([`Flatten`]), that shape for an input of `input_shape`; `None`, the default, for a layer
    /// that computes its output.
    ///
    /// [`Sequential`](crate::Sequential) then moves the input's buffer on as the output
    /// instead of calling `forward` (and the output gradient back as the input gradient instead
    /// of calling `backward`), so the tutorial's 200 KB batch is not copied each step.
    ///
    /// # Errors
    /// [`Error::Shape`] when the input's shape does not fit the layer.
    fn reshaped(&self, input_shape: &[usize]) -> Option<Result<IxDyn>> {
        let _ = input_shape;
        None
    }

    /// Calls `visit` on every parameter, in a fixed order.
    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param<F>));

    /// Sets every parameter's gradient to zero.
    fn zero_grad(&mut self) {
        self.visit_params(&mut |p| p.grad.fill(F::zero()));
    }

    /// Prefixes the name of every parameter with `prefix` and a dot.
    ///
    /// [`Sequential`](crate::Sequential) calls it to give each layer's parameters unique names.
    fn set_name(&mut self, prefix: &str) {
        self.visit_params(&mut |p| {
            let local = p.name.rsplit('.').next().unwrap_or("").to_string();
            p.name = format!("{prefix}.{local}");
        });
    }

    /// The number of trainable scalars.
    fn param_count(&mut self) -> usize {
        let mut count = 0;
        self.visit_params(&mut |p| count += p.value.len());
        count
    }
}

/// Makes `buffer` have `shape`, reallocating only when the number of elements differs. The
/// contents are unspecified after a change of shape; callers overwrite every element.
///
/// # Panics
/// As [`ndarray::ArrayD::zeros`], when the non-zero dimensions of `shape` multiply to more than
/// `isize::MAX`. The layers of ferronet pass the shapes of arrays that exist, or of a batch whose
/// size [`crate::data::Features::gather`] has checked; a layer of your own that computes a new shape
/// from its input can check it first with [`crate::tensor::check_shape`]. Like any allocation
/// through `ndarray`, a new buffer the memory cannot hold aborts the process.
pub fn resize<F: Float>(buffer: &mut ArrayD<F>, shape: &[usize]) {
    if !reshape_in_place(buffer, shape) {
        *buffer = ArrayD::zeros(IxDyn(shape));
    }
}

/// [`resize`], with a new buffer allocated fallibly: what the built-in layers write their outputs
/// into, so that an input too large for memory is an error from `forward`, not an abort.
///
/// `name` names the buffer (`"relu output"`), for the message.
///
/// # Errors
/// [`Error::Config`] naming `name` and showing `shape` when a new buffer is needed and cannot be
/// allocated; `buffer` is then left empty.
pub(crate) fn try_resize<F: Float>(
    buffer: &mut ArrayD<F>,
    shape: &[usize],
    name: &'static str,
) -> Result<()> {
    if !reshape_in_place(buffer, shape) {
        *buffer = try_array_from_fn(name, IxDyn(shape), F::zero)?;
    }
    Ok(())
}

/// Gives `buffer` `shape` without allocating, when it already has it or holds as many elements in
/// standard layout; otherwise returns false, and the caller allocates a new buffer.
fn reshape_in_place<F: Float>(buffer: &mut ArrayD<F>, shape: &[usize]) -> bool {
    if buffer.shape() == shape {
        return true;
    }
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if elements != Some(buffer.len()) || !buffer.is_standard_layout() {
        return false;
    }
    // Zero elements and an inline shape: taking the buffer out allocates nothing.
    let old = std::mem::replace(buffer, ArrayD::zeros(IxDyn(&[0])));
    match old.into_shape_with_order(IxDyn(shape)) {
        Ok(reshaped) => {
            *buffer = reshaped;
            true
        }
        Err(_) => false,
    }
}

/// Views an n-dimensional array as a matrix, or says which array was not 2-D.
pub(crate) fn view2<'a, F: Float>(array: ArrayViewD<'a, F>, what: &str) -> Result<ArrayView2<'a, F>> {
    check_ndim(array.shape(), 2, what)?;
    Ok(array.into_dimensionality::<Ix2>().unwrap_or_else(|_| unreachable!("checked to be 2-D")))
}

/// [`view2`] for a writable view.
pub(crate) fn view2_mut<'a, F: Float>(
    array: ArrayViewMutD<'a, F>,
    what: &str,
) -> Result<ArrayViewMut2<'a, F>> {
    check_ndim(array.shape(), 2, what)?;
    Ok(array.into_dimensionality::<Ix2>().unwrap_or_else(|_| unreachable!("checked to be 2-D")))
}

/// A writable view of a vector, or says which array was not 1-D.
pub(crate) fn view1_mut<'a, F: Float>(
    array: ArrayViewMutD<'a, F>,
    what: &str,
) -> Result<ArrayViewMut1<'a, F>> {
    check_ndim(array.shape(), 1, what)?;
    Ok(array.into_dimensionality::<Ix1>().unwrap_or_else(|_| unreachable!("checked to be 1-D")))
}

fn check_ndim(shape: &[usize], ndim: usize, what: &str) -> Result<()> {
    if shape.len() == ndim {
        return Ok(());
    }
    Err(Error::Shape { context: format!("{what} must be {ndim}-D"), expected: vec![], found: shape.to_vec() })
}
