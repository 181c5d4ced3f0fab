//! Runs: whole lines of one stream, up to one in which a key may begin,
//! fed to the stream's redactor in one call and, when no key was in them,
//! written as they came (each feed pays a fixed cost and a scan of its
//! end, and most records are short lines).

use std::{borrow::Cow, ops::Range};

use super::{Joiner, RUN_LINE_MAX};
use crate::app::records::{
    cri, docker_json,
    kind::Kind,
    queue::{Entry, Frame, Queue},
};

/// One line of a run: where it starts in the chunk and ends, and the part
/// of it kept to frame its piece if it waits (a CRI record's prefix, a
/// json-file record's `log` value), from its start.
pub(super) struct RunLine {
    start: usize,
    end: usize,
    part: Range<usize>,
}

/// A run's contents, where each record's ends (and whether a newline the
/// format does not store ends it), and its lines.
type RunBuffers = (Vec<u8>, Vec<(usize, bool)>, Vec<RunLine>);

/// One record of a run, read: its stream, whether it is partial, its
/// content's end in the run and whether a stored-nowhere newline ends it,
/// and the part of its line kept.
struct Read<'a> {
    stream: &'a [u8],
    partial: bool,
    newline: bool,
    part: Range<usize>,
}

impl Joiner {
    /// Takes the whole lines at the start of `rest` that are records of
    /// one stream with nothing waiting, up to the first in which a key may
    /// begin (as the rules' prefilter says, over each record's content and
    /// the end of the one before) included, and feeds their contents to
    /// their stream in one call; when no key was in them, they go out as
    /// they came. Returns the bytes of `rest` taken: 0 when the first line
    /// is not such a record, to be read alone.
    pub(super) fn run(&mut self, rest: &[u8]) -> usize {
        let (mut run, mut ends, mut lines) = self.take_run();
        let (mut at, mut index, mut open, mut line_ended) = (0, None, None, false);
        let reach = self.rules.max_prefix_len.max(1);
        while let Some(n) = memchr::memchr(b'\n', &rest[at..]) {
            let line = &rest[at..=at + n];
            let from = run.len();
            if line.len() > RUN_LINE_MAX {
                break;
            }
            let Some(record) = read(self.kind, line, &mut run) else { break };
            let i = *index.get_or_insert_with(|| self.stream_index(record.stream));
            if self.streams[i].name != record.stream || !self.streams[i].drained() {
                run.truncate(from);
                break;
            }
            // A prefix across this record's start is whole in `reach`.
            let maybe_key = self.rules.may_hold_token(&run[from.saturating_sub(reach)..]);
            ends.push((run.len(), record.newline));
            lines.push(RunLine { start: at, end: at + line.len(), part: record.part });
            open = match record.partial {
                true => open.or(Some(at)),
                false => None,
            };
            line_ended |= !record.partial;
            at += n + 1;
            // Where a key may begin, the run ends: most such records hold
            // none (the prefilter's hits are only maybes) and go out with
            // the run, and if one does, only the records since the last
            // such one wait with it.
            if maybe_key {
                break;
            }
        }
        let taken = match index {
            Some(i) if at > 0 => {
                // Where the stream's unfinished line starts, as each
                // record read alone would have left it.
                let since = open.map(|o| self.line_at + o as u64);
                let stream = &mut self.streams[i];
                stream.open_since = if line_ended { since } else { stream.open_since.or(since) };
                self.feed_run(i, &rest[..at], &run, &ends, &lines);
                at
            }
            _ => 0,
        };
        (self.run, self.run_ends, self.run_lines) = (run, ends, lines);
        taken
    }

    /// The buffers of a run, emptied.
    fn take_run(&mut self) -> RunBuffers {
        let mut run = std::mem::take(&mut self.run);
        let mut ends = std::mem::take(&mut self.run_ends);
        let mut lines = std::mem::take(&mut self.run_lines);
        run.clear();
        ends.clear();
        lines.clear();
        (run, ends, lines)
    }

    /// Feeds `run`, the contents of `lines` (each in `taken`), to stream
    /// `i`.
    fn feed_run(
        &mut self,
        i: usize,
        taken: &[u8],
        run: &[u8],
        ends: &[(usize, bool)],
        lines: &[RunLine],
    ) {
        let (at, no, kind) = (self.line_at, self.line_no, self.kind);
        let push = |queue: &mut Queue, j: usize| {
            let RunLine { start, end, ref part } = lines[j];
            let (frame, column_base) = match kind {
                Kind::Cri => {
                    let prefix = taken[start..start + part.end].to_vec();
                    (Frame::Cri { prefix, newline: true }, part.end as u64)
                }
                Kind::DockerJson => {
                    let line = taken[start..end].to_vec();
                    (Frame::Docker { line, value: part.clone() }, 0)
                }
            };
            // The content, less the newline the format does not store.
            let (end, newline) = ends[j];
            let len = end - j.checked_sub(1).map_or(0, |p| ends[p].0) - usize::from(newline);
            let entry = Entry::new(at + start as u64, no + 1 + j as u64, frame, len as u64);
            (queue.push(entry), column_base)
        };
        if self.streams[i].feed_run(&mut self.queue, run, ends, push, &mut self.found) {
            self.done.extend_from_slice(taken);
        }
        self.line_no += ends.len() as u64;
        self.line_at += taken.len() as u64;
        // Writing to a Vec cannot fail.
        let _ = self.queue.write_ready(&mut self.done);
        if !self.record_findings {
            self.found.clear();
        }
    }
}

/// Reads `line` as a record of `kind` for a run, its content onto the end
/// of `run`; `None` (and `run` as it was) when it is not one.
fn read<'a>(kind: Kind, line: &'a [u8], run: &mut Vec<u8>) -> Option<Read<'a>> {
    match kind {
        Kind::Cri => {
            let record = cri::parse(line)?;
            let content = &line[record.prefix.len()..line.len() - usize::from(record.partial)];
            run.extend_from_slice(content);
            let (partial, part) = (record.partial, 0..record.prefix.len());
            Some(Read { stream: record.stream, partial, newline: !partial, part })
        }
        Kind::DockerJson => {
            let from = run.len();
            let record = docker_json::parse(line, run)?;
            // A stream's name with escapes is not read in a run.
            let Cow::Borrowed(stream) = record.stream else {
                run.truncate(from);
                return None;
            };
            let stream = stream.as_bytes();
            let (partial, part) = (record.partial, record.value);
            Some(Read { stream, partial, newline: false, part })
        }
    }
}
