//! One stream of a container's output (its stdout, say): the content of
//! its records scanned as one stream by one redactor, and each output byte
//! put back in the record its input byte came from.
//!
//! What the redactor writes after each feed is the redaction of the bytes
//! from where it had written up to ([`Stream::written`]) to where it now
//! has; its findings say where the tokens among them start and end. The
//! bytes between tokens came out as they went in, and go to their own
//! records; a token's marker goes to the record where the token starts.
//! While bytes of an earlier record are still undecided, the next record
//! is fed a few bytes at a time, so that at most one token ends in a feed
//! and its marker's length is what the feed wrote beyond the clean bytes.

use std::{collections::VecDeque, sync::Arc};

use super::queue::Queue;
use crate::{Finding, Redactor, RuleSet};

/// The most bytes fed at once while an earlier record is undecided: fewer
/// than the shortest built-in token, so that no whole token fits in one.
const STEP_MAX: usize = 16;

/// A record of the stream with bytes the redactor has not decided yet.
struct Span {
    seq: u64,
    /// Its content's place in the stream.
    start: u64,
    end: u64,
    /// Its last byte is a newline the format does not store (a CRI line's
    /// end), fed so that lines are not joined, and never written.
    newline: bool,
    /// What a finding's column counts from (a CRI record's prefix).
    column_base: u64,
}

pub(super) struct Stream {
    pub(super) name: Vec<u8>,
    redactor: Redactor,
    /// Content bytes fed.
    fed: u64,
    pending: VecDeque<Span>,
    /// Where the stream's unfinished line (records `P` so far) starts in
    /// the input.
    pub(super) open_since: Option<u64>,
    out: Vec<u8>,
    /// Records sent out by [`Stream::cut`] before their bytes were
    /// decided: where their content lay, their line and column base, for
    /// the findings of tokens that start in them (whose markers are
    /// dropped: the cut's is in their place).
    gone: VecDeque<(u64, u64, u64, u64)>,
}

/// One record's content, for [`Stream::feed_record`].
pub(super) struct Content<'a> {
    pub(super) seq: u64,
    pub(super) bytes: &'a [u8],
    /// A line ends after it, and the format stores no newline for it.
    pub(super) newline: bool,
    /// The content and that newline as one slice, when the input holds
    /// them so: fed in one call rather than two.
    pub(super) with_newline: Option<&'a [u8]>,
    pub(super) column_base: u64,
}

impl Stream {
    pub(super) fn new(name: &[u8], rules: &Arc<RuleSet>) -> Stream {
        Stream {
            name: name.to_vec(),
            // Findings tell where tokens start: always recorded.
            redactor: Redactor::new(Arc::clone(rules)).record_findings(),
            fed: 0,
            pending: VecDeque::new(),
            open_since: None,
            out: Vec::new(),
            gone: VecDeque::new(),
        }
    }

    pub(super) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Where the redactor has written up to: every byte before is decided.
    fn written(&self) -> u64 {
        self.fed - self.redactor.unwritten()
    }

    /// Feeds the next record's content, puts what comes out in the records
    /// it belongs to, and completes those now decided. Findings go to
    /// `found`, placed at their record's line.
    pub(super) fn feed_record(
        &mut self,
        queue: &mut Queue,
        record: Content<'_>,
        found: &mut Vec<Finding>,
    ) {
        let start = self.fed;
        let end = start + record.bytes.len() as u64 + u64::from(record.newline);
        let (seq, newline, column_base) = (record.seq, record.newline, record.column_base);
        self.pending.push_back(Span { seq, start, end, newline, column_base });
        self.feed(queue, record.bytes, start, found);
        if newline {
            self.feed(queue, b"\n", start, found);
        }
        self.settle(queue);
    }

    /// Whether every byte fed is decided and no record waits: the next
    /// record's output is then all its own.
    pub(super) fn drained(&self) -> bool {
        self.pending.is_empty() && self.redactor.unwritten() == 0
    }

    /// Whether the stream's next record may be taken unscanned
    /// ([`Stream::skip`], [`Stream::skip_part`]): it is
    /// [drained](Stream::drained), its redactor at rest (searching), and no
    /// record of it was [cut](Stream::cut) with bytes still to come. Its
    /// line may be unfinished (records `P` so far, all decided).
    pub(super) fn idle(&self) -> bool {
        self.drained() && self.redactor.at_rest() && self.gone.is_empty()
    }

    /// Whether no key begins in `text` and a newline after it, the
    /// content of an [idle](Stream::idle) stream's next record, which ends
    /// a line (see `Redactor::line_is_clean`).
    pub(super) fn line_is_clean(&self, text: &[u8]) -> bool {
        self.redactor.line_is_clean(text)
    }

    /// Whether no key begins in `text`, the content of an
    /// [idle](Stream::idle) stream's next record, which does not end its
    /// line, nor runs on from it into the next (see
    /// `Redactor::part_is_clean`; `search`: else the prefilter found no
    /// place in it).
    pub(super) fn part_is_clean(&self, text: &[u8], search: bool) -> bool {
        self.redactor.part_is_clean(text, search)
    }

    /// Takes the content of an [idle](Stream::idle) stream's record that
    /// ends a line, `len` bytes with the line's newline, in which no key
    /// begins: the record goes out as it came, and the redactor moves on
    /// as if it had been fed the bytes.
    pub(super) fn skip(&mut self, len: u64) {
        self.redactor.skip_lines(len, 1);
        self.fed += len;
        self.open_since = None;
    }

    /// Takes `text`, the content of an [idle](Stream::idle) stream's record
    /// that does not end its line (read at `at` in the input), found
    /// [clean](Stream::part_is_clean): as [`Stream::skip`], the line left
    /// open. `may_name`: as [`Redactor::skip_part`]'s.
    pub(super) fn skip_part(&mut self, text: &[u8], at: u64, may_name: bool) {
        self.redactor.skip_part(text, may_name);
        self.fed += text.len() as u64;
        self.open_since = self.open_since.or(Some(at));
    }

    /// Feeds a record of a [`drained`](Stream::drained) stream in one
    /// call, the redactor writing at the end of `out`. When that decides
    /// all of it, returns true: its piece is what `out` gained, its
    /// findings are at `line`, and no record is queued. Otherwise `out` is
    /// as it was, `push` queues the record, and it waits as
    /// [`Stream::feed_record`] would have it.
    pub(super) fn feed_alone(
        &mut self,
        queue: &mut Queue,
        record: Content<'_>,
        (line, push): (u64, impl FnOnce(&mut Queue) -> u64),
        out: &mut Vec<u8>,
        found: &mut Vec<Finding>,
    ) -> bool {
        let start = self.fed;
        let end = start + record.bytes.len() as u64 + u64::from(record.newline);
        let from = out.len();
        // Writing to a Vec cannot fail.
        match record.with_newline {
            Some(whole) if record.newline => drop(self.redactor.feed(whole, out)),
            _ => {
                let _ = self.redactor.feed(record.bytes, out);
                if record.newline {
                    let _ = self.redactor.feed(b"\n", out);
                }
            }
        }
        self.fed = end;
        let tokens = self.redactor.take_findings();
        if self.written() < end {
            let seq = push(queue);
            let (newline, column_base) = (record.newline, record.column_base);
            self.pending.push_back(Span { seq, start, end, newline, column_base });
            self.place(queue, &out[from..], start, &tokens, found);
            out.truncate(from);
            self.settle(queue);
            return false;
        }
        // The stored-nowhere newline is the last byte out, unless a token
        // took it.
        if record.newline && tokens.last().is_none_or(|t| t.offset + t.len < end) {
            out.pop();
        }
        found.extend(tokens.into_iter().map(|mut f| {
            f.column = record.column_base + f.offset - start + 1;
            f.line = line;
            f
        }));
        true
    }

    /// Feeds `run`, the contents of records of a
    /// [`drained`](Stream::drained) stream (record `i` ending at `ends[i]`,
    /// with a newline the format does not store if told so), in one call: each feed pays a fixed
    /// cost, and most records are short lines. True when that decides all
    /// of it and no token is in it: each record's piece is its content as
    /// it came. Otherwise `push` queues record `i` (giving its number and
    /// its column base) and each waits as [`Stream::feed_record`] would
    /// have it.
    pub(super) fn feed_run(
        &mut self,
        queue: &mut Queue,
        run: &[u8],
        ends: &[(usize, bool)],
        mut push: impl FnMut(&mut Queue, usize) -> (u64, u64),
        found: &mut Vec<Finding>,
    ) -> bool {
        let start = self.fed;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = self.redactor.feed(run, &mut out);
        self.fed += run.len() as u64;
        let tokens = self.redactor.take_findings();
        let clean = tokens.is_empty() && self.redactor.unwritten() == 0;
        if !clean {
            let mut from = start;
            for (i, &(end, newline)) in ends.iter().enumerate() {
                let (seq, column_base) = push(queue, i);
                let end = start + end as u64;
                self.pending.push_back(Span { seq, start: from, end, newline, column_base });
                from = end;
            }
            self.place(queue, &out, start, &tokens, found);
            self.settle(queue);
        }
        self.out = out;
        clean
    }

    /// Feeds `data`, a few bytes at a time while the bytes before `start`
    /// are undecided.
    fn feed(&mut self, queue: &mut Queue, mut data: &[u8], start: u64, found: &mut Vec<Finding>) {
        let mut step = 1;
        while !data.is_empty() && self.written() < start {
            let (part, rest) = data.split_at(step.min(data.len()));
            let wrote = self.feed_part(queue, part, found);
            step = if wrote { 1 } else { (step * 2).min(STEP_MAX) };
            data = rest;
        }
        if !data.is_empty() {
            self.feed_part(queue, data, found);
        }
    }

    /// Feeds `data` and places what comes out; returns whether anything did.
    fn feed_part(&mut self, queue: &mut Queue, data: &[u8], found: &mut Vec<Finding>) -> bool {
        let from = self.written();
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = self.redactor.feed(data, &mut out);
        self.fed += data.len() as u64;
        let tokens = self.redactor.take_findings();
        self.place(queue, &out, from, &tokens, found);
        let wrote = !out.is_empty();
        self.out = out;
        wrote
    }

    /// Puts `out`, the redaction of the stream's bytes `from..` up to
    /// [`Stream::written`], in the records those bytes came from.
    fn place(
        &mut self,
        queue: &mut Queue,
        out: &[u8],
        from: u64,
        tokens: &[Finding],
        found: &mut Vec<Finding>,
    ) {
        let (mut pos, mut o) = (from, 0);
        let to = self.written();
        for (i, token) in tokens.iter().enumerate() {
            let clean = (token.offset - pos) as usize;
            self.put_clean(queue, &out[o..o + clean], pos);
            o += clean;
            let at = self.span_of(token.offset);
            found.push(self.placed(queue, token, at));
            let after = to.saturating_sub(token.offset + token.len) as usize;
            if i + 1 < tokens.len() {
                // Two tokens ended in one feed (a custom rule's, within a
                // few bytes): their markers cannot be told apart, and all
                // that came out goes to the first one's record.
                tokens[i + 1..].iter().for_each(|t| found.push(self.placed(queue, t, at)));
                if let Some(at) = at {
                    queue.get(self.pending[at].seq).piece.extend_from_slice(&out[o..]);
                }
                return;
            }
            let marker = out.len() - o - after;
            if let Some(at) = at {
                queue.get(self.pending[at].seq).piece.extend_from_slice(&out[o..o + marker]);
            }
            o += marker;
            pos = token.offset + token.len;
        }
        self.put_clean(queue, &out[o..], pos);
        self.gone.retain(|&(_, end, ..)| end > to);
    }

    /// The finding, at its record's line and column (`at`: its pending
    /// record; `None`: one that is [gone](Stream::gone)).
    fn placed(&self, queue: &mut Queue, token: &Finding, at: Option<usize>) -> Finding {
        let (start, line, column_base) = match at {
            Some(at) => {
                let span = &self.pending[at];
                (span.start, queue.get(span.seq).line, span.column_base)
            }
            None => {
                let i = self.gone.partition_point(|g| g.1 <= token.offset);
                let (start, _, line, column_base) = self.gone[i.min(self.gone.len() - 1)];
                (start, line, column_base)
            }
        };
        let mut finding = token.clone();
        finding.line = line;
        finding.column = column_base + token.offset.saturating_sub(start) + 1;
        finding
    }

    /// The pending record that holds byte `offset` of the stream; `None`
    /// when a [cut](Stream::cut) sent it out.
    fn span_of(&self, offset: u64) -> Option<usize> {
        if self.pending.front().is_none_or(|s| offset < s.start) && !self.gone.is_empty() {
            return None;
        }
        let i = self.pending.partition_point(|s| s.end <= offset);
        Some(i.min(self.pending.len() - 1))
    }

    /// Decides, failing closed, the records of the stream that wait for
    /// bytes the redactor has not decided (a key, or what may be one,
    /// running on into a record that has not come): each goes out with the
    /// piece it has, the first of them with `marker` in the place of those
    /// bytes, whatever they turn out to be. The redactor goes on: what it
    /// writes for them later is dropped, so a key's later pieces stay out.
    pub(super) fn cut(&mut self, queue: &mut Queue, marker: &[u8]) {
        let written = self.written();
        for (i, span) in self.pending.drain(..).enumerate() {
            let entry = queue.get(span.seq);
            if i == 0 {
                entry.piece.extend_from_slice(marker);
            }
            self.gone.push_back((span.start, span.end, entry.line, span.column_base));
            queue.complete(span.seq);
        }
        debug_assert!(self.gone.back().is_none_or(|g| g.1 > written));
    }

    /// Bytes that came out as they went in, from `pos` on: each to its
    /// record, but for a newline the format does not store.
    fn put_clean(&mut self, queue: &mut Queue, bytes: &[u8], pos: u64) {
        let end = pos + bytes.len() as u64;
        for span in self.pending.iter().filter(|s| s.start < end && s.end > pos) {
            let (lo, hi) = (span.start.max(pos), span.end.min(end));
            let mut piece = &bytes[(lo - pos) as usize..(hi - pos) as usize];
            if span.newline && hi == span.end {
                piece = &piece[..piece.len() - 1];
            }
            let entry = queue.get(span.seq);
            entry.piece.extend_from_slice(piece);
            entry.clean += piece.len() as u64;
        }
    }

    /// Completes the records now decided: those wholly written, and those
    /// wholly inside the token in progress that began before them (which
    /// keep nothing: its marker is in the record where it starts).
    fn settle(&mut self, queue: &mut Queue) {
        let written = self.written();
        let consumed = self.fed - self.redactor.held() as u64;
        let in_token = self.redactor.unwritten() > self.redactor.held() as u64;
        self.pending.retain(|s| {
            let inside = in_token && s.start > written && s.end <= consumed;
            let done = s.end <= written || inside;
            if done {
                queue.complete(s.seq);
            }
            !done
        });
    }

    /// Ends the stream: what the redactor held is decided, and every
    /// record of it is complete.
    pub(super) fn finish(&mut self, queue: &mut Queue, found: &mut Vec<Finding>) {
        let from = self.written();
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let _ = self.redactor.finish(&mut out);
        let tokens = self.redactor.take_findings();
        // Finished, the redactor has written all it was fed, as `place`
        // reads it.
        self.place(queue, &out, from, &tokens, found);
        self.pending.drain(..).for_each(|s| queue.complete(s.seq));
        self.gone.clear();
        self.fed = 0;
        self.open_since = None;
        self.out = out;
    }
}
