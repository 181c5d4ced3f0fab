//! The temporary files a rewrite goes through: made beside their target,
//! under one name pattern (which a walk knows to pass over), then renamed
//! over it. Used by the in-place scrub and by follow mode's state file.

use std::{io, path::Path};

/// Prefix and suffix of the temporary files this crate writes.
pub const TEMP_PREFIX: &str = ".phx-redact-";
/// See [`TEMP_PREFIX`].
pub const TEMP_SUFFIX: &str = ".tmp";

/// A new temporary file in `folder`, to be renamed over a file there
/// (`NamedTempFile::persist`), and removed if it never is.
pub fn temp_in(folder: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX).tempfile_in(folder)
}
