//! Losses: the [`Loss`] trait, the targets a batch carries, and one file per loss.

mod softmax_cross_entropy;

pub use softmax_cross_entropy::SoftmaxCrossEntropy;

use ndarray::{ArrayD, ArrayView2};

use crate::error::{Error, Result};
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
    /// [`Error::Shape`] when the counts or widths differ, [`Error::Data`] for a class index `>= width`.
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
            }
        }
        Ok(())
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
