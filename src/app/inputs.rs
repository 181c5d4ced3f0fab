//! What the program reads: an input named on the command line (`-` is
//! standard input), and the one way a file is opened for reading.

use std::{
    fs::{File, Metadata},
    io,
    os::{
        fd::{AsFd, BorrowedFd},
        unix::fs::{MetadataExt, OpenOptionsExt},
    },
    path::{Path, PathBuf},
};

/// The most worker threads a batch or a check runs, whatever `-j` asks:
/// past this, threads only queue for the same disks and cost memory.
pub const MAX_THREADS: usize = 128;

/// What names standard input on the command line.
pub const STDIN_ARG: &str = "-";

/// Whether a command-line argument names standard input (`-`): the one
/// place that convention is written.
pub fn is_stdin(arg: &Path) -> bool {
    arg.as_os_str() == STDIN_ARG
}

/// One input of the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Standard input, named `-` on the command line.
    Stdin,
    /// A file.
    Path(PathBuf),
}

impl Input {
    /// The input a command-line argument names: `-` is standard input.
    pub fn from_arg(arg: PathBuf) -> Input {
        if is_stdin(&arg) { Input::Stdin } else { Input::Path(arg) }
    }

    /// How messages name this input.
    pub fn display(&self) -> std::path::Display<'_> {
        match self {
            Input::Stdin => Path::new("<stdin>").display(),
            Input::Path(p) => p.display(),
        }
    }

    /// The name's exact bytes, for [`MessagePolicy::printed_name`](crate::app::policy::MessagePolicy::printed_name).
    pub fn name_bytes(&self) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        match self {
            Input::Stdin => b"<stdin>",
            Input::Path(p) => p.as_os_str().as_bytes(),
        }
    }
}

/// Opens `path` for reading without blocking in `open` itself: opening a
/// FIFO that has no writer would wait for one. O_NONBLOCK changes nothing
/// for a regular file; a caller that reads a FIFO clears it (or refuses
/// anything but a regular file).
pub(crate) fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::options().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

/// A regular file's identity: its device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the regular file open on `fd`; None for anything
    /// else (a pipe, a terminal, /dev/null), which cannot be read back.
    pub fn of_fd(fd: BorrowedFd<'_>) -> Option<FileId> {
        let meta = File::from(fd.try_clone_to_owned().ok()?).metadata().ok()?;
        FileId::of(&meta)
    }

    /// The identity of standard output when it is a regular file.
    pub fn of_stdout() -> Option<FileId> {
        FileId::of_fd(io::stdout().as_fd())
    }

    /// The identity of the regular file at `path` (links followed).
    pub fn of_path(path: &Path) -> Option<FileId> {
        FileId::of(&std::fs::metadata(path).ok()?)
    }

    fn of(meta: &Metadata) -> Option<FileId> {
        meta.is_file().then(|| FileId { dev: meta.dev(), ino: meta.ino() })
    }

    /// Refuses `input` when it is this file, as `cat` does: the output
    /// appended to it would be read back, and `phx-redact X >> X` would
    /// never end, filling the disk.
    ///
    /// # Errors
    ///
    /// [`crate::app::Error::Usage`] naming the fault when `input` is this file.
    pub fn refuse_as_input(self, input: &Input) -> Result<(), crate::app::Error> {
        let same = match input {
            Input::Stdin => FileId::of_fd(io::stdin().as_fd()),
            Input::Path(path) => FileId::of_path(path),
        } == Some(self);
        if same {
            return Err(crate::app::Error::Usage(
                "input file is output file: what is written would be read back without end; \
                 write the output to another file"
                    .into(),
            ));
        }
        Ok(())
    }
}
