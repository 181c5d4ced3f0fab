//! Writing content back in the format it was read from, at the levels the
//! tools use by default: gzip in parallel blocks ([`GzBlocks`]), zstd on
//! its own workers, xz, bzip2 and lz4 on the caller's thread.

use std::io::{self, Write};

use flate2::Compression;

use crate::app::formats::format::Format;
use crate::app::formats::gzip_blocks::GzBlocks;

/// Compression levels for what is written back, and the threads one file's
/// compression may use. lz4 has one speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Levels {
    /// gzip, 0–9.
    pub gzip: u32,
    /// zstd, 1–19.
    pub zstd: i32,
    /// xz, 0–9.
    pub xz: u32,
    /// bzip2, 1–9.
    pub bzip2: u32,
    /// Threads one file's gzip or zstd compression may use, the file's own
    /// included (at least 1). The bytes written are the same whatever it
    /// is: gzip members are cut at fixed offsets (`GzBlocks`), and zstd
    /// always runs its multithreaded mode, whose output does not depend on
    /// the number of workers.
    pub threads: usize,
}

impl Default for Levels {
    /// gzip 6, zstd 3, xz 6 and bzip2 9: the tools' own defaults, so that a
    /// scrubbed archive is about as large as the one it replaces.
    fn default() -> Levels {
        Levels { gzip: 6, zstd: 3, xz: 6, bzip2: 9, threads: 1 }
    }
}

/// A writer that stores what it is given as `format`.
pub enum Encoder<W: Write> {
    /// As it is.
    Plain(W),
    /// gzip, one member per [`GZIP_BLOCK`](crate::app::formats::GZIP_BLOCK)
    /// bytes, compressed in parallel.
    Gzip(GzBlocks<W>),
    /// zstd, one frame written by zstd's own workers (pzstd reads it, on
    /// one thread).
    Zstd(zstd::stream::write::Encoder<'static, W>),
    /// xz, one stream.
    Xz(liblzma::write::XzEncoder<W>),
    /// bzip2, one stream.
    Bzip2(bzip2::write::BzEncoder<W>),
    /// LZ4, one frame, with the lz4 tool's block size and content checksum.
    Lz4(lz4_flex::frame::FrameEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// An encoder to `inner` at the given levels.
    ///
    /// # Errors
    ///
    /// Those of setting up the zstd encoder; `Unsupported` for a format
    /// that cannot be written.
    pub fn new(format: Format, inner: W, levels: Levels) -> io::Result<Encoder<W>> {
        use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
        Ok(match format {
            Format::Plain => Encoder::Plain(inner),
            Format::Gzip => {
                Encoder::Gzip(GzBlocks::new(inner, Compression::new(levels.gzip), levels.threads))
            }
            Format::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, levels.zstd)?;
                // Workers even for one thread: zstd's multithreaded mode
                // cuts its jobs the same way for any number of workers, so
                // the output does not depend on -j (its single-threaded
                // mode would write other bytes). The caller's thread feeds
                // them, which costs little beside the compression.
                let workers = u32::try_from(levels.threads.max(1)).unwrap_or(u32::MAX);
                encoder.multithread(workers)?;
                Encoder::Zstd(encoder)
            }
            Format::Xz => Encoder::Xz(liblzma::write::XzEncoder::new(inner, levels.xz)),
            Format::Bzip2 => Encoder::Bzip2(bzip2::write::BzEncoder::new(
                inner,
                bzip2::Compression::new(levels.bzip2),
            )),
            Format::Lz4 => {
                let info = FrameInfo::new()
                    .block_size(BlockSize::Max4MB)
                    .block_mode(BlockMode::Linked)
                    .content_checksum(true);
                Encoder::Lz4(FrameEncoder::with_frame_info(info, inner))
            }
            Format::Unsupported(name) => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, format!("{name} data")));
            }
        })
    }

    /// Writes the format's trailer and returns the inner writer.
    ///
    /// # Errors
    ///
    /// Those of writing.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(mut w) => w.flush().map(|()| w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Bzip2(e) => e.finish(),
            Encoder::Lz4(e) => e.finish().map_err(io::Error::from),
        }
    }

    fn inner(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(e) => e,
            Encoder::Zstd(e) => e,
            Encoder::Xz(e) => e,
            Encoder::Bzip2(e) => e,
            Encoder::Lz4(e) => e,
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_writes_the_same_bytes_for_any_number_of_threads() {
        let log = crate::app::sample::log(5, 200_000, 50);
        let write = |threads: usize| {
            let levels = Levels { threads, ..Levels::default() };
            let mut encoder = Encoder::new(Format::Zstd, Vec::new(), levels).unwrap();
            for piece in log.chunks(256 * 1024) {
                encoder.write_all(piece).unwrap();
            }
            encoder.finish().unwrap()
        };
        let one = write(1);
        for threads in [2, 3, 8] {
            assert!(write(threads) == one, "{threads} threads wrote other bytes");
        }
        assert!(zstd::decode_all(&one[..]).unwrap() == log);
    }
}
