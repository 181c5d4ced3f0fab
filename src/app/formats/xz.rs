//! xz read within a memory limit: liblzma refuses a dictionary over it,
//! and the refusal is reported as such ([`OverLimit`]), not as corruption.

use std::io::{self, BufRead, Read};

use crate::app::formats::decode_errors::{OverLimit, size};

/// The most memory liblzma may use to decode an xz file: what `xz -9`'s
/// 64 MiB dictionary needs (65 MiB), with room to spare, but not the
/// gigabytes a dictionary declared by a hostile header would take.
pub const XZ_MEMORY_MAX: u64 = 96 << 20;

/// An xz decoder whose memory limit, when reached, says so.
pub(crate) struct XzLimited<R: BufRead>(pub(crate) liblzma::bufread::XzDecoder<R>);

impl<R: BufRead> Read for XzLimited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            let limit = e.get_ref().and_then(|e| e.downcast_ref::<liblzma::stream::Error>());
            if !matches!(limit, Some(liblzma::stream::Error::MemLimit)) {
                return e;
            }
            io::Error::other(OverLimit(format!(
                "xz data that needs more than phx-redact's limit of {} to decode (its \
                 dictionary is larger than the 64 MiB of xz -9)",
                size(XZ_MEMORY_MAX)
            )))
        })
    }
}
