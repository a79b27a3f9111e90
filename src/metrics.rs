//! Metrics beyond the accuracy [`Sequential::evaluate`](crate::Sequential::evaluate) reports:
//! [`BinaryCounts`], the confusion counts of yes/no outputs, and precision and recall from them.

use ndarray::ArrayViewD;

use crate::error::Result;
use crate::layers::view2;
use crate::loss::TargetBatch;
use crate::tensor::Float;

/// The four confusion counts of binary outputs, over every output of every sample.
///
/// An output is predicted "yes" when its score is above `threshold` (0.5 for probabilities
/// from a [`Sigmoid`](crate::layers::Sigmoid), 0 for logits); its target is "yes" when above
/// 1/2. Targets are read as [`BinaryCrossEntropy`](crate::loss::BinaryCrossEntropy) reads them
/// ([`TargetBatch::check_binary`]): class indices (the label 0/1 itself for one output, one-hot for
/// more) or probability rows.
///
/// # Example
/// ```
/// use ferronet::loss::TargetBatch;
/// use ferronet::metrics::BinaryCounts;
/// use ndarray::array;
///
/// let probabilities = array![[0.9f32], [0.2], [0.7], [0.4]].into_dyn();
/// let counts = BinaryCounts::count(probabilities.view(), TargetBatch::Classes(&[1, 0, 0, 1]), 0.5)?;
/// assert_eq!((counts.true_positives, counts.false_positives, counts.false_negatives), (1, 1, 1));
/// assert_eq!((counts.accuracy(), counts.precision(), counts.recall()), (0.5, 0.5, 0.5));
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinaryCounts {
    /// Predicted yes, target yes.
    pub true_positives: usize,
    /// Predicted yes, target no.
    pub false_positives: usize,
    /// Predicted no, target no.
    pub true_negatives: usize,
    /// Predicted no, target yes.
    pub false_negatives: usize,
}

impl BinaryCounts {
    /// Counts the outputs `scores` (`[samples, outputs]`) against `targets`.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) when `scores` is not 2-D or the targets do not fit it,
    /// [`Error::Data`](crate::Error::Data) for a target that is not a binary label.
    pub fn count<F: Float>(scores: ArrayViewD<F>, targets: TargetBatch<F>, threshold: F) -> Result<Self> {
        let scores = view2(scores, "binary scores")?;
        let (rows, width) = scores.dim();
        targets.check_binary(rows, width, "binary counts")?;
        let half = F::from_f64(0.5);
        let mut counts = BinaryCounts::default();
        for ((i, j), &score) in scores.indexed_iter() {
            let count = match (score > threshold, targets.binary_target(i, j, width) > half) {
                (true, true) => &mut counts.true_positives,
                (true, false) => &mut counts.false_positives,
                (false, false) => &mut counts.true_negatives,
                (false, true) => &mut counts.false_negatives,
            };
            *count += 1;
        }
        Ok(counts)
    }

    /// The fraction of outputs predicted right; 0 when there are none.
    pub fn accuracy(&self) -> f64 {
        let total = self.true_positives + self.false_positives + self.true_negatives + self.false_negatives;
        ratio(self.true_positives + self.true_negatives, total)
    }

    /// Of the outputs predicted yes, the fraction that are yes; 0 when none is predicted yes
    /// (scikit-learn's `zero_division` default).
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }

    /// Of the outputs that are yes, the fraction predicted yes; 0 when none is yes.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}
