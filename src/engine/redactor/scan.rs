//! The scan: candidate by candidate, in increasing order, what is a token
//! and what is not (see the module docs of [`super`] for why that equals
//! the regex), in each of the redactor's modes.

use std::{io, sync::Arc};

use regex_automata::{
    PatternID,
    dfa::{Automaton, dense},
    util::primitives::StateID,
};

use super::{Mode, Redactor, run::Run};
use crate::engine::{
    prefilter::Cursor,
    rules::{Bounded, RuleSet},
};

/// What a scan of one mode decided, for [`Redactor::scan_from`]'s loop.
enum Step {
    /// Return: this many bytes of the buffer are consumed.
    Stop(usize),
    /// Everything before this offset is consumed and written: go on there.
    On(usize),
    /// No token starts before this offset: search on there.
    Skip(usize),
    /// Back to searching, from where the scan was.
    Search,
}

impl Step {
    /// Moves the scan's place (`pos`) and the start of the bytes consumed
    /// but not written (`plain`) as this step says; `Some` with the bytes
    /// consumed when the scan returns.
    #[inline(always)]
    fn apply(self, pos: &mut usize, plain: &mut usize) -> Option<usize> {
        match self {
            Step::Stop(consumed) => return Some(consumed),
            Step::On(end) => (*pos, *plain) = (end, end),
            Step::Skip(next) => *pos = next,
            Step::Search => {}
        }
        None
    }
}

impl Redactor {
    /// Redacts `buf` and returns how many of its bytes were consumed
    /// (written, or absorbed into a token). The rest must be presented again,
    /// at the start of the next call. With `eof`, everything is consumed.
    pub(super) fn scan<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        eof: bool,
        out: &mut W,
    ) -> io::Result<usize> {
        self.forget_buf_lines();
        let consumed = self.scan_from(buf, eof, out);
        self.forget_buf_lines();
        let consumed = consumed?;
        if let Some(last) = consumed.checked_sub(1) {
            self.before = Some(buf[last]);
        }
        self.track_line(&buf[..consumed]);
        Ok(consumed)
    }

    /// The loop of [`Redactor::scan`]: the candidates the prefilter finds,
    /// in order, each run through the DFA, and the modes that a token going
    /// on or a cut leaves the redactor in.
    fn scan_from<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        eof: bool,
        out: &mut W,
    ) -> io::Result<usize> {
        let rules = Arc::clone(&self.rules);
        // Bytes before `pos` are consumed; those in `plain..pos` are
        // consumed but not yet written, so that they go out in one write.
        let mut pos = 0;
        let mut plain = 0;
        let mut cursor = Cursor::default();
        loop {
            if let Some(step) = self.scan_mode(buf, pos, plain, eof, &rules, out)? {
                if let Some(consumed) = step.apply(&mut pos, &mut plain) {
                    return Ok(consumed);
                }
                continue;
            }
            let Some(start) = rules.prefilter.find_at(buf, pos, &mut cursor) else {
                let keep = if eof { buf.len() } else { self.partial_start(buf, pos) };
                self.pass(&buf[plain..keep], out)?;
                return Ok(keep);
            };
            let run =
                self.run::<true>(&rules.dfa, rules.start(self.byte_before(buf, start)), buf, start);
            if let Some(cut) = run.capped {
                pos = self.cut_at_cap(buf, plain, start, cut, &run, out)?;
                plain = pos;
                continue;
            }
            match run.last_match(&rules.dfa, buf.len(), eof) {
                None if run.dead || eof => {
                    // No token starts here; look again one byte on.
                    pos = start + 1;
                }
                None => {
                    // Undecided: hold the candidate back until more arrives.
                    self.pass(&buf[plain..start], out)?;
                    return Ok(start);
                }
                Some((end, state, pattern)) => {
                    let decided = run.dead || eof;
                    let found = (start, end, state, pattern);
                    let step = self.found(buf, plain, found, (decided, eof), out)?;
                    debug_assert!(!matches!(step, Step::Search), "a match is taken, held or not");
                    if let Some(consumed) = step.apply(&mut pos, &mut plain) {
                        return Ok(consumed);
                    }
                }
            }
        }
    }

    /// Takes in a match of the set's DFA at `buf[start..end]`, after which
    /// the DFA is in `state`: a token to end if `decided`, else one that
    /// goes on past this buffer (or a match held back whole).
    #[inline]
    fn found<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        plain: usize,
        (start, end, state, pattern): (usize, usize, StateID, PatternID),
        (decided, eof): (bool, bool),
        out: &mut W,
    ) -> io::Result<Step> {
        let rule = self.rules.patterns.rule(pattern.as_usize(), &buf[start..end]);
        match self.counts(buf, (start, end, rule), decided, eof) {
            Some(true) => {}
            Some(false) => return Ok(Step::Skip(start + 1)),
            None => {
                self.pass(&buf[plain..start], out)?;
                return Ok(Step::Stop(start));
            }
        }
        let Some(resume) = self.take_match(buf, plain, (start, end, rule), decided, out)? else {
            return Ok(Step::Stop(start));
        };
        if decided {
            self.end_token(Some(rule), out)?;
            return Ok(Step::On(resume));
        }
        // The token goes on past this buffer: keep its first bytes, which
        // say which rule it is.
        self.head.keep(&buf[start..end]);
        self.mode = Mode::Token { state, pattern, bounded: false };
        Ok(Step::Stop(end))
    }

    /// The step of a mode other than searching (a token that goes on, a
    /// forced candidate), if the redactor is in one: `None` to search.
    #[inline(always)]
    fn scan_mode<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        pos: usize,
        plain: usize,
        eof: bool,
        rules: &RuleSet,
        out: &mut W,
    ) -> io::Result<Option<Step>> {
        let step = match (self.mode, &rules.bounded) {
            (Mode::Token { state, pattern, bounded }, _) => {
                self.scan_token(buf, pos, eof, (state, pattern, bounded), out)?
            }
            (Mode::Forced, Some(set)) => self.scan_forced(buf, pos, plain, eof, set, out)?,
            _ => return Ok(None),
        };
        Ok(Some(step))
    }

    /// Scans on in a token that has matched (see [`Mode::Token`]), from
    /// `pos`, where the DFA is in `state`.
    #[inline]
    fn scan_token<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        pos: usize,
        eof: bool,
        (state, pattern, bounded): (StateID, PatternID, bool),
        out: &mut W,
    ) -> io::Result<Step> {
        let dfa = self.dfa(bounded);
        let run = if bounded {
            self.run::<false>(dfa, state, buf, pos)
        } else {
            self.run::<true>(dfa, state, buf, pos)
        };
        // In token mode the state at `pos` already follows a match end.
        let (end, end_state, pattern) = run.last.unwrap_or((pos, state, pattern));
        let mut next = Mode::Search;
        let end = match run.capped {
            // Fail closed: the token takes in everything up to the cut,
            // unless the cut falls inside a token of a rule that decides
            // within the cap: the token ends where that one starts, which is
            // then redacted and found whole.
            Some(cut) => match self.open_at(buf, end, cut) {
                Some(start) => {
                    next = Mode::Forced;
                    start
                }
                None => cut,
            },
            None if !run.dead && !eof => {
                self.absorb(&buf[pos..end]);
                self.mode = Mode::Token { state: end_state, pattern, bounded };
                return Ok(Step::Stop(end));
            }
            None if !run.dead && dfa.is_match_state(dfa.next_eoi_state(run.state)) => buf.len(),
            None => end,
        };
        self.absorb(&buf[pos..end]);
        self.end_token(Some(self.rule_of(pattern, bounded)), out)?;
        self.mode = next;
        Ok(Step::On(end))
    }

    /// Runs the rules that decide within the cap from `pos`, where a cut
    /// was moved back to (see [`Mode::Forced`]). `buf[plain..pos]` is
    /// consumed but not yet written.
    #[inline]
    fn scan_forced<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        pos: usize,
        plain: usize,
        eof: bool,
        set: &Bounded,
        out: &mut W,
    ) -> io::Result<Step> {
        let start = pos;
        let run = self.run::<false>(&set.dfa, set.start(self.byte_before(buf, start)), buf, start);
        match run.last_match(&set.dfa, buf.len(), eof) {
            // The candidate failed after all (or cannot be decided within
            // the cap, which its rules rule out): search on from here, with
            // every rule. That cannot come back here for good: a cut from
            // here moves back only past here.
            _ if run.capped.is_some() => self.mode = Mode::Search,
            None if run.dead || eof => self.mode = Mode::Search,
            None => {
                self.pass(&buf[plain..start], out)?;
                return Ok(Step::Stop(start));
            }
            Some((end, state, pattern)) => {
                let decided = run.dead || eof;
                let match_ = (start, end, set.rule_of[pattern.as_usize()]);
                match self.counts(buf, match_, decided, eof) {
                    Some(true) => {}
                    // Search from here with every rule, as if this one had
                    // not matched.
                    Some(false) => {
                        self.mode = Mode::Search;
                        return Ok(Step::Search);
                    }
                    None => {
                        self.pass(&buf[plain..start], out)?;
                        return Ok(Step::Stop(start));
                    }
                }
                let Some(resume) = self.take_match(buf, plain, match_, decided, out)? else {
                    return Ok(Step::Stop(start));
                };
                if decided {
                    self.end_token(Some(set.rule_of[pattern.as_usize()]), out)?;
                    self.mode = Mode::Search;
                    return Ok(Step::On(resume));
                }
                self.mode = Mode::Token { state, pattern, bounded: true };
                return Ok(Step::Stop(end));
            }
        }
        Ok(Step::Search)
    }

    /// A candidate at `start` undecided for the whole cap: fail closed,
    /// redact up to the cut, or up to the start of a token of a rule that
    /// decides within the cap, which the cut would split (that token is
    /// then run on its own, in [`Mode::Forced`]). Returns where scanning
    /// goes on.
    fn cut_at_cap<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        plain: usize,
        start: usize,
        cut: usize,
        run: &Run,
        out: &mut W,
    ) -> io::Result<usize> {
        let after = run.last.map_or(start + 1, |(end, ..)| end);
        let open = self.open_at(buf, after, cut);
        let cut = open.unwrap_or(cut);
        self.pass(&buf[plain..start], out)?;
        self.begin_token();
        self.absorb(&buf[start..cut]);
        let rule =
            run.last.map(|(end, _, p)| self.rules.patterns.rule(p.as_usize(), &buf[start..end]));
        self.end_token(rule, out)?;
        if open.is_some() {
            self.mode = Mode::Forced;
        }
        Ok(cut)
    }

    /// Takes in the token of a match of rule `rule` at `buf[start..end]`,
    /// `decided` (else it may go on): writes the bytes before it, from
    /// `plain`, and returns where the token's bytes end. For a rule with a
    /// group `secret` (see [`crate::engine::rules::SECRET_GROUP`]) the token
    /// is that group: the match's bytes before it are written as they are,
    /// and those after it are given back, to be scanned again; such a match
    /// is only taken once decided (`None`: hold it back from `start`).
    #[inline]
    fn take_match<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        plain: usize,
        (start, end, rule): (usize, usize, usize),
        decided: bool,
        out: &mut W,
    ) -> io::Result<Option<usize>> {
        let token = match &self.rules.compiled[rule].span {
            None => Some((start, end)),
            // The rule's own match is the DFA's, but for a look-behind at
            // the buffer's start: where they differ, replace it whole.
            Some(span) if decided => {
                let cache = self.spans[rule].get_or_insert_with(|| span.cache());
                Some(span.find(cache, buf, start, end).unwrap_or((start, end)))
            }
            Some(_) => None,
        };
        let Some((from, to)) = token else {
            self.pass(&buf[plain..start], out)?;
            return Ok(None);
        };
        self.pass(&buf[plain..from], out)?;
        self.begin_token();
        self.absorb(&buf[from..to]);
        Ok(Some(to))
    }

    /// The byte before `buf[i]`.
    #[inline]
    fn byte_before(&self, buf: &[u8], i: usize) -> Option<u8> {
        if i == 0 { self.before } else { Some(buf[i - 1]) }
    }

    /// The DFA of the rules that decide within the cap if `bounded`, else
    /// the set's.
    #[inline]
    fn dfa(&self, bounded: bool) -> &dense::DFA<Vec<u32>> {
        match (&self.rules.bounded, bounded) {
            (Some(set), true) => &set.dfa,
            _ => &self.rules.dfa,
        }
    }

    /// The index of the rule of `pattern` of [`Redactor::dfa`].
    #[inline]
    fn rule_of(&self, pattern: PatternID, bounded: bool) -> usize {
        match (&self.rules.bounded, bounded) {
            (Some(set), true) => set.rule_of[pattern.as_usize()],
            _ => self.rules.patterns.rule(pattern.as_usize(), self.head.bytes()),
        }
    }

    /// Where the first token or candidate of a rule that decides within the
    /// cap, among those found from `from` on as a search would find them
    /// (leftmost first, one after another), is still open at `cut`: the
    /// place to move a cut at `cut` back to, so that it does not split it.
    ///
    /// Costs at most the bytes from `from` to `cut` times those rules' hold
    /// bound; and where it finds one, the cut still consumes all but that
    /// bound of the cap (the token is still open, so it either started
    /// within the bound or has matched since), so cuts stay linear.
    fn open_at(&self, buf: &[u8], from: usize, cut: usize) -> Option<usize> {
        let set = self.rules.bounded.as_ref()?;
        let dfa = &set.dfa;
        let mut p = from;
        while p < cut {
            if !set.first[usize::from(buf[p])] {
                p += 1;
                continue;
            }
            let mut state = set.start(self.byte_before(buf, p));
            let mut last_end = None;
            let mut i = p;
            loop {
                if i == cut {
                    return Some(p);
                }
                let next = dfa.next_state(state, buf[i]);
                if dfa.is_match_state(next) {
                    last_end = Some(i);
                } else if dfa.is_dead_state(next) {
                    break;
                }
                state = next;
                i += 1;
            }
            p = last_end.filter(|&end| end > p).unwrap_or(p + 1);
        }
        None
    }

    /// Where the bytes that may begin a prefix cut short by the end of the
    /// buffer start: the prefilter cannot see those.
    fn partial_start(&self, buf: &[u8], pos: usize) -> usize {
        let window = self.rules.max_prefix_len.saturating_sub(1);
        let from = pos.max(buf.len().saturating_sub(window));
        (from..buf.len())
            .find(|&i| {
                let start = self.rules.start(self.byte_before(buf, i));
                !self.run::<true>(&self.rules.dfa, start, buf, i).dead
            })
            .unwrap_or(buf.len())
    }
}
