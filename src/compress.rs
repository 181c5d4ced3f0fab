//! Compressed inputs and outputs: gzip (multi-member too) and zstd,
//! recognised by their magic bytes, never by file name.

use std::io::{self, BufRead, Read, Write};

use flate2::{Compression, bufread::MultiGzDecoder, write::GzEncoder};

/// How a file's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// As they are.
    Plain,
    /// gzip, one member or several (as pigz and some logrotate setups write).
    Gzip,
    /// Zstandard, one frame or several.
    Zstd,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

impl Format {
    /// The format whose magic bytes `head` starts with.
    pub fn detect(head: &[u8]) -> Format {
        if head.starts_with(GZIP_MAGIC) {
            Format::Gzip
        } else if head.starts_with(ZSTD_MAGIC) {
            Format::Zstd
        } else {
            Format::Plain
        }
    }

    /// Reads the first bytes of `reader` (without consuming them) and tells
    /// the format.
    ///
    /// # Errors
    ///
    /// Those of reading.
    pub fn sniff<R: BufRead>(reader: &mut R) -> io::Result<Format> {
        // A short first read could split the magic; files give whole blocks,
        // so one fill is enough for them.
        Ok(Format::detect(reader.fill_buf()?))
    }

    /// The name messages use.
    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
        }
    }
}

/// Compression levels for what is written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Levels {
    /// gzip, 0–9.
    pub gzip: u32,
    /// zstd, 1–19.
    pub zstd: i32,
}

impl Default for Levels {
    /// gzip 6 and zstd 3: the tools' own defaults, so that a scrubbed
    /// archive is about as large as the one it replaces.
    fn default() -> Levels {
        Levels { gzip: 6, zstd: 3 }
    }
}

/// The decompressed bytes of `reader`, stored as `format`.
///
/// # Errors
///
/// Those of setting up the zstd decoder.
pub fn decoder<'a, R: BufRead + 'a>(format: Format, reader: R) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match format {
        Format::Plain => Box::new(reader),
        Format::Gzip => Box::new(MultiGzDecoder::new(reader)),
        Format::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
    })
}

/// A writer that stores what it is given as `format`.
pub enum Encoder<W: Write> {
    /// As it is.
    Plain(W),
    /// gzip, one member.
    Gzip(GzEncoder<W>),
    /// zstd, one frame.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// An encoder to `inner` at the given levels.
    ///
    /// # Errors
    ///
    /// Those of setting up the zstd encoder.
    pub fn new(format: Format, inner: W, levels: Levels) -> io::Result<Encoder<W>> {
        Ok(match format {
            Format::Plain => Encoder::Plain(inner),
            Format::Gzip => Encoder::Gzip(GzEncoder::new(inner, Compression::new(levels.gzip))),
            Format::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, levels.zstd)?),
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
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(buf),
            Encoder::Gzip(e) => e.write_all(buf),
            Encoder::Zstd(e) => e.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}
