//! The temporary files a rewrite goes through: made beside their target,
//! under one name pattern (which a walk knows to pass over), then renamed
//! over it. Used by the in-place scrub, the mirror, and follow mode's state
//! file.
//!
//! A scrub reaches its folder by descriptor (`Folder`). In place, the
//! file's folder is held from before the read to after the rename, so a
//! folder on the path swapped for a link meanwhile changes nothing. Below
//! a mirror's root, each level is opened without following a symbolic
//! link, so that a link planted in the destination (into the inputs, or
//! anywhere else) is refused rather than written through. Its temporary
//! files (`Temp`) are
//! listed while they live, so that SIGINT, SIGTERM and SIGHUP remove them
//! before the process ends ([`remove_temps_on_signals`]).

use std::{
    ffi::{OsStr, OsString},
    fs::File,
    io::{self, Write},
    os::fd::OwnedFd,
    path::{Component, Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use rustix::fs::{AtFlags, Mode, OFlags};

/// Prefix and suffix of the temporary files this crate writes.
pub const TEMP_PREFIX: &str = ".phx-redact-";
/// See [`TEMP_PREFIX`].
pub const TEMP_SUFFIX: &str = ".tmp";

/// A new temporary file in `folder`, to be renamed over a file there
/// (`NamedTempFile::persist`), and removed if it never is.
pub fn temp_in(folder: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX).tempfile_in(folder)
}

/// A folder, held open: what is made in it stays in it, whatever its path
/// names by then.
pub(crate) struct Folder {
    fd: Arc<OwnedFd>,
    path: PathBuf,
    /// Held by `O_PATH` (a folder we may search but not read): files in it
    /// can be opened through it, but it cannot be synced, so nothing is
    /// made in it.
    path_only: bool,
}

/// Why a folder below a mirror's root could not be reached.
pub(crate) enum Beneath {
    /// This path (below the root) is a symbolic link, or not a folder.
    Link(PathBuf),
    /// Any other failure.
    Io(io::Error),
}

const DIR_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

impl Folder {
    /// Opens the folder `path` names; links in `path` itself are followed
    /// (it is the folder the user named, or a file's own resolved folder).
    pub(crate) fn open(path: &Path) -> io::Result<Folder> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty())?;
        Ok(Folder { fd: Arc::new(fd), path: path.to_path_buf(), path_only: false })
    }

    /// Opens the folder of a file to scrub, following links in `path` (the
    /// user named it): from then on the file is reached through this
    /// descriptor, so a folder on `path` swapped for a link later cannot
    /// redirect where it is read or written. A folder that may be searched
    /// but not read is still held, to read a file in it.
    pub(crate) fn open_following(path: &Path) -> io::Result<Folder> {
        match Folder::open(path) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let fd = rustix::fs::open(path, flags, Mode::empty())?;
                Ok(Folder { fd: Arc::new(fd), path: path.to_path_buf(), path_only: true })
            }
            other => other,
        }
    }

    /// The status of `name` in this folder; a symbolic link is not followed.
    pub(crate) fn stat(&self, name: &OsStr) -> io::Result<rustix::fs::Stat> {
        Ok(rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Opens the file `name` in this folder for reading, never through a
    /// symbolic link, and without blocking (a FIFO swapped in since it
    /// was looked at); `O_NONBLOCK` changes nothing for a regular file.
    pub(crate) fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::openat(&*self.fd, name, flags, Mode::empty())?))
    }

    /// Opens the file `name` in this folder to append to, made with
    /// `mode` if missing: never through a symbolic link, never blocking on
    /// a FIFO, and only if it is a regular file (a follower's mirror copy).
    pub(crate) fn open_append(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let flags = OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        let file =
            File::from(rustix::fs::openat(&*self.fd, name, flags, Mode::from_raw_mode(mode))?);
        if !file.metadata()?.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        Ok(file)
    }

    /// Opens `rel` below this folder one level at a time, never following a
    /// symbolic link, and makes the levels that are missing.
    pub(crate) fn open_beneath(&self, rel: &Path) -> Result<Folder, Beneath> {
        let mut fd = Arc::clone(&self.fd);
        let mut path = self.path.clone();
        for part in rel.components() {
            let Component::Normal(name) = part else {
                let e = io::Error::other("the path below the folder is not a plain one");
                return Err(Beneath::Io(e));
            };
            path.push(name);
            fd = Arc::new(open_or_make(&fd, name).map_err(|e| beneath_error(&fd, name, &path, e))?);
        }
        Ok(Folder { fd, path, path_only: false })
    }

    /// A new temporary file in this folder, mode 0600, listed until it is
    /// renamed or dropped (see [`remove_temps_on_signals`]).
    pub(crate) fn temp(&self) -> io::Result<Temp> {
        if self.path_only {
            // The rename could not be synced: as if the folder could not
            // be opened to write in.
            return Err(io::ErrorKind::PermissionDenied.into());
        }
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        loop {
            let name = OsString::from(format!(
                "{TEMP_PREFIX}{}{TEMP_SUFFIX}",
                std::iter::repeat_with(fastrand::alphanumeric).take(12).collect::<String>()
            ));
            // Made and listed under the lock: the signal thread, which holds
            // it to the end, never misses one.
            let mut live = live();
            match rustix::fs::openat(&*self.fd, &*name, flags, Mode::from_raw_mode(0o600)) {
                Ok(fd) => {
                    let id = live.next_id;
                    live.next_id += 1;
                    live.temps.push((id, Arc::clone(&self.fd), name.clone()));
                    return Ok(Temp {
                        file: File::from(fd),
                        folder: Arc::clone(&self.fd),
                        name,
                        id,
                        persisted: false,
                    });
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Flushes the folder's entries (a rename in it) to disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        Ok(rustix::fs::fsync(&*self.fd)?)
    }
}

/// The folder `name` in `dir`, made if missing, not followed if a link.
fn open_or_make(dir: &OwnedFd, name: &OsStr) -> rustix::io::Result<OwnedFd> {
    match rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
        Err(rustix::io::Errno::NOENT) => {
            match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e),
            }
            rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty())
        }
        other => other,
    }
}

/// A link (ELOOP, or ENOTDIR for a link to a file) is named as such.
fn beneath_error(dir: &OwnedFd, name: &OsStr, path: &Path, e: rustix::io::Errno) -> Beneath {
    let is_link = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|s| rustix::fs::FileType::from_raw_mode(s.st_mode).is_symlink());
    if is_link || e == rustix::io::Errno::LOOP {
        Beneath::Link(path.to_path_buf())
    } else {
        Beneath::Io(e.into())
    }
}

/// A temporary file being written in a [`Folder`]: renamed into place by
/// [`Temp::persist`], removed if dropped before.
pub(crate) struct Temp {
    file: File,
    folder: Arc<OwnedFd>,
    name: OsString,
    id: u64,
    persisted: bool,
}

impl Temp {
    pub(crate) fn as_file(&self) -> &File {
        &self.file
    }

    pub(crate) fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Renames the file over `name` in its folder. A link there is replaced
    /// by the file, not written through.
    pub(crate) fn persist(mut self, name: &OsStr) -> io::Result<()> {
        rustix::fs::renameat(&*self.folder, &*self.name, &*self.folder, name)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let mut live = live();
        live.temps.retain(|(id, _, _)| *id != self.id);
        if !self.persisted {
            let _ = rustix::fs::unlinkat(&*self.folder, &*self.name, AtFlags::empty());
        }
    }
}

/// The temporary files in flight: (id, folder, name).
struct Live {
    next_id: u64,
    temps: Vec<(u64, Arc<OwnedFd>, OsString)>,
}

static LIVE: Mutex<Live> = Mutex::new(Live { next_id: 0, temps: Vec::new() });

fn live() -> MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// On SIGINT, SIGTERM or SIGHUP, removes every temporary file in flight,
/// says so on stderr, and ends the process with status 128 + the signal's
/// number (130, 143, 129), as a shell reports a process the signal ended.
/// The originals are left as they were: a rename is the only step that
/// touches one, and it either happened (the file is done) or did not.
///
/// # Errors
///
/// When the signal handlers cannot be installed.
pub fn remove_temps_on_signals() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Held until the process ends: no new temporary file is made.
            let live = live();
            for (_, folder, name) in &live.temps {
                let _ = rustix::fs::unlinkat(&**folder, &**name, AtFlags::empty());
            }
            let name = match signal {
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
            // Not `eprintln!`, which panics when stderr is a closed pipe
            // (`--in-place -r logs 2>&1 | head`): this thread would die
            // before the exit, and every later signal go unheard.
            let _ = writeln!(
                io::stderr().lock(),
                "phx-redact: interrupted by {name}: temporary files removed, the files not yet \
                 done left as they were"
            );
            std::process::exit(128 + signal);
        }
    })?;
    Ok(())
}
