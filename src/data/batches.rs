//! Mini-batches: the validation split, one seeded shuffle per epoch, and batches of indices.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};

/// Where Keras's `validation_split` cuts `samples`: the first `floor(samples * (1 - split))`
/// samples train, the rest validate. The product is taken in `f64`, as Keras does, so
/// 7 samples with split 0.3 train on `floor(4.8999999999999995) = 4`.
///
/// # Errors
/// [`Error::Config`] when `split` is not in `[0, 1)`.
///
/// ```
/// assert_eq!(ferronet::data::split_point(10, 0.2)?, 8);
/// assert_eq!(ferronet::data::split_point(7, 0.3)?, 4);
/// # Ok::<(), ferronet::Error>(())
/// ```
pub fn split_point(samples: usize, split: f64) -> Result<usize> {
    if !(0.0..1.0).contains(&split) {
        return Err(Error::Config {
            name: "validation_split",
            value: split.to_string(),
            expected: "a number in [0, 1)",
        });
    }
    Ok((samples as f64 * (1.0 - split)).floor() as usize)
}

/// The sample indices of one epoch, cut into batches.
///
/// The indices are one permutation shared by inputs and targets, so a batch's rows and
/// labels always belong together. Shuffling reorders the same buffer in place.
///
/// ```
/// use ferronet::data::Batches;
/// use rand::{SeedableRng, rngs::StdRng};
///
/// let mut batches = Batches::new(0..10);
/// batches.shuffle(&mut StdRng::seed_from_u64(42));
/// let sizes: Vec<usize> = batches.iter(3).map(|b| b.len()).collect();
/// assert_eq!(sizes, [3, 3, 3, 1]);
/// ```
#[derive(Debug, Clone)]
pub struct Batches {
    order: Vec<usize>,
}

impl Batches {
    /// Batches over the given sample indices, in their order.
    pub fn new(indices: impl IntoIterator<Item = usize>) -> Self {
        Batches { order: indices.into_iter().collect() }
    }

    /// Puts the indices back in increasing order, so that a shuffle that follows depends on
    /// its random numbers alone and not on earlier shuffles.
    pub fn reset(&mut self) {
        self.order.sort_unstable();
    }

    /// Puts the indices in a new random order drawn from `rng`.
    pub fn shuffle(&mut self, rng: &mut impl Rng) {
        self.order.shuffle(rng);
    }

    /// The indices in their current order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The batches of `batch_size` indices; the last one holds what is left and may be smaller.
    /// A `batch_size` of 0 is treated as 1.
    pub fn iter(&self, batch_size: usize) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(batch_size.max(1))
    }
}
