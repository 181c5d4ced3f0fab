//! Scrubbing one file: in place, atomically, or into a mirror folder.
//!
//! The original is never opened for writing. The redacted content goes to a
//! temporary file beside its destination (mode 0600, named
//! `.phx-redact-*.tmp`), which gets the original's permissions, owner,
//! group and times, is synced, and only then renamed over the destination;
//! the folder is synced after. A failure at any point, a kill included,
//! leaves the original as it was. SIGINT, SIGTERM and SIGHUP remove the
//! temporary files in flight ([`crate::app::atomic`]); a run killed
//! otherwise (SIGKILL, a crash) can leave one, which the next run reports
//! (see `walk`).
//!
//! A file's folder is opened once, before the file is read (following the
//! path as given), and the file is then opened, checked and replaced
//! through that descriptor alone, never through a link at its name: a
//! folder on its path swapped for a link during the scrub cannot move the
//! write out of the folder the file was read from. A mirror's folders are
//! opened one level at a time below its root, never through a symbolic
//! link: a link there is refused. A file is copied as it
//! was read, not as `stat` sized it (a pseudo-file in /proc says 0 bytes).
//!
//! What cannot be scrubbed without losing something is refused and left
//! as it was, with a message that says what to do ([`Refusal`]): a FIFO or
//! a device; in place, a file with other names (hard links), which a
//! rename would leave holding the secret, and a file a process has open
//! for writing (a live log), whose next lines would go to the deleted
//! original; a file whose owner, group, mode bits, extended attributes or
//! ACLs the new copy cannot be given; and a file whose size `stat` does
//! not tell, whose change while read could not be seen.

pub mod batch;
pub mod walk;

use std::{
    ffi::{OsStr, OsString},
    fs::{self, File, FileTimes},
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    os::{
        fd::AsRawFd,
        unix::fs::{FileTypeExt, MetadataExt},
    },
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use xattr::FileExt;

use crate::app::Error;
pub use crate::app::refusal::Refusal;
use crate::{
    Redactor, RuleSet,
    app::filter,
    app::formats::{Encoder, Format, Levels},
};

use crate::app::atomic::{Beneath, Folder};

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
    /// How the file is stored (and its copy written).
    pub format: Format,
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
    let result = scrub_open(&mut file, &source, rel, &before, dest, rules, levels, outcome);
    match result {
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

#[allow(clippy::too_many_arguments)]
fn scrub_open(
    file: &mut Watched,
    source: &Source<'_>,
    rel: &Path,
    before: &fs::Metadata,
    dest: &Dest,
    rules: &Arc<RuleSet>,
    levels: Levels,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let mut reader = BufReader::with_capacity(filter::READ_SIZE, file);
    let found = first_pass(&mut reader, rules, outcome);
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
        if let Some(what) = filter::unrewritable(format, &mut reader.get_mut().file, rules)? {
            return Err(Error::Archive { what });
        }
    }

    let mirror;
    let (folder, name) = match dest {
        Dest::InPlace if !dirty => return Ok(()),
        Dest::InPlace => {
            refuse_in_place(&reader.get_ref().lease, source.path, before)?;
            // More read than `stat` says, and `stat` still says it: a
            // pseudo-file, refused before a temporary file is tried.
            if scanned > before.len() && unchanged(&reader.get_ref().file, before)? {
                return Err(Error::Refused(Refusal::SizeUnknown {
                    stat: before.len(),
                    read: scanned,
                }));
            }
            // The folder the file was read from, whatever its path names
            // by now.
            (&source.folder, source.name)
        }
        Dest::Mirror { root } => {
            mirror = mirror_folder(root, rel)?;
            (&mirror.0, mirror.1)
        }
    };
    let mut temp = folder.temp().map_err(Error::Write)?;

    // The second pass reads the same open file again, not whatever the
    // path names by now.
    let file = reader.into_inner();
    file.rewind().map_err(Error::Read)?;
    if !dirty && scanned == before.len() {
        copy_as_scanned(file, temp.as_file_mut(), before, scanned)?;
    } else {
        // A clean file whose size `stat` gets wrong (a pseudo-file) cannot
        // be checked for change by its size: what is copied is read again,
        // and so goes through the redactor like a dirty file's.
        let reader = BufReader::with_capacity(filter::READ_SIZE, &mut *file);
        second_pass(reader, temp.as_file_mut(), rules, levels, outcome)?;
        outcome.stored_bytes = outcome.stored_bytes.max(file.read);
    }
    let in_place = matches!(dest, Dest::InPlace);
    copy_metadata(temp.as_file(), &file.file, before, in_place)?;
    // In place, the data must be on disk before the rename makes it the
    // only copy. A mirror's original stays, so a crash costs only a rerun
    // there, and syncing each file would make a mirror disk-bound.
    if in_place {
        temp.as_file().sync_all().map_err(Error::Write)?;
        still_as_read(file, source, before)?;
    }
    temp.persist(name).map_err(Error::Write)?;
    if in_place {
        folder.sync().map_err(Error::Write)?;
    }
    outcome.written = true;
    Ok(())
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

/// The first pass over a stored file: its format (into `outcome`), and
/// whether it holds a token, read up to the first one. Most archived files
/// hold none, and they are neither rewritten nor recompressed; a file that
/// holds one usually shows it early, so little is read twice. `reader`'s
/// first fill must hold the whole file or [`SNIFF_MAX`] bytes of it (a
/// file's `BufReader` of [`filter::READ_SIZE`]).
///
/// [`SNIFF_MAX`]: crate::app::formats::SNIFF_MAX
fn first_pass<R: io::BufRead>(
    reader: &mut R,
    rules: &Arc<RuleSet>,
    outcome: &mut Outcome,
) -> Result<bool, Error> {
    outcome.format = Format::sniff(reader).map_err(Error::Read)?;
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut buf = vec![0; filter::READ_SIZE];
    let dirty = filter::holds_a_token(&mut redactor, outcome.format, reader, &mut buf);
    // Counted whether or not the pass failed: the summary says what was read.
    outcome.bytes = redactor.stats().bytes_in;
    dirty
}

/// The second pass over a file that holds a token: its content redacted,
/// stored again in its format (`outcome.format`) at `levels`, into `out`.
fn second_pass<R: io::BufRead, W: Write>(
    reader: R,
    out: W,
    rules: &Arc<RuleSet>,
    levels: Levels,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let out = BufWriter::with_capacity(filter::READ_SIZE, out);
    let mut encoder = Encoder::new(outcome.format, out, levels).map_err(Error::Write)?;
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut buf = vec![0; filter::READ_SIZE];
    let result =
        filter::redact_stored(&mut redactor, outcome.format, reader, &mut encoder, &mut buf, false);
    outcome.bytes = outcome.bytes.max(redactor.stats().bytes_in);
    result?;
    encoder.finish().and_then(|mut w| w.flush()).map_err(Error::Write)?;
    outcome.tokens = redactor.stats().total_tokens();
    Ok(())
}

/// Scrubs the stored file `file` (a copy of a stream spooled to a
/// temporary file, say) into `out`, as `--output-dir` writes a file's
/// mirror copy: the same bytes, through the same two passes. A file with
/// nothing to redact is copied byte for byte; one that holds a token is
/// redacted and stored again in its format.
///
/// Unlike a mirror's copy, `out` cannot be taken back, so nothing is
/// written to it before the whole of `file` has been decoded: an input that
/// is corrupt anywhere fails before its first byte is written, and a
/// failure after that can only be `out`'s own.
///
/// # Errors
///
/// As [`scrub_file`]: [`Error::Read`], [`Error::Corrupt`],
/// [`Error::Unsupported`], [`Error::Archive`], [`Error::Nested`] before
/// anything is written; [`Error::Write`] when `out` fails.
pub fn scrub_stored<F: Read + Seek, W: Write>(
    file: &mut F,
    out: W,
    rules: &Arc<RuleSet>,
    levels: Levels,
) -> Result<Outcome, Error> {
    let stored_bytes = file.seek(SeekFrom::End(0)).map_err(Error::Read)?;
    file.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
    let mut outcome = Outcome { stored_bytes, ..Outcome::default() };
    let mut reader = BufReader::with_capacity(filter::READ_SIZE, &mut *file);
    let dirty = first_pass(&mut reader, rules, &mut outcome)?;
    if dirty {
        // The first pass stopped at the first token: the rest is decoded
        // too, so that a corrupt tail fails here, before `out` is written.
        reader.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
        let mut redactor = Redactor::new(Arc::clone(rules));
        let mut buf = vec![0; filter::READ_SIZE];
        let sink = &mut io::sink();
        filter::redact_stored(&mut redactor, outcome.format, &mut reader, sink, &mut buf, false)?;
        drop(reader);
        if let Some(what) = filter::unrewritable(outcome.format, &mut *file, rules)? {
            return Err(Error::Archive { what });
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
    if dirty {
        let reader = BufReader::with_capacity(filter::READ_SIZE, &mut *file);
        second_pass(reader, out, rules, levels, &mut outcome)?;
    } else {
        let mut out = out;
        io::copy(file, &mut out).and_then(|_| out.flush()).map_err(Error::Write)?;
    }
    outcome.written = true;
    Ok(outcome)
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

/// The original, open for reading, with a read lease on it in place.
///
/// A read lease (`F_SETLEASE`, `F_RDLCK`) can be taken only while no
/// process has the file open for writing, and the kernel breaks it when one
/// opens it for writing (or truncates it), making that process wait up to
/// `/proc/sys/fs/lease-break-time` for us to let go. So: a live log is
/// refused up front, and a writer that comes during the scrub is seen at
/// the next read (or right before the rename), and the file left for it.
/// Where no lease can be had (not the file's owner without `CAP_LEASE`, a
/// file system without leases), the writers are looked for in `/proc`, as
/// `fuser` does, and the size and time check before the rename remains.
///
/// One window stays open: a writer whose open looked the path up just
/// before the rename, and reaches the lease check just after our last one,
/// still gets the original. It is as wide as the rename call.
struct Watched {
    file: File,
    lease: Lease,
    /// Bytes read since the last [`Watched::rewind`].
    read: u64,
}

/// Whether a read lease is held on a file.
enum Lease {
    /// Held: any writer that opens the file breaks it.
    Held,
    /// Refused: a process has the file open for writing.
    Busy,
    /// Not taken (a mirror), or not to be had: look in `/proc` instead.
    None,
}

impl Watched {
    /// Takes a read lease on `file` where it can be had. A file that turns
    /// out to hold nothing to redact is not rewritten, so a writer is only
    /// refused later, once the file is known to need a rewrite.
    fn in_place(file: File) -> Watched {
        let lease = if sigio_caught() {
            // SAFETY: the descriptor is open; F_SETLEASE takes an int.
            match unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) } {
                0 => Lease::Held,
                _ if io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) => Lease::Busy,
                _ => Lease::None,
            }
        } else {
            Lease::None
        };
        Watched { file, lease, read: 0 }
    }

    /// Back to the start, for another pass; the count starts again.
    fn rewind(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.read = 0;
        Ok(())
    }

    /// Whether a lease was held and has been broken (or is being broken).
    fn lease_broken(&self) -> bool {
        // SAFETY: the descriptor is open while `self` is.
        matches!(self.lease, Lease::Held)
            && unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) } != libc::F_RDLCK
    }
}

/// Refuses a file some process holds open for writing, as `lease` and a
/// look in `/proc` tell.
fn refuse_writers(lease: &Lease, meta: &fs::Metadata) -> Result<(), Error> {
    let writers = match lease {
        Lease::Held => return Ok(()),
        // Named where they can be seen; the lease said they are there.
        Lease::Busy => writers_of(meta.dev(), meta.ino()),
        Lease::None => match writers_of(meta.dev(), meta.ino()) {
            writers if writers.is_empty() => return Ok(()),
            writers => writers,
        },
    };
    Err(Error::Refused(Refusal::OpenForWriting { writers }))
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One fcntl per read (256 KiB): a writer waits at most that long.
        if self.lease_broken() {
            return Err(io::Error::other("opened for writing while being scrubbed"));
        }
        let n = self.file.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The kernel tells a lease holder of a break with SIGIO, whose default
/// action ends the process: catch it once (the lease is polled instead).
/// Returns false if that failed, and then no lease is taken.
fn sigio_caught() -> bool {
    static CAUGHT: OnceLock<bool> = OnceLock::new();
    *CAUGHT.get_or_init(|| {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGIO, flag).is_ok()
    })
}

/// The processes that hold the file `(dev, ino)` open for writing, by
/// their `/proc/PID/fd` links, as `fuser` finds them. Processes we may not
/// look into (another user's, unprivileged) are not seen.
fn writers_of(dev: u64, ino: u64) -> Vec<(u32, String)> {
    let me = std::process::id();
    let Ok(procs) = fs::read_dir("/proc") else { return Vec::new() };
    let mut writers = Vec::new();
    for proc in procs.flatten() {
        let Some(pid) = proc.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(proc.path().join("fd")) else { continue };
        let writes = fds.flatten().any(|fd| {
            fs::metadata(fd.path()).is_ok_and(|m| (m.dev(), m.ino()) == (dev, ino))
                && open_for_writing(&proc.path().join("fdinfo").join(fd.file_name()))
        });
        if writes {
            let name = fs::read_to_string(proc.path().join("comm")).unwrap_or_default();
            writers.push((pid, name.trim_end().to_string()));
        }
    }
    writers
}

/// Whether the descriptor `/proc/PID/fdinfo/N` describes is open for
/// writing (its `flags:` line, in octal).
fn open_for_writing(fdinfo: &Path) -> bool {
    let Ok(info) = fs::read_to_string(fdinfo) else { return false };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| i32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & libc::O_ACCMODE != libc::O_RDONLY)
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

/// How messages name the type of the `st_mode` `mode`; None for a regular
/// file.
fn special_kind(mode: u32) -> Option<&'static str> {
    use rustix::fs::FileType;
    match FileType::from_raw_mode(mode as _) {
        FileType::RegularFile => None,
        FileType::Fifo => Some("FIFO"),
        FileType::CharacterDevice => Some("character device"),
        FileType::BlockDevice => Some("block device"),
        FileType::Socket => Some("socket"),
        FileType::Directory => Some("folder"),
        FileType::Symlink => Some("symbolic link"),
        _ => Some("special file"),
    }
}

/// How messages name a file type other than a regular file.
pub(crate) fn kind_name(kind: fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_dir() {
        "folder"
    } else {
        "special file"
    }
}

/// Gives `file` the owner, group, extended attributes (ACLs included),
/// permissions and times of `like`, the metadata of `original`.
///
/// The order matters: a chown clears the setuid and setgid bits and file
/// capabilities, and an ACL sets the group bits, so the owner goes first,
/// then the attributes, then the mode.
///
/// In place (`keep_owner`), the owner and group are kept or the file is
/// refused: a user who may rename in the folder but does not own the file
/// (or is not in its group) would otherwise take it over, and shut out the
/// group that read it. A mirror's copy is a new file: it is the runner's
/// where the owner cannot be given, unless it is setuid or setgid, which
/// would then be theirs.
fn copy_metadata(
    file: &File,
    original: &File,
    like: &fs::Metadata,
    keep_owner: bool,
) -> Result<(), Error> {
    let refuse = |what: &str, source: io::Error| {
        Error::Refused(Refusal::Metadata { what: what.to_string(), source })
    };
    let special = like.mode() & 0o6000;
    match std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid())) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && keep_owner => {
            let what = format!("owner and group ({}:{})", like.uid(), like.gid());
            return Err(refuse(&what, e));
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && special != 0 => {
            return Err(refuse("setuid/setgid owner and group", e));
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
        other => other.map_err(Error::Write)?,
    }
    copy_xattrs(file, original)?;
    file.set_permissions(like.permissions()).map_err(Error::Write)?;
    // The kernel may drop setgid quietly (a group the caller is not in).
    let mode = file.metadata().map_err(Error::Write)?.mode();
    if mode & 0o7777 != like.mode() & 0o7777 {
        let e =
            io::Error::other(format!("mode {:o} became {:o}", like.mode() & 0o7777, mode & 0o7777));
        return Err(refuse("mode", e));
    }
    let accessed = like.accessed().map_err(Error::Read)?;
    let modified = like.modified().map_err(Error::Read)?;
    file.set_times(FileTimes::new().set_accessed(accessed).set_modified(modified))
        .map_err(Error::Write)
}

/// Makes `file`'s extended attributes those of `original`: each of the
/// original's is copied (an ACL is `system.posix_acl_access`), and any the
/// new file got on its own (a folder's default ACL) and the original lacks
/// is removed.
fn copy_xattrs(file: &File, original: &File) -> Result<(), Error> {
    let refuse = |name: &OsStr, source: io::Error| {
        let what = format!("extended attribute {}", name.to_string_lossy());
        Error::Refused(Refusal::Metadata { what, source })
    };
    let unsupported = |e: &io::Error| e.raw_os_error() == Some(libc::EOPNOTSUPP);
    let names: Vec<OsString> = match original.list_xattr() {
        Ok(names) => names.collect(),
        Err(e) if unsupported(&e) => Vec::new(),
        Err(e) => return Err(Error::Read(e)),
    };
    for name in &names {
        let Some(value) = original.get_xattr(name).map_err(Error::Read)? else { continue };
        file.set_xattr(name, &value).map_err(|e| refuse(name, e))?;
    }
    let own: Vec<OsString> = match file.list_xattr() {
        Ok(own) => own.collect(),
        Err(e) if unsupported(&e) => Vec::new(),
        Err(e) => return Err(Error::Write(e)),
    };
    for name in own.iter().filter(|n| !names.contains(n)) {
        file.remove_xattr(name).map_err(|e| refuse(name, e))?;
    }
    Ok(())
}
