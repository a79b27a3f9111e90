//! [`CategoricalCrossEntropy`]: cross-entropy on probabilities, clipped as Keras clips them.

use ndarray::{ArrayD, ArrayView2};

use super::{Loss, TargetBatch, gradient_matrix};
use crate::error::Result;
use crate::tensor::Float;

/// Categorical cross-entropy of **probabilities** (not logits), with Keras's clipping.
///
/// For predicted probabilities `p` (`[N, C]`) and targets `y` (a class index per row, read as
/// its one-hot row, or a row of probabilities), the loss is the batch mean
///
/// `L = -(1/N) sum_i sum_j y_ij ln(clip(p_ij))`, with `clip` to `[1e-7, 1 - 1e-7]`
///
/// (Keras's `epsilon()`), so a probability of exactly 0 or 1 gives a finite loss: target
/// `[0, 1, 0]` against prediction `[1, 0, 0]` costs `-ln(1e-7) = 16.118...`, never infinity.
/// In `f32`, `1 - 1e-7` rounds to `1 - 2^-23`, so a perfect prediction costs `1.19e-7` rather than `1.0e-7`.
///
/// # Gradient
/// `dL/dp_ij = -y_ij / (N p_ij)` where the clip leaves `p_ij` as it is (`1e-7 <= p_ij <= 1 - 1e-7`),
/// and **0 where the clip moves it**. This is the exact derivative of the clipped formula, the one
/// TensorFlow, JAX and PyTorch's `clamp` give (the "clip-mask" convention), and the one central
/// differences see. Its cost: a prediction of exactly 0 on the target class gets no gradient and
/// cannot recover, which is one more reason to train a model that ends in
/// [`Softmax`](crate::layers::Softmax) with [`SoftmaxCrossEntropy`](super::SoftmaxCrossEntropy).
///
/// # When to use it
/// Only when you really hold probabilities. It folds in no activation
/// ([`Loss::fused_activation`] is `None`), so a model ending in `Softmax` trained with it runs the
/// softmax and its backward pass, and loses the precision of the fused loss on confident rows.
///
/// Keras's `categorical_crossentropy` also divides each row of `p` by its sum before clipping;
/// this loss does not, and the two agree for rows that sum to 1.
///
/// # Example
/// ```
/// use ferronet::loss::{CategoricalCrossEntropy, Loss, TargetBatch};
/// use ndarray::{array, ArrayD};
///
/// let p = array![[0.0f64, 1.0, 0.0]];
/// let mut grad = ArrayD::zeros(vec![0]);
/// let loss = CategoricalCrossEntropy.loss(p.view(), TargetBatch::Classes(&[0]), Some(&mut grad))?;
/// assert_eq!(loss, -(1e-7f64).ln());                   // clipped, finite
/// assert_eq!(grad.as_slice().unwrap(), &[0.0, 0.0, 0.0]); // every entry was clipped
/// # Ok::<(), ferronet::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CategoricalCrossEntropy;

impl CategoricalCrossEntropy {
    /// The clip bound: probabilities are clipped to `[EPSILON, 1 - EPSILON]` (Keras's `epsilon()`).
    pub const EPSILON: f64 = 1e-7;
}

/// `p` clipped to `[lo, hi]`; NaN stays NaN, so a broken model still reports a NaN loss.
fn clip<F: Float>(p: F, lo: F, hi: F) -> F {
    if p < lo {
        lo
    } else if p > hi {
        hi
    } else {
        p
    }
}

impl<F: Float> Loss<F> for CategoricalCrossEntropy {
    fn name(&self) -> &'static str {
        "categorical_cross_entropy"
    }

    fn loss(
        &self,
        probabilities: ArrayView2<F>,
        targets: TargetBatch<F>,
        grad: Option<&mut ArrayD<F>>,
    ) -> Result<F> {
        let (rows, width) = probabilities.dim();
        targets.check(rows, width, "categorical_cross_entropy")?;
        let mut grad = gradient_matrix(grad, rows, width)?;
        let (lo, hi) = (F::from_f64(Self::EPSILON), F::from_f64(1.0 - Self::EPSILON));
        let inv_rows = F::one() / F::from_f64(rows.max(1) as f64);
        let mut total = F::zero();
        for ((i, j), &p) in probabilities.indexed_iter() {
            let y = targets.probability(i, j);
            let clipped = clip(p, lo, hi);
            total -= y * clipped.ln();
            if let Some(grad) = grad.as_mut() {
                grad[[i, j]] = if clipped == p { -y * inv_rows / p } else { F::zero() };
            }
        }
        Ok(total * inv_rows)
    }
}
