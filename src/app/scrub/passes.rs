//! The two passes over a stored file: the first finds its format and
//! whether it holds a token (most archived files hold none, and are left
//! as they are); the second redacts it and stores it again in its format.
//! [`scrub_stored`] runs both over a file already spooled, as
//! `--output-dir` writes a copy.

use std::{
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    sync::Arc,
};

use crate::app::Error;
use crate::{
    Redactor, RuleSet,
    app::filter,
    app::formats::{Encoder, Format, Levels},
};

/// What scrubbing one file found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes of the file as stored (compressed, for an archive).
    pub stored_bytes: u64,
    /// Bytes after decompression.
    pub bytes: u64,
    /// Tokens redacted.
    pub tokens: u64,
    /// Whether a file was written.
    pub written: bool,
    /// How the file is stored (and its copy written).
    pub format: Format,
}

/// The first pass over a stored file: its format (into `outcome`), and
/// whether it holds a token, read up to the first one. Most archived files
/// hold none, and they are neither rewritten nor recompressed; a file that
/// holds one usually shows it early, so little is read twice. `reader`'s
/// first fill must hold the whole file or [`SNIFF_MAX`] bytes of it (a
/// file's `BufReader` of [`filter::READ_SIZE`]).
///
/// [`SNIFF_MAX`]: crate::app::formats::SNIFF_MAX
pub(super) fn first_pass<R: io::BufRead>(
    reader: &mut R,
    rules: &Arc<RuleSet>,
    outcome: &mut Outcome,
) -> Result<bool, Error> {
    outcome.format = Format::sniff(reader).map_err(Error::Read)?;
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut buf = vec![0; filter::READ_SIZE];
    let dirty = filter::holds_a_token(&mut redactor, outcome.format, reader, &mut buf);
    // Counted whether or not the pass failed: the summary says what was read.
    outcome.bytes = redactor.stats().bytes_in;
    dirty
}

/// The second pass over a file that holds a token: its content redacted,
/// stored again in its format (`outcome.format`) at `levels`, into `out`.
pub(super) fn second_pass<R: io::BufRead, W: Write>(
    reader: R,
    out: W,
    rules: &Arc<RuleSet>,
    levels: Levels,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let out = BufWriter::with_capacity(filter::READ_SIZE, out);
    let mut encoder = Encoder::new(outcome.format, out, levels).map_err(Error::Write)?;
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut buf = vec![0; filter::READ_SIZE];
    let result =
        filter::redact_stored(&mut redactor, outcome.format, reader, &mut encoder, &mut buf, false);
    outcome.bytes = outcome.bytes.max(redactor.stats().bytes_in);
    result?;
    encoder.finish().and_then(|mut w| w.flush()).map_err(Error::Write)?;
    outcome.tokens = redactor.stats().total_tokens();
    Ok(())
}

/// Scrubs the stored file `file` (a copy of a stream spooled to a
/// temporary file, say) into `out`, as `--output-dir` writes a file's
/// mirror copy: the same bytes, through the same two passes. A file with
/// nothing to redact is copied byte for byte; one that holds a token is
/// redacted and stored again in its format.
///
/// Unlike a mirror's copy, `out` cannot be taken back, so nothing is
/// written to it before the whole of `file` has been decoded: an input that
/// is corrupt anywhere fails before its first byte is written, and a
/// failure after that can only be `out`'s own.
///
/// # Errors
///
/// As [`scrub_file`](super::scrub_file): [`Error::Read`], [`Error::Corrupt`],
/// [`Error::Unsupported`], [`Error::Archive`], [`Error::Nested`] before
/// anything is written; [`Error::Write`] when `out` fails.
pub fn scrub_stored<F: Read + Seek, W: Write>(
    file: &mut F,
    out: W,
    rules: &Arc<RuleSet>,
    levels: Levels,
) -> Result<Outcome, Error> {
    let stored_bytes = file.seek(SeekFrom::End(0)).map_err(Error::Read)?;
    file.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
    let mut outcome = Outcome { stored_bytes, ..Outcome::default() };
    let mut reader = BufReader::with_capacity(filter::READ_SIZE, &mut *file);
    let dirty = first_pass(&mut reader, rules, &mut outcome)?;
    if dirty {
        // The first pass stopped at the first token: the rest is decoded
        // too, so that a corrupt tail fails here, before `out` is written.
        reader.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
        let mut redactor = Redactor::new(Arc::clone(rules));
        let mut buf = vec![0; filter::READ_SIZE];
        let sink = &mut io::sink();
        filter::redact_stored(&mut redactor, outcome.format, &mut reader, sink, &mut buf, false)?;
        drop(reader);
        if let Some(what) = filter::unrewritable(outcome.format, &mut *file, rules)? {
            return Err(Error::Archive { what });
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(Error::Read)?;
    if dirty {
        let reader = BufReader::with_capacity(filter::READ_SIZE, &mut *file);
        second_pass(reader, out, rules, levels, &mut outcome)?;
    } else {
        let mut out = out;
        io::copy(file, &mut out).and_then(|_| out.flush()).map_err(Error::Write)?;
    }
    outcome.written = true;
    Ok(outcome)
}
