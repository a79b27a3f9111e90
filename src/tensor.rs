//! [`Tensor`], an owned n-dimensional array, and [`Float`], the element types ferronet computes in.

use ndarray::{Array, ArrayD, ArrayViewD, ArrayViewMutD, Dimension, IxDyn, NdFloat};
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
    ///
    /// # Errors
    /// [`Error::Config`] naming `shape` when its elements would not fit in memory: more than
    /// `isize::MAX` bytes (see [`check_shape`]), or more than the allocator can provide.
    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::full(shape, F::zero())
    }

    /// A tensor holding `value` everywhere.
    ///
    /// # Errors
    /// [`Error::Config`] naming `shape` when its elements would not fit in memory: more than
    /// `isize::MAX` bytes (see [`check_shape`]), or more than the allocator can provide.
    pub fn full(shape: &[usize], value: F) -> Result<Self> {
        Ok(Tensor { data: try_array_from_fn("shape", IxDyn(shape), || value)? })
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
        // Invariant, not input: every constructor stores a standard-layout array (`from_array`
        // copies any other layout, `from_shape_vec`, `full` and `reshape` build row-major ones),
        // and `view_mut` lends elements, not the layout, so `as_slice` always succeeds.
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
        // `best` is 0 or an earlier `i`, so it indexes a value the loop has reached: in range.
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Whether every element is finite, in one pass that does not branch per element: `x * 0` is
/// (plus or minus) 0 for a finite `x` and NaN for an infinite or NaN one, and a NaN survives
/// any sum. Eight independent sums let the compiler vectorise the loop.
///
/// A large array is checked on every thread, each taking the same share as the matrix product
/// that wrote it (the rows of a weight gradient), so each reads what is in its own cache.
pub(crate) fn all_finite<F: Float>(values: &ArrayD<F>) -> bool {
    let Some(slice) = values.as_slice_memory_order() else {
        return values.iter().all(|x| x.is_finite());
    };
    let parts = if slice.len() >= 1 << 15 { crate::parallel::parts() } else { 1 };
    if parts <= 1 {
        return slice_finite(slice);
    }
    let finite = std::sync::atomic::AtomicBool::new(true);
    crate::parallel::run(parts, &|part| {
        if !slice_finite(&slice[crate::parallel::range(slice.len(), parts, part, 16)]) {
            finite.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    });
    finite.into_inner()
}

/// [`all_finite`] for one slice, on this thread.
fn slice_finite<F: Float>(slice: &[F]) -> bool {
    let mut sums = [F::zero(); 8];
    let mut chunks = slice.chunks_exact(8);
    for chunk in &mut chunks {
        for (sum, &x) in sums.iter_mut().zip(chunk) {
            *sum += x * F::zero();
        }
    }
    let rest = chunks.remainder().iter().fold(F::zero(), |sum, &x| sum + x * F::zero());
    sums.iter().fold(rest, |total, &sum| total + sum) == F::zero()
}

/// Checks that an array of `F` shaped `shape` can exist: ndarray requires the product of the
/// non-zero dimensions to fit in `isize`, and an allocation can hold at most `isize::MAX` bytes.
/// A dimension of 0 makes the array empty, but the others must still obey the first rule.
///
/// `name` is the argument the shape came from, for the message.
///
/// # Errors
/// [`Error::Config`] naming `name` and showing the shape when it is too large.
///
/// ```
/// use ferronet::tensor::check_shape;
///
/// assert!(check_shape::<f32>("shape", &[60_000, 28, 28]).is_ok());
/// assert!(check_shape::<f32>("shape", &[0, 1 << 40, 1 << 40]).is_err()); // empty, but ndarray refuses it
/// let error = check_shape::<f32>("shape", &[usize::MAX, 2]).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "invalid shape: expected dimensions whose product fits in memory (at most isize::MAX bytes), \
///      received shape=[18446744073709551615, 2]"
/// );
/// ```
pub fn check_shape<F>(name: &'static str, shape: &[usize]) -> Result<()> {
    let limit = isize::MAX.unsigned_abs() / std::mem::size_of::<F>().max(1);
    let elements = shape.iter().filter(|&&d| d != 0).try_fold(1usize, |n, &d| n.checked_mul(d));
    match elements {
        Some(n) if n <= limit => Ok(()),
        _ => Err(Error::Config {
            name,
            value: format!("{shape:?}"),
            expected: "dimensions whose product fits in memory (at most isize::MAX bytes)",
        }),
    }
}

/// An array of `shape` holding what `fill` returns, called once per element in row-major order,
/// allocated so that running out of memory is an error instead of the end of the process.
///
/// `ndarray`'s constructors abort the process when the allocator refuses, and [`check_shape`]
/// cannot foresee that: a shape far below `isize::MAX` bytes can still be far beyond the memory
/// there is. So the elements are reserved with [`Vec::try_reserve_exact`] first, and written
/// only once the memory is there. Writing them commits the memory at once, where
/// `ArrayD::zeros` may leave untouched zero pages to the operating system.
///
/// `name` is the argument the shape came from, for the message, as in [`check_shape`].
///
/// # Errors
/// [`Error::Config`] naming `name` and showing the shape when [`check_shape`] refuses it, or when
/// the allocator cannot reserve its elements.
pub(crate) fn try_array_from_fn<F, D: Dimension>(
    name: &'static str,
    shape: D,
    fill: impl FnMut() -> F,
) -> Result<Array<F, D>> {
    check_shape::<F>(name, shape.slice())?;
    // No overflow: check_shape bounds the product of the non-zero dimensions, and a zero makes it 0.
    let len = shape.size();
    let mut elements = Vec::new();
    elements.try_reserve_exact(len).map_err(|_| Error::Config {
        name,
        value: format!("{:?}", shape.slice()),
        expected: "dimensions whose product fits in the memory available",
    })?;
    elements.extend(std::iter::repeat_with(fill).take(len));
    // Invariant: `len` elements for `shape`, whose size check_shape accepted.
    Ok(Array::from_shape_vec(shape, elements).unwrap_or_else(|_| unreachable!("sized and checked above")))
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

#[cfg(test)]
mod tests {
    use super::all_finite;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn all_finite_finds_a_nan_or_an_infinity_anywhere() {
        // 19 values: two chunks of 8 and a remainder of 3, so every code path holds one.
        let finite: Vec<f32> = (0..19).map(|i| i as f32 - 9.5).collect();
        let array = |v: &[f32]| ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).unwrap();
        assert!(all_finite(&array(&finite)));
        assert!(all_finite(&array(&[f32::MAX, -f32::MAX, f32::MIN_POSITIVE, -0.0])));
        for position in 0..finite.len() {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut values = finite.clone();
                values[position] = bad;
                assert!(!all_finite(&array(&values)), "{bad} at {position}");
            }
        }
    }

    #[test]
    fn all_finite_reads_arrays_that_are_not_contiguous() {
        let mut grid = ArrayD::<f64>::zeros(IxDyn(&[4, 4]));
        grid[[3, 1]] = f64::NAN;
        let column = grid.slice_move(ndarray::s![.., 1]).into_dyn();
        assert!(column.as_slice_memory_order().is_none());
        assert!(!all_finite(&column));
    }
}
