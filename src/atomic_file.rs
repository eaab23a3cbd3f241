//! Atomic file output: every file bitsim writes goes through [`write_with`],
//! so a failure or an interrupt never leaves a half-written file behind.

use std::fs::File;
use std::io;
use std::path::Path;

/// Why an atomic write failed.
#[derive(Debug)]
pub enum AtomicWriteError {
    /// The temporary file could not be created (missing or read-only directory).
    Create(io::Error),
    /// Writing, flushing or renaming failed.
    Write(io::Error),
}

impl std::fmt::Display for AtomicWriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtomicWriteError::Create(e) => write!(f, "cannot create output: {e}"),
            AtomicWriteError::Write(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl std::error::Error for AtomicWriteError {}

/// The OS error alone: tempfile decorates errors with the temporary file's
/// name, which means nothing to a user.
fn plain(e: io::Error) -> io::Error {
    e.raw_os_error().map_or(e, io::Error::from_raw_os_error)
}

/// Fills a temporary file in `path`'s directory with `write`, flushes it to
/// disk, then renames it over `path`. On any error the temporary file is
/// removed and `path` is untouched. The file gets mode 0644 (tempfile's
/// default is owner-only; outputs are meant to be shared).
pub fn write_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), AtomicWriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{name}.");
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| AtomicWriteError::Create(plain(e)))?;
    write(tmp.as_file_mut())
        .and_then(|_| tmp.as_file_mut().sync_all())
        .map_err(|e| AtomicWriteError::Write(plain(e)))?;
    tmp.persist(path)
        .map_err(|e| AtomicWriteError::Write(plain(e.error)))?;
    Ok(())
}
