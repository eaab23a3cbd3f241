//! Atomic file output: every file bitsim writes goes through [`write_with`],
//! so a failure or an interrupt never leaves a half-written file behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
/// name (`… at path "/dir/.out.npy.Ab12Cd.tmp"`), which means nothing to a
/// user, and keeps no OS error code to rebuild the plain error from, so the
/// decoration is cut off the message.
fn plain(e: io::Error) -> io::Error {
    if let Some(code) = e.raw_os_error() {
        return io::Error::from_raw_os_error(code);
    }
    let text = e.to_string();
    match text.rfind(" at path \"") {
        Some(i) => io::Error::new(e.kind(), &text[..i]),
        None => e,
    }
}

/// Where writing to `path` really lands: a symbolic link is followed to its
/// target (even a target that does not exist yet), so replacing the file
/// keeps the link. Relative link targets are resolved against the link's
/// directory; more than 40 hops (a loop) is an error, as for the OS.
pub fn resolve_target(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Fills a temporary file in the target's directory with `write`, flushes it
/// to disk, then renames it over the target. On any error the temporary file
/// is removed and the target is untouched.
///
/// The target is `path` with symbolic links followed ([`resolve_target`]).
/// A target that exists and is not a regular file (`/dev/null`,
/// `/dev/stdout`, a named pipe) is written directly instead: renaming over
/// it would replace a device node with a plain file, and such targets have
/// no half-written state to protect. A regular file being replaced keeps its
/// permission bits; a new file gets mode 0644 (tempfile's default is
/// owner-only; outputs are meant to be shared).
pub fn write_with(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), AtomicWriteError> {
    let target = resolve_target(path).map_err(AtomicWriteError::Create)?;
    let existing = std::fs::metadata(&target).ok();
    if existing
        .as_ref()
        .is_some_and(|m| !m.is_file() && !m.is_dir())
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .map_err(AtomicWriteError::Create)?;
        write(&mut f)
            .and_then(|_| f.flush())
            .map_err(|e| AtomicWriteError::Write(plain(e)))?;
        return Ok(());
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = target
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
    #[cfg(unix)]
    if let Some(m) = existing.as_ref().filter(|m| m.is_file()) {
        // Creation modes pass through the umask; the old mode must not.
        tmp.as_file()
            .set_permissions(m.permissions())
            .map_err(|e| AtomicWriteError::Create(plain(e)))?;
    }
    write(tmp.as_file_mut())
        .and_then(|_| tmp.as_file_mut().sync_all())
        .map_err(|e| AtomicWriteError::Write(plain(e)))?;
    tmp.persist(&target)
        .map_err(|e| AtomicWriteError::Write(plain(e.error)))?;
    Ok(())
}

/// Whether `a` and `b` name the same existing file (after links), so that
/// a command can refuse to overwrite its own input.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}
