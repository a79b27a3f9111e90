//! Reading IDX files (placeholder until the loader lands).
use crate::error::Result;
use std::path::Path;

/// An IDX array of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension.
    pub dims: Vec<usize>,
    /// The payload, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let _ = path;
    Err(crate::Error::Data("not yet".into()))
}
