//! A stream through the redactor: read by read, each read one write when
//! the output is a pipe, decompressed layer by layer, with the members of a
//! gzip or zstd file watched for what cannot be read as text.

use crate::io::READ_SIZE;
use std::io::{self, BufRead, BufReader, Read, Write};

use crate::app::Error;
use crate::{
    Redactor,
    app::formats::{self, Format},
};

use crate::app::formats::meta_scan::{MetaScan, MetaSink};
use crate::io::read_retrying;

/// Redacts everything `reader` yields into `out`, in reads of `buf`'s size.
/// With `flush_each_read`, flushes `out` after each read so that each line
/// goes on as soon as it arrives (a filter); without, leaves buffering to
/// `out` (a compressor, a file). Ends the stream
/// (writes what was held back) at end of input, and also when reading fails,
/// so that nothing read is lost.
///
/// # Errors
///
/// [`Error::Read`] when reading fails, [`Error::Write`] when writing does.
pub fn redact_stream<R: Read + ?Sized, W: Write + ?Sized>(
    redactor: &mut Redactor,
    reader: &mut R,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
) -> Result<(), Error> {
    pump(redactor, reader, out, buf, flush_each_read, |_| false).map(drop)
}

/// [`redact_stream`] that stops early, without ending the stream, as soon as
/// `stop` says so after a read. Returns whether it stopped early.
fn pump<R: Read + ?Sized, W: Write + ?Sized>(
    redactor: &mut Redactor,
    reader: &mut R,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
    mut stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<bool, Error> {
    let flush = |out: &mut W| if flush_each_read { out.flush() } else { Ok(()) };
    loop {
        let n = match read_retrying(reader, buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                redactor.finish(out).and_then(|()| out.flush()).map_err(Error::Write)?;
                return Err(Error::Read(e));
            }
        };
        redactor.feed(&buf[..n], out).and_then(|()| flush(out)).map_err(Error::Write)?;
        if stop(redactor) {
            return Ok(true);
        }
    }
    redactor.finish(out).and_then(|()| out.flush()).map_err(Error::Write)?;
    Ok(false)
}

/// [`redact_stream`] over the decompressed content of `reader`, which is
/// stored as `format`; decoding errors name the format.
pub(crate) fn redact_stored<R: BufRead, W: Write + ?Sized>(
    redactor: &mut Redactor,
    format: Format,
    reader: R,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
) -> Result<(), Error> {
    pump_stored(redactor, format, reader, out, buf, flush_each_read, |_| false).map(drop)
}

/// Whether the decompressed content of `reader` holds a token: reads up to
/// the first one only. `redactor` is left mid-stream; its stats count what
/// was read.
pub(crate) fn holds_a_token<R: BufRead>(
    redactor: &mut Redactor,
    format: Format,
    reader: R,
    buf: &mut [u8],
) -> Result<bool, Error> {
    let has_token = |r: &mut Redactor| r.stats().total_tokens() > 0;
    pump_stored(redactor, format, reader, &mut io::sink(), buf, false, has_token)?;
    Ok(has_token(redactor))
}

pub(super) fn pump_stored<R: BufRead, W: Write + ?Sized>(
    redactor: &mut Redactor,
    format: Format,
    reader: R,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
    stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<bool, Error> {
    let result = if format == Format::Plain {
        let mut members = Members { inner: (), head: Vec::with_capacity(512), walk: None };
        let mut reader = reader;
        pump_buffered(redactor, &mut reader, Some(&mut members), out, flush_each_read, stop)
    } else {
        // What the decoders find around the content (a key in a gzip
        // header's FNAME, in a skippable frame) counts as the content's,
        // after each read and at the end.
        let meta = MetaScan::sink(redactor.rules());
        let mut stop = stop;
        let result = decode_layers(format, reader, &meta).and_then(|(decoded, _)| {
            let mut members = Members { inner: decoded, head: Vec::with_capacity(512), walk: None };
            pump(redactor, &mut members, out, buf, flush_each_read, |redactor| {
                meta.borrow_mut().hand_over(redactor);
                stop(redactor)
            })
        });
        meta.borrow_mut().hand_over(redactor);
        result
    };
    result.map_err(|e| match e {
        Error::Read(e) => match e.get_ref().and_then(|e| e.downcast_ref::<MemberFormat>()) {
            Some(&MemberFormat(member, archive)) => {
                Error::Nested { member: member.name(), container: archive.name() }
            }
            None => format.read_error(e),
        },
        e => e,
    })
}

/// The most layers of compression read one inside the other (zstd over
/// gzip, say); more is refused as unreadable ("deeply nested compressed
/// data") rather than read as bytes.
const MAX_LAYERS: usize = 3;

/// The content of `reader`, stored as `format`, decompressed, and
/// decompressed again while what comes out is itself compressed: a `.gz`
/// compressed again with zstd must not pass as clean for its gzip bytes.
/// Also returns the formats, outermost first (one, `Plain`, for a file
/// stored as it is).
pub(super) fn decode_layers<'a, R: BufRead + 'a>(
    format: Format,
    reader: R,
    meta: &MetaSink,
) -> Result<(Box<dyn Read + 'a>, Vec<Format>), Error> {
    let mut decoded = formats::decoder(format, reader, meta).map_err(|e| format.read_error(e))?;
    let mut layers = vec![format];
    if format == Format::Plain {
        return Ok((decoded, layers));
    }
    loop {
        // Text is told at its first byte: a live stream is not held back.
        let (inner, rest) = Format::sniff_stream(decoded).map_err(|e| format.read_error(e))?;
        if inner == Format::Plain {
            return Ok((Box::new(rest), layers));
        }
        if layers.len() >= MAX_LAYERS {
            return Err(Error::Unsupported { format: "deeply nested compressed" });
        }
        let rest = BufReader::with_capacity(READ_SIZE, rest);
        decoded = formats::decoder(inner, rest, meta).map_err(|e| inner.read_error(e))?;
        layers.push(inner);
    }
}

/// Decompressed content on its way to the redactor, watched: when it is a
/// tar or an ar archive, each member's first bytes are looked at, and one stored
/// compressed ends the read with a [`MemberFormat`] error, for what it
/// holds cannot be checked. The bytes pass as they are, none held back.
pub(super) struct Members<R> {
    inner: R,
    /// The first 512 bytes, until they tell whether this is an archive.
    head: Vec<u8>,
    walk: Option<formats::MemberWalk>,
}

/// The format of an archive's member that cannot be read as text.
#[derive(Debug)]
struct MemberFormat(Format, formats::Archive);

impl std::fmt::Display for MemberFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} member inside {}", self.0.name(), self.1.name())
    }
}

impl std::error::Error for MemberFormat {}

impl<R> Members<R> {
    /// Looks at the next `data` of the content: an error when it shows a
    /// member that cannot be read as text (`at_end`: nothing follows).
    fn watch(&mut self, mut data: &[u8], at_end: bool) -> io::Result<()> {
        let mut found = None;
        if self.walk.is_none() && self.head.len() < 512 {
            let take = (512 - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            // Told from 512 bytes, or from all of a shorter content.
            if self.head.len() == 512 || at_end {
                if let Some(archive) = formats::Archive::detect(&self.head) {
                    let mut walk = formats::MemberWalk::new(archive);
                    found = walk.feed(&self.head).map(|f| (f, archive));
                    self.walk = Some(walk);
                }
                // Never looked at again.
                self.head.resize(512, 0);
            }
        }
        if let Some(walk) = &mut self.walk {
            found = found.or_else(|| walk.feed(data).map(|f| (f, walk.archive())));
        }
        match found {
            Some((format, archive)) => Err(io::Error::other(MemberFormat(format, archive))),
            None => Ok(()),
        }
    }
}

impl<R: Read> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.watch(&buf[..n], n == 0)?;
        Ok(n)
    }
}

/// [`pump`] over a reader's own buffer: each `fill_buf` goes to the
/// redactor as it is, with no copy into a buffer of ours, and is one
/// write when `flush_each_read`. For text read ahead (see
/// [`ReadAhead`]), that is one write per read of the input.
pub(super) fn pump_buffered<R: BufRead + ?Sized, W: Write + ?Sized>(
    redactor: &mut Redactor,
    reader: &mut R,
    mut members: Option<&mut Members<()>>,
    out: &mut W,
    flush_each_read: bool,
    mut stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<bool, Error> {
    let end_then = |redactor: &mut Redactor, out: &mut W, e: io::Error| {
        redactor.finish(out).and_then(|()| out.flush()).map_err(Error::Write)?;
        Err(Error::Read(e))
    };
    loop {
        let data = match reader.fill_buf() {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return end_then(redactor, out, e),
        };
        let n = data.len();
        if let Some(members) = members.as_deref_mut() {
            if let Err(e) = members.watch(data, n == 0) {
                return end_then(redactor, out, e);
            }
        }
        if n == 0 {
            break;
        }
        redactor.feed(data, out).map_err(Error::Write)?;
        reader.consume(n);
        if flush_each_read {
            out.flush().map_err(Error::Write)?;
        }
        if stop(redactor) {
            return Ok(true);
        }
    }
    redactor.finish(out).and_then(|()| out.flush()).map_err(Error::Write)?;
    Ok(false)
}
