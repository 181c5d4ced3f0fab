//! One file scrubbed, in place or into a mirror: opened through its
//! folder, read twice ([`passes`](super::passes)), its copy written to a
//! temporary file beside the destination, given the original's metadata
//! ([`metadata`](super::metadata)) and renamed over the destination, once
//! the original is known to be still as it was read.

use std::{
    ffi::OsStr,
    fs::{self, File},
    io::{self, BufReader, Read},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::app::Error;
use crate::app::refusal::Refusal;
use crate::{
    RuleSet,
    app::atomic::{Beneath, Folder},
    app::filter,
    app::formats::Levels,
    app::scrub::file_kind::{kind_name, special_kind},
    app::scrub::lease::{Lease, Watched, refuse_writers},
    app::scrub::metadata::copy_metadata,
    app::scrub::passes::{Outcome, first_pass, second_pass},
};

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

/// A file as it was when its keys were listed (device, inode, size,
/// modification time): a scrub rewrites it only if it still is, so that
/// every key it takes out is in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl Stamp {
    /// A path that was not a regular file when the keys were listed, and
    /// so was not read: no regular file has inode 0.
    pub const NOT_A_FILE: Stamp = Stamp { dev: 0, ino: 0, len: 0, mtime: (0, 0) };

    /// The stamp of a file with metadata `meta`.
    pub fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// Scrubs `path` as `dest` says. `rel` is the path to give the file under a
/// mirror's root.
///
/// Opening never blocks: a FIFO or a device is refused before it is read.
/// In place, the file is also refused when it has other names (hard links)
/// or when a process holds it open for writing (a live log), and its
/// owner, mode (setuid and setgid bits included), extended attributes
/// (ACLs included) and times are kept, or it is refused.
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Corrupt`] when the input cannot be read or
/// decoded, [`Error::Unsupported`] when its format cannot be read,
/// [`Error::Archive`] when it holds a secret and is a tar, an ar archive, a
/// SQLite database, binary data or compressed twice, [`Error::Nested`] when
/// a tar holds a compressed member, [`Error::Write`]
/// when the output cannot be written, [`Error::Changed`] when the file
/// changed while it was scrubbed, [`Error::Refused`] when scrubbing it
/// would lose something. In every
/// case the original is left as it was, and no temporary file remains.
pub fn scrub_file(
    path: &Path,
    rel: &Path,
    dest: &Dest,
    rules: &Arc<RuleSet>,
    levels: Levels,
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::default();
    scrub_file_counted(path, rel, dest, rules, levels, None, &mut outcome).map(|()| outcome)
}

/// [`scrub_file`], with what was read and done kept in `outcome` whether it
/// succeeds or fails: a summary counts the bytes a failed file was read for.
/// With `listed`, the file is scrubbed only if it is still as it was when
/// its keys were listed.
///
/// # Errors
///
/// As [`scrub_file`]; [`Error::Changed`] when the file is not as `listed`.
pub fn scrub_file_counted(
    path: &Path,
    rel: &Path,
    dest: &Dest,
    rules: &Arc<RuleSet>,
    levels: Levels,
    listed: Option<Stamp>,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    // Write through a link to the file it names, never over the link itself.
    let path = &fs::canonicalize(path).map_err(Error::Read)?;
    let Some(name) = path.file_name() else {
        return Err(Error::Refused(Refusal::NotRegular { kind: "folder" }));
    };
    // The file's folder is opened once, before the file is read, following
    // the path as given (as asked); the file is then read, replaced and
    // checked through it alone, so a folder on the path swapped for a link
    // while the file is scrubbed cannot take the write elsewhere.
    let folder =
        Folder::open_following(path.parent().unwrap_or(Path::new("/"))).map_err(Error::Read)?;
    let source = Source { folder, name, path };
    // Decide on a FIFO or a device from its metadata, before opening it:
    // opening one can block (a FIFO without a writer) or act (a tape).
    let kind = source.folder.stat(name).map_err(Error::Read)?;
    if let Some(kind) = special_kind(kind.st_mode) {
        return Err(Error::Refused(Refusal::NotRegular { kind }));
    }
    // Without blocking all the same, in case it was swapped for a FIFO
    // since; and not through a link swapped in for it.
    let file = source.folder.open_read(name).map_err(Error::Read)?;
    let before = file.metadata().map_err(Error::Read)?;
    if !before.is_file() {
        return Err(Error::Refused(Refusal::NotRegular { kind: kind_name(before.file_type()) }));
    }
    // Changed since its keys were listed: what it holds now may not be in
    // the list, and a rewrite would take it out unlisted.
    if listed.is_some_and(|stamp| stamp != Stamp::of(&before)) {
        return Err(Error::Changed);
    }
    let mut file = match dest {
        Dest::InPlace => Watched::in_place(file),
        Dest::Mirror { .. } => Watched { file, lease: Lease::None, read: 0 },
    };
    let job = Job { source, rel, before: &before, dest, rules, levels };
    match job.scrub(&mut file, outcome) {
        // Whatever failed, a broken lease is the reason to report: a writer
        // came, and the file must be left for it.
        Err(_) if file.lease_broken() => Err(Error::Refused(Refusal::OpenedForWriting)),
        result => result,
    }
}

/// A file to scrub, reached through its folder, held open.
struct Source<'a> {
    folder: Folder,
    name: &'a OsStr,
    /// Its resolved path, for messages.
    path: &'a Path,
}

/// What the scrub of one open file needs: the file, and where and how its
/// copy goes.
struct Job<'a> {
    source: Source<'a>,
    rel: &'a Path,
    before: &'a fs::Metadata,
    dest: &'a Dest,
    rules: &'a Arc<RuleSet>,
    levels: Levels,
}

impl Job<'_> {
    /// Scrubs the open `file`: the first pass, and then, when it holds a
    /// token or goes to a mirror, its copy.
    fn scrub(&self, file: &mut Watched, outcome: &mut Outcome) -> Result<(), Error> {
        let mut reader = BufReader::with_capacity(filter::READ_SIZE, file);
        let found = first_pass(&mut reader, self.rules, outcome);
        // What was read, not what `stat` said: a file in /proc or /sys says 0
        // or 4096 bytes, whatever it holds.
        let scanned = reader.get_ref().read;
        outcome.stored_bytes = scanned;
        let dirty = found?;
        let format = outcome.format;
        // Content that records lengths (an archive, a database, a binary) or
        // that is compressed twice cannot be rewritten without breaking it:
        // it is scanned, and refused here.
        if dirty {
            if let Some(what) =
                filter::unrewritable(format, &mut reader.get_mut().file, self.rules)?
            {
                return Err(Error::Archive { what });
            }
        }

        let mirror;
        let (folder, name) = match self.dest {
            Dest::InPlace if !dirty => return Ok(()),
            Dest::InPlace => {
                self.may_replace(reader.get_ref(), scanned)?;
                // The folder the file was read from, whatever its path names
                // by now.
                (&self.source.folder, self.source.name)
            }
            Dest::Mirror { root } => {
                mirror = mirror_folder(root, self.rel)?;
                (&mirror.0, mirror.1)
            }
        };
        self.write_copy(reader.into_inner(), folder, name, dirty, scanned, outcome)
    }

    /// Refuses to replace a file in place that a process writes to, that has
    /// other names, or whose size `stat` does not tell.
    fn may_replace(&self, file: &Watched, scanned: u64) -> Result<(), Error> {
        refuse_in_place(&file.lease, self.source.path, self.before)?;
        // More read than `stat` says, and `stat` still says it: a
        // pseudo-file, refused before a temporary file is tried.
        if scanned > self.before.len() && unchanged(&file.file, self.before)? {
            return Err(Error::Refused(Refusal::SizeUnknown {
                stat: self.before.len(),
                read: scanned,
            }));
        }
        Ok(())
    }

    /// Writes the copy of `file` (the first pass `dirty` or not, `scanned`
    /// bytes read) to a temporary file in `folder`, and renames it to
    /// `name` there.
    fn write_copy(
        &self,
        file: &mut Watched,
        folder: &Folder,
        name: &OsStr,
        dirty: bool,
        scanned: u64,
        outcome: &mut Outcome,
    ) -> Result<(), Error> {
        let before = self.before;
        let mut temp = folder.temp().map_err(Error::Write)?;

        // The second pass reads the same open file again, not whatever the
        // path names by now.
        file.rewind().map_err(Error::Read)?;
        if !dirty && scanned == before.len() {
            copy_as_scanned(file, temp.as_file_mut(), before, scanned)?;
        } else {
            // A clean file whose size `stat` gets wrong (a pseudo-file) cannot
            // be checked for change by its size: what is copied is read again,
            // and so goes through the redactor like a dirty file's.
            let reader = BufReader::with_capacity(filter::READ_SIZE, &mut *file);
            second_pass(reader, temp.as_file_mut(), self.rules, self.levels, outcome)?;
            outcome.stored_bytes = outcome.stored_bytes.max(file.read);
        }
        let in_place = matches!(self.dest, Dest::InPlace);
        copy_metadata(temp.as_file(), &file.file, before, in_place)?;
        // In place, the data must be on disk before the rename makes it the
        // only copy. A mirror's original stays, so a crash costs only a rerun
        // there, and syncing each file would make a mirror disk-bound.
        if in_place {
            temp.as_file().sync_all().map_err(Error::Write)?;
            still_as_read(file, &self.source, before)?;
        }
        temp.persist(name).map_err(Error::Write)?;
        if in_place {
            folder.sync().map_err(Error::Write)?;
        }
        outcome.written = true;
        Ok(())
    }
}

/// The folder of a file's mirror copy, below `root` (made as needed), and
/// the copy's name. Below the root no symbolic link is followed: one in the
/// destination could lead into the inputs, or anywhere else.
fn mirror_folder<'a>(root: &Path, rel: &'a Path) -> Result<(Folder, &'a OsStr), Error> {
    let name = rel.file_name().ok_or_else(|| Error::Write(io::ErrorKind::InvalidInput.into()))?;
    fs::create_dir_all(root).map_err(Error::Write)?;
    let root = Folder::open(root).map_err(Error::Write)?;
    match root.open_beneath(rel.parent().unwrap_or(Path::new(""))) {
        Ok(folder) => Ok((folder, name)),
        Err(Beneath::Link(path)) => Err(Error::Refused(Refusal::LinkInMirror { path })),
        Err(Beneath::Io(e)) => Err(Error::Write(e)),
    }
}

/// Refuses to rewrite in place a file that a process holds open for
/// writing, or that has other names.
fn refuse_in_place(lease: &Lease, path: &Path, before: &fs::Metadata) -> Result<(), Error> {
    refuse_writers(lease, before)?;
    if before.nlink() > 1 {
        // Renaming over this name would leave the secret under the others;
        // writing through the inode instead would not be atomic.
        return Err(Error::Refused(Refusal::HardLinks {
            others: before.nlink() - 1,
            path: path.to_path_buf(),
            mount: mount_point(path, before.dev()),
        }));
    }
    Ok(())
}

/// Copies a clean file to its mirror byte for byte: the `scanned` bytes
/// the first pass read, not whatever was appended since (a live log), which
/// no one checked.
fn copy_as_scanned(
    file: &mut Watched,
    temp: &mut File,
    before: &fs::Metadata,
    scanned: u64,
) -> Result<(), Error> {
    let copied = io::copy(&mut (&mut *file).take(scanned), temp).map_err(Error::Write)?;
    // And only if those bytes are still what was scanned: a file
    // rewritten, cut or grown while it was read is left for a rerun.
    let now = file.file.metadata().map_err(Error::Read)?;
    if copied != scanned
        || (now.len(), now.mtime(), now.mtime_nsec())
            != (before.len(), before.mtime(), before.mtime_nsec())
    {
        return Err(Error::Changed);
    }
    Ok(())
}

/// Whether `file`'s size and time are still those of `before`.
fn unchanged(file: &File, before: &fs::Metadata) -> Result<bool, Error> {
    let now = file.metadata().map_err(Error::Read)?;
    Ok((now.len(), now.mtime(), now.mtime_nsec())
        == (before.len(), before.mtime(), before.mtime_nsec()))
}

/// Checks, just before the rename, that a file rewritten in place is still
/// the one that was read.
fn still_as_read(file: &Watched, source: &Source<'_>, before: &fs::Metadata) -> Result<(), Error> {
    // A writer opened the file since we took the lease: it is waiting
    // for us to let go, and would then write to the deleted original.
    if file.lease_broken() {
        return Err(Error::Refused(Refusal::OpenedForWriting));
    }
    // An active log grew (or was rotated) while we read it: what was
    // appended is not in the temporary file, so keep the original. This
    // also covers a writer that held the file open before we took the
    // lease where no lease could be taken. The name is looked up in the
    // folder the file was read from, and a link there is not followed:
    // the rename replaces what this finds.
    let now = source.folder.stat(source.name).map_err(Error::Read)?;
    if (now.st_size as u64, now.st_mtime, now.st_mtime_nsec as i64, now.st_ino, now.st_dev)
        != (before.len(), before.mtime(), before.mtime_nsec(), before.ino(), before.dev())
    {
        return Err(Error::Changed);
    }
    // The size did not change, yet the read did not match it: `stat` does
    // not tell this file's size (a pseudo-file), so it cannot tell whether
    // it changed either.
    if file.read != before.len() {
        return Err(Error::Refused(Refusal::SizeUnknown { stat: before.len(), read: file.read }));
    }
    Ok(())
}

/// The folder the file system holding `path` (on device `dev`) is mounted
/// on: the highest ancestor on the same device.
fn mount_point(path: &Path, dev: u64) -> PathBuf {
    path.ancestors()
        .skip(1)
        .take_while(|a| fs::metadata(a).is_ok_and(|m| m.dev() == dev))
        .last()
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}
