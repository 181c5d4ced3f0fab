//! A container runtime's log file, line by line: each line that is a
//! record goes to its stream (see [`Stream`]), each that is not is
//! redacted as plain text on its own and counted, and the records go out
//! in the file's order, each once its piece is known.

mod fast;
mod runs;

use std::{io, sync::Arc};

use runs::RunLine;

use super::{
    cri, docker_json,
    kind::Kind,
    queue::{Entry, Frame, Queue},
    stream::{Content, Stream},
};
use crate::{Finding, Redactor, RuleSet, Stats, engine::prefilter::Cursor};

/// The longest line read as a record; a longer one (a runtime writes
/// records of 16 KiB, and JSON's escapes at most sextuple that) is not
/// one, and goes through as plain text without being held whole.
pub const MAX_LINE: usize = 1 << 20;

/// The longest line fed in a run with others (see [`Joiner::run`]):
/// a longer record pays for its own feed, and is not copied.
const RUN_LINE_MAX: usize = 2048;

/// The most bytes of records that wait (behind a stream's record whose
/// bytes are not decided) before that stream is [cut](Stream::cut): a
/// runtime writes a line's next record at once, and a file that does not
/// is not let fill memory with the other streams' records.
pub const MAX_WAITING: usize = MAX_LINE;

/// Records of one input, joined per stream.
pub struct Joiner {
    kind: Kind,
    rules: Arc<RuleSet>,
    /// The line being read, until its newline.
    line: Vec<u8>,
    /// The line being read passed [`MAX_LINE`]: it goes through `loose`
    /// as it comes.
    overlong: bool,
    /// Where the line being read starts in the input, and its number.
    line_at: u64,
    line_no: u64,
    streams: Vec<Stream>,
    /// Redacts the lines that are not records, each a stream of its own.
    loose: Redactor,
    queue: Queue,
    found: Vec<Finding>,
    record_findings: bool,
    malformed: u64,
    /// Records done, in order, not yet written.
    done: Vec<u8>,
    /// A json-file record's piece, before it is framed.
    piece: Vec<u8>,
    /// A json-file record's `log`, decoded.
    log: Vec<u8>,
    /// A run of records fed at once (see [`Joiner::run`]): their
    /// contents, where each ends in it, and their lines.
    run: Vec<u8>,
    run_ends: Vec<(usize, bool)>,
    run_lines: Vec<RunLine>,
    /// What a [cut](Stream::cut) writes in the place of the bytes it
    /// decides.
    cut_marker: Vec<u8>,
    /// Where, in the input, the first byte the rules' prefilter may see a
    /// key start in is (or the end of the lines it searched), for the fast
    /// path (see [`Joiner::fast`]).
    clean_until: u64,
    /// Whether the fast path is taken (the tests compare it with the
    /// other paths alone).
    fast: bool,
    /// Bytes of this input read so far.
    bytes_in: u64,
    /// What the streams of inputs before this one found, and their bytes.
    ended: Stats,
}

impl Joiner {
    pub(super) fn new(kind: Kind, rules: &Arc<RuleSet>, record_findings: bool) -> Joiner {
        Joiner {
            kind,
            rules: Arc::clone(rules),
            line: Vec::new(),
            overlong: false,
            line_at: 0,
            line_no: 0,
            streams: Vec::new(),
            loose: Redactor::new(Arc::clone(rules)).record_findings(),
            queue: Queue::default(),
            found: Vec::new(),
            record_findings,
            malformed: 0,
            done: Vec::new(),
            piece: Vec::new(),
            log: Vec::new(),
            run: Vec::new(),
            run_ends: Vec::new(),
            run_lines: Vec::new(),
            cut_marker: cut_marker(rules),
            clean_until: 0,
            fast: true,
            bytes_in: 0,
            ended: Stats { tokens: vec![0; rules.rules().len()], ..Stats::default() },
        }
    }

    /// Reads `chunk`, the next bytes of the input, and writes the records
    /// now complete, in a few writes a feed: `out` should gather them (a
    /// buffer, or a writer that writes a read's output in one go).
    pub fn feed<W: io::Write + ?Sized>(&mut self, chunk: &[u8], out: &mut W) -> io::Result<()> {
        self.bytes_in += chunk.len() as u64;
        let mut rest = chunk;
        // The chunk's whole lines, for the fast path's prefilter search.
        let lines = &chunk[..memchr::memrchr(b'\n', chunk).map_or(0, |i| i + 1)];
        let mut cursor = Cursor::default();
        loop {
            // A whole line at `pos`, read from its start: the fast path's.
            let pos = chunk.len() - rest.len();
            if pos < lines.len() && self.line.is_empty() && !self.overlong && self.queue.is_empty()
            {
                let taken = match self.fast(lines, pos, &mut cursor) {
                    0 => self.run(rest),
                    // As they came, not copied on the way (every caller's
                    // `out` gathers its writes).
                    taken => {
                        out.write_all(&self.done)?;
                        self.done.clear();
                        out.write_all(&rest[..taken])?;
                        taken
                    }
                };
                if taken > 0 {
                    rest = &rest[taken..];
                    continue;
                }
            }
            let Some(i) = memchr::memchr(b'\n', rest) else { break };
            let (line, after) = rest.split_at(i + 1);
            if self.line.is_empty() {
                self.take_line(line);
            } else {
                // A line the reads cut: the fast path's, when it can be.
                let mut whole = std::mem::take(&mut self.line);
                whole.extend_from_slice(line);
                let fast = !self.overlong && self.queue.is_empty();
                if fast && self.fast(&whole, 0, &mut Cursor::default()) == whole.len() {
                    out.write_all(&self.done)?;
                    self.done.clear();
                    out.write_all(&whole)?;
                } else {
                    self.take_line(&whole);
                }
                whole.clear();
                self.line = whole;
            }
            rest = after;
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE || (self.overlong && !self.line.is_empty()) {
            let start = std::mem::take(&mut self.line);
            self.loose_part(&start, false);
            self.overlong = true;
        }
        self.queue.write_ready(&mut self.done)?;
        out.write_all(&self.done)?;
        self.done.clear();
        Ok(())
    }

    /// Ends the input: its last line (with no newline) is read, and every
    /// stream ends.
    pub fn finish<W: io::Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        if !self.line.is_empty() || self.overlong {
            let last = std::mem::take(&mut self.line);
            self.take_line(&last);
        }
        for stream in &mut self.streams {
            stream.finish(&mut self.queue, &mut self.found);
        }
        self.queue.write_ready(&mut self.done)?;
        out.write_all(&self.done)?;
        self.done.clear();
        self.queue.reset();
        self.fold_stats();
        (self.line_at, self.line_no, self.bytes_in, self.clean_until) = (0, 0, 0, 0);
        Ok(())
    }

    /// What was found, by rule, in every stream and every plain line, and
    /// the bytes read.
    pub fn stats(&self) -> Stats {
        let mut stats = self.ended.clone();
        self.streams.iter().for_each(|s| add(&mut stats, s.redactor().stats()));
        add(&mut stats, self.loose.stats());
        stats.bytes_in = self.ended.bytes_in + self.bytes_in;
        stats
    }

    /// The findings since the last call (when recorded), each at the line
    /// of the record where its token starts.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.found)
    }

    /// Whether it records findings.
    pub fn records_findings(&self) -> bool {
        self.record_findings
    }

    /// The rules it applies.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// The format it reads.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Lines read that were not records.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Bytes of the input read whose records have not all gone out, or
    /// that a stream's unfinished line (records `P` so far) began at: a
    /// reader that starts again from there loses nothing and joins no line
    /// cut in two.
    pub fn unwritten(&self) -> u64 {
        let partial = (!self.line.is_empty() || self.overlong).then_some(self.line_at);
        let open = self.streams.iter().filter_map(|s| s.open_since);
        let oldest = open.chain(partial).chain(self.queue.oldest_at()).min();
        oldest.map_or(0, |at| self.bytes_in - at)
    }

    /// Adds the ended streams' counts to `ended`.
    fn fold_stats(&mut self) {
        let streams = std::mem::take(&mut self.streams);
        streams.iter().for_each(|s| add(&mut self.ended, s.redactor().stats()));
        self.ended.bytes_in += self.bytes_in;
    }

    /// One whole line (its newline included, but at the input's end).
    fn take_line(&mut self, line: &[u8]) {
        self.line_no += 1;
        // However the reader cut it, a line longer than MAX_LINE is no
        // record (as when it came in pieces).
        let body = line.len() - usize::from(line.ends_with(b"\n"));
        if self.overlong || body > MAX_LINE {
            self.loose_part(line, true);
        } else {
            let taken = match self.kind {
                Kind::Cri => self.cri(line),
                Kind::DockerJson => self.docker(line),
            };
            if !taken {
                self.loose_part(line, true);
            }
        }
        self.line_at += line.len() as u64;
        self.overlong = false;
        if self.queue.bytes() > MAX_WAITING {
            self.streams.iter_mut().for_each(|s| s.cut(&mut self.queue, &self.cut_marker));
        }
        // Writing to a Vec cannot fail.
        let _ = self.queue.write_ready(&mut self.done);
        if !self.record_findings {
            self.found.clear();
        }
    }

    fn cri(&mut self, line: &[u8]) -> bool {
        let Some(record) = cri::parse(line) else { return false };
        let newline = line.ends_with(b"\n");
        let len = record.content.len() as u64;
        let column_base = record.prefix.len() as u64;
        let with_newline = newline.then(|| &line[record.prefix.len()..]);
        let (bytes, newline_fed) = (record.content, !record.partial);
        let content = Content { seq: 0, bytes, newline: newline_fed, with_newline, column_base };
        let (at, no) = (self.line_at, self.line_no);
        let entry =
            || Entry::new(at, no, Frame::Cri { prefix: record.prefix.to_vec(), newline }, len);
        // The record goes out as it is read: its prefix, then the piece
        // the redactor writes after it, with no copy between.
        let mut done = std::mem::take(&mut self.done);
        let mark = done.len();
        done.extend_from_slice(record.prefix);
        if self.alone(record.stream, record.partial, content, entry, &mut done) {
            if newline {
                done.push(b'\n');
            }
        } else {
            done.truncate(mark);
        }
        self.done = done;
        true
    }

    fn docker(&mut self, line: &[u8]) -> bool {
        let mut log = std::mem::take(&mut self.log);
        log.clear();
        let Some(record) = docker_json::parse(line, &mut log) else {
            self.log = log;
            return false;
        };
        let content =
            Content { seq: 0, bytes: &log, newline: false, with_newline: None, column_base: 0 };
        let (at, no, value, len) = (self.line_at, self.line_no, record.value.clone(), log.len());
        let entry = || Entry::new(at, no, Frame::Docker { line: line.to_vec(), value }, len as u64);
        let stream = record.stream.as_bytes();
        let mut piece = std::mem::take(&mut self.piece);
        piece.clear();
        if self.alone(stream, record.partial, content, entry, &mut piece) {
            if piece == log {
                self.done.extend_from_slice(line);
            } else {
                docker_json::with_log(line, &record.value, &piece, &mut self.done);
            }
        }
        (self.piece, self.log) = (piece, log);
        true
    }

    /// Feeds a record to its stream: in one call when nothing waits (true:
    /// its piece was written at the end of `out`, for the caller to frame),
    /// else queued.
    fn alone(
        &mut self,
        name: &[u8],
        partial: bool,
        mut content: Content<'_>,
        entry: impl FnOnce() -> Entry,
        out: &mut Vec<u8>,
    ) -> bool {
        let i = self.stream_index(name);
        let stream = &mut self.streams[i];
        stream.open_since = match partial {
            true => stream.open_since.or(Some(self.line_at)),
            false => None,
        };
        if self.queue.is_empty() && stream.drained() {
            let push = |queue: &mut Queue| queue.push(entry());
            let at = (self.line_no, push);
            return stream.feed_alone(&mut self.queue, content, at, out, &mut self.found);
        }
        content.seq = self.queue.push(entry());
        stream.feed_record(&mut self.queue, content, &mut self.found);
        false
    }

    /// The index of the stream `name`, made if it is new.
    fn stream_index(&mut self, name: &[u8]) -> usize {
        match self.streams.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.streams.push(Stream::new(name, &self.rules));
                self.streams.len() - 1
            }
        }
    }

    /// Bytes of a line that is not a record: redacted as plain text, its
    /// own stream; `end`: the line ends here.
    fn loose_part(&mut self, bytes: &[u8], end: bool) {
        if !self.overlong {
            self.malformed += 1;
        }
        let mut piece = Vec::with_capacity(bytes.len());
        let _ = self.loose.feed(bytes, &mut piece);
        if end {
            let _ = self.loose.finish(&mut piece);
        }
        let line = self.line_no + u64::from(!end);
        self.found.extend(self.loose.take_findings().into_iter().map(|mut f| {
            f.line = line;
            f
        }));
        let mut entry = Entry::new(self.line_at, line, Frame::Raw, 0);
        entry.piece = piece;
        self.queue.push_done(entry);
    }
}

/// The marker of a run cut at the hold cap, which a cut stream's bytes
/// are too: the rules' marker for a token of no rule.
fn cut_marker(rules: &RuleSet) -> Vec<u8> {
    let fixed = rules.capped_marker.fixed(crate::engine::rules::CAPPED, b"");
    fixed.unwrap_or_else(|| b"[REDACTED]".to_vec())
}

/// Adds the tokens of `theirs` to `mine` (not the bytes: those are the
/// input's, counted once).
fn add(mine: &mut Stats, theirs: &Stats) {
    mine.tokens.iter_mut().zip(&theirs.tokens).for_each(|(m, t)| *m += t);
    mine.capped += theirs.capped;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_over_max_line_is_no_record_however_it_comes() {
        let rules = Arc::new(RuleSet::default_rules(false));
        let mut line = b"2024-01-02T03:04:05.123456789Z stdout F ".to_vec();
        line.resize(MAX_LINE + 10, b'x');
        line.push(b'\n');
        for chunk in [line.len(), 4096] {
            let mut joiner = Joiner::new(Kind::Cri, &rules, false);
            let mut out = Vec::new();
            line.chunks(chunk).for_each(|c| joiner.feed(c, &mut out).unwrap());
            joiner.finish(&mut out).unwrap();
            assert_eq!((joiner.malformed(), out == line), (1, true), "chunks of {chunk}");
        }
    }
}
