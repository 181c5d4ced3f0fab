//! Scrubbing one file: in place, atomically, or into a mirror folder.
//!
//! The original is never opened for writing. The redacted content goes to a
//! temporary file beside its destination (mode 0600, named
//! `.phx-redact-*.tmp`), which gets the original's permissions, owner,
//! group and times, is synced, and only then renamed over the destination;
//! the folder is synced after. A failure at any point, a kill included,
//! leaves the original as it was; a killed run can leave a temporary file,
//! which the next run reports (see [`crate::walk`]).

use std::{
    fs::{self, File, FileTimes},
    io::{self, BufReader, BufWriter, Seek, SeekFrom, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    Error, Redactor, RuleSet,
    compress::{Encoder, Format, Levels},
    filter,
};

/// Prefix and suffix of the temporary files this crate writes.
pub const TEMP_PREFIX: &str = ".phx-redact-";
/// See [`TEMP_PREFIX`].
pub const TEMP_SUFFIX: &str = ".tmp";

/// Where a scrubbed file goes.
#[derive(Clone, Debug)]
pub enum Dest {
    /// Over the original, atomically; files with nothing to redact are left
    /// untouched.
    InPlace,
    /// Under this folder, at the file's path below the argument it was
    /// found under (`walk::Found::rel`).
    Mirror {
        /// The folder the mirror is written in.
        root: PathBuf,
    },
}

/// What scrubbing one file found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes of the file as stored (compressed, for an archive).
    pub stored_bytes: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    /// Tokens redacted.
    pub tokens: u64,
    /// Whether a file was written.
    pub written: bool,
}

/// Scrubs `path` as `dest` says. `rel` is the path to give the file under a
/// mirror's root.
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Corrupt`] when the input cannot be read or
/// decoded, [`Error::Unsupported`] when its format cannot be read,
/// [`Error::Archive`] when it is a tar holding a secret, [`Error::Write`] when the output cannot be written,
/// [`Error::Changed`] when the file changed while it was scrubbed. In every
/// case the original is left as it was, and no temporary file remains.
pub fn scrub_file(
    path: &Path,
    rel: &Path,
    dest: &Dest,
    rules: &Arc<RuleSet>,
    levels: Levels,
) -> Result<Outcome, Error> {
    // Write through a link to the file it names, never over the link itself.
    let path = &fs::canonicalize(path).map_err(Error::Read)?;
    let file = File::open(path).map_err(Error::Read)?;
    let before = file.metadata().map_err(Error::Read)?;
    if !before.is_file() {
        return Err(Error::Read(io::Error::other("not a regular file")));
    }
    let mut reader = BufReader::with_capacity(filter::READ_SIZE, file);
    let format = Format::sniff(&mut reader).map_err(Error::Read)?;
    let mut outcome = Outcome { stored_bytes: before.len(), ..Outcome::default() };

    // First pass: look for a token, up to the first one. Most archived files
    // hold none, and they are neither rewritten nor recompressed; a file
    // that holds one usually shows it early, so little is read twice.
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut buf = vec![0; filter::READ_SIZE];
    let dirty = filter::holds_a_token(&mut redactor, format, &mut reader, &mut buf)?;
    outcome.bytes = redactor.stats().bytes_in;
    if dirty && filter::is_tar(format, reader.get_mut())? {
        return Err(Error::Archive { format: "tar" });
    }

    let target = match dest {
        Dest::InPlace if !dirty => return Ok(outcome),
        Dest::InPlace => path.clone(),
        Dest::Mirror { root } => root.join(rel),
    };
    let folder = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(Error::Write)?;
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(folder)
        .map_err(Error::Write)?;

    // The second pass reads the same open file again, not whatever the
    // path names by now.
    let mut file = reader.into_inner();
    file.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
    if !dirty {
        // A clean file is mirrored byte for byte.
        io::copy(&mut file, temp.as_file_mut()).map_err(Error::Write)?;
    } else {
        let mut reader = BufReader::with_capacity(filter::READ_SIZE, file);
        let out = BufWriter::with_capacity(filter::READ_SIZE, temp.as_file_mut());
        let mut encoder = Encoder::new(format, out, levels).map_err(Error::Write)?;
        let mut redactor = Redactor::new(Arc::clone(rules));
        filter::redact_stored(&mut redactor, format, &mut reader, &mut encoder, &mut buf, false)?;
        encoder.finish().and_then(|mut w| w.flush()).map_err(Error::Write)?;
        outcome.bytes = redactor.stats().bytes_in;
        outcome.tokens = redactor.stats().total_tokens();
    }
    copy_metadata(temp.as_file(), &before).map_err(Error::Write)?;
    // In place, the data must be on disk before the rename makes it the
    // only copy. A mirror's original stays, so a crash costs only a rerun
    // there, and syncing each file would make a mirror disk-bound.
    let durable = matches!(dest, Dest::InPlace);
    if durable {
        temp.as_file().sync_all().map_err(Error::Write)?;
    }

    if matches!(dest, Dest::InPlace) {
        // An active log grew (or was rotated) while we read it: what was
        // appended is not in the temporary file, so keep the original.
        let now = fs::metadata(path).map_err(Error::Read)?;
        if (now.len(), now.mtime(), now.mtime_nsec(), now.ino())
            != (before.len(), before.mtime(), before.mtime_nsec(), before.ino())
        {
            return Err(Error::Changed);
        }
    }
    temp.persist(&target).map_err(|e| Error::Write(e.error))?;
    if durable {
        File::open(folder).and_then(|f| f.sync_all()).map_err(Error::Write)?;
    }
    outcome.written = true;
    Ok(outcome)
}

/// Gives `file` the permissions, owner, group and times of `like`. The
/// owner and group only where permitted: an unprivileged user keeps the
/// file as their own.
fn copy_metadata(file: &File, like: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(like.permissions())?;
    match std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid())) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
        other => other?,
    }
    let times = FileTimes::new().set_accessed(like.accessed()?).set_modified(like.modified()?);
    file.set_times(times)
}
