//! What decompressed content holds that a redaction would corrupt, or that
//! cannot be checked as text: a tar or an ar archive, which records the
//! sizes of its members, a database, binary data; and, inside an archive,
//! a member stored compressed, found by following the archive's headers as
//! its bytes pass ([`MemberWalk`]).

use crate::app::formats::format::Format;
use crate::app::formats::tar_header::{is_tar, tar_header_ok, tar_size};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
