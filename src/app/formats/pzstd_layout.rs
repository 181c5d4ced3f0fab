//! pzstd's layout checked as zstd input passes, so that a pzstd file cut
//! just after a skippable frame is called truncated, not complete.

use std::io::{self, Read};

use crate::app::formats::decode_errors::truncated;

/// zstd input passed through as it is, checked against pzstd's layout while
/// it holds: a skippable frame of 4 bytes giving the size of the zstd frame
/// that follows, over and over. libzstd takes a skippable frame with
/// nothing after it for a whole stream, so a pzstd file cut just after one
/// would read as complete; here it is truncated. Input that leaves the
/// layout (plain zstd) is left to libzstd alone.
pub(crate) struct PzstdLayout<R> {
    inner: R,
    state: Layout,
}

#[derive(Clone, Copy)]
enum Layout {
    /// Between two units, or this many bytes into a skippable frame's
    /// header and size field.
    Header { seen: usize, header: [u8; 12] },
    /// Inside a frame, with this many bytes of it to come.
    Frame { left: u64 },
    /// Not (or no longer) pzstd's layout.
    Off,
}

impl<R: Read> PzstdLayout<R> {
    pub(crate) fn new(inner: R) -> PzstdLayout<R> {
        PzstdLayout { inner, state: Layout::Header { seen: 0, header: [0; 12] } }
    }

    fn advance(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                Layout::Off => return,
                Layout::Frame { left } => {
                    let n = (*left).min(data.len() as u64);
                    *left -= n;
                    data = &data[n as usize..];
                    if *left == 0 {
                        self.state = Layout::Header { seen: 0, header: [0; 12] };
                    }
                }
                Layout::Header { seen, header } => {
                    let n = (12 - *seen).min(data.len());
                    header[*seen..*seen + n].copy_from_slice(&data[..n]);
                    *seen += n;
                    data = &data[n..];
                    let pzstd = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0];
                    if header[..(*seen).min(8)] != pzstd[..(*seen).min(8)] {
                        self.state = Layout::Off;
                    } else if *seen == 12 {
                        let left = u32::from_le_bytes(header[8..12].try_into().unwrap());
                        self.state = Layout::Frame { left: u64::from(left) };
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for PzstdLayout<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(&buf[..n]);
        let mid_unit = match self.state {
            Layout::Header { seen, .. } => seen > 0,
            Layout::Frame { .. } => true,
            Layout::Off => false,
        };
        if n == 0 && !buf.is_empty() && mid_unit {
            return Err(truncated("pzstd frame"));
        }
        Ok(n)
    }
}
