//! Inputs read as a container runtime's records (`--input-format`): each
//! input in order through a [`Scanner`], decompressed like any file (a
//! kubelet's rotated `0.log.*.gz`), standard input as it comes.

use std::io::{self, BufRead, Read, Write};

use super::{
    driver::each_input,
    open::{open_ahead, open_without_waiting},
    pump::decode_layers,
    readahead::ReadAhead,
    stdio::RawStdin,
};
use crate::app::{
    Error,
    formats::{Format, meta_scan::MetaScan},
    inputs::{FileId, Input},
    records::Scanner,
};
use crate::io::{READ_SIZE, read_retrying};

/// Redacts `inputs` in order into `out` through `scanner`, each its own
/// stream, flushing after each read. An input that fails goes to
/// `on_error` (what was read of it is written first) and the others are
/// still read; returns how many failed. An input that is the output's
/// own file (`output`) is refused, as the plain filter refuses it.
///
/// # Errors
///
/// [`Error::Write`] when the output fails, which ends the run.
pub fn redact_records<W: Write + ?Sized>(
    scanner: &mut Scanner,
    inputs: &[Input],
    out: &mut W,
    output: Option<FileId>,
    on_error: impl FnMut(&Input, &Error),
) -> Result<usize, Error> {
    let mut buf = vec![0; READ_SIZE];
    each_input(inputs, output, on_error, |input| {
        pump_records(scanner, input, false, &mut buf, out, |_| false)
    })
}

/// Reads one input through `scanner` for what it records (the audit):
/// `after_read` sees it after each read, and returns true to stop.
/// Standard input is decompressed too, and a FIFO opened without waiting.
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Corrupt`] when the input fails,
/// [`Error::Unsupported`] when it is stored in a format that cannot be read.
pub fn inspect_records(
    scanner: &mut Scanner,
    input: &Input,
    buf: &mut [u8],
    after_read: impl FnMut(&mut Scanner) -> bool,
) -> Result<(), Error> {
    pump_records(scanner, input, true, buf, &mut io::sink(), after_read)
}

/// One input, decompressed (standard input only for the audit), through
/// `scanner` into `out`; ended (all it holds written) even when reading
/// fails.
fn pump_records<W: Write + ?Sized>(
    scanner: &mut Scanner,
    input: &Input,
    audit: bool,
    buf: &mut [u8],
    out: &mut W,
    stop: impl FnMut(&mut Scanner) -> bool,
) -> Result<(), Error> {
    // Standard input is filtered byte for byte, compressed or not, as the
    // plain filter does: compressed bytes pass but cannot be redacted, so
    // the run then fails rather than look clean.
    let mut compressed_stdin = None;
    let (format, mut reader): (Format, Box<dyn BufRead>) = match input {
        Input::Stdin => {
            let stdin = ReadAhead::spawn(RawStdin::new()).map_err(Error::Read)?;
            let (format, stdin) = Format::sniff_stream(stdin).map_err(Error::Read)?;
            if !audit && format != Format::Plain {
                compressed_stdin = Some(Error::CompressedStdin { format: format.name() });
            }
            (if audit { format } else { Format::Plain }, Box::new(stdin))
        }
        Input::Path(path) => {
            let file = if audit { open_without_waiting(path, true)? } else { open_ahead(path)? };
            let (format, file) = Format::sniff_stream(file).map_err(Error::Read)?;
            (format, Box::new(file))
        }
    };
    let ended = |scanner: &mut Scanner, out: &mut W| {
        scanner.finish(out).and_then(|()| out.flush()).map_err(Error::Write)
    };
    let read = if format == Format::Plain {
        // Text is fed from the reader's own buffer (the read-ahead
        // thread's, for a file or standard input), as the plain filter
        // feeds it: no copy into a buffer of ours.
        feed_buffered(scanner, &mut reader, out, stop)
    } else {
        let meta = MetaScan::sink(scanner.rules());
        let (mut decoded, _) = decode_layers(format, reader, &meta)?;
        feed_reads(scanner, &mut decoded, buf, out, stop)
    };
    match read {
        Ok(false) => ended(scanner, out)?,
        Ok(true) => return Ok(()),
        Err(Failed::Write(e)) => return Err(Error::Write(e)),
        Err(Failed::Read(e)) => {
            ended(scanner, out)?;
            return Err(format.read_error(e));
        }
    }
    compressed_stdin.map_or(Ok(()), Err)
}

/// Why feeding an input stopped short.
enum Failed {
    Read(io::Error),
    Write(io::Error),
}

/// Feeds each `fill_buf` of `reader` to `scanner` as it is, writing into
/// `out` and flushing after each; true when `stop` ended it early.
fn feed_buffered<R: BufRead + ?Sized, W: Write + ?Sized>(
    scanner: &mut Scanner,
    reader: &mut R,
    out: &mut W,
    mut stop: impl FnMut(&mut Scanner) -> bool,
) -> Result<bool, Failed> {
    loop {
        let data = match reader.fill_buf() {
            Ok([]) => return Ok(false),
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failed::Read(e)),
        };
        let n = data.len();
        scanner.feed(data, out).and_then(|()| out.flush()).map_err(Failed::Write)?;
        reader.consume(n);
        if stop(scanner) {
            return Ok(true);
        }
    }
}

/// Feeds `reader` to `scanner` in reads of `buf`'s size, as
/// [`feed_buffered`] does.
fn feed_reads<R: Read + ?Sized, W: Write + ?Sized>(
    scanner: &mut Scanner,
    reader: &mut R,
    buf: &mut [u8],
    out: &mut W,
    mut stop: impl FnMut(&mut Scanner) -> bool,
) -> Result<bool, Failed> {
    loop {
        let n = match read_retrying(reader, buf) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(e) => return Err(Failed::Read(e)),
        };
        scanner.feed(&buf[..n], out).and_then(|()| out.flush()).map_err(Failed::Write)?;
        if stop(scanner) {
            return Ok(true);
        }
    }
}
