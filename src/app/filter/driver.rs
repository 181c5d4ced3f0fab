//! One input or many, in order, to one output: how each is read (standard
//! input byte for byte, a file decompressed) and what the audit reads.

use super::{
    open::{in_segments, open_ahead, open_without_waiting},
    pump::{decode_layers, pump_buffered, pump_stored},
    segments,
};
use crate::app::inputs::Input;
use crate::io::READ_SIZE;
use std::{
    io::{self, BufReader, Read, Write},
    sync::Arc,
};

use crate::app::Error;
use crate::{
    Redactor, RuleSet,
    app::formats::{self, Format},
};

use super::readahead::ReadAhead;
use super::stdio::RawStdin;
use crate::app::{formats::meta_scan::MetaScan, inputs::FileId};

/// Redacts one input into `out`, as a stream of its own: standard input
/// byte for byte, a file decompressed (like `zcat`) when it is compressed.
/// `buf` sets the read size. With `flush_each_read`, `out` is flushed after
/// each read (see [`redact_stream`](super::redact_stream)).
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
        .map_err(|e| format.read_error(e))?;
    Ok(formats::framed(&head).map(String::from))
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
    on_error: impl FnMut(&Input, &Error),
) -> Result<usize, Error> {
    let mut buf = vec![0; READ_SIZE];
    let how = Reading::Filter { threads };
    each_input(inputs, output, on_error, |input| {
        pump_input(redactor, input, out, &mut buf, true, how, |_| false)
    })
}

/// Runs `pump` on each of `inputs` in order. An input that is the file the
/// output goes to (`output`) is refused, as `cat` refuses it: what is
/// written would be read back without end. An input that fails goes to
/// `on_error` and the others are still read; returns how many failed.
///
/// # Errors
///
/// [`Error::Write`] when the output fails, which ends the run.
pub(crate) fn each_input(
    inputs: &[Input],
    output: Option<FileId>,
    mut on_error: impl FnMut(&Input, &Error),
    mut pump: impl FnMut(&Input) -> Result<(), Error>,
) -> Result<usize, Error> {
    let mut failures = 0;
    for input in inputs {
        let pumped = match output.as_ref().map(|id| id.refuse_as_input(input)) {
            Some(Err(e)) => Err(e),
            _ => pump(input),
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
