//! The errors the decoders add to their libraries': a need of memory over
//! phx-redact's limit ([`OverLimit`], which the application reports apart
//! from corruption, for nothing in such a file was checked), and input cut
//! short where a library would take its end for a whole stream.

use std::io;

/// A decoder's need of memory over phx-redact's limit. Its text names the
/// format, the need and the limit.
#[derive(Debug)]
pub(crate) struct OverLimit(pub(crate) String);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OverLimit {}

/// A size as messages say it: MiB, or GiB from 1 GiB.
pub(crate) fn size(bytes: u64) -> String {
    if bytes >= 1 << 30 && bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    }
}

/// The error for input that ends inside `what`.
pub(crate) fn truncated(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, format!("{what} cut short"))
}
