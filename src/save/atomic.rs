//! Writing a file so that a crash or an error midway never leaves a half-written one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Replaces the file at `path` with `bytes`, or leaves it as it was.
///
/// The bytes go to a new temporary file in the same directory (a rename is atomic only
/// within one file system), which is flushed and synced to the disk before it is renamed
/// over `path`; the directory is then synced so that the rename itself survives a power cut.
/// A failure before the rename removes the temporary file and leaves `path` untouched.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, bytes, |file, bytes| file.write_all(bytes))
}

/// [`write`] with the writing of the bytes into the temporary file left to `write_bytes`, so
/// that tests can make it fail midway.
pub(super) fn write_with(
    path: &Path,
    bytes: &[u8],
    write_bytes: impl FnOnce(&mut File, &[u8]) -> io::Result<()>,
) -> Result<()> {
    let io_error = |source| Error::Io { path: path.to_path_buf(), source };
    let Some(name) = path.file_name() else {
        return Err(io_error(io::Error::new(io::ErrorKind::InvalidInput, "not a path to a file")));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let (temp, mut file) = create_temp(dir, &name.to_string_lossy()).map_err(io_error)?;
    let written = write_bytes(&mut file, bytes).and_then(|()| file.flush()).and_then(|()| file.sync_all());
    drop(file);
    if let Err(source) = written.and_then(|()| fs::rename(&temp, path)) {
        // Best effort: the target was never touched, and a stray temporary file is harmless.
        let _ = fs::remove_file(&temp);
        return Err(io_error(source));
    }
    sync_dir(dir);
    Ok(())
}

/// Numbers the temporary files of this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new file `.{name}.{pid}-{n}.tmp` in `dir`, never one that exists already (a crashed
/// process may have left one behind).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// Syncs a directory's entries to the disk, where the system allows opening a directory.
/// Best effort: the new file is already in place, and a failure here only weakens durability.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sequential;
    use crate::layers::{Dense, ReLU};
    use ndarray::array;

    fn model(w: f32) -> Sequential<f32> {
        let dense = Dense::from_weights(array![[w, 2.0], [3.0, 4.0]], array![0.5, -0.5]).unwrap();
        Sequential::new().add(dense).add(ReLU::new())
    }

    #[test]
    fn a_write_that_fails_midway_leaves_the_old_file_loadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        model(1.0).save(&path).unwrap();
        let old = fs::read(&path).unwrap();

        // The new model's bytes stop after 100 of them, as a full disk or a crash would stop them.
        let new = super::super::to_bytes(&mut model(9.0), &path, None).unwrap();
        assert_ne!(new, old);
        let err = write_with(&path, &new, |file, bytes| {
            file.write_all(&bytes[..100])?;
            Err(io::Error::other("simulated failure after 100 bytes"))
        })
        .unwrap_err();

        assert_eq!(err.to_string(), format!("{}: simulated failure after 100 bytes", path.display()));
        assert_eq!(fs::read(&path).unwrap(), old, "the old file is intact");
        let mut loaded = Sequential::<f32>::load(&path).unwrap();
        let mut weight = Vec::new();
        crate::layers::Layer::visit_params(&mut loaded, &mut |p| weight.extend(p.value.iter().copied()));
        assert_eq!(weight, [1.0, 2.0, 3.0, 4.0, 0.5, -0.5]);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["model.safetensors"], "no temporary file is left behind");
    }

    #[test]
    fn a_file_left_by_a_crashed_save_does_not_stop_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        // What a process killed mid-save leaves: partial temporary files, here with the very
        // names this process picks next.
        let next = COUNTER.load(Ordering::Relaxed);
        let stale: Vec<PathBuf> = (next..next + 3)
            .map(|n| dir.path().join(format!(".model.safetensors.{}-{n}.tmp", std::process::id())))
            .collect();
        for file in &stale {
            fs::write(file, b"partial").unwrap();
        }
        model(1.0).save(&path).unwrap();
        assert!(Sequential::<f32>::load(&path).is_ok());
        for file in &stale {
            assert_eq!(fs::read(file).unwrap(), b"partial", "a file this save did not create is not touched");
        }
    }
}
