//! Classification metrics: accuracy, the confusion matrix with per-class precision, recall
//! and F1, the most confident mistakes, and [`BinaryCounts`] for yes/no outputs.

use std::fmt;

use ndarray::ArrayViewD;

use crate::error::{Error, Result};
use crate::layers::view2;
use crate::loss::TargetBatch;
use crate::tensor::{Float, Tensor, argmax};

fn check_lengths(predicted: &[usize], labels: &[usize]) -> Result<()> {
    if predicted.len() != labels.len() {
        return Err(Error::Data(format!("{} predictions but {} labels", predicted.len(), labels.len())));
    }
    Ok(())
}

/// The fraction of predictions equal to their label.
///
/// # Errors
/// [`Error::Data`] when the lengths differ or there are none.
///
/// ```
/// assert_eq!(ferronet::metrics::accuracy(&[0, 2, 1], &[0, 1, 1])?, 2.0 / 3.0);
/// # Ok::<(), ferronet::Error>(())
/// ```
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> Result<f64> {
    check_lengths(predicted, labels)?;
    if labels.is_empty() {
        return Err(Error::Data("accuracy of no samples".into()));
    }
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(correct as f64 / labels.len() as f64)
}

/// Counts of (true class, predicted class) pairs: row `t`, column `p` holds how many samples
/// of class `t` were predicted as `p`.
///
/// ```
/// use ferronet::metrics::ConfusionMatrix;
///
/// let m = ConfusionMatrix::new(&[0, 1, 1, 1], &[0, 1, 0, 1], 2)?;
/// assert_eq!(m.count(0, 1), 1);         // one 0 taken for a 1
/// assert_eq!(m.correct(), 3);
/// assert_eq!(m.precision(1), Some(2.0 / 3.0));
/// assert_eq!(m.recall(0), Some(0.5));
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    /// The matrix of `predicted` against `labels` for `classes` classes.
    ///
    /// # Errors
    /// [`Error::Data`] when the lengths differ or a class is out of range; [`Error::Config`]
    /// naming `classes` when a `classes x classes` matrix would not fit in memory.
    pub fn new(predicted: &[usize], labels: &[usize], classes: usize) -> Result<Self> {
        check_lengths(predicted, labels)?;
        let counts = crate::tensor::try_array_from_fn("classes", ndarray::Ix2(classes, classes), || 0usize)
            .map_err(|_| Error::Config {
            name: "classes",
            value: classes.to_string(),
            expected: "a number whose classes x classes counts fit in memory",
        })?;
        let mut counts = counts.into_raw_vec_and_offset().0;
        for (i, (&p, &t)) in predicted.iter().zip(labels).enumerate() {
            if p >= classes || t >= classes {
                return Err(Error::Data(format!(
                    "sample {i}: class {} is out of range for {classes} classes",
                    p.max(t)
                )));
            }
            counts[t * classes + p] += 1;
        }
        Ok(ConfusionMatrix { classes, counts })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many samples of class `truth` were predicted as `predicted` (0 out of range).
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// The samples on the diagonal: those classified correctly.
    pub fn correct(&self) -> usize {
        (0..self.classes).map(|c| self.count(c, c)).sum()
    }

    /// All samples.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    fn predicted_as(&self, class: usize) -> usize {
        (0..self.classes).map(|t| self.count(t, class)).sum()
    }

    fn of_class(&self, class: usize) -> usize {
        (0..self.classes).map(|p| self.count(class, p)).sum()
    }

    /// Of the samples predicted as `class`, the fraction that are: `None` when none were.
    pub fn precision(&self, class: usize) -> Option<f64> {
        let predicted = self.predicted_as(class);
        (predicted > 0).then(|| self.count(class, class) as f64 / predicted as f64)
    }

    /// Of the samples of `class`, the fraction predicted as it: `None` when there are none.
    pub fn recall(&self, class: usize) -> Option<f64> {
        let actual = self.of_class(class);
        (actual > 0).then(|| self.count(class, class) as f64 / actual as f64)
    }

    /// The harmonic mean of precision and recall: `None` when either is undefined, 0 when both are 0.
    pub fn f1(&self, class: usize) -> Option<f64> {
        let (p, r) = (self.precision(class)?, self.recall(class)?);
        Some(if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) })
    }
}

impl fmt::Display for ConfusionMatrix {
    /// The matrix with true classes down and predicted classes across, then precision, recall
    /// and F1 per class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "true\\pred")?;
        for p in 0..self.classes {
            write!(f, "{p:>6}")?;
        }
        writeln!(f)?;
        for t in 0..self.classes {
            write!(f, "{t:>9}")?;
            for p in 0..self.classes {
                write!(f, "{:>6}", self.count(t, p))?;
            }
            writeln!(f)?;
        }
        writeln!(f, "{:>9}{:>11}{:>8}{:>8}", "class", "precision", "recall", "f1")?;
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        for c in 0..self.classes {
            writeln!(
                f,
                "{c:>9}{:>11}{:>8}{:>8}",
                show(self.precision(c)),
                show(self.recall(c)),
                show(self.f1(c))
            )?;
        }
        Ok(())
    }
}

/// A sample the model got wrong, with the probability it gave its wrong answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mistake {
    /// The sample's index.
    pub index: usize,
    /// Its true class.
    pub label: usize,
    /// The class predicted.
    pub predicted: usize,
    /// The probability given to the predicted class.
    pub probability: f64,
}

/// The `count` wrong predictions made with the highest probability, most confident first.
///
/// # Errors
/// [`Error::Data`] when `probabilities` is not `[labels.len(), classes]`.
pub fn most_confident_mistakes<F: Float>(
    probabilities: &Tensor<F>,
    labels: &[usize],
    count: usize,
) -> Result<Vec<Mistake>> {
    let [rows, classes] = probabilities.shape() else {
        return Err(Error::Data(format!("probabilities must be 2-D, found {:?}", probabilities.shape())));
    };
    if *rows != labels.len() || *classes == 0 {
        return Err(Error::Data(format!("{rows} rows of probabilities for {} labels", labels.len())));
    }
    let mut mistakes: Vec<Mistake> = probabilities
        .as_slice()
        .chunks_exact(*classes)
        .zip(labels)
        .enumerate()
        .filter_map(|(index, (row, &label))| {
            let predicted = argmax(row);
            (predicted != label).then(|| Mistake {
                index,
                label,
                predicted,
                probability: row[predicted].to_f64(),
            })
        })
        .collect();
    mistakes.sort_by(|a, b| b.probability.total_cmp(&a.probability).then(a.index.cmp(&b.index)));
    mistakes.truncate(count);
    Ok(mistakes)
}

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
    /// [`Error::Shape`] when `scores` is not 2-D or the targets do not fit it,
    /// [`Error::Data`] for a target that is not a binary label.
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
