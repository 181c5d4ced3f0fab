//! zstd input walked frame by frame as it passes to libzstd, byte for byte,
//! for what libzstd does not show: the payloads of skippable frames, which
//! it steps over unseen (pzstd writes one before each frame, holding the
//! frame's size; any tool can put anything in one), go to the metadata
//! scanner (see [`meta_scan`](crate::app::formats::meta_scan)); and each frame's
//! window, the memory its decoding needs, is read from its header and
//! refused over [`ZSTD_WINDOW_MAX`] before libzstd allocates it.
//!
//! The walk follows the format's layout (RFC 8878): a frame header, blocks
//! whose 3-byte headers give their sizes, an optional checksum; or a
//! skippable frame's magic, size and payload. It decodes nothing.

use std::io::{self, Read};

use crate::app::formats::decode_errors::{OverLimit, size};
use crate::app::formats::meta_scan::MetaSink;

/// The largest window a zstd frame may need: libzstd's own default limit
/// (a window log of 27), which `zstd -d` applies unless given `--memory`.
/// Every level the zstd tool writes by default stays within it, `--ultra
/// -22` and `--long` included.
pub const ZSTD_WINDOW_MAX: u64 = 128 << 20;

/// [`ZSTD_WINDOW_MAX`] as libzstd's window log, for its own check.
pub(crate) const ZSTD_WINDOW_LOG_MAX: u32 = 27;

const ZSTD_MAGIC: u32 = 0xfd2f_b528;

/// zstd bytes passed through as they are, walked.
pub(crate) struct ZstdFrames<R> {
    inner: R,
    walk: Walk,
    meta: MetaSink,
}

#[derive(Clone, Copy)]
enum Walk {
    /// Between frames, this many bytes into the next one's magic.
    Magic { seen: usize, bytes: [u8; 4] },
    /// In a skippable frame's size field.
    SkipSize { seen: usize, bytes: [u8; 4] },
    /// In a skippable frame's payload, with this much of it to come.
    Skip { left: u64 },
    /// In a frame's header (after its magic): `need` bytes of it in all,
    /// as its first byte tells.
    FrameHeader { seen: usize, need: usize, bytes: [u8; 14] },
    /// In a block's 3-byte header.
    BlockHeader { seen: usize, bytes: [u8; 3], checksum: bool },
    /// In a block's data; the frame's checksum (if any) follows the last.
    Block { left: u64, last: bool, checksum: bool },
    /// In a frame's 4-byte checksum.
    Checksum { left: u64 },
}

const BETWEEN: Walk = Walk::Magic { seen: 0, bytes: [0; 4] };

impl<R: Read> ZstdFrames<R> {
    pub(crate) fn new(inner: R, meta: MetaSink) -> ZstdFrames<R> {
        ZstdFrames { inner, walk: BETWEEN, meta }
    }

    /// Takes the next bytes of the stream, in order.
    fn advance(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let (used, next) = self.step(data)?;
            data = &data[used..];
            self.walk = next;
        }
        Ok(())
    }

    /// Takes some of `data`: how much, and the state after it.
    fn step(&mut self, data: &[u8]) -> io::Result<(usize, Walk)> {
        Ok(match self.walk {
            Walk::Magic { seen, bytes } => return magic(seen, bytes, data),
            Walk::SkipSize { seen, mut bytes } => {
                let n = gather(&mut bytes[seen..], data);
                if seen + n < 4 {
                    return Ok((n, Walk::SkipSize { seen: seen + n, bytes }));
                }
                self.meta.borrow_mut().start("zstd skippable frame");
                (n, self.skip(u64::from(u32::from_le_bytes(bytes))))
            }
            Walk::Skip { left } => {
                let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                self.meta.borrow_mut().feed(&data[..n]);
                (n, self.skip(left - n as u64))
            }
            Walk::FrameHeader { seen, need, bytes } => {
                return frame_header(seen, need, bytes, data);
            }
            Walk::BlockHeader { seen, bytes, checksum } => {
                return self.block_header(seen, bytes, checksum, data);
            }
            Walk::Block { left, last, checksum } => {
                let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                (n, self.block(left - n as u64, last, checksum))
            }
            Walk::Checksum { left } => {
                let n = data.len().min(left as usize);
                let left = left - n as u64;
                (n, if left == 0 { BETWEEN } else { Walk::Checksum { left } })
            }
        })
    }

    /// [`step`](Self::step) in a block's header: its type and size tell
    /// how many bytes of data follow it.
    fn block_header(
        &self,
        seen: usize,
        mut bytes: [u8; 3],
        checksum: bool,
        data: &[u8],
    ) -> io::Result<(usize, Walk)> {
        let n = gather(&mut bytes[seen..], data);
        if seen + n < 3 {
            return Ok((n, Walk::BlockHeader { seen: seen + n, bytes, checksum }));
        }
        let header = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0]);
        let size = u64::from(header >> 3);
        let left = match (header >> 1) & 3 {
            1 => 1, // RLE: one byte, repeated
            0 | 2 => size,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a zstd block of a reserved type",
                ));
            }
        };
        Ok((n, self.block(left, header & 1 != 0, checksum)))
    }

    /// Inside a skippable frame's payload with `left` bytes to come, or
    /// past it.
    fn skip(&mut self, left: u64) -> Walk {
        if left > 0 {
            return Walk::Skip { left };
        }
        self.meta.borrow_mut().end();
        BETWEEN
    }

    /// Inside a block with `left` bytes to come, or past it.
    fn block(&self, left: u64, last: bool, checksum: bool) -> Walk {
        match (left, last, checksum) {
            (1.., ..) => Walk::Block { left, last, checksum },
            (0, false, _) => Walk::BlockHeader { seen: 0, bytes: [0; 3], checksum },
            (0, true, true) => Walk::Checksum { left: 4 },
            (0, true, false) => BETWEEN,
        }
    }
}

/// [`ZstdFrames::step`] between frames: the magic tells a skippable frame
/// from a zstd frame, and anything else is refused.
fn magic(seen: usize, mut bytes: [u8; 4], data: &[u8]) -> io::Result<(usize, Walk)> {
    let n = gather(&mut bytes[seen..], data);
    if seen + n < 4 {
        return Ok((n, Walk::Magic { seen: seen + n, bytes }));
    }
    let magic = u32::from_le_bytes(bytes);
    let next = if magic & 0xffff_fff0 == 0x184d_2a50 {
        Walk::SkipSize { seen: 0, bytes: [0; 4] }
    } else if magic == ZSTD_MAGIC {
        Walk::FrameHeader { seen: 0, need: 1, bytes: [0; 14] }
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bytes that are neither a zstd frame nor a skippable one",
        ));
    };
    Ok((n, next))
}

/// [`ZstdFrames::step`] in a frame's header: its first byte tells its
/// length, and the whole header its window, refused when too large.
fn frame_header(
    seen: usize,
    mut need: usize,
    mut bytes: [u8; 14],
    data: &[u8],
) -> io::Result<(usize, Walk)> {
    let n = gather(&mut bytes[seen..need], data);
    let seen = seen + n;
    if seen == 1 {
        need = header_len(bytes[0]);
    }
    if seen < need {
        return Ok((n, Walk::FrameHeader { seen, need, bytes }));
    }
    refuse_a_big_window(&bytes[..need])?;
    let checksum = bytes[0] & 0x04 != 0;
    Ok((n, Walk::BlockHeader { seen: 0, bytes: [0; 3], checksum }))
}

/// Copies what fits of `data` into `to`; how much.
fn gather(to: &mut [u8], data: &[u8]) -> usize {
    let n = to.len().min(data.len());
    to[..n].copy_from_slice(&data[..n]);
    n
}

/// A frame header's length after the magic, told by its first byte (the
/// frame header descriptor).
fn header_len(descriptor: u8) -> usize {
    let single_segment = descriptor & 0x20 != 0;
    let window = usize::from(!single_segment);
    let dict_id = [0, 1, 2, 4][usize::from(descriptor & 3)];
    1 + window + dict_id + content_size_len(descriptor)
}

/// The length of a frame header's content size field.
fn content_size_len(descriptor: u8) -> usize {
    match descriptor >> 6 {
        0 => usize::from(descriptor & 0x20 != 0),
        1 => 2,
        2 => 4,
        _ => 8,
    }
}

/// Refuses a frame whose window is over [`ZSTD_WINDOW_MAX`]: its window
/// descriptor's, or, for a single-segment frame, its content size.
fn refuse_a_big_window(header: &[u8]) -> io::Result<()> {
    let descriptor = header[0];
    let window = if descriptor & 0x20 == 0 {
        let exponent = u32::from(header[1] >> 3);
        let base = 1u64 << (10 + exponent);
        base + base / 8 * u64::from(header[1] & 7)
    } else {
        let field = &header[header.len() - content_size_len(descriptor)..];
        let mut le = [0; 8];
        le[..field.len()].copy_from_slice(field);
        u64::from_le_bytes(le) + if field.len() == 2 { 256 } else { 0 }
    };
    if window <= ZSTD_WINDOW_MAX {
        return Ok(());
    }
    Err(io::Error::other(OverLimit(format!(
        "zstd data whose frame needs a {} window to decode, over phx-redact's limit of {}",
        size(window),
        size(ZSTD_WINDOW_MAX)
    ))))
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(&buf[..n])?;
        Ok(n)
    }
}
