//! Data: IDX files, MNIST, and the mini-batches training draws from them.
//!
//! Training reads inputs through the [`Features`] trait, which copies the rows a batch
//! needs into the batch buffer. [`Images`] keeps pixels as bytes and scales them by 1/255
//! only as a batch is gathered, so a data set costs one byte per pixel in memory.

pub mod batches;
pub mod idx;
pub mod mnist;

pub use batches::{Batches, split_point};
pub use idx::{IdxArray, read_idx};
pub use mnist::Mnist;

use ndarray::{Array2, ArrayD, ArrayViewD, Axis, Dimension, Ix2, IxDyn};

use crate::error::{Error, Result};
use crate::layers::resize;
use crate::loss::TargetBatch;
use crate::tensor::{Float, Tensor, check_shape, try_array_from_fn};

/// A set of input samples that can be gathered into batches by index.
pub trait Features<F: Float> {
    /// The number of samples.
    fn len(&self) -> usize;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one sample (`[28, 28]` for an MNIST image).
    fn sample_shape(&self) -> &[usize];

    /// Writes the samples at `indices`, in that order, into `batch`, shaped `[indices.len(), sample_shape...]`.
    ///
    /// # Errors
    /// [`Error::Data`] for an index out of range.
    fn gather(&self, indices: &[usize], batch: &mut ArrayD<F>) -> Result<()>;
}

/// Grayscale images kept as bytes, `[count, rows, cols]`, read as `pixel / 255` in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    shape: [usize; 3],
    pixels: Vec<u8>,
}

impl Images {
    /// Images from row-major pixels.
    ///
    /// # Errors
    /// [`Error::Data`] when `pixels.len()` is not `count * rows * cols`, or when the images would
    /// not fit in memory as `f64` (which matters when a dimension is 0: `0` images of
    /// `4294967295x4294967295` hold no pixels, but no batch of them could be allocated).
    pub fn new(count: usize, rows: usize, cols: usize, pixels: Vec<u8>) -> Result<Self> {
        let expected = count.checked_mul(rows).and_then(|n| n.checked_mul(cols));
        if expected != Some(pixels.len()) {
            return Err(Error::Data(format!(
                "{count} images of {rows}x{cols} need {} bytes, found {}",
                expected.map_or("more than usize::MAX".to_string(), |n| n.to_string()),
                pixels.len()
            )));
        }
        // The invariant every other method relies on: the non-zero dimensions multiply to at most
        // isize::MAX / 8, so `rows * cols`, and a batch of the images as f32 or f64, cannot overflow.
        if check_shape::<f64>("images", &[count, rows, cols]).is_err() {
            return Err(Error::Data(format!(
                "{count} images of {rows}x{cols} are too large: as f64 they need more than isize::MAX \
                 bytes, counting only the non-zero dimensions"
            )));
        }
        Ok(Images { shape: [count, rows, cols], pixels })
    }

    /// The number of images.
    pub fn count(&self) -> usize {
        self.shape[0]
    }

    /// `[count, rows, cols]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// The raw pixels, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixels of image `index`, row-major, or `None` when out of range.
    pub fn image(&self, index: usize) -> Option<&[u8]> {
        if index >= self.shape[0] {
            return None;
        }
        // No overflow: `new` bounds rows * cols, and (index + 1) * size <= count * size = pixels.len().
        let size = self.shape[1] * self.shape[2];
        self.pixels.get(index * size..(index + 1) * size)
    }

    /// The images `range` as a new set (a copy of their bytes).
    ///
    /// # Errors
    /// [`Error::Data`] when the range goes past the last image.
    pub fn select(&self, range: std::ops::Range<usize>) -> Result<Images> {
        if range.start > range.end || range.end > self.shape[0] {
            return Err(Error::Data(format!(
                "images {range:?} are out of range for {} images",
                self.shape[0]
            )));
        }
        let size = self.shape[1] * self.shape[2];
        let bytes = range
            .start
            .checked_mul(size)
            .zip(range.end.checked_mul(size))
            .and_then(|(start, end)| self.pixels.get(start..end))
            .ok_or_else(|| {
                Error::Data(format!("images {range:?} are out of range for {} images", self.shape[0]))
            })?;
        Images::new(range.len(), self.shape[1], self.shape[2], bytes.to_vec())
    }

    /// All images scaled to `[0, 1]` as one tensor `[count, rows, cols]`.
    pub fn to_tensor<F: Float>(&self) -> Tensor<F> {
        let values = self.pixels.iter().map(|&p| F::from_f64(f64::from(p) / 255.0)).collect();
        // Invariant: `new` checked pixels.len() == count * rows * cols and that the shape fits
        // ndarray's size limit, the only two reasons from_shape_vec fails.
        Tensor::from_shape_vec(&self.shape, values).unwrap_or_else(|_| unreachable!("shape checked in new"))
    }
}

impl<F: Float> Features<F> for Images {
    fn len(&self) -> usize {
        self.shape[0]
    }

    fn sample_shape(&self) -> &[usize] {
        &self.shape[1..]
    }

    fn gather(&self, indices: &[usize], batch: &mut ArrayD<F>) -> Result<()> {
        let [count, rows, cols] = self.shape;
        check_indices(indices, count)?;
        let shape = [indices.len(), rows, cols];
        check_shape::<F>("batch shape", &shape)?;
        let size = rows * cols;
        resize(batch, &shape);
        // One division per byte value, not per pixel: p / 255 rounded once, so 255 is exactly 1.
        let mut scaled = [F::zero(); 256];
        for (p, value) in scaled.iter_mut().enumerate() {
            *value = F::from_f64(p as f64 / 255.0);
        }
        let out = batch.as_slice_mut().unwrap_or_else(|| unreachable!("a resized buffer is contiguous"));
        // Every index was checked above, so `image` finds each one.
        crate::parallel::for_each_row(out, size, &|r, row| {
            let image = self.image(indices[r]).unwrap_or_default();
            for (x, &p) in row.iter_mut().zip(image) {
                *x = scaled[usize::from(p)];
            }
        });
        Ok(())
    }
}

impl<F: Float> Features<F> for Tensor<F> {
    fn len(&self) -> usize {
        self.shape().first().copied().unwrap_or(0)
    }

    fn sample_shape(&self) -> &[usize] {
        self.shape().get(1..).unwrap_or(&[])
    }

    fn gather(&self, indices: &[usize], batch: &mut ArrayD<F>) -> Result<()> {
        if self.shape().is_empty() {
            return Err(Error::Data("a 0-dimensional tensor has no sample axis to gather from".into()));
        }
        let count = Features::<F>::len(self);
        check_indices(indices, count)?;
        let mut shape = IxDyn(self.shape());
        shape[0] = indices.len();
        check_shape::<F>("batch shape", shape.slice())?;
        resize(batch, shape.slice());
        let source = self.view();
        // Every index was checked above, so each sample's row is inside the source.
        if !copy_rows(&source, batch, &|r| indices[r]) {
            for (mut row, &i) in batch.axis_iter_mut(Axis(0)).zip(indices) {
                row.assign(&source.index_axis(Axis(0), i));
            }
        }
        Ok(())
    }
}

/// Copies row `source_row(r)` of `from` into row `r` of `batch` for every row of `batch`, on
/// every thread (see [`crate::parallel::for_each_row`]), and returns true; returns false, having
/// copied nothing, when either array is not contiguous or the rows are empty. A row is all of a
/// sample: everything past the first axis.
pub(crate) fn copy_rows<F: Float>(
    from: &ArrayViewD<F>,
    batch: &mut ArrayD<F>,
    source_row: &(dyn Fn(usize) -> usize + Sync),
) -> bool {
    let row_len = from.shape().iter().skip(1).product::<usize>();
    match (from.as_slice(), batch.as_slice_mut()) {
        (Some(from), Some(out)) if row_len > 0 => {
            crate::parallel::for_each_row(out, row_len, &|r, row| {
                row.copy_from_slice(&from[source_row(r) * row_len..][..row_len]);
            });
            true
        }
        _ => false,
    }
}

fn out_of_range(index: usize, count: usize) -> Error {
    Error::Data(format!("sample index {index} is out of range for {count} samples"))
}

/// Checks every index before anything is allocated from their number.
fn check_indices(indices: &[usize], count: usize) -> Result<()> {
    match indices.iter().find(|&&i| i >= count) {
        Some(&i) => Err(out_of_range(i, count)),
        None => Ok(()),
    }
}

/// The first label that is not below `classes`, as an error naming its index and value.
fn check_labels(labels: impl IntoIterator<Item = usize>, classes: usize) -> Result<()> {
    match labels.into_iter().enumerate().find(|&(_, label)| label >= classes) {
        Some((i, bad)) => {
            Err(Error::Data(format!("label {bad} at index {i} is out of range for {classes} classes")))
        }
        None => Ok(()),
    }
}

/// What a model is trained to predict: a class index per sample, or a row of probabilities per sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets<F = f32> {
    /// Class indices, each below `classes`.
    Classes {
        /// One class index per sample.
        labels: Vec<usize>,
        /// The number of classes.
        classes: usize,
    },
    /// One row of target probabilities (one-hot or smoothed) per sample, `[samples, classes]`.
    Probabilities(Array2<F>),
}

impl<F: Float> Targets<F> {
    /// Class-index targets from byte labels (as an IDX file holds them).
    ///
    /// # Errors
    /// [`Error::Data`] when a label is not below `classes`.
    pub fn classes(labels: &[u8], classes: usize) -> Result<Self> {
        check_labels(labels.iter().map(|&l| usize::from(l)), classes)?;
        Ok(Targets::Classes { labels: labels.iter().map(|&l| usize::from(l)).collect(), classes })
    }

    /// One-hot rows from byte labels, `[labels.len(), classes]`.
    ///
    /// # Errors
    /// [`Error::Data`] when a label is not below `classes`; [`Error::Config`] naming `classes` when
    /// the rows would not fit in memory: more than `isize::MAX` bytes, or more than the allocator
    /// can provide.
    pub fn one_hot(labels: &[u8], classes: usize) -> Result<Self> {
        check_labels(labels.iter().map(|&l| usize::from(l)), classes)?;
        let mut rows =
            try_array_from_fn("classes", Ix2(labels.len(), classes), F::zero).map_err(|_| Error::Config {
                name: "classes",
                value: classes.to_string(),
                expected: "a number of classes whose one-hot rows fit in memory",
            })?;
        for (mut row, &label) in rows.rows_mut().into_iter().zip(labels) {
            // In range: every label was checked to be below `classes` above.
            row[usize::from(label)] = F::one();
        }
        Ok(Targets::Probabilities(rows))
    }

    /// All the targets as one batch, in order: for metrics over a whole [`Sequential::predict`](crate::Sequential::predict).
    pub fn as_batch(&self) -> TargetBatch<'_, F> {
        match self {
            Targets::Classes { labels, .. } => TargetBatch::Classes(labels),
            Targets::Probabilities(rows) => TargetBatch::Probabilities(rows.view()),
        }
    }

    /// Checks that every class index is below the number of classes, or that every target
    /// probability is a finite number `>= 0`. [`Sequential::fit`](crate::Sequential::fit) and
    /// [`Sequential::evaluate`](crate::Sequential::evaluate) call it first, so targets built
    /// directly as [`Targets::Classes`] are checked as those from [`Targets::classes`] are.
    ///
    /// # Errors
    /// [`Error::Data`] naming the first label out of range, its index and the number of classes,
    /// or the first target that is negative, NaN or infinite, and where it is.
    pub fn check_labels(&self) -> Result<()> {
        match self {
            Targets::Classes { labels, classes } => check_labels(labels.iter().copied(), *classes),
            Targets::Probabilities(rows) => crate::loss::check_probabilities(rows.view(), "targets"),
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Probabilities(rows) => rows.nrows(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of classes.
    pub fn classes_count(&self) -> usize {
        match self {
            Targets::Classes { classes, .. } => *classes,
            Targets::Probabilities(rows) => rows.ncols(),
        }
    }
}

/// Reusable storage for the targets of one batch.
#[derive(Debug, Clone, Default)]
pub struct TargetBuffer<F = f32> {
    classes: Vec<usize>,
    rows: Array2<F>,
}

impl<F: Float> TargetBuffer<F> {
    /// Copies the targets at `indices` into the buffer and lends them as a batch.
    ///
    /// # Errors
    /// [`Error::Data`] for an index out of range.
    pub fn gather<'a>(&'a mut self, targets: &Targets<F>, indices: &[usize]) -> Result<TargetBatch<'a, F>> {
        match targets {
            Targets::Classes { labels, .. } => {
                self.classes.clear();
                for &i in indices {
                    self.classes.push(*labels.get(i).ok_or_else(|| out_of_range(i, labels.len()))?);
                }
                Ok(TargetBatch::Classes(&self.classes))
            }
            Targets::Probabilities(rows) => {
                check_indices(indices, rows.nrows())?;
                if self.rows.dim() != (indices.len(), rows.ncols()) {
                    check_shape::<F>("batch shape", &[indices.len(), rows.ncols()])?;
                    self.rows = Array2::zeros((indices.len(), rows.ncols()));
                }
                for (mut out, &i) in self.rows.rows_mut().into_iter().zip(indices) {
                    out.assign(&rows.row(i));
                }
                Ok(TargetBatch::Probabilities(self.rows.view()))
            }
        }
    }
}
