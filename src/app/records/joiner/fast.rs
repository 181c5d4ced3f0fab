//! The fast path: whole lines that are full records of the exact shape
//! their runtime writes, of [idle](crate::app::records::stream) streams,
//! in bytes where the rules' prefilter (run once over the raw lines, their
//! prefixes and fields included) sees no possible key start. No key can
//! be in them: none begins in them, and none runs into them (their stream
//! holds nothing back, and its last line ended), nor out of them (each
//! ends its line, the newline fed, and no prefix holds a newline). They go
//! out as they came, neither parsed further nor fed to the redactor, whose
//! stream state moves on as a feed of them would have moved it.
//!
//! A partial record, a record after one in its stream, a json-file `log`
//! with an escape (`\u0070` may hide a prefix) or of another layout, and
//! any line the prefilter may see a key start in, go the other paths.

use super::{Joiner, MAX_LINE};
use crate::app::records::{cri, docker_json, kind::Kind};
use crate::engine::prefilter::Cursor;

impl Joiner {
    /// Takes the whole lines at `pos` in `lines` (the whole lines of a
    /// chunk fed, searched by the prefilter with `cursor`) that are such
    /// records, writes them, and returns the bytes taken (0: the first
    /// line is not one).
    pub(super) fn fast(&mut self, lines: &[u8], pos: usize, cursor: &mut Cursor) -> usize {
        let clean = self.clean_len(lines, pos, cursor);
        let rest = &lines[pos..];
        let (mut at, mut count) = (0, 0);
        while let Some(n) = memchr::memchr(b'\n', &rest[at..clean]) {
            let line = &rest[at..=at + n];
            if line.len() > MAX_LINE {
                break;
            }
            let Some((stream, len)) = shape(self.kind, line) else { break };
            let i = self.stream_index(stream);
            if !self.streams[i].idle() {
                break;
            }
            self.streams[i].skip(len as u64);
            (at, count) = (at + n + 1, count + 1);
        }
        self.done.extend_from_slice(&rest[..at]);
        self.line_no += count;
        self.line_at += at as u64;
        at
    }

    /// How many bytes of `lines` from `pos` (which is at `line_at`) hold
    /// no possible key start: the prefilter's first hit from there, kept
    /// (as a place in the input) for the calls after until it is passed.
    fn clean_len(&mut self, lines: &[u8], pos: usize, cursor: &mut Cursor) -> usize {
        if self.clean_until <= self.line_at {
            let Some(hit) = self.rules.clean_lines(lines, pos, cursor) else { return 0 };
            self.clean_until = self.line_at + (hit - pos) as u64;
        }
        (self.clean_until - self.line_at).min((lines.len() - pos) as u64) as usize
    }
}

/// The stream and content length (its newline counted) of `line`, a whole
/// line, if it is a full record of the exact shape `kind`'s runtime writes.
fn shape(kind: Kind, line: &[u8]) -> Option<(&[u8], usize)> {
    match kind {
        Kind::Cri => {
            let record = cri::parse(line).filter(|r| !r.partial)?;
            Some((record.stream, line.len() - record.prefix.len()))
        }
        Kind::DockerJson => docker_json::plain_full(line),
    }
}
