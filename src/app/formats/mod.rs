//! Compressed inputs and outputs, recognised by their magic bytes, never by
//! file name: gzip (multi-member too), zstd (pzstd's skippable frames too),
//! xz, bzip2 and lz4 frames, several streams or frames one after another
//! included, as logrotate and the parallel compressors write them.
//!
//! Any other compressed or archive format that can be told by its magic
//! (zip, 7z, rar, lzip, lzma, compress, lzop, ...) is
//! [`Format::Unsupported`]: its bytes are never scanned as text, for they
//! would look clean whatever they hold, and never rewritten.

pub(crate) mod gzip_blocks;
mod gzip_members;
pub(crate) mod meta_scan;
mod zstd_frames;

use std::{
    io::{self, BufRead, Read, Write},
    rc::Rc,
};

use flate2::Compression;

pub use gzip_blocks::{GZIP_BLOCK, GzBlocks};
use gzip_members::GzMembers;
use meta_scan::MetaSink;
use zstd_frames::{ZSTD_WINDOW_LOG_MAX, ZstdFrames};

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
    // Text in UTF-16 or UTF-32 (PowerShell's `>` writes UTF-16): a key
    // there is `p\0h\0x\0_\0…`, which no rule sees. Never called clean;
    // iconv turns it into UTF-8, which is scanned.
    (&[0xff, 0xfe], Format::Unsupported(UTF16)),
    (&[0xfe, 0xff], Format::Unsupported(UTF16)),
    (&[0x00, 0x00, 0xfe, 0xff], Format::Unsupported(UTF16)),
];

/// How a byte-order mark of UTF-16 or UTF-32 is named, with what to do.
const UTF16: &str = "UTF-16 or UTF-32 text (convert it to UTF-8 with iconv, then run phx-redact)";

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
            match crate::io::read_retrying(&mut reader, &mut head[start..]) {
                Ok(n) => {
                    head.truncate(start + n);
                    eof = n == 0;
                }
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
/// is a tar archive, V7, POSIX or GNU: a first header whose checksum holds,
/// for a V7 tar has no `ustar` magic. Its text can be scanned, but a marker
/// of another length than the token would break the sizes in its headers.
pub fn is_tar(head: &[u8]) -> bool {
    head.get(..512).is_some_and(|h| tar_header_ok(h.try_into().unwrap()))
}

/// How much of a file's (decompressed) content is looked at for a NUL byte,
/// the sign of binary data, as grep does.
pub const BINARY_HEAD: usize = 8 * 1024;

/// What the content that starts with `head` (decompressed; its first
/// [`BINARY_HEAD`] bytes, or all of it) is, when it is something a
/// redaction would corrupt: an archive or a database that records the
/// lengths and offsets of what it holds, or binary data. None for text.
pub fn framed(head: &[u8]) -> Option<&'static str> {
    if is_tar(head) {
        Some("tar archive")
    } else if head.starts_with(b"!<arch>\n") || head.starts_with(b"!<thin>\n") {
        Some("ar archive")
    } else if head.starts_with(b"SQLite format 3\0") {
        Some("SQLite database")
    } else if head[..head.len().min(BINARY_HEAD)].contains(&0) {
        Some("binary data (NUL bytes)")
    } else {
        None
    }
}

/// Whether a 512-byte block is a tar header: not all zeros (the end of the
/// archive), and its checksum (the sum of its bytes, the checksum field
/// counted as spaces; old tars summed signed bytes) is the one it records.
fn tar_header_ok(block: &[u8; 512]) -> bool {
    if block.iter().all(|&b| b == 0) {
        return false;
    }
    let Some(stored) = tar_octal(&block[148..156]) else { return false };
    let field = |i: usize| (148..156).contains(&i);
    let unsigned: i64 =
        block.iter().enumerate().map(|(i, &b)| if field(i) { 32 } else { i64::from(b) }).sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if field(i) { 32 } else { i64::from(b as i8) })
        .sum();
    i64::try_from(stored).is_ok_and(|stored| stored == unsigned || stored == signed)
}

/// A tar header's octal number: leading spaces, digits, then a NUL or a
/// space. No digits at all is 0.
fn tar_octal(field: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &b in field.iter().skip_while(|&&b| b == b' ').take_while(|&&b| b != 0 && b != b' ') {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// A tar member's size: octal, or GNU's base-256 (first bit set) for
/// sizes octal cannot hold.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 == 0 {
        return tar_octal(field);
    }
    let mut value = u64::from(field[0] & 0x7f);
    for &b in &field[1..] {
        value = value.checked_mul(256)?.checked_add(u64::from(b))?;
    }
    Some(value)
}

/// An archive whose members [`MemberWalk`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Archive {
    /// tar: 512-byte headers, data padded to 512 bytes.
    Tar,
    /// ar (static libraries, `.deb`): an 8-byte magic, then 60-byte
    /// headers, data padded to 2 bytes.
    Ar,
}

impl Archive {
    /// The archive that `head`, a content's first 512 bytes (or all of a
    /// shorter one), starts, if any.
    pub(crate) fn detect(head: &[u8]) -> Option<Archive> {
        if is_tar(head) {
            Some(Archive::Tar)
        } else if head.starts_with(b"!<arch>\n") {
            Some(Archive::Ar)
        } else {
            None
        }
    }

    /// How messages name it, with its article.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Archive::Tar => "a tar archive",
            Archive::Ar => "an ar archive",
        }
    }

    fn header_len(self) -> usize {
        match self {
            Archive::Tar => 512,
            Archive::Ar => 60,
        }
    }

    /// What follows a header: the bytes up to the next header, how many of
    /// them to pass over before the member's content (a BSD ar long name),
    /// and how many of its first bytes to look at (none for what is not a
    /// file's content). None for a block that is not a header: the end of
    /// the archive, or a layout this does not follow.
    fn member(self, header: &[u8]) -> Option<(u64, u64, u64)> {
        match self {
            Archive::Tar => {
                let block: &[u8; 512] = header.try_into().ok()?;
                if !tar_header_ok(block) {
                    return None;
                }
                let size = tar_size(&block[124..136])?;
                // Regular files ('0', or NUL in old tars; '7' contiguous):
                // the other types' data (long names, pax records) is not a
                // file's content.
                let regular = matches!(block[156], b'0' | 0 | b'7');
                Some((size.div_ceil(512) * 512, 0, if regular { size } else { 0 }))
            }
            Archive::Ar => {
                if &header[58..60] != b"`\n" {
                    return None;
                }
                let decimal = |field: &[u8]| -> Option<u64> {
                    std::str::from_utf8(field).ok()?.trim_end().parse().ok()
                };
                let size = decimal(&header[48..58])?;
                let name = &header[..16];
                // The symbol table and the GNU long-name table.
                let table = name.starts_with(b"/ ")
                    || name.starts_with(b"/SYM64/")
                    || name.starts_with(b"// ")
                    || name.starts_with(b"__.SYMDEF");
                let skip = match name.strip_prefix(b"#1/") {
                    Some(len) => decimal(len)?.min(size),
                    None => 0,
                };
                Some((size + size % 2, skip, if table { 0 } else { size - skip }))
            }
        }
    }
}

/// Follows an archive's headers as its bytes pass, and tells the format of
/// each member's first bytes: a member stored compressed (or as an archive
/// phx-redact cannot read) cannot be checked as text, so the archive must
/// not be called clean.
///
/// A block that is not a header (the end of the archive, or a layout this
/// does not follow, such as a pax size for a tar member over 8 GiB) ends
/// the walk.
#[derive(Debug)]
pub(crate) struct MemberWalk {
    archive: Archive,
    state: Walk,
}

#[derive(Debug)]
enum Walk {
    /// This many bytes of a header so far.
    Header(Vec<u8>),
    /// Between two headers: `left` bytes to come, of which the first `skip`
    /// are passed over, and the `want` after them are gathered in `head`
    /// to tell their format.
    Data {
        left: u64,
        skip: u64,
        want: u64,
        head: Vec<u8>,
    },
    Done,
}

/// The most bytes of a member looked at: every magic fits, and the lzma
/// header's 13 bytes.
const MEMBER_HEAD: u64 = 16;

impl MemberWalk {
    /// A walk from the first byte of an archive.
    pub(crate) fn new(archive: Archive) -> MemberWalk {
        let state = match archive {
            Archive::Tar => Walk::Header(Vec::with_capacity(512)),
            Archive::Ar => Walk::Data { left: 8, skip: 8, want: 0, head: Vec::new() },
        };
        MemberWalk { archive, state }
    }

    /// The archive walked.
    pub(crate) fn archive(&self) -> Archive {
        self.archive
    }

    /// Takes the archive's next bytes. Returns the format of a member
    /// stored other than as plain bytes, once one is found.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Option<Format> {
        let header_len = self.archive.header_len();
        while !data.is_empty() {
            match &mut self.state {
                Walk::Done => return None,
                Walk::Header(header) => {
                    let n = (header_len - header.len()).min(data.len());
                    header.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if header.len() < header_len {
                        continue;
                    }
                    self.state = match self.archive.member(header) {
                        Some((left, skip, want)) => {
                            Walk::Data { left, skip, want: want.min(MEMBER_HEAD), head: Vec::new() }
                        }
                        None => Walk::Done,
                    };
                }
                Walk::Data { left, skip, want, head } => {
                    let mut n = (*left).min(data.len() as u64) as usize;
                    // What is passed over first.
                    let passed = (*skip).min(n as u64) as usize;
                    *skip -= passed as u64;
                    *left -= passed as u64;
                    data = &data[passed..];
                    n -= passed;
                    let take = (*want - head.len() as u64).min(n as u64) as usize;
                    if take > 0 {
                        head.extend_from_slice(&data[..take]);
                        if head.len() as u64 == *want {
                            let format = Format::detect(head);
                            if format != Format::Plain {
                                self.state = Walk::Done;
                                return Some(format);
                            }
                        }
                    }
                    *left -= n as u64;
                    data = &data[n..];
                    if *left == 0 {
                        self.state = Walk::Header(Vec::with_capacity(header_len));
                    }
                }
            }
        }
        None
    }
}

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
    /// is: gzip members are cut at fixed offsets ([`GzBlocks`]), and zstd
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

/// The decompressed bytes of `reader`, stored as `format`. The bytes
/// around the content that a decoder would step over unseen (gzip's header
/// fields, skippable frames) go to `meta`, to be scanned; a decoder that
/// would need more memory than phx-redact allows fails with an
/// [`OverLimit`] error.
///
/// # Errors
///
/// Those of setting up the zstd or xz decoder; `Unsupported` for a format
/// that cannot be read.
pub(crate) fn decoder<'a, R: BufRead + 'a>(
    format: Format,
    reader: R,
    meta: &MetaSink,
) -> io::Result<Box<dyn Read + 'a>> {
    let meta = Rc::clone(meta);
    Ok(match format {
        Format::Plain => Box::new(reader),
        Format::Gzip => Box::new(GzMembers::new(reader, meta)),
        // libzstd steps over skippable frames and reads on past each frame.
        Format::Zstd => {
            let walked = PzstdLayout::new(ZstdFrames::new(reader, meta));
            let mut decoder = zstd::stream::read::Decoder::new(walked)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(decoder)
        }
        Format::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_MAX,
                liblzma::stream::CONCATENATED,
            )?;
            Box::new(XzLimited(liblzma::bufread::XzDecoder::new_stream(reader, stream)))
        }
        Format::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(reader)),
        Format::Lz4 => Box::new(Lz4Frames::new(reader, meta)),
        Format::Unsupported(name) => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, format!("{name} data")));
        }
    })
}

/// The most memory liblzma may use to decode an xz file: what `xz -9`'s
/// 64 MiB dictionary needs (65 MiB), with room to spare, but not the
/// gigabytes a dictionary declared by a hostile header would take.
pub const XZ_MEMORY_MAX: u64 = 96 << 20;

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

/// An xz decoder whose memory limit, when reached, says so.
struct XzLimited<R: BufRead>(liblzma::bufread::XzDecoder<R>);

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
                crate::app::formats::zstd_frames::size(XZ_MEMORY_MAX)
            )))
        })
    }
}

/// LZ4 frames one after another, skippable ones stepped over.
///
/// lz4_flex's decoder ends its stream at the end of each frame, and also
/// when its input ends between two blocks of a frame, where the input was
/// cut short. So this reads on while input is left, and calls the end of
/// input inside a frame what it is.
struct Lz4Frames<R: BufRead> {
    decoder: lz4_flex::frame::FrameDecoder<DryWatch<R>>,
    meta: MetaSink,
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
    fn new(inner: R, meta: MetaSink) -> Lz4Frames<R> {
        let watch = DryWatch { inner, ran_dry: false };
        Lz4Frames { decoder: lz4_flex::frame::FrameDecoder::new(watch), meta }
    }

    /// Passes a skippable frame's `len` bytes of payload to the metadata
    /// scanner as they come.
    fn skip(&mut self, mut len: u64) -> io::Result<()> {
        let mut meta = self.meta.borrow_mut();
        meta.start("lz4 skippable frame");
        let inner = &mut self.decoder.get_mut().inner;
        while len > 0 {
            let data = inner.fill_buf()?;
            if data.is_empty() {
                return Err(truncated("skippable frame"));
            }
            let n = data.len().min(usize::try_from(len).unwrap_or(usize::MAX));
            meta.feed(&data[..n]);
            inner.consume(n);
            len -= n as u64;
        }
        meta.end();
        Ok(())
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
                    self.skip(len)?;
                    // A skippable frame may end the input (lz4 reads
                    // such a file): the decoder must not be asked for a
                    // frame that is not there.
                    if self.decoder.get_mut().inner.fill_buf()?.is_empty() {
                        return Ok(0);
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
    /// gzip, one member per [`GZIP_BLOCK`] bytes, compressed in parallel.
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

    /// A V7 tar header for a regular file, checksum included.
    fn tar_header(name: &str, size: usize) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in members {
            out.extend(tar_header(name, data.len()));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = b"!<arch>\n".to_vec();
        for (name, data) in members {
            out.extend(
                format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, 644, data.len())
                    .bytes(),
            );
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    /// What a walk finds, fed the archive whole and a byte at a time.
    fn walk(archive: Archive, bytes: &[u8]) -> Option<Format> {
        let whole = MemberWalk::new(archive).feed(bytes);
        let mut walk = MemberWalk::new(archive);
        let trickled = bytes.iter().find_map(|b| walk.feed(std::slice::from_ref(b)));
        assert_eq!(whole, trickled);
        whole
    }

    #[test]
    fn archive_members_stored_compressed_are_found_wherever_reads_cut() {
        let gz = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        let text: &[u8] = b"odd-length text\n!";
        let v7 = tar(&[("a.log", text), ("empty", b""), ("b.log.gz", &gz)]);
        assert_eq!(Archive::detect(&v7), Some(Archive::Tar));
        assert_eq!(walk(Archive::Tar, &v7), Some(Format::Gzip));
        assert_eq!(walk(Archive::Tar, &tar(&[("a.log", text), ("c.log", text)])), None);
        let a = ar(&[("a.log/", text), ("#1/8", b"long.gz\0\x28\xb5\x2f\xfd....")]);
        assert_eq!(Archive::detect(&a), Some(Archive::Ar));
        assert_eq!(walk(Archive::Ar, &a), Some(Format::Zstd));
        assert_eq!(walk(Archive::Ar, &ar(&[("a.log/", text), ("b.log/", text)])), None);
        // Text that only starts like a header is no archive.
        assert_eq!(Archive::detect(&[b'x'; 512]), None);
        assert!(!is_tar(&[0; 512]));
    }

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
