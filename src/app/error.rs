//! The application's error type: the engine's errors, and what reading
//! archives, rewriting files and checking diffs add to them.

use std::{fmt, io};

use crate::app::refusal::Refusal;

/// What can go wrong in a job. No variant ever holds the bytes of a token.
///
/// The first four are the engine's ([`crate::Error`] converts into them);
/// the rest are about files, formats and archives.
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
    /// The command-line arguments do not go together.
    Usage(String),
    /// An input could not be opened or read.
    Read(io::Error),
    /// The output could not be written.
    Write(io::Error),
    /// A compressed input is corrupt or truncated.
    Corrupt {
        /// `gzip`, `zstd`, `xz`, `bzip2` or `lz4`.
        format: &'static str,
        /// What the decoder said.
        error: io::Error,
    },
    /// A compressed input whose decoder would need more memory than
    /// phx-redact allows (an xz dictionary, a zstd window): nothing in it
    /// was checked, and it was left as it was.
    OverLimit {
        /// What it needs and the limit, format named (`xz data that
        /// needs ...`).
        need: String,
    },
    /// The input is stored in a compressed or archive format that cannot
    /// be read: nothing in it was scanned, so it is neither clean nor
    /// rewritten.
    Unsupported {
        /// The format's name (`zip`, `7z`, ...).
        format: &'static str,
    },
    /// A secret was found in content whose layout a redaction would break
    /// (a tar or an ar archive records each member's size, a SQLite
    /// database its page offsets, a binary anything), or that is compressed
    /// twice (a rewrite would store it compressed once): it was left as it
    /// was. `--check` and the filter still scan such content as bytes.
    Archive {
        /// What it looks like: `tar archive`, `ar archive`, `SQLite
        /// database`, `binary data (NUL bytes)`, `gzip data inside zstd data`.
        what: String,
    },
    /// An archive holds a member stored compressed (or as another kind of
    /// archive), whose content cannot be checked as text: the archive is
    /// neither clean nor rewritten.
    Nested {
        /// The member's format (`gzip`, `zip`, ...).
        member: &'static str,
        /// The archive, with its article (`a tar archive`).
        container: &'static str,
    },
    /// Standard input held compressed data, which the filter passed on
    /// byte for byte, as it does everything on standard input, but could
    /// not redact: the run fails rather than look as if it had.
    CompressedStdin {
        /// The format's name.
        format: &'static str,
    },
    /// The file changed while it was scrubbed (an active log): it was left
    /// as it was, so that nothing appended meanwhile is lost.
    Changed,
    /// The file was left as it was, because scrubbing it would lose
    /// something or leave a secret behind.
    Refused(Refusal),
    /// `--check --diff`: the input is not a unified diff that can be
    /// checked (cut short inside a hunk, a malformed line), or it holds a
    /// file whose added bytes it does not show (a binary file): so it is
    /// never called clean.
    Diff(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rule(message) => write!(f, "invalid rules: {message}"),
            Error::Usage(message) => f.write_str(message),
            Error::Read(e) => write!(f, "cannot read: {e}"),
            Error::Write(e) => write!(f, "cannot write output: {e}"),
            Error::Corrupt { format, error } => {
                write!(f, "corrupt or truncated {format} data: {error}")
            }
            Error::OverLimit { need } => write!(
                f,
                "{need}: nothing in it was checked, and it was left as it was; decompress it \
                 with its own tool and run phx-redact on what it holds"
            ),
            Error::Unsupported { format } => write!(
                f,
                "{format} data, which phx-redact cannot read: nothing in it was checked; \
                 extract it with its own tool and run phx-redact on what it holds"
            ),
            Error::Archive { what } => write!(
                f,
                "{what} holding a secret: rewriting it would corrupt it; left as it was. \
                 Extract it (or dump it as text), scrub that, and store it again"
            ),
            Error::Nested { member, container } => write!(
                f,
                "{member} member inside {container}: its content cannot be checked, so the \
                 archive is neither called clean nor rewritten; extract it and run phx-redact \
                 on its files"
            ),
            Error::CompressedStdin { format } => write!(
                f,
                "{format} data: passed on byte for byte, NOT redacted; decompress it into \
                 phx-redact (zcat, zstdcat, xzcat, ...) or name the file, which phx-redact \
                 decompresses"
            ),
            Error::Changed => f.write_str(
                "changed while being scrubbed (an active log?); left as it was, run again once \
                 it is idle",
            ),
            Error::Refused(refusal) => write!(f, "{refusal}"),
            Error::Diff(message) => f.write_str(message),
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

impl From<crate::Error> for Error {
    fn from(err: crate::Error) -> Error {
        match err {
            crate::Error::Rule(message) => Error::Rule(message),
            crate::Error::Usage(message) => Error::Usage(message),
            crate::Error::Read(e) => Error::Read(e),
            crate::Error::Write(e) => Error::Write(e),
        }
    }
}
