//! MNIST (placeholder).
use super::Images;
/// MNIST.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Training images.
    pub train_images: Images,
    /// Training labels.
    pub train_labels: Vec<u8>,
    /// Test images.
    pub test_images: Images,
    /// Test labels.
    pub test_labels: Vec<u8>,
}
