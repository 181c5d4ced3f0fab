//! The filter driver: inputs (stdin or files) through a [`Redactor`] to one
//! output, like `cat`.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Write},
    os::{fd::AsRawFd, unix::fs::FileTypeExt},
    path::Path,
};

use crate::{
    Error, Redactor,
    app::compress::{self, Format},
};

use crate::app::inputs::open_nonblocking;
pub use crate::io::READ_SIZE;
use crate::io::read_retrying;

pub use crate::app::inputs::{Input, STDIN_ARG, is_stdin};

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

fn pump_stored<R: BufRead, W: Write + ?Sized>(
    redactor: &mut Redactor,
    format: Format,
    reader: R,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
    stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<bool, Error> {
    let (decoded, _) = decode_layers(format, reader)?;
    let mut members = Members { inner: decoded, head: Vec::with_capacity(512), walk: None };
    pump(redactor, &mut members, out, buf, flush_each_read, stop).map_err(|e| match e {
        Error::Read(e) => match e.get_ref().and_then(|e| e.downcast_ref::<MemberFormat>()) {
            Some(&MemberFormat(member, archive)) => {
                Error::Nested { member: member.name(), container: archive.name() }
            }
            None => Error::corrupt(format, e),
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
fn decode_layers<'a, R: BufRead + 'a>(
    format: Format,
    reader: R,
) -> Result<(Box<dyn Read + 'a>, Vec<Format>), Error> {
    let mut decoded = compress::decoder(format, reader).map_err(|e| Error::corrupt(format, e))?;
    let mut layers = vec![format];
    if format == Format::Plain {
        return Ok((decoded, layers));
    }
    loop {
        // Text is told at its first byte: a live stream is not held back.
        let (inner, rest) = Format::sniff_stream(decoded).map_err(|e| Error::corrupt(format, e))?;
        if inner == Format::Plain {
            return Ok((Box::new(rest), layers));
        }
        if layers.len() >= MAX_LAYERS {
            return Err(Error::Unsupported { format: "deeply nested compressed" });
        }
        let rest = BufReader::with_capacity(READ_SIZE, rest);
        decoded = compress::decoder(inner, rest).map_err(|e| Error::corrupt(inner, e))?;
        layers.push(inner);
    }
}

/// Decompressed content on its way to the redactor, watched: when it is a
/// tar or an ar archive, each member's first bytes are looked at, and one stored
/// compressed ends the read with a [`MemberFormat`] error, for what it
/// holds cannot be checked. The bytes pass as they are, none held back.
struct Members<R> {
    inner: R,
    /// The first 512 bytes, until they tell whether this is an archive.
    head: Vec<u8>,
    walk: Option<compress::MemberWalk>,
}

/// The format of an archive's member that cannot be read as text.
#[derive(Debug)]
struct MemberFormat(Format, compress::Archive);

impl std::fmt::Display for MemberFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} member inside {}", self.0.name(), self.1.name())
    }
}

impl std::error::Error for MemberFormat {}

impl<R: Read> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut data = &buf[..n];
        let mut found = None;
        if self.walk.is_none() && self.head.len() < 512 {
            let take = (512 - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            // Told from 512 bytes, or from all of a shorter content.
            if self.head.len() == 512 || n == 0 {
                if let Some(archive) = compress::Archive::detect(&self.head) {
                    let mut walk = compress::MemberWalk::new(archive);
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
            None => Ok(n),
        }
    }
}

/// Redacts one input into `out`, as a stream of its own: standard input
/// byte for byte, a file decompressed (like `zcat`) when it is compressed.
/// `buf` sets the read size. With `flush_each_read`, `out` is flushed after
/// each read (see [`redact_stream`]).
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Corrupt`] when the input fails,
/// [`Error::Unsupported`] when it is stored in a format that cannot be read,
/// [`Error::Write`] when the output does.
pub fn redact_input<W: Write + ?Sized>(
    redactor: &mut Redactor,
    input: &Input,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
) -> Result<(), Error> {
    pump_input(redactor, input, out, buf, flush_each_read, false, |_| false)
}

/// Reads one input through `redactor` as [`redact_input`] does, for what the
/// redactor records rather than for its output: `after_read` sees the
/// redactor after each read (to take its findings, say), and returns true
/// to stop reading there. Unlike the filter, it decompresses standard input
/// too: a compressed stream must not pass as clean.
///
/// Opening a file never blocks here: a FIFO is read as a stream when a
/// writer has it open (or left data in it), and is an error when none
/// has, rather than a wait for one or an empty input (which would pass for
/// clean).
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Corrupt`] when the input fails,
/// [`Error::Unsupported`] when it is stored in a format that cannot be read.
pub fn inspect_input(
    redactor: &mut Redactor,
    input: &Input,
    buf: &mut [u8],
    after_read: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    pump_input(redactor, input, &mut io::sink(), buf, false, true, after_read)
}

/// Reads a stream through `redactor` as `--check` reads standard input
/// (see [`inspect_input`]): its format told from its first bytes, and
/// compressed content decompressed. For embedders whose input is neither a
/// file nor standard input (a Python file object, an object store).
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Corrupt`] when the stream fails,
/// [`Error::Unsupported`] when it is stored in a format that cannot be read.
pub fn inspect_stream<R: Read>(
    redactor: &mut Redactor,
    reader: R,
    buf: &mut [u8],
    after_read: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    pump_sniffed(redactor, reader, &mut io::sink(), buf, false, after_read)
}

/// A stream whose format is told from its first bytes, decompressed.
fn pump_sniffed<R: Read, W: Write + ?Sized>(
    redactor: &mut Redactor,
    reader: R,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
    stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    let (format, reader) = Format::sniff_stream(reader).map_err(Error::Read)?;
    let reader = BufReader::with_capacity(READ_SIZE, reader);
    pump_stored(redactor, format, reader, out, buf, flush_each_read, stop).map(drop)
}

/// `audit` (for `--check`): standard input is decompressed like a file,
/// since a compressed stream read as bytes would pass as clean, and a FIFO
/// is opened without waiting for its writer. Otherwise (the filter, whose
/// output must be what came in, redacted) standard input passes byte for
/// byte and a path is opened as `cat` opens it.
fn pump_input<W: Write + ?Sized>(
    redactor: &mut Redactor,
    input: &Input,
    out: &mut W,
    buf: &mut [u8],
    flush_each_read: bool,
    audit: bool,
    stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    match input {
        Input::Stdin if !audit => {
            // Byte for byte, compressed or not: a filter's output is what
            // came in, redacted. Compressed bytes cannot be redacted, so
            // they still pass, but the run fails rather than look clean.
            let (format, mut stdin) =
                Format::sniff_stream(io::stdin().lock()).map_err(Error::Read)?;
            pump(redactor, &mut stdin, out, buf, flush_each_read, stop)?;
            match format {
                Format::Plain => Ok(()),
                format => Err(Error::CompressedStdin { format: format.name() }),
            }
        }
        Input::Stdin => pump_sniffed(redactor, io::stdin().lock(), out, buf, flush_each_read, stop),
        Input::Path(path) => {
            let file = if audit {
                open_without_waiting(path)?
            } else {
                BufReader::with_capacity(READ_SIZE, File::open(path).map_err(Error::Read)?)
            };
            // A path can name a pipe (`<(...)`, /dev/stdin), whose reads can
            // be short: the format is told from as many reads as it takes.
            let (format, file) = Format::sniff_stream(file).map_err(Error::Read)?;
            let file = BufReader::with_capacity(READ_SIZE, file);
            pump_stored(redactor, format, file, out, buf, flush_each_read, stop).map(drop)
        }
    }
}

/// What the content of `file`, stored as `format` and read from its start,
/// is when a redaction would break it: an archive, a database or binary
/// data (see [`compress::framed`]), or data compressed twice, which a
/// rewrite would store compressed once. None for text.
pub(crate) fn unrewritable<R: io::Read + io::Seek>(
    format: Format,
    file: &mut R,
) -> Result<Option<String>, Error> {
    file.seek(io::SeekFrom::Start(0)).map_err(Error::Read)?;
    let (decoded, layers) = decode_layers(format, BufReader::new(file))?;
    if layers.len() > 1 {
        let names: Vec<String> =
            layers.iter().rev().map(|f| format!("{} data", f.name())).collect();
        return Ok(Some(names.join(" inside ")));
    }
    let mut head = Vec::with_capacity(compress::BINARY_HEAD);
    decoded
        .take(compress::BINARY_HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::corrupt(format, e))?;
    Ok(compress::framed(&head).map(String::from))
}

/// Opens `path` for reading without waiting for a FIFO's writer, then
/// reads it blocking, as a stream. A FIFO that no writer holds and that
/// holds no data is an error.
fn open_without_waiting(path: &Path) -> Result<BufReader<File>, Error> {
    let file = open_nonblocking(path).map_err(Error::Read)?;
    let fifo = file.metadata().map_err(Error::Read)?.file_type().is_fifo();
    let mut reader = BufReader::with_capacity(READ_SIZE, file);
    if fifo {
        // Without blocking, a read tells the cases apart: data (keep it in
        // the buffer), EAGAIN (a writer, nothing written yet), or end of
        // file (no writer at all).
        match reader.fill_buf() {
            Ok([]) => {
                return Err(Error::Read(io::Error::other(
                    "FIFO with no writer: nothing to read (start its writer first, or pipe \
                     the writer into `phx-redact --check -`)",
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(Error::Read(e)),
        }
    }
    let fd = reader.get_ref().as_raw_fd();
    // SAFETY: `fd` is open while `reader` is; F_GETFL and F_SETFL take ints.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !cleared {
        return Err(Error::Read(io::Error::last_os_error()));
    }
    Ok(reader)
}

/// Redacts `inputs` in order into `out`. Each input is its own stream: a
/// token never spans two inputs.
///
/// An input that cannot be opened or read is passed to `on_error` and the
/// others are still processed; the count of such inputs is returned.
///
/// # Errors
///
/// [`Error::Write`] when the output fails, which ends the run.
pub fn redact_inputs<W: Write + ?Sized>(
    redactor: &mut Redactor,
    inputs: &[Input],
    out: &mut W,
    mut on_error: impl FnMut(&Input, &Error),
) -> Result<usize, Error> {
    let mut buf = vec![0; READ_SIZE];
    let mut failures = 0;
    for input in inputs {
        match redact_input(redactor, input, out, &mut buf, true) {
            Ok(()) => {}
            Err(e @ Error::Write(_)) => return Err(e),
            Err(e) => {
                failures += 1;
                on_error(input, &e);
            }
        }
    }
    Ok(failures)
}

/// The line `--stats` prints: tokens by rule, bytes, time and throughput.
pub fn stats_line(
    stats: &crate::Stats,
    rules: &crate::RuleSet,
    elapsed: std::time::Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    let mib = stats.bytes_in as f64 / (1024.0 * 1024.0);
    let mut by_rule: Vec<String> =
        rules.rules().iter().zip(&stats.tokens).map(|(r, n)| format!("{} {n}", r.name)).collect();
    if stats.capped > 0 {
        by_rule.push(format!("{} {}", crate::engine::rules::CAPPED, stats.capped));
    }
    format!(
        "{} tokens redacted ({}) in {} bytes, {secs:.3} s, {:.1} MiB/s",
        stats.total_tokens(),
        by_rule.join(", "),
        stats.bytes_in,
        if secs > 0.0 { mib / secs } else { 0.0 },
    )
}
