//! Telling a format by its first bytes, never by a file's name: the magic
//! bytes of each format phx-redact reads, and of those it knows it cannot
//! ([`Format::Unsupported`]), told as soon as enough bytes have come that a
//! live stream is not held back.

use std::io::{self, BufRead, Read};

use crate::app::formats::format::Format;

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
