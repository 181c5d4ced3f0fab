//! What the redactor keeps of the line it is in, for a rule that counts
//! only on lines naming a host (see the rules' `lines.rs`), and the
//! question it asks of a match of that rule.

use super::{BufLine, Line, Redactor};
use crate::engine::rules::LineNames;

impl Redactor {
    /// Takes in `consumed`, the next bytes of the stream the scan is done
    /// with (written, or taken into a token).
    #[inline]
    pub(super) fn track_line(&mut self, consumed: &[u8]) {
        if self.rules.lines.is_none() {
            return;
        }
        let rest = match memchr::memrchr(b'\n', consumed) {
            Some(i) => {
                self.line.named = false;
                self.line.tail.clear();
                &consumed[i + 1..]
            }
            None => consumed,
        };
        self.track_part(rest, true);
    }

    /// As [`Redactor::track_line`], for bytes that hold no newline; and
    /// in which no name begins, when `may_name` is false (a name that
    /// began in the bytes before them is still looked for).
    pub(super) fn track_part(&mut self, rest: &[u8], may_name: bool) {
        let Some(names) = &self.rules.lines else { return };
        let line = &mut self.line;
        if rest.is_empty() {
            return;
        }
        let keep = names.longest - 1;
        if !line.named {
            line.named = (may_name && names.found(rest)) || straddles(names, &line.tail, rest);
        }
        if rest.len() >= keep {
            line.tail.clear();
            line.tail.extend_from_slice(&rest[rest.len() - keep..]);
        } else {
            line.tail.extend_from_slice(rest);
            let excess = line.tail.len().saturating_sub(keep);
            line.tail.drain(..excess);
        }
    }

    /// Forgets the line: a new stream starts.
    pub(super) fn reset_line(&mut self) {
        self.line = Line::default();
    }

    /// Whether a match of rule `rule` at `buf[start..end]`, `decided` (it
    /// cannot grow), counts: always, but for the rule that counts only on
    /// some lines, whose line must name a host (`None`: not known yet).
    #[inline]
    pub(super) fn counts(
        &mut self,
        buf: &[u8],
        (start, end, rule): (usize, usize, usize),
        decided: bool,
        eof: bool,
    ) -> Option<bool> {
        if self.rules.lines.as_ref().is_none_or(|names| names.rule != rule) {
            return Some(true);
        }
        if !decided {
            return None;
        }
        // The rules are shared: hold them apart from `self`, which the
        // question updates.
        let rules = std::sync::Arc::clone(&self.rules);
        let names = rules.lines.as_ref()?;
        self.line_names(names, buf, (start, end), eof)
    }

    /// Whether the line of the match `buf[start..end]` names one of
    /// `names`: anywhere from its start (in bytes consumed before `buf`,
    /// if it began there) to its end or `names.lookahead` bytes past the
    /// match. `None` while the bytes that could say are still to come.
    fn line_names(
        &mut self,
        names: &LineNames,
        buf: &[u8],
        (start, end): (usize, usize),
        eof: bool,
    ) -> Option<bool> {
        let line = self.buf_line(names, buf, start);
        let reach = end.saturating_add(names.lookahead);
        let avail = buf.len().min(reach);
        let (stop, settled) =
            if line.ends < avail { (line.ends, true) } else { (avail, reach <= buf.len() || eof) };
        let named = line.named_by.is_some_and(|e| e <= stop)
            || (line.begins.is_none()
                && (self.line.named || straddles(names, &self.line.tail, &buf[..stop])));
        if named {
            Some(true)
        } else if settled {
            Some(false)
        } else {
            None
        }
    }

    /// The line of `buf` that holds `buf[start]`, searched for `names`
    /// once per scan: the last one asked about, if `start` is on it.
    fn buf_line(&mut self, names: &LineNames, buf: &[u8], start: usize) -> BufLine {
        if let Some(line) = self.line.in_buf
            && line.begins.unwrap_or(0) <= start
            && start < line.ends
        {
            return line;
        }
        let begins = memchr::memrchr(b'\n', &buf[..start]).map(|i| i + 1);
        let from = begins.unwrap_or(0);
        let ends = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |i| start + i);
        let named_by = names.first_end(&buf[from..ends]).map(|e| from + e);
        let line = BufLine { begins, ends, named_by };
        self.line.in_buf = Some(line);
        line
    }

    /// Forgets what a scan learned of its buffer's lines: the next scan's
    /// buffer is another.
    #[inline]
    pub(super) fn forget_buf_lines(&mut self) {
        self.line.in_buf = None;
    }
}

/// Whether a name starts in `tail` and ends in `next`, the bytes that
/// follow it on the line.
fn straddles(names: &LineNames, tail: &[u8], next: &[u8]) -> bool {
    if tail.is_empty() || next.is_empty() {
        return false;
    }
    let mut joined = Vec::with_capacity(tail.len() * 2);
    joined.extend_from_slice(tail);
    joined.extend_from_slice(&next[..next.len().min(names.longest - 1)]);
    names.found(&joined)
}
