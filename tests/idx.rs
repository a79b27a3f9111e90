//! The IDX reader and the MNIST loader, as a specification.
//!
//! P10 to P12 are the data cases of the project's pitfalls list. The `bad_idx_*` tests read the
//! files of `tests/data/bad_idx/`, copied from the shared malformed-IDX cases, each with the
//! outcome the cases' README requires. Small files are written to a fresh folder of the system's
//! temporary directory; the `mnist_*` tests at the end also read the real data in `data/mnist`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferronet::Error;
use ferronet::data::idx::{parse_idx, read_images, read_labels};
use ferronet::data::mnist::load_pair;
use ferronet::data::{Mnist, read_idx};

/// P10: one image of 2x2, header big-endian.
const P10_IMAGES: [u8; 20] = [
    0x00, 0x00, 0x08, 0x03, // magic 2051
    0x00, 0x00, 0x00, 0x01, // 1 image
    0x00, 0x00, 0x00, 0x02, // 2 rows
    0x00, 0x00, 0x00, 0x02, // 2 columns
    0x00, 0x80, 0xff, 0x40, // pixels 0, 128, 255, 64
];

/// P10: three labels, header big-endian.
const P10_LABELS: [u8; 11] = [0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x03, 0x07, 0x02, 0x01];

/// A fresh, empty folder of the temporary directory, unique to this process and test, removed
/// when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("ferronet-test-idx-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Writes `bytes` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A file of the shared malformed-IDX cases.
fn bad_idx(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad_idx").join(name)
}

/// An IDX header of unsigned bytes with these dimensions.
fn header(dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, u8::try_from(dims.len()).unwrap()];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes
}

fn idx_reason(error: Error) -> String {
    match error {
        Error::Idx { reason, .. } => reason,
        other => panic!("expected Error::Idx, found {other:?}"),
    }
}

// ---- P10: big-endian headers ----

#[test]
fn p10_images_header_is_big_endian() {
    let dir = scratch("p10-images");
    let path = write(&dir, "images", &P10_IMAGES);

    let array = read_idx(&path).unwrap();
    assert_eq!(array.dims, [1, 2, 2]);
    assert_eq!(array.data, [0, 128, 255, 64]);

    let images = read_images(&path).unwrap();
    assert_eq!(images.shape(), [1, 2, 2]);
    assert_eq!(images.pixels(), [0, 128, 255, 64]);
}

#[test]
fn p10_labels_file_reads_7_2_1() {
    let dir = scratch("p10-labels");
    let path = write(&dir, "labels", &P10_LABELS);
    assert_eq!(read_labels(&path).unwrap(), [7, 2, 1]);
}

#[test]
fn p10_little_endian_magic_50855936_is_rejected() {
    let mut little_endian = Vec::new();
    for word in [0x0803u32, 1, 2, 2] {
        little_endian.extend_from_slice(&word.to_le_bytes());
    }
    little_endian.extend_from_slice(&[0x00, 0x80, 0xff, 0x40]);
    let dir = scratch("p10-little-endian");
    let path = write(&dir, "images", &little_endian);

    let reason = idx_reason(read_images(&path).unwrap_err());
    assert!(reason.contains("0x03080000 (50855936)"), "{reason}");
    assert!(reason.contains("big-endian"), "{reason}");

    let reason = idx_reason(read_idx(&path).unwrap_err());
    assert!(reason.contains("50855936"), "{reason}");
}

// ---- P12: divide by 255 ----

#[test]
fn p12_pixels_scale_by_1_over_255() {
    let dir = scratch("p12-scale");
    let images = read_images(write(&dir, "images", &P10_IMAGES)).unwrap();
    let scaled = images.to_tensor::<f32>();
    assert_eq!(scaled.shape(), [1, 2, 2]);
    let expected = [0.0, 0.501_960_8, 1.0, 0.250_980_4];
    for (x, e) in scaled.as_slice().iter().zip(expected) {
        approx::assert_abs_diff_eq!(*x, e, epsilon = 1e-7);
    }
}

#[test]
fn p12_pixel_255_scales_to_exactly_1() {
    let dir = scratch("p12-exact-one");
    let images = read_images(write(&dir, "images", &P10_IMAGES)).unwrap();
    assert_eq!(images.to_tensor::<f32>().as_slice()[2], 1.0);
    assert_eq!(images.to_tensor::<f64>().as_slice()[2], 1.0);
}

// ---- P11: gzip named or not ----

#[test]
fn p11_gzipped_labels_load_as_7_2_1_whatever_the_name() {
    let dir = scratch("p11-names");
    let compressed = gzip(&P10_LABELS);
    assert_eq!(compressed[..2], [0x1f, 0x8b]);
    for name in ["labels.gz", "labels", "labels.idx1-ubyte", "labels.txt"] {
        let path = write(&dir, name, &compressed);
        assert_eq!(read_labels(&path).unwrap(), [7, 2, 1], "{name}");
    }
}

#[test]
fn p11_file_starting_1f8b_but_not_gzip_is_a_gzip_error() {
    let dir = scratch("p11-invalid");
    let path = write(&dir, "labels", &[0x1f, 0x8b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
    let error = read_labels(&path).unwrap_err();
    assert!(matches!(error, Error::Gzip { .. }), "{error:?}");
    assert!(error.to_string().contains("gzip"), "{error}");
}

#[test]
fn p11_truncated_gzip_stream_is_a_gzip_error_not_partial_data() {
    let dir = scratch("p11-truncated");
    let compressed = gzip(&P10_LABELS);
    for cut in [compressed.len() - 1, compressed.len() - 8, compressed.len() / 2, 10] {
        let path = write(&dir, "labels.gz", &compressed[..cut]);
        let error = read_labels(&path).unwrap_err();
        assert!(matches!(error, Error::Gzip { .. }), "cut at {cut}: {error:?}");
        assert!(error.to_string().contains("gzip"), "{error}");
    }
}

#[test]
fn gzip_with_a_corrupted_checksum_is_a_gzip_error() {
    let dir = scratch("gzip-crc");
    let mut compressed = gzip(&P10_LABELS);
    let crc = compressed.len() - 8;
    compressed[crc] ^= 0xff;
    let error = read_labels(write(&dir, "labels.gz", &compressed)).unwrap_err();
    assert!(matches!(error, Error::Gzip { .. }), "{error:?}");
}

#[test]
fn concatenated_gzip_members_decompress_as_one_file() {
    let dir = scratch("gzip-members");
    let (head, tail) = P10_LABELS.split_at(5);
    let mut compressed = gzip(head);
    compressed.extend(gzip(tail));
    assert_eq!(read_labels(write(&dir, "labels.gz", &compressed)).unwrap(), [7, 2, 1]);
}

#[test]
fn garbage_after_the_gzip_stream_is_a_gzip_error() {
    let dir = scratch("gzip-garbage");
    let mut compressed = gzip(&P10_LABELS);
    compressed.extend_from_slice(b"junk");
    let error = read_labels(write(&dir, "labels.gz", &compressed)).unwrap_err();
    assert!(matches!(error, Error::Gzip { .. }), "{error:?}");
}

#[test]
fn gzip_holding_a_truncated_idx_payload_is_an_idx_truncation_error() {
    let dir = scratch("gzip-short-payload");
    let compressed = gzip(&P10_LABELS[..10]);
    let reason = idx_reason(read_labels(write(&dir, "labels.gz", &compressed)).unwrap_err());
    assert!(reason.contains("truncated"), "{reason}");
    assert!(reason.contains("[3], that is 3 bytes"), "{reason}");
    assert!(reason.contains("only 2 bytes"), "{reason}");
}

#[test]
fn gzip_holding_trailing_bytes_is_a_trailing_bytes_error() {
    let dir = scratch("gzip-trailing");
    let mut content = P10_LABELS.to_vec();
    content.extend_from_slice(&[0; 1000]);
    let reason = idx_reason(read_labels(write(&dir, "labels.gz", &gzip(&content))).unwrap_err());
    assert!(reason.contains("trailing bytes"), "{reason}");
}

#[test]
fn gzip_of_a_huge_header_fails_fast() {
    let dir = scratch("gzip-huge");
    let mut content = header(&[u32::MAX, 65535, 65535]);
    content.extend_from_slice(&[0; 16]);
    let path = write(&dir, "images.gz", &gzip(&content));
    let start = Instant::now();
    let reason = idx_reason(read_images(&path).unwrap_err());
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(reason.contains("truncated"), "{reason}");
}

#[test]
fn a_gzip_bomb_is_decompressed_only_to_the_size_its_header_claims() {
    // 10 labels, then 4 GiB of zeros: 4096 gzip members of 1 MiB each, about 4 MB compressed.
    // Reading it all would take seconds and 4 GiB; the reader stops one byte past the claim.
    let mut labels = header(&[10]);
    labels.extend(0..10);
    let mut bomb = gzip(&labels);
    let mebibyte_of_zeros = gzip(&vec![0; 1 << 20]);
    for _ in 0..4096 {
        bomb.extend_from_slice(&mebibyte_of_zeros);
    }
    let start = Instant::now();
    let reason = idx_reason(parse_idx(&bomb, Path::new("bomb.gz")).unwrap_err());
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert_eq!(
        reason,
        "trailing bytes: the header says dimensions [10], that is 10 bytes of data, \
         but the decompressed content has more after the 8-byte header"
    );
}

// ---- other header checks ----

#[test]
fn element_types_other_than_u8_are_rejected_naming_the_type_byte() {
    let dir = scratch("f32-type");
    let path =
        write(&dir, "floats", &[0x00, 0x00, 0x0d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x3f, 0x80, 0x00, 0x00]);
    let reason = idx_reason(read_idx(&path).unwrap_err());
    assert!(reason.contains("type byte 0x0d (f32)"), "{reason}");
}

#[test]
fn dimensions_whose_product_overflows_usize_are_an_error() {
    let dir = scratch("overflow");
    let path = write(&dir, "huge", &header(&[u32::MAX; 4]));
    let reason = idx_reason(read_idx(&path).unwrap_err());
    assert!(reason.contains("more than usize::MAX"), "{reason}");
}

#[test]
fn a_header_cut_short_is_a_truncation_error() {
    let dir = scratch("short-header");
    let reason = idx_reason(read_images(write(&dir, "images", &P10_IMAGES[..10])).unwrap_err());
    assert!(reason.contains("truncated: the file is 10 bytes, too short for the 16-byte header"), "{reason}");
    let reason = idx_reason(read_idx(write(&dir, "empty", &[])).unwrap_err());
    assert!(reason.contains("0 bytes, too short for the 4-byte magic number"), "{reason}");
}

#[test]
fn images_with_zero_rows_load_as_images_without_pixels() {
    let dir = scratch("zero-rows");
    let images = read_images(write(&dir, "images", &header(&[3, 0, 28]))).unwrap();
    assert_eq!(images.shape(), [3, 0, 28]);
    assert!(images.pixels().is_empty());
}

#[test]
fn no_images_of_4294967295x4294967295_are_refused_as_never_batchable() {
    // No pixels, so the payload size (0) matches, but one image would need 2^64 bytes.
    let dir = scratch("zero-huge-images");
    let path = write(&dir, "images", &header(&[0, u32::MAX, u32::MAX]));
    let reason = idx_reason(read_images(&path).unwrap_err());
    assert_eq!(
        reason,
        "0 images of 4294967295x4294967295 are too large: as f64 they need more than isize::MAX bytes, \
         counting only the non-zero dimensions"
    );
}

#[test]
fn parse_idx_reads_bytes_in_memory() {
    let array = parse_idx(&gzip(&P10_LABELS), Path::new("in-memory")).unwrap();
    assert_eq!(array.dims, [3]);
    assert_eq!(array.data, [7, 2, 1]);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = scratch("missing-file");
    let path = dir.join("nothing-here");
    let error = read_idx(&path).unwrap_err();
    assert!(matches!(&error, Error::Io { path: p, .. } if *p == path), "{error:?}");
}

// ---- the shared malformed-IDX cases (tests/data/bad_idx) ----

#[test]
fn bad_idx_good_images_control_loads_3_images_of_2x2() {
    let images = read_images(bad_idx("good-images-idx3-ubyte")).unwrap();
    assert_eq!(images.shape(), [3, 2, 2]);
    assert_eq!(images.pixels(), [0, 255, 128, 1, 2, 3, 4, 5, 250, 251, 252, 253]);
}

#[test]
fn bad_idx_good_labels_control_loads_7_0_9() {
    assert_eq!(read_labels(bad_idx("good-labels-idx1-ubyte")).unwrap(), [7, 0, 9]);
}

#[test]
fn bad_idx_gzipped_images_control_loads_the_same_images() {
    let compressed = read_images(bad_idx("good-images-idx3-ubyte.gz")).unwrap();
    assert_eq!(compressed, read_images(bad_idx("good-images-idx3-ubyte")).unwrap());
}

#[test]
fn bad_idx_gzipped_labels_control_loads_7_0_9() {
    assert_eq!(read_labels(bad_idx("good-labels-idx1-ubyte.gz")).unwrap(), [7, 0, 9]);
}

#[test]
fn bad_idx_wrong_magic_0x802_is_not_the_expected_0x801() {
    let reason = idx_reason(read_labels(bad_idx("wrong-magic-labels-idx1-ubyte")).unwrap_err());
    assert!(
        reason.contains("magic number 0x00000802 (2050) is not the expected 0x00000801 (2049)"),
        "{reason}"
    );
}

#[test]
fn bad_idx_labels_truncated_reports_100_claimed_and_10_found() {
    let reason = idx_reason(read_labels(bad_idx("labels-truncated-idx1-ubyte")).unwrap_err());
    assert_eq!(
        reason,
        "truncated: the header says dimensions [100], that is 100 bytes of data, \
         but the file has only 10 bytes after the 8-byte header"
    );
}

#[test]
fn bad_idx_huge_header_fails_fast_without_allocating() {
    let start = Instant::now();
    let reason = idx_reason(read_images(bad_idx("images-huge-header-idx3-ubyte")).unwrap_err());
    assert!(start.elapsed() < Duration::from_secs(1));
    if cfg!(target_pointer_width = "64") {
        assert_eq!(
            reason,
            "truncated: the header says dimensions [4294967295, 65535, 65535], that is \
             18446181123756261375 bytes of data, but the file has only 16 bytes after the 16-byte header"
        );
    } else {
        assert!(reason.contains("more than usize::MAX"), "{reason}");
    }
}

#[test]
fn bad_idx_zero_items_loads_no_labels() {
    assert_eq!(read_labels(bad_idx("zero-items-labels-idx1-ubyte")).unwrap(), [0u8; 0]);
}

#[test]
fn bad_idx_trailing_bytes_are_rejected() {
    let reason = idx_reason(read_labels(bad_idx("trailing-bytes-labels-idx1-ubyte")).unwrap_err());
    assert_eq!(
        reason,
        "trailing bytes: the header says dimensions [5], that is 5 bytes of data, \
         but the file has 7 bytes after the 8-byte header (2 too many)"
    );
}

#[test]
fn bad_idx_truncated_gzip_stream_is_a_gzip_error() {
    let error = read_images(bad_idx("truncated-stream-images-idx3-ubyte.gz")).unwrap_err();
    assert!(matches!(error, Error::Gzip { .. }), "{error:?}");
    assert!(error.to_string().contains("gzip stream is truncated or corrupt"), "{error}");
}

#[test]
fn bad_idx_text_named_gz_is_rejected_as_not_idx() {
    let reason = idx_reason(read_labels(bad_idx("not-gzip-labels-idx1-ubyte.gz")).unwrap_err());
    assert!(reason.contains("magic number 0x74686973"), "{reason}");
    assert!(reason.contains("not an IDX magic number"), "{reason}");
}

#[test]
fn bad_idx_images_given_as_labels_says_0x803_is_not_the_expected_0x801() {
    let reason = idx_reason(read_labels(bad_idx("images-given-as-labels-idx3-ubyte")).unwrap_err());
    assert_eq!(
        reason,
        "magic number 0x00000803 (2051) is not the expected 0x00000801 (2049) \
         (unsigned byte elements in 1 dimension); found unsigned byte elements in 3 dimensions"
    );
}

#[test]
fn bad_idx_label_value_10_reads_raw_but_fails_as_a_10_class_data_set() {
    let labels = bad_idx("label-value-10-idx1-ubyte");
    assert_eq!(read_labels(&labels).unwrap(), [0, 3, 10, 9]);

    let dir = scratch("label-value-10");
    let mut four_images = header(&[4, 1, 1]);
    four_images.extend_from_slice(&[10, 20, 30, 40]);
    let images = write(&dir, "images", &four_images);
    let error = load_pair(&images, &labels, 10).unwrap_err();
    let Error::Data(message) = error else { panic!("expected Error::Data, found {error:?}") };
    assert_eq!(
        message,
        format!(
            "{}: label 10 at index 2 is out of range for 10 classes (a label must be below 10)",
            labels.display()
        )
    );
    assert_eq!(load_pair(&images, &labels, 11).unwrap().1, [0, 3, 10, 9]);
}

#[test]
fn bad_idx_pair_mismatch_halves_load_on_their_own() {
    let images = read_images(bad_idx("pair-mismatch-images-idx3-ubyte")).unwrap();
    assert_eq!(images.shape(), [3, 2, 2]);
    assert_eq!(read_labels(bad_idx("pair-mismatch-labels-idx1-ubyte")).unwrap(), [1, 2, 3, 4]);
}

#[test]
fn bad_idx_pair_mismatch_together_is_a_count_error_naming_both_files() {
    let images = bad_idx("pair-mismatch-images-idx3-ubyte");
    let labels = bad_idx("pair-mismatch-labels-idx1-ubyte");
    let error = load_pair(&images, &labels, 10).unwrap_err();
    let Error::Data(message) = error else { panic!("expected Error::Data, found {error:?}") };
    assert_eq!(
        message,
        format!(
            "{} holds 3 images but {} holds 4 labels; they must be the same count",
            images.display(),
            labels.display()
        )
    );
}

#[test]
fn bad_idx_raw_idx_named_gz_is_sniffed_and_loads_7_0_9() {
    // error_or_ok: compression is recognised by content, so this raw file loads.
    assert_eq!(read_labels(bad_idx("raw-idx-named-gz-labels-idx1-ubyte.gz")).unwrap(), [7, 0, 9]);
}

// ---- MNIST ----

/// Writes a fake MNIST: train 2 images of 2x3 and test 1 image, the files named by `names`
/// (train images, train labels, test images, test labels), gzipped when the name ends in `.gz`.
fn fake_mnist(dir: &Path, names: [&str; 4]) {
    let mut train_images = header(&[2, 2, 3]);
    train_images.extend(0..12);
    let mut train_labels = header(&[2]);
    train_labels.extend([5, 0]);
    let mut test_images = header(&[1, 2, 3]);
    test_images.extend([255; 6]);
    let mut test_labels = header(&[1]);
    test_labels.push(7);
    for (name, content) in names.into_iter().zip([train_images, train_labels, test_images, test_labels]) {
        let bytes = if name.ends_with(".gz") { gzip(&content) } else { content };
        write(dir, name, &bytes);
    }
}

fn assert_fake_mnist(mnist: &Mnist) {
    assert_eq!(mnist.train_images.shape(), [2, 2, 3]);
    assert_eq!(mnist.train_images.pixels(), (0..12).collect::<Vec<u8>>());
    assert_eq!(mnist.train_labels, [5, 0]);
    assert_eq!(mnist.test_images.shape(), [1, 2, 3]);
    assert_eq!(mnist.test_images.pixels(), [255; 6]);
    assert_eq!(mnist.test_labels, [7]);
}

#[test]
fn mnist_loads_the_original_names_raw_or_gz() {
    let dir = scratch("mnist-plain");
    fake_mnist(
        &dir,
        [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte",
        ],
    );
    assert_fake_mnist(&Mnist::load(&dir).unwrap());
}

#[test]
fn mnist_loads_the_dotted_names_raw_or_gz() {
    let dir = scratch("mnist-dotted");
    fake_mnist(
        &dir,
        [
            "train-images.idx3-ubyte.gz",
            "train-labels.idx1-ubyte",
            "t10k-images.idx3-ubyte",
            "t10k-labels.idx1-ubyte.gz",
        ],
    );
    assert_fake_mnist(&Mnist::load(&dir).unwrap());
}

#[test]
fn mnist_missing_file_names_the_directory_and_the_names_tried() {
    let dir = scratch("mnist-missing-file");
    fake_mnist(
        &dir,
        [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ],
    );
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let error = Mnist::load(&dir).unwrap_err();
    let Error::Io { path, source } = &error else { panic!("expected Error::Io, found {error:?}") };
    assert_eq!(*path, *dir);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        source.to_string(),
        "the MNIST file t10k-labels-idx1-ubyte is not in this directory; tried t10k-labels-idx1-ubyte, \
         t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz"
    );
}

#[test]
fn mnist_missing_directory_is_an_error_naming_it() {
    let parent = scratch("mnist-missing-dir");
    let dir = parent.join("no-such-dir");
    let error = Mnist::load(&dir).unwrap_err();
    let Error::Io { path, source } = &error else { panic!("expected Error::Io, found {error:?}") };
    assert_eq!(*path, dir);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(error.to_string().starts_with(&dir.display().to_string()), "{error}");
}

#[test]
fn mnist_label_10_is_an_error_naming_the_file_index_and_value() {
    let dir = scratch("mnist-label-10");
    fake_mnist(
        &dir,
        [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ],
    );
    let mut labels = header(&[2]);
    labels.extend([3, 10]);
    let labels_path = write(&dir, "train-labels-idx1-ubyte", &labels);
    let Err(Error::Data(message)) = Mnist::load(&dir) else { panic!("expected Error::Data") };
    assert!(message.starts_with(&labels_path.display().to_string()), "{message}");
    assert!(message.contains("label 10 at index 1"), "{message}");
}

#[test]
fn mnist_real_data_is_60000_train_and_10000_test_images_of_28x28() {
    let mnist = Mnist::load("data/mnist").unwrap();
    assert_eq!(mnist.train_images.shape(), [60000, 28, 28]);
    assert_eq!(mnist.train_labels.len(), 60000);
    assert_eq!(mnist.test_images.shape(), [10000, 28, 28]);
    assert_eq!(mnist.test_labels.len(), 10000);
    assert_eq!(mnist.train_labels[0], 5);
    assert_eq!(mnist.test_labels[0], 7);
}
