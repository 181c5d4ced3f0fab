//! A stream scanned in pieces at once: a redactor started part-way through
//! a stream, and joined to the one that scanned the bytes before.
//!
//! A driver that reads one file on several threads (`app::filter::segments`) gives
//! each thread a piece that begins at a line's start, and a redactor made
//! by [`Redactor::resume_at`] there. That redactor starts as one starts a
//! stream, searching with nothing held, but for what a stream's start does
//! not have: the byte before the piece (for `\b`), and the piece's offset
//! (for findings' offsets and columns).
//!
//! # Why the joined result is one redactor's, byte for byte
//!
//! That start is exactly the state a redactor fed every byte before the
//! piece is in, *when it has drained there* ([`Redactor::drained`]):
//! searching, holding nothing back. Every candidate that began before the
//! piece has then been decided, so what the stream becomes from there
//! depends only on the bytes from there on, which are what the resumed
//! redactor saw. [`Redactor::continue_with`] joins them only then; when the
//! redactor before has not drained (a custom rule's token runs across the
//! line's end), the join is refused and the driver feeds the piece in
//! order itself. Either way the output is a single redactor's, and so the
//! regex oracle's.

use super::{Findings, Mode, Redactor, Stats};

impl Redactor {
    /// A redactor for the bytes of this one's stream from `offset` on,
    /// `before` being the byte before them (`None` at the stream's start):
    /// what this one is at `offset` if it has drained there. It has the
    /// same rules and records findings if this one does; its stats start
    /// from zero, and its lines from the line that begins at `offset`.
    pub(crate) fn resume_at(&self, offset: u64, before: Option<u8>) -> Redactor {
        let mut resumed = Redactor::new(std::sync::Arc::clone(&self.rules));
        resumed.before = before;
        resumed.offset = offset;
        resumed.findings = self.findings.as_ref().map(|_| Findings {
            list: Vec::new(),
            newlines: 0,
            line_start: offset,
        });
        resumed
    }

    /// Takes in `earlier`, bytes of the stream's line before its first
    /// byte fed, in order (a later call's follow an earlier's): a redactor
    /// started mid-line (a follower resuming in a long line) must know
    /// whether that line named a host, for a rule that counts only on
    /// lines that do (see `lines.rs`). Nothing is written or counted.
    pub(crate) fn seen_on_line(&mut self, earlier: &[u8]) {
        self.track_line(earlier);
    }

    /// Whether it is searching with nothing held back: what it writes from
    /// here on depends only on the bytes from here on.
    pub(crate) fn drained(&self) -> bool {
        matches!(self.mode, Mode::Search) && self.held.is_empty()
    }

    /// Where in the stream the next byte fed goes.
    pub(crate) fn position(&self) -> u64 {
        self.offset + self.held.len() as u64
    }

    /// The byte fed last, `None` at the stream's start.
    pub(crate) fn last_byte(&self) -> Option<u8> {
        self.held.last().copied().or(self.before)
    }

    /// Goes on as `next`, made by [`Redactor::resume_at`] at this one's
    /// [`position`](Redactor::position) after its last byte, and since fed
    /// the bytes from there, whose output the caller writes after this
    /// one's. Its stats add to this one's; its findings follow this one's,
    /// their lines counted on from this one's.
    ///
    /// Returns false, and changes nothing, when this one has not drained:
    /// the bytes `next` saw must then be fed to this one.
    #[must_use]
    pub(crate) fn continue_with(&mut self, mut next: Redactor) -> bool {
        if !self.drained() {
            return false;
        }
        std::mem::swap(&mut self.held, &mut next.held);
        std::mem::swap(&mut self.seen, &mut next.seen);
        std::mem::swap(&mut self.line, &mut next.line);
        self.mode = next.mode;
        self.before = next.before;
        self.offset = next.offset;
        self.token_at = next.token_at;
        let Stats { bytes_in, tokens, capped } = &next.stats;
        self.stats.bytes_in += bytes_in;
        self.stats.tokens.iter_mut().zip(tokens).for_each(|(mine, theirs)| *mine += theirs);
        self.stats.capped += capped;
        if let (Some(mine), Some(theirs)) = (&mut self.findings, &mut next.findings) {
            let lines_before = mine.newlines;
            mine.list.extend(theirs.list.drain(..).map(|mut finding| {
                finding.line += lines_before;
                finding
            }));
            self.token_at.line += lines_before;
            mine.newlines += theirs.newlines;
            mine.line_start = theirs.line_start;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engine::rules::RuleSet;

    use super::*;

    fn key(seed: u64) -> String {
        // Not a real key; built at run time so no key-shaped text is stored.
        let body: String = (0..48)
            .map(|i| {
                b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
                    [((seed * 7 + i * 13) % 56) as usize] as char
            })
            .collect();
        format!("ph{}_{body}", 'x')
    }

    /// A stream cut at each line start, the pieces scanned by resumed
    /// redactors and joined, gives the whole stream's output, stats and
    /// findings.
    #[test]
    fn pieces_joined_at_line_starts_equal_the_whole() {
        let text = format!("a {} b\nno key here\n{} {}\n\nend {}", key(1), key(2), key(3), key(4));
        let text = text.as_bytes();
        let rules = Arc::new(RuleSet::default_rules(false));
        let mut whole = Redactor::new(Arc::clone(&rules)).record_findings();
        let mut expected = Vec::new();
        whole.feed(text, &mut expected).unwrap();
        whole.finish(&mut expected).unwrap();
        let expected_findings = whole.take_findings();
        assert_eq!(expected_findings.len(), 4);

        let starts: Vec<usize> = std::iter::once(0)
            .chain(text.iter().enumerate().filter(|&(_, &b)| b == b'\n').map(|(i, _)| i + 1))
            .collect();
        for cut in &starts {
            let mut first = Redactor::new(Arc::clone(&rules)).record_findings();
            let mut got = Vec::new();
            first.feed(&text[..*cut], &mut got).unwrap();
            let before = cut.checked_sub(1).map(|i| text[i]);
            assert_eq!((first.position(), first.last_byte()), (*cut as u64, before));
            let mut next = first.resume_at(*cut as u64, before);
            let mut rest = Vec::new();
            next.feed(&text[*cut..], &mut rest).unwrap();
            assert!(first.continue_with(next), "drained at a line start");
            got.extend_from_slice(&rest);
            first.finish(&mut got).unwrap();
            assert_eq!(got, expected, "cut at {cut}");
            assert_eq!(first.stats().tokens, whole.stats().tokens);
            assert_eq!(first.stats().bytes_in, whole.stats().bytes_in);
            assert_eq!(first.take_findings(), expected_findings, "cut at {cut}");
        }
    }

    /// Mid-token, the join is refused and nothing changes.
    #[test]
    fn a_redactor_inside_a_token_refuses_the_join() {
        let rules = Arc::new(RuleSet::default_rules(false));
        let mut first = Redactor::new(Arc::clone(&rules));
        let k = key(5);
        first.feed(&k.as_bytes()[..30], &mut Vec::new()).unwrap();
        assert!(!first.drained());
        let next = first.resume_at(first.position(), first.last_byte());
        assert!(!first.continue_with(next));
        let mut out = Vec::new();
        first.feed(&k.as_bytes()[30..], &mut out).unwrap();
        first.finish(&mut out).unwrap();
        assert_eq!(out, b"phx_[REDACTED]");
    }
}
