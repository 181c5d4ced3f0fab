//! The library's error type: what the engine and the I/O adapters raise.
//! The application's own errors (archives, formats, refusals) are
//! `app::Error`, which this one converts into.

use std::{fmt, io};

/// What can go wrong in the engine or an I/O adapter. No variant ever
/// holds the bytes of a token.
///
/// The I/O error a variant wraps is part of its message, not a
/// [`source`](std::error::Error::source): a printer that walks the chain
/// (`anyhow`'s `{:#}`) would otherwise say the operating system's text
/// twice.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The rules were refused before any input was read.
    Rule(String),
    /// The arguments do not go together.
    Usage(String),
    /// An input could not be opened or read.
    Read(io::Error),
    /// The output could not be written.
    Write(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rule(message) => write!(f, "invalid rules: {message}"),
            Error::Usage(message) => f.write_str(message),
            Error::Read(e) => write!(f, "cannot read: {e}"),
            Error::Write(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

// No `source`: the I/O error a variant wraps is already in its message.
impl std::error::Error for Error {}

impl Error {
    /// Whether this is a write to a reader that has gone away (`| head`),
    /// which ends the process quietly rather than as a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
