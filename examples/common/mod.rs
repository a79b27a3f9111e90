//! What the examples show a person, kept out of the tutorial: the progress bar (a
//! [`Callback`](ferronet::Callback)), the history plot, the digit drawn in the terminal and as
//! a PNG, and the evaluation report. The library itself prints and draws nothing.

pub mod draw;
pub mod out;
pub mod plot;
pub mod progress;
pub mod report;

use std::path::Path;

/// Checks, before any training, that the file an output flag names can be created: its
/// folder exists and the path is not a folder itself. Returns the flag's one-line error otherwise.
pub fn check_output(flag: &str, path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{flag} {}: is a folder; name a file in it", path.display()));
    }
    match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => Err(format!("{flag} {}: no folder {}", path.display(), dir.display())),
        _ => Ok(()),
    }
}
