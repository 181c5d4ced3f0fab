//! The watch on a file rewritten in place: a read lease where one can be
//! had, else a look in `/proc` for the processes that write to it, so that
//! a live log is refused rather than rewritten under its writer.

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom},
    os::{fd::AsRawFd, unix::fs::MetadataExt},
    path::Path,
    sync::{Arc, OnceLock},
};

use crate::app::Error;
use crate::app::refusal::Refusal;

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
pub(super) struct Watched {
    pub(super) file: File,
    pub(super) lease: Lease,
    /// Bytes read since the last [`Watched::rewind`].
    pub(super) read: u64,
}

/// Whether a read lease is held on a file.
pub(super) enum Lease {
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
    pub(super) fn in_place(file: File) -> Watched {
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
    pub(super) fn rewind(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.read = 0;
        Ok(())
    }

    /// Whether a lease was held and has been broken (or is being broken).
    pub(super) fn lease_broken(&self) -> bool {
        // SAFETY: the descriptor is open while `self` is.
        matches!(self.lease, Lease::Held)
            && unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) } != libc::F_RDLCK
    }
}

/// Refuses a file some process holds open for writing, as `lease` and a
/// look in `/proc` tell.
pub(super) fn refuse_writers(lease: &Lease, meta: &fs::Metadata) -> Result<(), Error> {
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
