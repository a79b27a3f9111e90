//! The evaluation report: confusion matrix, per-class precision, recall and F1, and the
//! mistakes the model was surest of.

use std::fmt::Write;

use ferronet::Tensor;
use ferronet::metrics::{ConfusionMatrix, most_confident_mistakes};

/// The report on `probabilities` (`[samples, classes]`, as `predict` returns them) against
/// `labels`, listing the `mistakes` most confident wrong predictions.
///
/// # Errors
/// As [`ConfusionMatrix::new`] and [`most_confident_mistakes`], when the shapes disagree.
pub fn report(probabilities: &Tensor, labels: &[u8], mistakes: usize) -> ferronet::Result<String> {
    let labels: Vec<usize> = labels.iter().map(|&l| usize::from(l)).collect();
    let classes = probabilities.shape().last().copied().unwrap_or(0);
    let matrix = ConfusionMatrix::new(&probabilities.argmax_rows(), &labels, classes)?;
    let mut text = format!(
        "confusion matrix of the {} test images (rows: true digit, columns: predicted)\n",
        matrix.total()
    );
    text += &matrix.to_string();
    let _ = writeln!(text, "correct (the diagonal): {} of {}", matrix.correct(), matrix.total());
    let _ = writeln!(
        text,
        "most confident mistakes:\n{:>7}{:>6}{:>11}{:>13}",
        "index", "true", "predicted", "probability"
    );
    for m in most_confident_mistakes(probabilities, &labels, mistakes)? {
        let _ = writeln!(text, "{:>7}{:>6}{:>11}{:>13.4}", m.index, m.label, m.predicted, m.probability);
    }
    Ok(text)
}
