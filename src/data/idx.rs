//! Reading IDX files, the format MNIST ships in.
//!
//! An IDX file is a 4-byte magic number `00 00 <type> <ndims>`, then `ndims` sizes as big-endian
//! `u32`, then the payload in row-major order. ferronet reads element type `0x08` (unsigned bytes)
//! only, and rejects the others with an error naming the type byte.
//!
//! A file may be gzip-compressed. Compression is recognised by the content (the gzip magic
//! `1f 8b`), never by the file name, so `labels.gz` holding raw IDX and `labels` holding gzip both
//! load. Concatenated gzip members are decompressed as one stream, as `gunzip` does.
//!
//! The reader is strict, and checks the header before it trusts it:
//! - the payload size is the product of the dimensions, computed with checked multiplication
//!   (overflow is an error), and compared with the bytes actually present before anything is
//!   allocated from it; gzip input is decompressed through a bound of the expected size plus one
//!   byte, so a lying header cannot make the reader inflate more than it claims, and memory is
//!   reserved up front only in proportion to the compressed input (5 bytes per byte), the rest
//!   as decompressed data actually arrives;
//! - the payload must have exactly that size: fewer bytes is a truncation error, more is a
//!   trailing-bytes error (nothing is silently dropped);
//! - a gzip stream that is truncated or corrupt is an [`Error::Gzip`], never partial data;
//! - a dimension of 0 is valid and gives an empty payload: a labels file of count 0 loads as no
//!   labels, and an images file of `count` images with 0 rows (or 0 columns) loads as `count`
//!   images of no pixels, since the byte count (0) matches;
//! - an IDX file with 0 dimensions (a scalar) holds exactly one byte.

use std::io::Read;
use std::path::Path;

use byteorder::{BigEndian, ByteOrder};
use flate2::bufread::MultiGzDecoder;

use super::Images;
use crate::error::{Error, Result};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The IDX element type byte for unsigned bytes, the only type ferronet reads.
const TYPE_U8: u8 = 0x08;
/// The magic number of an images file: unsigned bytes, 3 dimensions `[count, rows, cols]`.
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of a labels file: unsigned bytes, 1 dimension `[count]`.
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Room reserved for decompressed data, per compressed byte, before any of it arrives. IDX files
/// compress 2:1 to 5:1 (MNIST's training images 4.8:1), so real files get one allocation of the
/// right size; beyond it the buffer grows only as data actually arrives. Reserving by deflate's
/// largest ratio (about 1032:1) instead would let a header that lies ask for a thousand times the
/// input's size up front, and a failed allocation aborts the process.
const RESERVE_PER_COMPRESSED_BYTE: usize = 5;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension, from the header.
    pub dims: Vec<usize>,
    /// The payload, row-major; its length is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes, raw or gzip-compressed (recognised by its content).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Gzip`] when it starts as gzip but does
/// not decompress, and [`Error::Idx`] when its content is not a well-formed IDX file of unsigned
/// bytes (see [`parse_idx`]).
///
/// # Example
/// ```
/// use ferronet::data::read_idx;
///
/// // A labels file: magic 0x00000801, 3 items, then the labels 7, 2, 1.
/// let path = std::env::temp_dir().join(format!("ferronet-doc-read-idx-{}", std::process::id()));
/// std::fs::write(&path, [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])?;
///
/// let labels = read_idx(&path)?;
/// assert_eq!(labels.dims, [3]);
/// assert_eq!(labels.data, [7, 2, 1]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_idx(&bytes, path)
}

/// Parses the content of an IDX file of unsigned bytes, raw or gzip-compressed (starting `1f 8b`).
///
/// `path` is used only in error messages.
///
/// # Errors
/// [`Error::Gzip`] when `bytes` start as gzip but do not decompress; [`Error::Idx`] for a magic
/// number that is not `00 00 08 <ndims>`, a header cut short, dimensions whose product overflows
/// `usize`, or a payload shorter or longer than the dimensions say.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    parse(bytes, path, None)
}

/// Reads an IDX images file (magic `0x00000803`, dimensions `[count, rows, cols]`), raw or gzip.
///
/// # Errors
/// As [`read_idx`], and [`Error::Idx`] when the magic number is not `0x00000803`, or when the
/// dimensions could never be gathered into a batch (`0` images of `4294967295x4294967295`: no
/// pixels, but each image would need 2^64 bytes).
pub fn read_images(path: impl AsRef<Path>) -> Result<Images> {
    let path = path.as_ref();
    let array = parse(&read_file(path)?, path, Some(IMAGES_MAGIC))?;
    match array.dims[..] {
        // The payload length was checked against the dimensions; what Images::new can still refuse
        // (empty images too large to ever batch) is a fault of this file, so the error names it.
        [count, rows, cols] => Images::new(count, rows, cols, array.data).map_err(|e| match e {
            Error::Data(reason) => Error::Idx { path: path.to_path_buf(), reason },
            other => other,
        }),
        // Unreachable: the magic number 0x00000803 was checked, and it says 3 dimensions.
        _ => Err(Error::Idx {
            path: path.to_path_buf(),
            reason: format!("an images file has 3 dimensions, found {:?}", array.dims),
        }),
    }
}

/// Reads an IDX labels file (magic `0x00000801`, dimensions `[count]`), raw or gzip.
///
/// The labels are returned as stored; checking them against a number of classes is the data
/// set's job (see [`crate::data::mnist::load_pair`]).
///
/// # Errors
/// As [`read_idx`], and [`Error::Idx`] when the magic number is not `0x00000801` (an images file
/// passed here is reported as "magic number 0x00000803 is not the expected 0x00000801").
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    Ok(parse(&read_file(path)?, path, Some(LABELS_MAGIC))?.data)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Parses raw or gzip content; with `expected` set, the magic number must be exactly that.
fn parse(bytes: &[u8], path: &Path, expected: Option<u32>) -> Result<IdxArray> {
    if bytes.starts_with(&GZIP_MAGIC) {
        parse_gzip(bytes, path, expected)
    } else {
        parse_raw(bytes, path, expected)
    }
}

fn parse_raw(bytes: &[u8], path: &Path, expected: Option<u32>) -> Result<IdxArray> {
    let content = "the file";
    let magic =
        bytes.first_chunk().ok_or_else(|| too_short(path, content, bytes.len(), 4, "magic number"))?;
    let header_len = header_len(check_magic(magic, path, expected)?);
    let (header, payload) = bytes
        .split_at_checked(header_len)
        .ok_or_else(|| too_short(path, content, bytes.len(), header_len, "header"))?;
    let dims = read_dims(header.get(4..).unwrap_or_default(), path)?;
    let size = payload_size(&dims, path)?;
    check_payload(path, content, &dims, header_len, size, payload.len(), false)?;
    Ok(IdxArray { dims, data: payload.to_vec() })
}

fn parse_gzip(bytes: &[u8], path: &Path, expected: Option<u32>) -> Result<IdxArray> {
    let content = "the decompressed content";
    let mut decoder = MultiGzDecoder::new(bytes);
    let magic = read_at_most(&mut decoder, 4, 4, path)?;
    let magic =
        magic.first_chunk().ok_or_else(|| too_short(path, content, magic.len(), 4, "magic number"))?;
    let ndims = check_magic(magic, path, expected)?;
    let header_len = header_len(ndims);
    let dim_bytes = read_at_most(&mut decoder, 4 * ndims, 4 * ndims, path)?;
    if dim_bytes.len() < 4 * ndims {
        return Err(too_short(path, content, 4 + dim_bytes.len(), header_len, "header"));
    }
    let dims = read_dims(&dim_bytes, path)?;
    let size = payload_size(&dims, path)?;
    // One byte more than the header claims is enough to tell an exact payload from trailing bytes;
    // the reservation is capped by what the compressed bytes could possibly hold.
    let limit = size.saturating_add(1);
    let reserve = size.min(bytes.len().saturating_mul(RESERVE_PER_COMPRESSED_BYTE));
    let data = read_at_most(&mut decoder, limit, reserve, path)?;
    check_payload(path, content, &dims, header_len, size, data.len(), true)?;
    Ok(IdxArray { dims, data })
}

/// Decompresses at most `limit` more bytes; fewer means the stream ended (and its checksum matched).
fn read_at_most(decoder: &mut impl Read, limit: usize, reserve: usize, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(reserve.min(limit));
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    decoder.take(limit).read_to_end(&mut out).map_err(|e| Error::Gzip {
        path: path.to_path_buf(),
        reason: format!("the gzip stream is truncated or corrupt: {e}"),
    })?;
    Ok(out)
}

/// Checks `00 00 08 <ndims>` (and, if given, the exact magic number); returns `ndims`.
fn check_magic(magic: &[u8; 4], path: &Path, expected: Option<u32>) -> Result<usize> {
    let found = u32::from_be_bytes(*magic);
    let reason = match (*magic, expected) {
        (_, Some(expected)) if found != expected => Some(format!(
            "magic number {} is not the expected {} ({}); found {}",
            hex_dec(found),
            hex_dec(expected),
            describe(expected),
            describe(found)
        )),
        ([0, 0, TYPE_U8, _], _) => None,
        ([0, 0, type_byte, _], _) => Some(format!(
            "magic number {}: element type byte {type_byte:#04x} ({}) is not supported; \
             only 0x08 (unsigned bytes) is",
            hex_dec(found),
            type_name(type_byte)
        )),
        _ => Some(format!("magic number {}: {}", hex_dec(found), describe(found))),
    };
    let [_, _, _, ndims] = *magic;
    match reason {
        Some(reason) => Err(Error::Idx { path: path.to_path_buf(), reason }),
        None => Ok(usize::from(ndims)),
    }
}

/// What a magic number means, for error messages.
fn describe(magic: u32) -> String {
    match magic.to_be_bytes() {
        [0, 0, type_byte, ndims] => {
            let plural = if ndims == 1 { "" } else { "s" };
            format!("{} elements in {ndims} dimension{plural}", type_name(type_byte))
        }
        _ => {
            let swapped = magic.swap_bytes();
            let hint = if swapped >> 16 == 0 {
                format!("; read little-endian it would be {swapped:#010x}, but IDX headers are big-endian")
            } else {
                String::new()
            };
            format!("not an IDX magic number, which starts with two zero bytes (00 00 <type> <ndims>){hint}")
        }
    }
}

fn type_name(type_byte: u8) -> &'static str {
    match type_byte {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0b => "i16",
        0x0c => "i32",
        0x0d => "f32",
        0x0e => "f64",
        _ => "unknown type",
    }
}

fn hex_dec(magic: u32) -> String {
    format!("{magic:#010x} ({magic})")
}

fn header_len(ndims: usize) -> usize {
    4 + 4 * ndims
}

fn read_dims(dim_bytes: &[u8], path: &Path) -> Result<Vec<usize>> {
    dim_bytes
        .chunks_exact(4)
        .map(|chunk| {
            let dim = BigEndian::read_u32(chunk);
            usize::try_from(dim).map_err(|_| Error::Idx {
                path: path.to_path_buf(),
                reason: format!("dimension {dim} does not fit in usize on this platform"),
            })
        })
        .collect()
}

/// The product of `dims`, or an error when it overflows `usize`.
fn payload_size(dims: &[usize], path: &Path) -> Result<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| Error::Idx {
        path: path.to_path_buf(),
        reason: format!("the header's dimensions {dims:?} multiply to more than usize::MAX bytes"),
    })
}

fn too_short(path: &Path, content: &str, found: usize, needed: usize, what: &str) -> Error {
    Error::Idx {
        path: path.to_path_buf(),
        reason: format!("truncated: {content} is {found} bytes, too short for the {needed}-byte {what}"),
    }
}

/// Compares the payload size the header claims with the bytes found. For gzip input `found` is at
/// most `expected + 1`, since decompression stops there.
fn check_payload(
    path: &Path,
    content: &str,
    dims: &[usize],
    header_len: usize,
    expected: usize,
    found: usize,
    bounded: bool,
) -> Result<()> {
    let claim = format!("the header says dimensions {dims:?}, that is {expected} bytes of data");
    let reason = if found < expected {
        format!("truncated: {claim}, but {content} has only {found} bytes after the {header_len}-byte header")
    } else if found > expected && bounded {
        format!("trailing bytes: {claim}, but {content} has more after the {header_len}-byte header")
    } else if found > expected {
        format!(
            "trailing bytes: {claim}, but {content} has {found} bytes after the {header_len}-byte header \
             ({} too many)",
            found - expected
        )
    } else {
        return Ok(());
    };
    Err(Error::Idx { path: path.to_path_buf(), reason })
}
