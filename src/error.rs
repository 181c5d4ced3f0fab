//! The library's error type.

use std::io;

/// What can go wrong. No variant ever holds the bytes of a token.
///
/// The I/O error a variant wraps is part of its message, not a
/// [`source`](std::error::Error::source): a printer that walks the chain
/// (`anyhow`'s `{:#}`) would otherwise say the operating system's text
/// twice.
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
    Read(io::Error),
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Write(io::Error),
    /// A compressed input is corrupt or truncated.
    #[error("corrupt or truncated {format} data: {error}")]
    Corrupt {
        /// `gzip`, `zstd`, `xz`, `bzip2` or `lz4`.
        format: &'static str,
        /// What the decoder said.
        error: io::Error,
    },
    /// The input is stored in a compressed or archive format that cannot
    /// be read: nothing in it was scanned, so it is neither clean nor
    /// rewritten.
    #[error(
        "{format} data, which phx-redact cannot read: nothing in it was checked; \
         extract it with its own tool and run phx-redact on what it holds"
    )]
    Unsupported {
        /// The format's name (`zip`, `7z`, ...).
        format: &'static str,
    },
    /// A secret was found in an archive whose layout a redaction would
    /// break (a tar records each member's size): it was left as it was.
    #[error(
        "{format} archive holding a secret: rewriting it would corrupt it; left as it was, \
         extract it, scrub the files and archive them again"
    )]
    Archive {
        /// The archive's format (`tar`).
        format: &'static str,
    },
    /// Standard input held compressed data, which the filter passed on
    /// byte for byte, as it does everything on standard input, but could
    /// not redact: the run fails rather than look as if it had.
    #[error(
        "{format} data: passed on byte for byte, NOT redacted; decompress it into phx-redact \
         (zcat, zstdcat, xzcat, ...) or name the file, which phx-redact decompresses"
    )]
    CompressedStdin {
        /// The format's name.
        format: &'static str,
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
            crate::compress::Format::Unsupported(format) => Error::Unsupported { format },
            _ => Error::Corrupt { format: format.name(), error: e },
        }
    }

    /// Whether this is a write to a reader that has gone away (`| head`),
    /// which ends the process quietly rather than as a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
