//! The filter driver: inputs (stdin or files) through a [`Redactor`] to one
//! output, like `cat`.

pub mod readahead;
pub mod segments;
pub mod stdio;

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Write},
    os::{fd::AsRawFd, unix::fs::FileTypeExt},
    path::Path,
    sync::Arc,
};

use crate::app::Error;
use crate::{
    Redactor, RuleSet,
    app::formats::{self, Format},
};

use crate::app::{
    formats::meta_scan::{MetaScan, MetaSink},
    inputs::{FileId, open_nonblocking},
};
pub use crate::io::READ_SIZE;
use crate::io::read_retrying;
use readahead::ReadAhead;
use stdio::RawStdin;

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
    meta: &MetaSink,
) -> Result<(Box<dyn Read + 'a>, Vec<Format>), Error> {
    let mut decoded =
        formats::decoder(format, reader, meta).map_err(|e| Error::corrupt(format, e))?;
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
        decoded = formats::decoder(inner, rest, meta).map_err(|e| Error::corrupt(inner, e))?;
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
    let how = Reading::Filter { threads: 1 };
    pump_input(redactor, input, out, buf, flush_each_read, how, |_| false)
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
    inspect_input_on(redactor, input, buf, 1, after_read)
}

/// [`inspect_input`], with a big regular file read and scanned on `threads`
/// threads at once (see [`segments`](crate::app::filter::segments)): for the audit
/// of one input, which would otherwise leave cores idle.
///
/// # Errors
///
/// As [`inspect_input`].
pub fn inspect_input_on(
    redactor: &mut Redactor,
    input: &Input,
    buf: &mut [u8],
    threads: usize,
    after_read: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    let how = Reading::Audit { ahead: true, threads };
    pump_input(redactor, input, &mut io::sink(), buf, false, how, after_read)
}

/// [`inspect_input`], with a file read on the calling thread rather than
/// ahead on one of its own: for callers whose threads already keep every
/// core busy (`--check -j2` over many files), where a reading thread per
/// file would only compete with them.
///
/// # Errors
///
/// As [`inspect_input`].
pub fn inspect_input_here(
    redactor: &mut Redactor,
    input: &Input,
    buf: &mut [u8],
    after_read: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    let how = Reading::Audit { ahead: false, threads: 1 };
    pump_input(redactor, input, &mut io::sink(), buf, false, how, after_read)
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

/// Who reads an input, and so how: see [`pump_input`].
#[derive(Clone, Copy)]
enum Reading {
    /// The filter: standard input byte for byte, files read ahead, or in
    /// segments on `threads` threads when big.
    Filter { threads: usize },
    /// The audit, with files read ahead or on the calling thread, or in
    /// segments on `threads` threads when big.
    Audit { ahead: bool, threads: usize },
}

/// The audit (for `--check`): standard input is decompressed like a file,
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
    how: Reading,
    stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<(), Error> {
    let audit = matches!(how, Reading::Audit { .. });
    match input {
        Input::Stdin if !audit => {
            // Byte for byte, compressed or not: a filter's output is what
            // came in, redacted. Compressed bytes cannot be redacted, so
            // they still pass, but the run fails rather than look clean.
            let stdin = ReadAhead::spawn(RawStdin::new()).map_err(Error::Read)?;
            let (format, mut stdin) = Format::sniff_stream(stdin).map_err(Error::Read)?;
            pump_buffered(redactor, &mut stdin, None, out, flush_each_read, stop)?;
            match format {
                Format::Plain => Ok(()),
                format => Err(Error::CompressedStdin { format: format.name() }),
            }
        }
        Input::Stdin => {
            let stdin = ReadAhead::spawn(RawStdin::new()).map_err(Error::Read)?;
            pump_sniffed(redactor, stdin, out, buf, flush_each_read, stop)
        }
        Input::Path(path) => {
            let (Reading::Filter { threads } | Reading::Audit { threads, .. }) = how;
            if threads > 1 {
                if let Some(mut file) = in_segments(path)? {
                    return segments::pump_segments(
                        redactor,
                        &mut file,
                        threads,
                        out,
                        flush_each_read,
                        !audit,
                        stop,
                    )
                    .map(drop);
                }
            }
            let file = match how {
                Reading::Audit { ahead, .. } => open_without_waiting(path, ahead)?,
                Reading::Filter { .. } => open_ahead(path)?,
            };
            // A path can name a pipe (`<(...)`, /dev/stdin), whose reads can
            // be short: the format is told from as many reads as it takes.
            let (format, file) = Format::sniff_stream(file).map_err(Error::Read)?;
            pump_stored(redactor, format, file, out, buf, flush_each_read, stop).map(drop)
        }
    }
}

/// What the content of `file`, stored as `format` and read from its start,
/// is when a redaction would break it: an archive, a database or binary
/// data (see [`formats::framed`]), or data compressed twice, which a
/// rewrite would store compressed once. None for text.
pub(crate) fn unrewritable<R: io::Read + io::Seek>(
    format: Format,
    file: &mut R,
    rules: &Arc<RuleSet>,
) -> Result<Option<String>, Error> {
    file.seek(io::SeekFrom::Start(0)).map_err(Error::Read)?;
    // Only the layout is wanted here: the fields were scanned before.
    let meta = MetaScan::sink(rules);
    let (decoded, layers) = decode_layers(format, BufReader::new(file), &meta)?;
    if layers.len() > 1 {
        let names: Vec<String> =
            layers.iter().rev().map(|f| format!("{} data", f.name())).collect();
        return Ok(Some(names.join(" inside ")));
    }
    let mut head = Vec::with_capacity(formats::BINARY_HEAD);
    decoded
        .take(formats::BINARY_HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::corrupt(format, e))?;
    Ok(formats::framed(&head).map(String::from))
}

/// An input file, read ahead on a thread of its own when it is a regular
/// file big enough for the overlap to pay for the thread.
enum Opened {
    Ahead(ReadAhead),
    Here(BufReader<File>),
}

impl Read for Opened {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Opened::Ahead(reader) => reader.read(buf),
            Opened::Here(reader) => reader.read(buf),
        }
    }
}

impl BufRead for Opened {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Opened::Ahead(reader) => reader.fill_buf(),
            Opened::Here(reader) => reader.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Opened::Ahead(reader) => reader.consume(amount),
            Opened::Here(reader) => reader.consume(amount),
        }
    }
}

/// Regular files at least this big are read ahead.
const READ_AHEAD_FROM: u64 = 4 * READ_SIZE as u64;

fn ahead_if_worth_it(file: File, ahead: bool) -> Result<Opened, Error> {
    let meta = file.metadata().map_err(Error::Read)?;
    if ahead && meta.is_file() && meta.len() >= READ_AHEAD_FROM {
        return ReadAhead::spawn(file).map(Opened::Ahead).map_err(Error::Read);
    }
    Ok(Opened::Here(BufReader::with_capacity(READ_SIZE, file)))
}

/// `path` opened when it is a regular file worth reading
/// in segments: big, and plain text (neither compressed nor an archive,
/// which go through their decoders and watchers in order).
fn in_segments(path: &Path) -> Result<Option<File>, Error> {
    // Told from its metadata before it is opened: a FIFO is never opened
    // here (opening one can block, or signal its writer when closed).
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() >= segments::SEGMENTS_FROM => {}
        _ => return Ok(None),
    }
    // Opened without blocking, and told again from the open file: the path
    // may have become a FIFO since, whose open would wait for a writer.
    let file = open_nonblocking(path).map_err(Error::Read)?;
    let meta = file.metadata().map_err(Error::Read)?;
    if !meta.is_file() || meta.len() < segments::SEGMENTS_FROM {
        return Ok(None);
    }
    clear_nonblocking(&file)?;
    let mut head = vec![0; 4096];
    let n = read_retrying(&mut &file, &mut head).map_err(Error::Read)?;
    head.truncate(n);
    let plain = Format::detect(&head) == Format::Plain && formats::Archive::detect(&head).is_none();
    Ok(plain.then_some(file))
}

/// Opens `path` as `cat` does.
fn open_ahead(path: &Path) -> Result<Opened, Error> {
    ahead_if_worth_it(File::open(path).map_err(Error::Read)?, true)
}

/// Opens `path` for reading without waiting for a FIFO's writer, then
/// reads it blocking, as a stream. A FIFO that no writer holds and that
/// holds no data is an error.
fn open_without_waiting(path: &Path, ahead: bool) -> Result<Opened, Error> {
    let file = open_nonblocking(path).map_err(Error::Read)?;
    let fifo = file.metadata().map_err(Error::Read)?.file_type().is_fifo();
    if !fifo {
        clear_nonblocking(&file)?;
        return ahead_if_worth_it(file, ahead);
    }
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
    clear_nonblocking(reader.get_ref())?;
    Ok(Opened::Here(reader))
}

/// Makes reads of `file` block again.
fn clear_nonblocking(file: &File) -> Result<(), Error> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open while `file` is; F_GETFL and F_SETFL take ints.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !cleared {
        return Err(Error::Read(io::Error::last_os_error()));
    }
    Ok(())
}

/// Redacts `inputs` in order into `out`. Each input is its own stream: a
/// token never spans two inputs.
///
/// An input that cannot be opened or read is passed to `on_error` and the
/// others are still processed; the count of such inputs is returned. A big
/// regular file is read and scanned on `threads` threads at once, in
/// segments joined in order (see [`segments`](crate::app::filter::segments)); the
/// output is the same at any count.
///
/// An input that is the file `out` writes to (`output`) is refused, as
/// `cat` refuses it.
///
/// # Errors
///
/// [`Error::Write`] when the output fails, which ends the run.
pub fn redact_inputs<W: Write + ?Sized>(
    redactor: &mut Redactor,
    inputs: &[Input],
    threads: usize,
    out: &mut W,
    output: Option<FileId>,
    mut on_error: impl FnMut(&Input, &Error),
) -> Result<usize, Error> {
    let mut buf = vec![0; READ_SIZE];
    let mut failures = 0;
    let how = Reading::Filter { threads };
    for input in inputs {
        let pumped = match output.map(|id| id.refuse_as_input(input)) {
            Some(Err(e)) => Err(e),
            _ => pump_input(redactor, input, out, &mut buf, true, how, |_| false),
        };
        match pumped {
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
