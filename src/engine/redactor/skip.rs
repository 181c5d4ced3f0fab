//! Lines a caller writes itself: the container records' reader proves a
//! record clean (no token begins in it) and writes it as it came, and the
//! redactor moves on as if it had been fed and written it. Built with the
//! application only.

use super::Redactor;

impl Redactor {
    /// Takes `len` bytes of the stream, `lines` whole lines (the last
    /// ending them), as if fed and written as they came, without scanning
    /// them: for a caller that has written them itself, having seen with
    /// the rules' prefilter that no token begins in them (see
    /// `RuleSet::clean_lines`), when nothing is held back nor in a token.
    /// The stream's offset, line count, look-behind byte (their newline)
    /// and bytes read move on as a feed of them would have moved them.
    pub(crate) fn skip_lines(&mut self, len: u64, lines: u64) {
        debug_assert!(self.at_rest());
        debug_assert!(len > 0 && lines > 0);
        self.stats.bytes_in += len;
        self.offset += len;
        if let Some(findings) = &mut self.findings {
            findings.newlines += lines;
            findings.line_start = self.offset;
        }
        self.before = Some(b'\n');
        // The next line starts after their newline.
        self.reset_line();
    }

    /// Whether nothing fed is held back nor in a token, and the scan goes
    /// on searching (not running a cut's token, see `Mode::Forced`): what
    /// [`Redactor::skip_lines`] and [`Redactor::skip_part`] ask.
    pub(crate) fn at_rest(&self) -> bool {
        self.unwritten() == 0 && matches!(self.mode, super::Mode::Search)
    }

    /// Takes `text`, the next bytes of the stream, which hold no newline,
    /// as if fed and written as they came, without scanning them:
    /// for a caller that has written them itself, having seen with
    /// [`Redactor::part_is_clean`] that no token begins in them, when
    /// nothing is held back nor in a token. The stream's offset, lines,
    /// look-behind byte, bytes read and what it keeps of the line (for a
    /// rule that counts only on lines naming a host) move on as a feed of
    /// them would have moved them.
    ///
    /// `may_name` false: the caller has seen that no name the rules look
    /// for on a line begins in `text` (see `RuleSet::line_name_mark`).
    pub(crate) fn skip_part(&mut self, text: &[u8], may_name: bool) {
        debug_assert!(self.at_rest());
        self.stats.bytes_in += text.len() as u64;
        self.advance(text);
        if let Some(&last) = text.last() {
            self.before = Some(last);
        }
        // The caller's record content holds no newline.
        debug_assert!(memchr::memchr(b'\n', text).is_none());
        self.track_part(text, may_name);
    }

    /// Whether no token begins in `text` and the newline after it, the
    /// next line of this stream (fed nothing yet held back, nor in a
    /// token): each place the prefilter finds in it is run through the
    /// DFA until the DFA dies. False, a maybe, when one matches, is still
    /// undecided at the newline, or the runs take more steps than a few
    /// times the line's length (hostile rules); true is sure, for a caller
    /// that then writes the line itself (see [`Redactor::skip_lines`]).
    pub(crate) fn line_is_clean(&self, text: &[u8]) -> bool {
        if self.rules.may_hold_token(b"\n") {
            // A token may begin at the newline: the redactor's to decide.
            return false;
        }
        let mut budget = 4 * text.len() + 1024;
        self.hits_die(text, true, &mut budget)
    }

    /// Whether no token begins in `text`, the next bytes of this stream
    /// (fed nothing yet held back, nor in a token), which do not end its
    /// line, nor in them and the bytes that follow: the DFA dies within
    /// `text` from each place the prefilter finds in it (`search`: else
    /// the caller has seen it find none), and from each of its last bytes
    /// where a prefix the prefilter looks for may begin and be cut short
    /// (as the redactor's scan, which would hold those back, tries them).
    /// A feed of `text` would write it all, and record nothing.
    pub(crate) fn part_is_clean(&self, text: &[u8], search: bool) -> bool {
        let mut budget = 4 * text.len() + 1024;
        if search && !self.hits_die(text, false, &mut budget) {
            return false;
        }
        let window = self.rules.max_prefix_len.saturating_sub(1);
        let tail = text.len().saturating_sub(window)..text.len();
        tail.into_iter().all(|at| self.dies(text, at, false, &mut budget))
    }

    /// Whether the DFA dies, before any match, from each place the
    /// prefilter finds in `text` (and a newline after it, if `newline`).
    fn hits_die(&self, text: &[u8], newline: bool, budget: &mut usize) -> bool {
        let mut cursor = crate::engine::prefilter::Cursor::default();
        let mut pos = 0;
        while let Some(start) = self.rules.prefilter.find_at(text, pos, &mut cursor) {
            if !self.dies(text, start, newline, budget) {
                return false;
            }
            pos = start + 1;
        }
        true
    }

    /// Whether the DFA, run from `text[start]` in the search mode (with
    /// the byte before it), dies before any match, within `text` (and a
    /// newline after it, if `newline`) and `budget` steps.
    fn dies(&self, text: &[u8], start: usize, newline: bool, budget: &mut usize) -> bool {
        use regex_automata::dfa::Automaton;
        let (rules, dfa) = (&*self.rules, &self.rules.dfa);
        let before = if start == 0 { self.before } else { Some(text[start - 1]) };
        let mut state = rules.start(before);
        let end = newline.then_some(&b'\n');
        for &byte in text[start..].iter().chain(end) {
            state = dfa.next_state(state, byte);
            *budget = match budget.checked_sub(1) {
                Some(left) if !dfa.is_match_state(state) => left,
                _ => return false,
            };
            if dfa.is_dead_state(state) {
                return true;
            }
        }
        false
    }
}
