//! Properties of the IDX reader, checked on generated inputs with proptest:
//! - any u8 tensor written as IDX reads back equal, raw and gzipped;
//! - any byte string is either read or rejected with an error, never a panic; and what is read
//!   is exactly the bytes given (no byte ignored, none invented);
//! - a valid file with a byte added or removed is rejected.
//!
//! Case counts are modest (256 per property, proptest's default, written out) so that the whole
//! file runs in well under a second; `PROPTEST_CASES=100000 cargo test --test idx_properties`
//! runs a longer search.

use std::io::Write;
use std::path::Path;

use ferronet::Error;
use ferronet::data::idx::{IdxArray, parse_idx};
use proptest::prelude::*;

/// Writes an IDX file of unsigned bytes: magic `00 00 08 <ndims>`, the dimensions as big-endian
/// `u32`, then the payload. Written here from the format's description, independently of the reader.
fn write_idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, u8::try_from(dims.len()).unwrap()];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Up to 4 dimensions of 0 to 6 each, and a payload of exactly their product.
fn tensor() -> impl Strategy<Value = (Vec<u32>, Vec<u8>)> {
    prop::collection::vec(0u32..=6, 0..=4).prop_flat_map(|dims| {
        let size = dims.iter().product::<u32>() as usize;
        (Just(dims), prop::collection::vec(any::<u8>(), size))
    })
}

/// Byte strings of three kinds: arbitrary; starting with an IDX magic of unsigned bytes; and
/// starting with the gzip magic.
fn byte_strings() -> impl Strategy<Value = Vec<u8>> {
    let any_bytes = prop::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        any_bytes.clone(),
        (0u8..=5, any_bytes.clone()).prop_map(|(ndims, rest)| [vec![0, 0, 8, ndims], rest].concat()),
        any_bytes.prop_map(|rest| [vec![0x1f, 0x8b], rest].concat()),
    ]
}

fn expected(dims: &[u32], data: &[u8]) -> IdxArray {
    IdxArray { dims: dims.iter().map(|&d| d as usize).collect(), data: data.to_vec() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_tensor_written_as_idx_reads_back_equal((dims, data) in tensor()) {
        let read = parse_idx(&write_idx(&dims, &data), Path::new("written")).unwrap();
        prop_assert_eq!(read, expected(&dims, &data));
    }

    #[test]
    fn any_tensor_written_as_gzipped_idx_reads_back_equal((dims, data) in tensor(), level in 0u32..=9) {
        let read = parse_idx(&gzip(&write_idx(&dims, &data), level), Path::new("written.gz")).unwrap();
        prop_assert_eq!(read, expected(&dims, &data));
    }

    #[test]
    fn any_byte_string_is_read_exactly_or_rejected_with_an_error(bytes in byte_strings()) {
        // A panic inside parse_idx fails the property; so does an Ok that does not account for
        // every byte of a raw input.
        match parse_idx(&bytes, Path::new("arbitrary")) {
            Ok(array) => {
                let dims: Vec<u32> = array.dims.iter().map(|&d| u32::try_from(d).unwrap()).collect();
                if !bytes.starts_with(&[0x1f, 0x8b]) {
                    prop_assert_eq!(write_idx(&dims, &array.data), bytes);
                }
            }
            Err(Error::Idx { .. } | Error::Gzip { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected kind of error: {other:?}"),
        }
    }

    #[test]
    fn any_byte_string_gzipped_is_read_as_the_raw_bytes_are(bytes in byte_strings()) {
        prop_assume!(!bytes.starts_with(&[0x1f, 0x8b]));
        let raw = parse_idx(&bytes, Path::new("raw"));
        let gzipped = parse_idx(&gzip(&bytes, 6), Path::new("raw.gz"));
        match (raw, gzipped) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "raw {a:?} but gzipped {b:?}"),
        }
    }

    #[test]
    fn a_valid_file_with_a_byte_more_is_rejected((dims, data) in tensor(), extra in any::<u8>()) {
        let mut bytes = write_idx(&dims, &data);
        bytes.push(extra);
        let error = parse_idx(&bytes, Path::new("longer")).unwrap_err();
        prop_assert!(error.to_string().contains("trailing bytes"), "{}", error);
    }

    #[test]
    fn a_valid_file_with_a_byte_less_is_rejected((dims, data) in tensor()) {
        let mut bytes = write_idx(&dims, &data);
        bytes.pop();
        let error = parse_idx(&bytes, Path::new("shorter")).unwrap_err();
        prop_assert!(error.to_string().contains("truncated"), "{}", error);
    }
}
