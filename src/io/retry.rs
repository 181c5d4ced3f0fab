//! The read loop every reader in the crate goes through, and the size it
//! reads in.

use std::io::{self, Read};

/// Bytes read at a time. Large reads keep syscalls rare; this size still
/// fits the L2 cache, so the bytes are hot when the prefilter scans them.
pub const READ_SIZE: usize = 256 * 1024;

/// Reads into `buf`, retrying a read that a signal interrupted (EINTR):
/// the one read loop every reader in the crate goes through.
pub(crate) fn read_retrying<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}
