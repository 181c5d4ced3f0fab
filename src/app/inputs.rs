//! What the program reads: an input named on the command line (`-` is
//! standard input), and the one way a file is opened for reading.

use std::{
    fs::File,
    io,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

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
}

/// Opens `path` for reading without blocking in `open` itself: opening a
/// FIFO that has no writer would wait for one. O_NONBLOCK changes nothing
/// for a regular file; a caller that reads a FIFO clears it (or refuses
/// anything but a regular file).
pub(crate) fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::options().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}
