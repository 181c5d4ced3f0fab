//! The [`Format`] a file's bytes are stored in, shared by what tells it
//! ([`sniff`](crate::app::formats::sniff)), what reads it
//! ([`decoder`](mod@crate::app::formats::decoder)) and what writes it
//! ([`encoder`](crate::app::formats::encoder)), and the application error
//! a failure to read it becomes.

use std::io;

use crate::app::Error;
use crate::app::formats::decode_errors::OverLimit;

/// How a file's bytes are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// As they are.
    #[default]
    Plain,
    /// gzip, one member or several (as pigz and some logrotate setups write).
    Gzip,
    /// Zstandard, one frame or several, skippable frames (pzstd's) included.
    Zstd,
    /// xz, one stream or several.
    Xz,
    /// bzip2, one stream or several (as pbzip2 writes).
    Bzip2,
    /// LZ4 frames, one or several, skippable frames included.
    Lz4,
    /// A compressed or archive format phx-redact cannot read, by name.
    Unsupported(&'static str),
}

impl Format {
    /// The name messages use.
    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
            Format::Xz => "xz",
            Format::Bzip2 => "bzip2",
            Format::Lz4 => "lz4",
            Format::Unsupported(name) => name,
        }
    }

    /// An error from reading data stored as this format: for compressed
    /// data, a decoding error names the format.
    pub(crate) fn read_error(self, e: io::Error) -> Error {
        if let Some(over) = e.get_ref().and_then(|e| e.downcast_ref::<OverLimit>()) {
            return Error::OverLimit { need: over.0.clone() };
        }
        match self {
            Format::Plain => Error::Read(e),
            Format::Unsupported(format) => Error::Unsupported { format },
            _ => Error::Corrupt { format: self.name(), error: e },
        }
    }
}
