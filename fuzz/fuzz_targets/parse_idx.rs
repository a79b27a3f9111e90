//! Fuzzes the IDX reader, `ferronet::data::idx::parse_idx`, on raw and gzip input.
//!
//! Each input is parsed twice: as given (raw IDX, or gzip when it starts `1f 8b`), and gzipped,
//! so that the decompressing path sees every input the raw path does, not only the rare byte
//! strings that happen to be valid deflate. Besides "no panic, no hang, no large allocation"
//! (run with `-malloc_limit_mb`), it checks that both paths agree, and that what parses is
//! exactly the size its header claims and loads as images or labels without a panic.
#![no_main]

use std::io::Write;
use std::path::Path;

use ferronet::data::idx::{IdxArray, parse_idx};
use ferronet::data::{Images, Targets};
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let raw = parse_idx(bytes, Path::new("fuzz-input"));
    if let Ok(array) = &raw {
        check(array);
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec cannot fail");
    let compressed = encoder.finish().expect("writing to a Vec cannot fail");
    let gzipped = parse_idx(&compressed, Path::new("fuzz-input.gz"));
    if let Ok(array) = &gzipped {
        check(array);
    }
    // Content that itself starts as gzip is decompressed by the first parse only.
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        match (&raw, &gzipped) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "raw and gzipped input must give the same array"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("raw and gzipped input disagree: {a:?} vs {b:?}"),
        }
    }
});

/// What parsed must be exactly as large as its header says, and must load without a panic.
fn check(array: &IdxArray) {
    let size = array.dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert_eq!(size, Some(array.data.len()), "payload length must be the product of {:?}", array.dims);
    if let [count, rows, cols] = array.dims[..]
        && let Ok(images) = Images::new(count, rows, cols, array.data.clone())
    {
        let tensor = images.to_tensor::<f32>();
        assert_eq!(tensor.len(), array.data.len());
    }
    if array.dims.len() == 1 {
        let _ = Targets::<f32>::classes(&array.data, 10);
    }
}
