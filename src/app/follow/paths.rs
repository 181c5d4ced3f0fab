//! What a followed path names, looked at safely: only a regular file is
//! opened (a FIFO would block, a device never ends), and with
//! `--refuse-links` never through a link; what else stands there is said
//! once, and waited out.

use std::{
    fs::{self, File},
    io,
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

/// The folder `path` is in (`.` for a bare name): what is watched, where
/// copies and renamed files are looked for, and where the state's
/// temporary file goes.
pub(super) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Opens `path` if it is a regular file. Whatever else a rotation (or a
/// hostile user) leaves at a followed path is taken as no file yet: a FIFO
/// would block the open until a writer came, and SIGTERM with it, and a
/// device never ends. With `refuse_links`, a symbolic link is not opened
/// (O_NOFOLLOW: no race between a look and the open), nor a file with more
/// than one name (a hard link to a file the writer could not read).
pub(super) fn open_regular(path: &Path, refuse_links: bool) -> Option<File> {
    let nofollow = if refuse_links { libc::O_NOFOLLOW } else { 0 };
    let file =
        File::options().read(true).custom_flags(libc::O_NONBLOCK | nofollow).open(path).ok()?;
    // O_NONBLOCK changes nothing for a regular file's reads.
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    if refuse_links {
        // The count of names is read after the open, and a second name can
        // go between the open and that read (the hard link to a file the
        // writer could not read, removed at once): the path must still
        // name the file opened, and both must have one name.
        let at_path = fs::symlink_metadata(path).ok()?;
        let same = at_path.dev() == meta.dev() && at_path.ino() == meta.ino();
        if !same || meta.nlink() > 1 || at_path.nlink() > 1 {
            return None;
        }
    }
    Some(file)
}

/// Why the thing at a followed path (as `lstat` sees it, with
/// `refuse_links`) is not read, if it is not; said once, until a file is
/// back.
pub(super) fn not_followed(meta: &fs::Metadata, refuse_links: bool) -> Option<String> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        Some("is a symbolic link; not read (--refuse-links); waiting for a regular file".into())
    } else if !kind.is_file() {
        let kind = crate::app::scrub::kind_name(kind);
        Some(format!("is a {kind}, not a log file; waiting for one"))
    } else if refuse_links && meta.nlink() > 1 {
        Some(format!(
            "has {} names (hard links); not read (--refuse-links); waiting for a file of its own",
            meta.nlink()
        ))
    } else {
        None
    }
}

/// The metadata of a followed path: of the link itself with
/// `refuse_links`, which never reads through one.
pub(super) fn path_metadata(path: &Path, refuse_links: bool) -> io::Result<fs::Metadata> {
    if refuse_links { fs::symlink_metadata(path) } else { fs::metadata(path) }
}
