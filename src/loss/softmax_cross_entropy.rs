//! [`SoftmaxCrossEntropy`]: softmax and categorical cross-entropy fused, on logits.

use ndarray::{ArrayD, ArrayView2, Zip};

use super::{Loss, TargetBatch, gradient_matrix};
use crate::error::Result;
use crate::tensor::Float;

/// Categorical cross-entropy of the softmax of logits, **computed from the logits**.
///
/// For logits `z` (`[N, C]`) and targets `y` (a class index per row, or a row of
/// probabilities), the loss is the batch mean of
///
/// `l_i = -sum_j y_ij log softmax(z_i)_j = sum_j y_ij ((m_i - z_ij) + ln sum_k exp(z_ik - m_i))`,
///
/// with `m_i = max_j z_ij`. Written this way no `exp` overflows and no probability is rounded
/// to zero before its log, so logits of ±1e4 give exact finite losses. The gradient,
/// `(softmax(z) * sum_j y_ij - y) / N` (`(softmax(z) - y) / N` when the targets sum to 1),
/// comes out of the same pass.
///
/// **It takes logits, not probabilities.** A model that ends in a
/// [`Softmax`](crate::layers::Softmax) layer may use it all the same: training feeds it the
/// softmax layer's input.
///
/// # Example
/// ```
/// use ferronet::loss::{Loss, SoftmaxCrossEntropy, TargetBatch};
/// use ndarray::{array, ArrayD};
///
/// let logits = array![[0.0f64, 0.0, 0.0], [0.0, 0.0, 0.0]];
/// let mut grad = ArrayD::zeros(vec![0]);
/// let loss = SoftmaxCrossEntropy.loss(logits.view(), TargetBatch::Classes(&[0, 2]), Some(&mut grad))?;
/// assert!((loss - 3f64.ln()).abs() < 1e-15);
/// assert!((grad[[0, 0]] - (-1.0 / 3.0)).abs() < 1e-15);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftmaxCrossEntropy;

impl<F: Float> Loss<F> for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }

    fn fused_activation(&self) -> Option<&'static str> {
        Some("softmax")
    }

    fn loss(
        &self,
        logits: ArrayView2<F>,
        targets: TargetBatch<F>,
        grad: Option<&mut ArrayD<F>>,
    ) -> Result<F> {
        let (rows, width) = logits.dim();
        // After this check every `labels[i]` below has i < rows = labels.len() and is < width,
        // so the indexing into the labels, the logits and the gradient is in range.
        targets.check(rows, width, "softmax_cross_entropy")?;
        let mut grad = gradient_matrix(grad, rows, width)?;
        let inv_rows = F::one() / F::from_f64(rows.max(1) as f64);
        let mut total = F::zero();
        for (i, z) in logits.rows().into_iter().enumerate() {
            let max = z.fold(F::neg_infinity(), |m, &v| m.max(v));
            let sum_exp = z.fold(F::zero(), |s, &v| s + (v - max).exp());
            let log_sum_exp = sum_exp.ln();
            let (row_loss, target_mass) = match targets {
                TargetBatch::Classes(labels) => ((max - z[labels[i]]) + log_sum_exp, F::one()),
                TargetBatch::Probabilities(y) => {
                    let y = y.row(i);
                    let loss = Zip::from(&z).and(&y).fold(F::zero(), |acc, &z, &y| {
                        if y == F::zero() { acc } else { acc + y * ((max - z) + log_sum_exp) }
                    });
                    (loss, y.sum())
                }
            };
            total += row_loss;
            if let Some(grad) = grad.as_mut() {
                // d l_i / d z_ij = softmax_ij * (sum_k y_ik) - y_ij, then the 1/N of the mean.
                let scale = target_mass * inv_rows / sum_exp;
                let mut g = grad.row_mut(i);
                Zip::from(&mut g).and(&z).for_each(|g, &z| *g = (z - max).exp() * scale);
                match targets {
                    TargetBatch::Classes(labels) => g[labels[i]] -= inv_rows,
                    TargetBatch::Probabilities(y) => g.zip_mut_with(&y.row(i), |g, &y| *g -= y * inv_rows),
                }
            }
        }
        Ok(total * inv_rows)
    }
}
