//! Logs that a container runtime wrote as records: lines longer than
//! 16 KiB split into partial records, each with a prefix of its own
//! (containerd's and CRI-O's CRI format, Docker's `json-file`). A key cut
//! by a split is two halves with a record's prefix between them, which a
//! scan of the bytes would miss; here the content of a line's records is
//! scanned as one stream, and each record is written back in its format
//! with its own redacted piece.
//!
//! What it promises:
//! - the content of each stream (stdout, stderr) is scanned as one stream,
//!   lines joined from their partial records, so a key across any number
//!   of records is found;
//! - each record is written back with its prefix (timestamp, stream, tag)
//!   or its JSON fields as they were, and its piece of the content: the
//!   bytes of it that were not a key, and the marker of each key that
//!   starts in it; a record that held only a key's bytes carries an empty
//!   piece (`{"log":""…}`, `… P `), and stays, so the framing stays valid;
//! - a json-file record untouched by a key is written byte for byte as it
//!   was; a touched one has its `log` value encoded again (escapes as
//!   `serde_json` writes them);
//! - records go out in the file's order;
//! - a line that is not a record is never dropped: it is redacted as plain
//!   text, alone, and counted ([`Scanner::malformed`]);
//! - memory: the records a key or a candidate still runs through (their
//!   prefixes, and the pieces before it), what the redactor holds, and one
//!   line of at most [`MAX_LINE`] bytes; the records waiting behind them
//!   hold at most `MAX_WAITING` bytes, past which the stream they wait on
//!   is cut, failing closed (its undecided bytes become a marker, never
//!   clear text, and no record is dropped).
//!
//! - [`cri`] and [`docker_json`]: the formats;
//! - [`stream`]: one stream's content, and the output put back in records;
//! - [`queue`]: the records in the file's order;
//! - [`joiner`]: a file, line by line, to its streams;
//! - [`kind`]: the formats an input can be read as.

mod cri;
mod docker_json;
mod joiner;
mod kind;
mod queue;
mod stream;

use std::{io, sync::Arc};

pub use joiner::{Joiner, MAX_LINE};
pub use kind::{InputFormat, Kind};

use crate::{Finding, Redactor, RuleSet, Stats};

/// What to say of `count` lines that were not records of `format` (they
/// went through as plain text, redacted); `None` when there were none.
pub fn malformed_notice(count: u64, format: InputFormat) -> Option<String> {
    let name = match format {
        InputFormat::Records(Kind::Cri) => "CRI",
        InputFormat::Records(Kind::DockerJson) => "docker json-file",
        InputFormat::Plain => return None,
    };
    let were = if count == 1 { " was" } else { "s were" };
    (count > 0).then(|| {
        format!("{count} line{were} not {name} records: passed through as plain text, redacted")
    })
}

/// A redactor for an input of either format: the same calls as a
/// [`Redactor`]'s.
// One per input: the byte path's redactor stays inline, not behind a box.
#[allow(clippy::large_enum_variant)]
pub enum Scanner {
    /// Bytes.
    Plain(Redactor),
    /// Records.
    Records(Box<Joiner>),
}

impl Scanner {
    /// A scanner for inputs of `format`, recording findings if asked.
    pub fn new(format: InputFormat, rules: &Arc<RuleSet>, record_findings: bool) -> Scanner {
        match format {
            InputFormat::Plain => {
                let redactor = Redactor::new(Arc::clone(rules));
                Scanner::Plain(if record_findings { redactor.record_findings() } else { redactor })
            }
            InputFormat::Records(kind) => {
                Scanner::Records(Box::new(Joiner::new(kind, rules, record_findings)))
            }
        }
    }

    /// As [`Redactor::feed`].
    pub fn feed<W: io::Write + ?Sized>(&mut self, chunk: &[u8], out: &mut W) -> io::Result<()> {
        match self {
            Scanner::Plain(r) => r.feed(chunk, out),
            Scanner::Records(j) => j.feed(chunk, out),
        }
    }

    /// As [`Redactor::finish`].
    pub fn finish<W: io::Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        match self {
            Scanner::Plain(r) => r.finish(out),
            Scanner::Records(j) => j.finish(out),
        }
    }

    /// As [`Redactor::unwritten`]: for records, back to the start of the
    /// oldest record not written, or of a line a stream has not finished.
    pub fn unwritten(&self) -> u64 {
        match self {
            Scanner::Plain(r) => r.unwritten(),
            Scanner::Records(j) => j.unwritten(),
        }
    }

    /// As [`Redactor::take_findings`]; a record's finding is at its line.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        match self {
            Scanner::Plain(r) => r.take_findings(),
            Scanner::Records(j) => j.take_findings(),
        }
    }

    /// As [`Redactor::records_findings`].
    pub fn records_findings(&self) -> bool {
        match self {
            Scanner::Plain(r) => r.records_findings(),
            Scanner::Records(j) => j.records_findings(),
        }
    }

    /// What it has seen.
    pub fn stats(&self) -> Stats {
        match self {
            Scanner::Plain(r) => r.stats().clone(),
            Scanner::Records(j) => j.stats(),
        }
    }

    /// Lines that were not records of the format (0 for bytes).
    pub fn malformed(&self) -> u64 {
        match self {
            Scanner::Plain(_) => 0,
            Scanner::Records(j) => j.malformed(),
        }
    }

    /// The rules it applies.
    pub fn rules(&self) -> &Arc<RuleSet> {
        match self {
            Scanner::Plain(r) => r.rules(),
            Scanner::Records(j) => j.rules(),
        }
    }

    /// The format it reads.
    pub fn format(&self) -> InputFormat {
        match self {
            Scanner::Plain(_) => InputFormat::Plain,
            Scanner::Records(j) => InputFormat::Records(j.kind()),
        }
    }
}
