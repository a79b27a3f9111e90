//! The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels, labelled
//! 0 to 9, as the four IDX files of the original distribution.

use std::io;
use std::path::{Path, PathBuf};

use super::Images;
use super::idx::{read_images, read_labels};
use crate::error::{Error, Result};

/// The number of classes in MNIST: the digits 0 to 9.
const CLASSES: usize = 10;

/// One of the four MNIST files: its original name and the dotted form some mirrors use.
struct FileName {
    /// `train-images-idx3-ubyte`.
    plain: &'static str,
    /// `train-images.idx3-ubyte`.
    dotted: &'static str,
}

const TRAIN_IMAGES: FileName =
    FileName { plain: "train-images-idx3-ubyte", dotted: "train-images.idx3-ubyte" };
const TRAIN_LABELS: FileName =
    FileName { plain: "train-labels-idx1-ubyte", dotted: "train-labels.idx1-ubyte" };
const TEST_IMAGES: FileName = FileName { plain: "t10k-images-idx3-ubyte", dotted: "t10k-images.idx3-ubyte" };
const TEST_LABELS: FileName = FileName { plain: "t10k-labels-idx1-ubyte", dotted: "t10k-labels.idx1-ubyte" };

/// The MNIST data set, images as bytes and labels as digits.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Training images, `[60000, 28, 28]` for the real data set.
    pub train_images: Images,
    /// Training labels, one digit (below 10) per training image.
    pub train_labels: Vec<u8>,
    /// Test images, `[10000, 28, 28]` for the real data set.
    pub test_images: Images,
    /// Test labels, one digit (below 10) per test image.
    pub test_labels: Vec<u8>,
}

impl Mnist {
    /// Loads the four MNIST files from `dir`.
    ///
    /// Each file is accepted under its original name (`train-images-idx3-ubyte`), with `.gz`
    /// (`train-images-idx3-ubyte.gz`), and in the dotted form (`train-images.idx3-ubyte`, with or
    /// without `.gz`), looked for in that order; the first that exists is read. Whether a file is
    /// compressed is decided by its content, not its name.
    ///
    /// # Errors
    /// - [`Error::Io`] naming `dir` when it does not exist or is not a directory, or when one of
    ///   the four files is under none of its names (the message lists the names tried);
    /// - the errors of [`load_pair`]: a malformed file, image and label counts that differ, or a
    ///   label of 10 or more;
    /// - [`Error::Data`] when the test images are not the size of the training images.
    ///
    /// # Example
    /// ```
    /// use ferronet::data::Mnist;
    ///
    /// let mnist = Mnist::load("data/mnist")?;
    /// assert_eq!(mnist.train_images.shape(), [60000, 28, 28]);
    /// assert_eq!(mnist.test_labels.len(), 10000);
    /// # Ok::<(), ferronet::Error>(())
    /// ```
    pub fn load(dir: impl AsRef<Path>) -> Result<Mnist> {
        let dir = dir.as_ref();
        let meta = std::fs::metadata(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        if !meta.is_dir() {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "expected the MNIST directory, found a file",
                ),
            });
        }
        let train_images_path = find(dir, &TRAIN_IMAGES)?;
        let train_labels_path = find(dir, &TRAIN_LABELS)?;
        let test_images_path = find(dir, &TEST_IMAGES)?;
        let test_labels_path = find(dir, &TEST_LABELS)?;

        let (train_images, train_labels) = load_pair(&train_images_path, &train_labels_path, CLASSES)?;
        let (test_images, test_labels) = load_pair(&test_images_path, &test_labels_path, CLASSES)?;
        let ([_, train_rows, train_cols], [_, test_rows, test_cols]) =
            (train_images.shape(), test_images.shape());
        if (train_rows, train_cols) != (test_rows, test_cols) {
            return Err(Error::Data(format!(
                "{} holds images of {train_rows}x{train_cols} but {} holds images of {test_rows}x{test_cols}",
                train_images_path.display(),
                test_images_path.display()
            )));
        }
        Ok(Mnist { train_images, train_labels, test_images, test_labels })
    }
}

/// Loads an images file and its labels file as one data set of `classes` classes.
///
/// # Errors
/// The errors of [`read_images`] and [`read_labels`], and [`Error::Data`] when the two files hold
/// different counts (the message names both files and both counts) or when a label is not below
/// `classes` (the message names the file, the label's index and its value).
pub fn load_pair(images: &Path, labels: &Path, classes: usize) -> Result<(Images, Vec<u8>)> {
    let image_set = read_images(images)?;
    let label_set = read_labels(labels)?;
    if image_set.count() != label_set.len() {
        return Err(Error::Data(format!(
            "{} holds {} images but {} holds {} labels; they must be the same count",
            images.display(),
            image_set.count(),
            labels.display(),
            label_set.len()
        )));
    }
    if let Some((index, &value)) = label_set.iter().enumerate().find(|&(_, &l)| usize::from(l) >= classes) {
        return Err(Error::Data(format!(
            "{}: label {value} at index {index} is out of range for {classes} classes (a label must be below {classes})",
            labels.display()
        )));
    }
    Ok((image_set, label_set))
}

/// The first existing file among the accepted names of `name` in `dir`.
fn find(dir: &Path, name: &FileName) -> Result<PathBuf> {
    let tried = [
        name.plain.to_string(),
        format!("{}.gz", name.plain),
        name.dotted.to_string(),
        format!("{}.gz", name.dotted),
    ];
    for candidate in &tried {
        let path = dir.join(candidate);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => return Ok(path),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
    }
    Err(Error::Io {
        path: dir.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::NotFound,
            format!("the MNIST file {} is not in this directory; tried {}", name.plain, tried.join(", ")),
        ),
    })
}
