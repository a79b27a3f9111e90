//! [`Tensor`], an owned n-dimensional array, and [`Float`], the element types ferronet computes in.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, NdFloat};
use rand_distr::uniform::SampleUniform;

use crate::error::{Error, Result};

/// The floating-point types ferronet computes in: `f32` for training, `f64` for gradient checks.
pub trait Float: NdFloat + SampleUniform + Default {
    /// The type's name as written in Rust (`"f32"` or `"f64"`).
    const NAME: &'static str;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// An owned, row-major, n-dimensional array of `F` (default `f32`).
///
/// A thin wrapper over [`ndarray::ArrayD`]: [`Tensor::from_array`] and [`Tensor::into_array`]
/// move the buffer without copying, and [`Tensor::view`] lends it to any `ndarray` routine.
///
/// ```
/// use ferronet::Tensor;
///
/// let t = Tensor::<f32>::from_shape_vec(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!(t.shape(), &[2, 3]);
/// let flat = t.reshape(&[6])?;
/// assert_eq!(flat.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<F = f32> {
    data: ArrayD<F>,
}

impl<F: Float> Tensor<F> {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor { data: ArrayD::zeros(IxDyn(shape)) }
    }

    /// A tensor holding `value` everywhere.
    pub fn full(shape: &[usize], value: F) -> Self {
        Tensor { data: ArrayD::from_elem(IxDyn(shape), value) }
    }

    /// A tensor from row-major data.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data.len()` is not the product of `shape`.
    pub fn from_shape_vec(shape: &[usize], data: Vec<F>) -> Result<Self> {
        let len = data.len();
        ArrayD::from_shape_vec(IxDyn(shape), data)
            .map(|data| Tensor { data })
            .map_err(|_| Error::shape("Tensor::from_shape_vec", shape, &[len]))
    }

    /// Wraps an `ndarray` array without copying. A non-row-major array is copied into row-major order.
    pub fn from_array<D: ndarray::Dimension>(array: ndarray::Array<F, D>) -> Self {
        let data = array.into_dyn();
        if data.is_standard_layout() {
            Tensor { data }
        } else {
            Tensor { data: data.as_standard_layout().into_owned() }
        }
    }

    /// Gives back the `ndarray` array without copying.
    pub fn into_array(self) -> ArrayD<F> {
        self.data
    }

    /// The size of each axis.
    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The same elements in a new shape, without copying.
    ///
    /// # Errors
    /// [`Error::Shape`] when the element counts differ.
    pub fn reshape(self, shape: &[usize]) -> Result<Self> {
        let found = self.shape().to_vec();
        self.data
            .into_shape_with_order(IxDyn(shape))
            .map(|data| Tensor { data })
            .map_err(|_| Error::shape("Tensor::reshape", shape, &found))
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[F] {
        self.data.as_slice().expect("a Tensor is always in standard layout")
    }

    /// A read-only `ndarray` view.
    pub fn view(&self) -> ArrayViewD<'_, F> {
        self.data.view()
    }

    /// A writable `ndarray` view.
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, F> {
        self.data.view_mut()
    }

    /// The index of the largest element of each row (the last axis), as a predicted class.
    pub fn argmax_rows(&self) -> Vec<usize> {
        let width = self.shape().last().copied().unwrap_or(0);
        if width == 0 {
            return Vec::new();
        }
        self.as_slice().chunks_exact(width).map(argmax).collect()
    }
}

/// The index of the largest value, the first one on ties; 0 for an empty slice.
pub(crate) fn argmax<F: Float>(values: &[F]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

impl<F: Float, D: ndarray::Dimension> From<ndarray::Array<F, D>> for Tensor<F> {
    fn from(array: ndarray::Array<F, D>) -> Self {
        Tensor::from_array(array)
    }
}

impl<F: Float> From<Tensor<F>> for ArrayD<F> {
    fn from(tensor: Tensor<F>) -> Self {
        tensor.into_array()
    }
}
