//! The library's error type.

use std::io;

/// What can go wrong. No variant ever holds the bytes of a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rules were refused before any input was read.
    #[error("invalid rules: {0}")]
    Rule(String),
    /// An input could not be opened or read.
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] io::Error),
}

impl Error {
    /// Whether this is a write to a reader that has gone away (`| head`),
    /// which ends the process quietly rather than as a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
