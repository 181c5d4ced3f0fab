//! The library's error type.

use std::io;

/// What can go wrong. No variant ever holds the bytes of a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rules were refused before any input was read.
    #[error("invalid rules: {0}")]
    Rule(String),
    /// The command-line arguments do not go together.
    #[error("{0}")]
    Usage(String),
    /// An input could not be opened or read.
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] io::Error),
    /// A compressed input is corrupt or truncated.
    #[error("corrupt or truncated {format} data: {source}")]
    Corrupt {
        /// `gzip` or `zstd`.
        format: &'static str,
        /// What the decoder said.
        source: io::Error,
    },
    /// The file changed while it was scrubbed (an active log): it was left
    /// as it was, so that nothing appended meanwhile is lost.
    #[error(
        "changed while being scrubbed (an active log?); left as it was, run again once it is idle"
    )]
    Changed,
    /// The file was left as it was, because scrubbing it would lose
    /// something or leave a secret behind (see [`crate::scrub::Refusal`]).
    #[error("{0}")]
    Refused(crate::scrub::Refusal),
}

impl Error {
    /// An error from reading data stored as `format`: for compressed data,
    /// a decoding error names the format.
    pub(crate) fn corrupt(format: crate::compress::Format, e: io::Error) -> Error {
        match format {
            crate::compress::Format::Plain => Error::Read(e),
            _ => Error::Corrupt { format: format.name(), source: e },
        }
    }

    /// Whether this is a write to a reader that has gone away (`| head`),
    /// which ends the process quietly rather than as a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
