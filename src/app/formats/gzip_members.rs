//! gzip read member by member, every member's header parsed here rather
//! than inside flate2: its free fields (FEXTRA, FNAME, FCOMMENT) stream to
//! the metadata scanner (see [`meta_scan`](crate::app::formats::meta_scan))
//! whatever their length, which flate2 would gather whole in memory and
//! never show but the first member's. The deflate data between header and
//! trailer goes through flate2's raw decoder, and is checked against the
//! member's CRC-32 and size as `gzip -d` checks it.

use std::io::{self, BufRead, Read};

use flate2::{Crc, bufread::DeflateDecoder};

use crate::app::formats::meta_scan::MetaSink;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// The content of gzip members one after another (RFC 1952), their header
/// fields scanned.
pub(crate) struct GzMembers<R: BufRead> {
    state: State<R>,
    meta: MetaSink,
}

enum State<R: BufRead> {
    /// At a member's first byte.
    Header(R),
    /// In a member's deflate data, with the CRC of its content so far.
    Body(DeflateDecoder<R>, Crc),
    /// After the last member.
    Done,
    /// After an error: reading on fails again rather than end quietly.
    Failed,
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

impl<R: BufRead> GzMembers<R> {
    pub(crate) fn new(inner: R, meta: MetaSink) -> GzMembers<R> {
        GzMembers { state: State::Header(inner), meta }
    }

    fn step(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Header(mut inner) => {
                read_header(&mut inner, &self.meta)?;
                self.state = State::Body(DeflateDecoder::new(inner), Crc::new());
                Ok(None)
            }
            State::Body(mut decoder, mut crc) => {
                let n = decoder.read(buf)?;
                if n > 0 {
                    crc.update(&buf[..n]);
                    self.state = State::Body(decoder, crc);
                    return Ok(Some(n));
                }
                let mut inner = decoder.into_inner();
                let mut trailer = [0; 8];
                read_all(&mut inner, &mut trailer, "gzip member")?;
                if u32::from_le_bytes(trailer[..4].try_into().unwrap()) != crc.sum() {
                    return Err(invalid("a gzip member's CRC-32 does not match its content"));
                }
                if u32::from_le_bytes(trailer[4..].try_into().unwrap()) != crc.amount() {
                    return Err(invalid("a gzip member's size does not match its content"));
                }
                self.state = match inner.fill_buf()?.is_empty() {
                    true => State::Done,
                    false => State::Header(inner),
                };
                Ok(None)
            }
            State::Done => {
                self.state = State::Done;
                Ok(Some(0))
            }
            State::Failed => Err(io::Error::other("gzip data failed before")),
        }
    }
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.step(buf)? {
                return Ok(n);
            }
        }
    }
}

/// Fills `buf` from `inner`; running out is `what` cut short.
fn read_all<R: Read>(inner: &mut R, buf: &mut [u8], what: &str) -> io::Result<()> {
    inner.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            io::Error::new(io::ErrorKind::UnexpectedEof, format!("{what} cut short"))
        }
        _ => e,
    })
}

/// Reads a member's header, up to its deflate data, its free fields
/// handed to `meta` as they pass.
fn read_header<R: BufRead>(inner: &mut R, meta: &MetaSink) -> io::Result<()> {
    let mut crc = Crc::new();
    let mut fixed = [0; 10];
    read_all(inner, &mut fixed, "gzip header")?;
    crc.update(&fixed);
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid("bytes that are not a gzip member after the last one"));
    }
    if fixed[2] != 8 {
        return Err(invalid("a gzip member of an unknown compression method"));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("a gzip header with reserved flags set"));
    }
    let mut meta = meta.borrow_mut();
    if flags & FEXTRA != 0 {
        let mut len = [0; 2];
        read_all(inner, &mut len, "gzip header")?;
        crc.update(&len);
        meta.start("gzip header FEXTRA");
        let left = u64::from(u16::from_le_bytes(len));
        field(inner, &mut crc, Some(left), |data| meta.feed(data))?;
        meta.end();
    }
    for (flag, place) in [(FNAME, "gzip header FNAME"), (FCOMMENT, "gzip header FCOMMENT")] {
        if flags & flag != 0 {
            meta.start(place);
            field(inner, &mut crc, None, |data| meta.feed(data))?;
            meta.end();
        }
    }
    if flags & FHCRC != 0 {
        let mut stored = [0; 2];
        read_all(inner, &mut stored, "gzip header")?;
        if u16::from_le_bytes(stored) != crc.sum() as u16 {
            return Err(invalid("a gzip header's CRC does not match it"));
        }
    }
    Ok(())
}

/// Passes a field's bytes to `scan` as they come, without gathering them:
/// `len` of them, or up to a NUL (which is not passed) when `len` is None.
fn field<R: BufRead>(
    inner: &mut R,
    crc: &mut Crc,
    mut len: Option<u64>,
    mut scan: impl FnMut(&[u8]),
) -> io::Result<()> {
    loop {
        if len == Some(0) {
            return Ok(());
        }
        let data = inner.fill_buf()?;
        if data.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gzip header cut short"));
        }
        let (take, used, ended) = match len {
            Some(left) => {
                let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                len = Some(left - n as u64);
                (n, n, false)
            }
            None => match memchr::memchr(0, data) {
                Some(nul) => (nul, nul + 1, true),
                None => (data.len(), data.len(), false),
            },
        };
        scan(&data[..take]);
        crc.update(&data[..used]);
        inner.consume(used);
        if ended {
            return Ok(());
        }
    }
}
