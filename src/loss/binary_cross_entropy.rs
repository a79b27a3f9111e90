//! [`BinaryCrossEntropy`]: sigmoid and binary cross-entropy fused, on logits.

use ndarray::{ArrayD, ArrayView2};

use super::{Loss, TargetBatch, classes_error, gradient_matrix};
use crate::error::Result;
use crate::tensor::Float;

/// Binary cross-entropy of the sigmoid of logits, **computed from the logits**.
///
/// Each of the `K` outputs of a sample is its own yes/no question: one output for a binary
/// problem (digit 0 or not), several for a multi-label one (which of these tags apply). For
/// logits `z` (`[N, K]`) and targets `y` in `[0, 1]`, the loss is the mean over all `N * K`
/// outputs (as Keras's `BinaryCrossentropy` and PyTorch's `BCEWithLogitsLoss`) of
///
/// `l(z, y) = -y ln sigmoid(z) - (1 - y) ln(1 - sigmoid(z)) = max(z, 0) - z y + ln(1 + exp(-|z|))`.
///
/// The right-hand form never overflows and never takes the log of a probability rounded to 0,
/// so logits of ±1e4 give exact finite losses (`l(-1e4, 1) = 1e4`, `l(1e4, 1) = 0`). The
/// gradient is `(sigmoid(z) - y) / (N K)`, computed as `(1 - y) - sigmoid(-z)` for `z >= 0`
/// so a confident row keeps its small gradient instead of rounding it to 0.
///
/// **It takes logits, not probabilities.** A model that ends in a
/// [`Sigmoid`](crate::layers::Sigmoid) layer may use it all the same: training feeds it the
/// sigmoid layer's input, and `predict` returns probabilities.
///
/// # Targets
/// - Probability rows `[N, K]`, each entry in `[0, 1]` (0/1 for hard labels, anything between
///   for soft ones; any number of outputs may be 1 at once).
/// - Class indices: with one output, the label itself, 0 or 1 (so `Targets::classes(labels, 2)`
///   trains a one-output model); with `K > 1` outputs, class `c` is the one-hot row with a 1 at `c`.
///
/// # Correct
/// An output predicts "yes" when its logit is above 0 (probability above 1/2), and its target
/// is "yes" when above 1/2. A sample counts as correct when every one of its outputs agrees
/// (exact match; for one output, plain binary accuracy).
///
/// # Example
/// ```
/// use ferronet::loss::{BinaryCrossEntropy, Loss, TargetBatch};
/// use ndarray::{array, ArrayD};
///
/// let logits = array![[1e4f64], [-1e4]];
/// let mut grad = ArrayD::zeros(vec![0]);
/// // Both samples have label 1: the first costs 0, the second 1e4; the mean is 5000.
/// let loss = BinaryCrossEntropy.loss(logits.view(), TargetBatch::Classes(&[1, 1]), Some(&mut grad))?;
/// assert_eq!(loss, 5000.0);
/// assert_eq!(grad.as_slice().unwrap(), &[0.0, -0.5]);
/// # Ok::<(), ferronet::Error>(())
/// ```
#[doc(alias = "BCEWithLogitsLoss")]
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryCrossEntropy;

impl<F: Float> Loss<F> for BinaryCrossEntropy {
    fn name(&self) -> &'static str {
        "binary_cross_entropy"
    }

    fn fused_activation(&self) -> Option<&'static str> {
        Some("sigmoid")
    }

    fn loss(
        &self,
        logits: ArrayView2<F>,
        targets: TargetBatch<F>,
        grad: Option<&mut ArrayD<F>>,
    ) -> Result<F> {
        let (rows, width) = logits.dim();
        targets.check_binary(rows, width, "binary_cross_entropy")?;
        let mut grad = gradient_matrix(grad, rows, width)?;
        let inv_count = F::one() / F::from_f64((rows * width).max(1) as f64);
        let mut total = F::zero();
        for ((i, j), &z) in logits.indexed_iter() {
            let y = targets.binary_target(i, j, width);
            // e <= 1 never overflows; tail = sigmoid(-|z|), the smaller of sigmoid(z) and 1 - sigmoid(z).
            let e = (-z.abs()).exp();
            total += z.max(F::zero()) - z * y + e.ln_1p();
            if let Some(grad) = grad.as_mut() {
                let tail = e / (F::one() + e);
                let g = if z >= F::zero() { (F::one() - y) - tail } else { tail - y };
                grad[[i, j]] = g * inv_count;
            }
        }
        Ok(total * inv_count)
    }

    /// One output fits targets for 2 classes (the labels 0 and 1) or 1 column of probabilities;
    /// more outputs need as many classes.
    fn check_classes(&self, classes: usize, width: usize) -> Result<()> {
        let fits = if width == 1 { classes <= 2 } else { classes == width };
        if fits { Ok(()) } else { Err(classes_error("binary_cross_entropy", classes, width)) }
    }

    fn correct(&self, logits: ArrayView2<F>, targets: TargetBatch<F>) -> Result<usize> {
        let (rows, width) = logits.dim();
        targets.check_binary(rows, width, "binary_cross_entropy")?;
        let half = F::from_f64(0.5);
        let mut correct = 0;
        for (i, row) in logits.rows().into_iter().enumerate() {
            let mut outputs = row.iter().enumerate();
            let all_agree =
                outputs.all(|(j, &z)| (z > F::zero()) == (targets.binary_target(i, j, width) > half));
            correct += usize::from(all_agree);
        }
        Ok(correct)
    }
}
