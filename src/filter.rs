//! The filter driver: inputs (stdin or files) through a [`Redactor`] to one
//! output, like `cat`.

use std::{
    fs::File,
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use crate::{Error, Redactor};

/// Bytes read at a time. Large reads keep syscalls rare; this size still
/// fits the L2 cache, so the bytes are hot when the prefilter scans them.
pub const READ_SIZE: usize = 256 * 1024;

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
        if arg.as_os_str() == "-" { Input::Stdin } else { Input::Path(arg) }
    }

    /// How messages name this input.
    pub fn display(&self) -> std::path::Display<'_> {
        match self {
            Input::Stdin => Path::new("<stdin>").display(),
            Input::Path(p) => p.display(),
        }
    }
}

/// Redacts everything `reader` yields into `out`, flushing `out` after each
/// read so that each line goes on as soon as it arrives. Ends the stream
/// (writes what was held back) at end of input, and also when reading fails,
/// so that nothing read is lost.
///
/// # Errors
///
/// [`Error::Read`] when reading fails, [`Error::Write`] when writing does.
pub fn redact_stream<R: Read + ?Sized, W: Write + ?Sized>(
    redactor: &mut Redactor,
    reader: &mut R,
    out: &mut W,
    buf: &mut [u8],
) -> Result<(), Error> {
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                redactor.finish(out).and_then(|()| out.flush()).map_err(Error::Write)?;
                return Err(Error::Read(e));
            }
        };
        redactor.feed(&buf[..n], out).and_then(|()| out.flush()).map_err(Error::Write)?;
    }
    redactor.finish(out).and_then(|()| out.flush()).map_err(Error::Write)
}

/// Redacts `inputs` in order into `out`. Each input is its own stream: a
/// token never spans two inputs.
///
/// An input that cannot be opened or read is passed to `on_error` and the
/// others are still processed; the count of such inputs is returned.
///
/// # Errors
///
/// [`Error::Write`] when the output fails, which ends the run.
pub fn redact_inputs<W: Write + ?Sized>(
    redactor: &mut Redactor,
    inputs: &[Input],
    out: &mut W,
    mut on_error: impl FnMut(&Input, &Error),
) -> Result<usize, Error> {
    let mut buf = vec![0; READ_SIZE];
    let mut failures = 0;
    for input in inputs {
        let result = match input {
            Input::Stdin => redact_stream(redactor, &mut io::stdin().lock(), out, &mut buf),
            Input::Path(path) => match File::open(path) {
                Ok(mut file) => redact_stream(redactor, &mut file, out, &mut buf),
                Err(e) => Err(Error::Read(e)),
            },
        };
        match result {
            Ok(()) => {}
            Err(e @ Error::Write(_)) => return Err(e),
            Err(e) => {
                failures += 1;
                on_error(input, &e);
            }
        }
    }
    Ok(failures)
}
