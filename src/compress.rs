//! Compressed inputs and outputs, recognised by their magic bytes, never by
//! file name: gzip (multi-member too), zstd (pzstd's skippable frames too),
//! xz, bzip2 and lz4 frames, several streams or frames one after another
//! included, as logrotate and the parallel compressors write them.
//!
//! Any other compressed or archive format that can be told by its magic
//! (zip, 7z, rar, lzip, lzma, compress, lzop, ...) is
//! [`Format::Unsupported`]: its bytes are never scanned as text, for they
//! would look clean whatever they hold, and never rewritten.

use std::io::{self, BufRead, Read, Write};

use flate2::{Compression, bufread::MultiGzDecoder, write::GzEncoder};

/// How a file's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// As they are.
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

/// The most bytes looked at to tell a format: enough to step over pzstd's
/// skippable frames (12 bytes each) and any small one before a frame.
pub const SNIFF_MAX: usize = 64 * 1024;

/// A stream whose first bytes were read to tell its format, and that
/// yields them again.
pub type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Magic bytes and the format they start. Longer ones that share a first
/// byte with a shorter one come first.
const MAGICS: &[(&[u8], Format)] = &[
    (&[0x1f, 0x8b], Format::Gzip),
    (&[0x28, 0xb5, 0x2f, 0xfd], Format::Zstd),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Format::Xz),
    (&[0x04, 0x22, 0x4d, 0x18], Format::Lz4),
    (&[0x02, 0x21, 0x4c, 0x18], Format::Unsupported("lz4 legacy")),
    (b"PK\x03\x04", Format::Unsupported("zip")),
    (b"PK\x05\x06", Format::Unsupported("zip")),
    (b"PK\x07\x08", Format::Unsupported("zip")),
    (&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c], Format::Unsupported("7z")),
    (b"Rar!\x1a\x07", Format::Unsupported("rar")),
    (b"LZIP\x01", Format::Unsupported("lzip")),
    (&[0x1f, 0x9d], Format::Unsupported("compress (.Z)")),
    (&[0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a], Format::Unsupported("lzop")),
    (b"BZ3v1", Format::Unsupported("bzip3")),
];

/// What the first bytes of a stream say so far.
enum Verdict {
    Is(Format),
    /// The bytes seen are the start of some magic: more are needed.
    NeedMore,
}

/// Whether `head` starts with `magic`, cannot, or might once more is read.
fn starts(head: &[u8], magic: &[u8]) -> Option<bool> {
    let n = head.len().min(magic.len());
    if head[..n] != magic[..n] {
        Some(false)
    } else if n == magic.len() {
        Some(true)
    } else {
        None
    }
}

/// Reads `head`, all of it if `complete`, else the first bytes of more.
fn verdict(head: &[u8], complete: bool) -> Verdict {
    use Verdict::{Is, NeedMore};
    let complete = complete || head.len() >= SNIFF_MAX;
    let mut undecided = false;
    // Skippable frames (zstd's and lz4's, 0x184D2A50..5F; pzstd puts one
    // before each frame) lead: the frame after them tells the format.
    match starts_skippable(head) {
        Some(true) => {
            let len = head.get(4..8).map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
            let rest = len.and_then(|len| head.get(len.checked_add(8)?..));
            return match rest.filter(|rest| !rest.is_empty()) {
                Some(rest) => match verdict(rest, complete) {
                    Is(Format::Lz4) => Is(Format::Lz4),
                    // What else follows is for the zstd decoder to refuse.
                    Is(_) => Is(Format::Zstd),
                    NeedMore => NeedMore,
                },
                // Only skippable frames, or one larger than we look at.
                None if complete => Is(Format::Zstd),
                None => NeedMore,
            };
        }
        Some(false) => {}
        None => undecided = true,
    }
    let candidates = MAGICS
        .iter()
        .map(|&(magic, format)| (starts(head, magic), format))
        .chain([(bzip2(head), Format::Bzip2), (lzma_alone(head), Format::Unsupported("lzma"))]);
    for (result, format) in candidates {
        match result {
            Some(true) => return Is(format),
            Some(false) => {}
            None => undecided = true,
        }
    }
    if undecided && !complete { NeedMore } else { Is(Format::Plain) }
}

/// Whether `head` starts with a skippable frame's magic.
fn starts_skippable(head: &[u8]) -> Option<bool> {
    match head {
        [] => None,
        [first, rest @ ..] if first & 0xf0 == 0x50 => starts(rest, &[0x2a, 0x4d, 0x18]),
        _ => Some(false),
    }
}

/// bzip2: `BZh` and a block size digit, then a block or the end-of-stream
/// marker; so much keeps a text that starts with "BZh9" plain.
fn bzip2(head: &[u8]) -> Option<bool> {
    if !starts(head, b"BZh")? {
        return Some(false);
    }
    match head.get(3) {
        None => None,
        Some(b'1'..=b'9') => {
            let block = starts(&head[4..], &[0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
            let end = starts(&head[4..], &[0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);
            match (block, end) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }
        }
        Some(_) => Some(false),
    }
}

/// The legacy `.lzma` format has no magic; its 13-byte header is told by
/// the usual properties byte (0x5D), a dictionary size of 2^n or
/// 2^n + 2^(n-1) bytes, and a size that is unknown (all ones) or below 2^48.
fn lzma_alone(head: &[u8]) -> Option<bool> {
    if *head.first()? != 0x5d {
        return Some(false);
    }
    // Such a dictionary size is a multiple of 256: its low byte is 0, which
    // tells a line that starts with "]" at its second byte.
    if *head.get(1)? != 0 {
        return Some(false);
    }
    let header = head.get(..13)?;
    let dict = u32::from_le_bytes(header[1..5].try_into().unwrap());
    let size = u64::from_le_bytes(header[5..13].try_into().unwrap());
    let dict_ok = dict >= 4096 && {
        let top = 1 << (31 - dict.leading_zeros());
        dict == top || dict == top + top / 2
    };
    Some(dict_ok && (size == u64::MAX || size < 1 << 48))
}

impl Format {
    /// The format of a stream whose first bytes are `head`: all of it, or
    /// at least [`SNIFF_MAX`] bytes of it. A head too short to hold a magic
    /// whole is plain.
    pub fn detect(head: &[u8]) -> Format {
        match verdict(head, true) {
            Verdict::Is(format) => format,
            Verdict::NeedMore => Format::Plain,
        }
    }

    /// Reads the first bytes of a regular file through `reader` (without
    /// consuming them) and tells the format. The first fill of a file's
    /// reader holds the whole file or a whole buffer, which must be at
    /// least [`SNIFF_MAX`] bytes; use [`Format::sniff_stream`] for a pipe.
    ///
    /// # Errors
    ///
    /// Those of reading.
    pub fn sniff<R: BufRead>(reader: &mut R) -> io::Result<Format> {
        Ok(Format::detect(reader.fill_buf()?))
    }

    /// Reads from `reader` just as many bytes as tell the format, however
    /// short its reads (a pipe's can be one byte), and returns the format
    /// and a reader that yields every byte again, those read included.
    /// Text that starts with no magic is told at its first byte, so a live
    /// stream is not held back.
    ///
    /// # Errors
    ///
    /// Those of reading.
    pub fn sniff_stream<R: Read>(mut reader: R) -> io::Result<(Format, Sniffed<R>)> {
        let mut head = Vec::new();
        let mut eof = false;
        let format = loop {
            match verdict(&head, eof) {
                Verdict::Is(format) => break format,
                Verdict::NeedMore => {}
            }
            let start = head.len();
            head.resize(SNIFF_MAX, 0);
            match reader.read(&mut head[start..]) {
                Ok(n) => {
                    head.truncate(start + n);
                    eof = n == 0;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => head.truncate(start),
                Err(e) => return Err(e),
            }
        };
        Ok((format, io::Cursor::new(head).chain(reader)))
    }

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
}

/// Whether `head`, the first bytes of a file's content (decompressed),
/// is a tar archive (POSIX or GNU): its text can be scanned, but a marker
/// of another length than the token would break the sizes in its headers.
pub fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// Compression levels for what is written back. lz4 has one speed.
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
}

impl Default for Levels {
    /// gzip 6, zstd 3, xz 6 and bzip2 9: the tools' own defaults, so that a
    /// scrubbed archive is about as large as the one it replaces.
    fn default() -> Levels {
        Levels { gzip: 6, zstd: 3, xz: 6, bzip2: 9 }
    }
}

/// The decompressed bytes of `reader`, stored as `format`.
///
/// # Errors
///
/// Those of setting up the zstd decoder; `Unsupported` for a format that
/// cannot be read.
pub fn decoder<'a, R: BufRead + 'a>(format: Format, reader: R) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match format {
        Format::Plain => Box::new(reader),
        Format::Gzip => Box::new(MultiGzDecoder::new(reader)),
        // libzstd steps over skippable frames and reads on past each frame.
        Format::Zstd => Box::new(zstd::stream::read::Decoder::new(PzstdLayout::new(reader))?),
        Format::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(reader)),
        Format::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(reader)),
        Format::Lz4 => Box::new(Lz4Frames::new(reader)),
        Format::Unsupported(name) => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, format!("{name} data")));
        }
    })
}

/// LZ4 frames one after another, skippable ones stepped over.
///
/// lz4_flex's decoder ends its stream at the end of each frame, and also
/// when its input ends between two blocks of a frame, where the input was
/// cut short. So this reads on while input is left, and calls the end of
/// input inside a frame what it is.
struct Lz4Frames<R: BufRead> {
    decoder: lz4_flex::frame::FrameDecoder<DryWatch<R>>,
}

/// A reader that remembers whether it was ever asked for bytes it did not
/// have: only a frame cut short asks past the end.
struct DryWatch<R> {
    inner: R,
    ran_dry: bool,
}

impl<R: Read> Read for DryWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ran_dry |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl<R: BufRead> Lz4Frames<R> {
    fn new(inner: R) -> Lz4Frames<R> {
        let watch = DryWatch { inner, ran_dry: false };
        Lz4Frames { decoder: lz4_flex::frame::FrameDecoder::new(watch) }
    }
}

fn truncated(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, format!("{what} cut short"))
}

impl<R: BufRead> Read for Lz4Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.decoder.read(buf) {
                Ok(0) => {}
                Ok(n) => return Ok(n),
                Err(e) => {
                    // The decoder has read a skippable frame's header and
                    // leaves its content to us.
                    let skip = e.get_ref().and_then(|e| e.downcast_ref()).and_then(|e| match e {
                        lz4_flex::frame::Error::SkippableFrame(len) => Some(u64::from(*len)),
                        _ => None,
                    });
                    let Some(len) = skip else { return Err(e) };
                    let watch = self.decoder.get_mut();
                    let skipped = io::copy(&mut (&mut watch.inner).take(len), &mut io::sink())?;
                    if skipped < len {
                        return Err(truncated("skippable frame"));
                    }
                    continue;
                }
            }
            let watch = self.decoder.get_mut();
            if watch.ran_dry {
                return Err(truncated("lz4 frame"));
            }
            if watch.inner.fill_buf()?.is_empty() {
                return Ok(0);
            }
            // Another frame follows.
        }
    }
}

/// zstd input passed through as it is, checked against pzstd's layout while
/// it holds: a skippable frame of 4 bytes giving the size of the zstd frame
/// that follows, over and over. libzstd takes a skippable frame with
/// nothing after it for a whole stream, so a pzstd file cut just after one
/// would read as complete; here it is truncated. Input that leaves the
/// layout (plain zstd) is left to libzstd alone.
struct PzstdLayout<R> {
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
    fn new(inner: R) -> PzstdLayout<R> {
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

/// A writer that stores what it is given as `format`.
pub enum Encoder<W: Write> {
    /// As it is.
    Plain(W),
    /// gzip, one member.
    Gzip(GzEncoder<W>),
    /// zstd, one frame (pzstd reads it, on one thread).
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
            Format::Gzip => Encoder::Gzip(GzEncoder::new(inner, Compression::new(levels.gzip))),
            Format::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, levels.zstd)?),
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
    fn a_magic_split_over_short_reads_is_still_told() {
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0x00, 1, 2, 3];
        // One byte per read, as a pipe may give.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (format, mut rest) = Format::sniff_stream(Trickle(&xz)).unwrap();
        assert_eq!(format, Format::Xz);
        let mut all = Vec::new();
        rest.read_to_end(&mut all).unwrap();
        assert_eq!(all, xz);
        // Text is told at its first byte: nothing more is read.
        let (format, _) = Format::sniff_stream(Trickle(b"2026-11-28 GET /")).unwrap();
        assert_eq!(format, Format::Plain);
    }

    #[test]
    fn skippable_frames_lead_to_the_frame_after_them() {
        let skip = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 9, 9, 9, 9];
        let zstd = [&skip[..], &[0x28, 0xb5, 0x2f, 0xfd]].concat();
        let lz4 = [&skip[..], &skip[..], &[0x04, 0x22, 0x4d, 0x18]].concat();
        assert_eq!(Format::detect(&zstd), Format::Zstd);
        assert_eq!(Format::detect(&lz4), Format::Lz4);
        assert_eq!(Format::detect(&skip), Format::Zstd);
        assert_eq!(Format::detect(b"P*M"), Format::Plain);
    }

    #[test]
    fn lzma_alone_headers_and_look_alikes() {
        let mut header = vec![0x5d, 0, 0, 0x80, 0];
        header.extend_from_slice(&[0xff; 8]);
        assert_eq!(Format::detect(&header), Format::Unsupported("lzma"));
        assert_eq!(Format::detect(b"]\0\0\0\0 text that is not lzma"), Format::Plain);
        assert_eq!(Format::detect(b"] closing bracket\n"), Format::Plain);
        // A live line starting with "]" is told at its second byte.
        assert!(matches!(verdict(b"]x", false), Verdict::Is(Format::Plain)));
    }
}
