//! Losses: the [`Loss`] trait, the targets a batch carries, and one file per loss.
//!
//! | loss | takes | final layer it folds in |
//! | --- | --- | --- |
//! | [`SoftmaxCrossEntropy`] | logits, one class per sample | [`Softmax`](crate::layers::Softmax) |
//! | [`CategoricalCrossEntropy`] | probabilities, one class per sample | none |
//! | [`BinaryCrossEntropy`] | logits, independent yes/no outputs | [`Sigmoid`](crate::layers::Sigmoid) |
//!
//! Every loss takes its targets as class indices or as rows of probabilities
//! ([`TargetBatch`]); a count or width that does not fit the predictions is an error.

mod binary_cross_entropy;
mod categorical_cross_entropy;
mod softmax_cross_entropy;

pub use binary_cross_entropy::BinaryCrossEntropy;
pub use categorical_cross_entropy::CategoricalCrossEntropy;
pub use softmax_cross_entropy::SoftmaxCrossEntropy;

use ndarray::{ArrayD, ArrayView2, ArrayViewMut2};

use crate::error::{Error, Result};
use crate::layers::{resize, view2_mut};
use crate::tensor::{Float, argmax};

/// The targets of one batch: a class index per row, or a row of probabilities per row
/// (one-hot or smoothed).
#[derive(Debug, Clone, Copy)]
pub enum TargetBatch<'a, F = f32> {
    /// One class index per sample.
    Classes(&'a [usize]),
    /// One row of target probabilities per sample, `[batch, classes]`.
    Probabilities(ArrayView2<'a, F>),
}

impl<F: Float> TargetBatch<'_, F> {
    /// Checks that the targets fit predictions of shape `[rows, width]`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the counts or widths differ, [`Error::Data`] for a class index `>= width`
    /// or a target probability that is negative, NaN or infinite.
    pub fn check(&self, rows: usize, width: usize, context: &str) -> Result<()> {
        match self {
            TargetBatch::Classes(labels) => {
                if labels.len() != rows {
                    return Err(Error::shape(
                        format!("{context} targets (class indices)"),
                        &[rows],
                        &[labels.len()],
                    ));
                }
                if let Some(&bad) = labels.iter().find(|&&c| c >= width) {
                    return Err(Error::Data(format!(
                        "{context}: class index {bad} is out of range for {width} classes"
                    )));
                }
            }
            TargetBatch::Probabilities(p) => {
                if p.shape() != [rows, width] {
                    return Err(Error::shape(
                        format!("{context} targets (probabilities)"),
                        &[rows, width],
                        p.shape(),
                    ));
                }
                check_probabilities(*p, context)?;
            }
        }
        Ok(())
    }

    /// Checks that the targets fit `width` independent binary outputs for `rows` samples.
    ///
    /// With one output, a class index is the label itself and must be 0 or 1; with more, a
    /// class index `c` stands for the one-hot row with a 1 at `c` (one-vs-rest). A probability
    /// row must have one entry per output, each in `[0, 1]` (any mix of outputs may be on: multi-label).
    ///
    /// # Errors
    /// [`Error::Shape`] when the counts or widths differ, [`Error::Data`] for a class index that is
    /// not a label (`>= 2` for one output, `>= width` for more) or a probability outside `[0, 1]`.
    pub fn check_binary(&self, rows: usize, width: usize, context: &str) -> Result<()> {
        match self {
            // One output holds the labels 0 and 1, as two classes would.
            TargetBatch::Classes(_) => self.check(rows, if width == 1 { 2 } else { width }, context),
            TargetBatch::Probabilities(p) => {
                self.check(rows, width, context)?;
                let outside = p.indexed_iter().find(|(_, y)| !(F::zero()..=F::one()).contains(*y));
                match outside {
                    Some(((i, j), y)) => {
                        Err(Error::Data(format!("{context}: target {y} at [{i}, {j}] is outside [0, 1]")))
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// The target of binary output `j` of sample `i`, for `width` outputs as
    /// [`TargetBatch::check_binary`] reads them: the label itself for one output, one-hot for more.
    pub(crate) fn binary_target(&self, i: usize, j: usize, width: usize) -> F {
        match self {
            TargetBatch::Classes(labels) if width == 1 => F::from_f64(labels[i] as f64),
            _ => self.probability(i, j),
        }
    }

    /// The target probability of class `j` for sample `i`: 1 or 0 for a class index (its
    /// one-hot row), the row's entry otherwise.
    pub(crate) fn probability(&self, i: usize, j: usize) -> F {
        match self {
            TargetBatch::Classes(labels) => F::from_f64(f64::from(u8::from(labels[i] == j))),
            TargetBatch::Probabilities(p) => p[[i, j]],
        }
    }

    /// The class of sample `i`: its index, or the argmax of its probability row; `None` when
    /// there is no sample `i`.
    pub fn class(&self, i: usize) -> Option<usize> {
        match self {
            TargetBatch::Classes(labels) => labels.get(i).copied(),
            TargetBatch::Probabilities(p) if i < p.nrows() => {
                let row = p.row(i);
                Some(match row.as_slice() {
                    Some(values) => argmax(values),
                    None => argmax(&row.to_vec()),
                })
            }
            TargetBatch::Probabilities(_) => None,
        }
    }
}

/// A loss: a scalar that training makes small, and its gradient.
pub trait Loss<F: Float = f32> {
    /// The loss's name, as printed.
    fn name(&self) -> &'static str;

    /// The kind of final layer ([`Layer::kind`](crate::layers::Layer::kind)) this loss has
    /// folded into itself. When a model ends in that layer, training hands the loss the
    /// layer's input (the logits) instead of its output.
    fn fused_activation(&self) -> Option<&'static str> {
        None
    }

    /// The mean loss over the batch; when `grad` is given, also writes dL/d`predictions` there
    /// (reshaped to `predictions`' shape).
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::Data`] when the targets do not fit the predictions.
    fn loss(
        &self,
        predictions: ArrayView2<F>,
        targets: TargetBatch<F>,
        grad: Option<&mut ArrayD<F>>,
    ) -> Result<F>;

    /// Checks that targets built for `classes` classes ([`Targets::classes_count`](crate::data::Targets::classes_count))
    /// fit predictions `width` wide: by default the two must be equal. [`Sequential`](crate::Sequential)
    /// calls it on every batch, so class-index targets built for another number of classes are an
    /// error even when every label in the data happens to be in range.
    ///
    /// # Errors
    /// [`Error::Shape`] when they do not fit.
    fn check_classes(&self, classes: usize, width: usize) -> Result<()> {
        if classes == width { Ok(()) } else { Err(classes_error(self.name(), classes, width)) }
    }

    /// How many rows of the batch the predictions get right (the predicted class is the
    /// argmax of the row; for a probability target, the argmax of the target row).
    ///
    /// # Errors
    /// As [`Loss::loss`].
    fn correct(&self, predictions: ArrayView2<F>, targets: TargetBatch<F>) -> Result<usize> {
        targets.check(predictions.nrows(), predictions.ncols(), self.name())?;
        let mut correct = 0;
        for (i, row) in predictions.rows().into_iter().enumerate() {
            let predicted = match row.as_slice() {
                Some(values) => argmax(values),
                None => argmax(&row.to_vec()),
            };
            correct += usize::from(Some(predicted) == targets.class(i));
        }
        Ok(correct)
    }
}

/// Shapes a loss's gradient buffer to `[rows, width]` and lends it as a matrix.
pub(crate) fn gradient_matrix<F: Float>(
    grad: Option<&mut ArrayD<F>>,
    rows: usize,
    width: usize,
) -> Result<Option<ArrayViewMut2<'_, F>>> {
    grad.map(|buffer| {
        resize(buffer, &[rows, width]);
        view2_mut(buffer.view_mut(), "loss gradient")
    })
    .transpose()
}

/// A model whose output is `width` wide trained on targets built for `classes` classes.
pub(crate) fn classes_error(loss: &str, classes: usize, width: usize) -> Error {
    Error::shape(
        format!("{loss}: the model's output width against the classes of the targets"),
        &[width],
        &[classes],
    )
}

/// Checks that every target probability is a finite number `>= 0`: a negative target makes
/// cross-entropy negative, and a NaN would surface only later as a non-finite loss.
///
/// # Errors
/// [`Error::Data`] naming the first bad target and where it is.
pub(crate) fn check_probabilities<F: Float>(targets: ArrayView2<F>, context: &str) -> Result<()> {
    let bad = targets.indexed_iter().find(|(_, y)| !(y.is_finite() && **y >= F::zero()));
    match bad {
        Some(((i, j), y)) => Err(Error::Data(format!(
            "{context}: target {y:?} at [{i}, {j}] is not a probability (a finite number >= 0)"
        ))),
        None => Ok(()),
    }
}
