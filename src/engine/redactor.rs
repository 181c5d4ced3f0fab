//! The streaming engine: a pure incremental state machine, no I/O.
//!
//! # How it stays equal to the regex, however the input is chunked
//!
//! The output must equal `regex::bytes::Regex::replace_all` over the whole
//! input: leftmost-first, non-overlapping matches, one pass over the
//! original bytes. The engine walks candidate starts in increasing order
//! (the prefilter finds them) and runs the anchored DFA from each. Because
//! every earlier start has already failed for good, the first start whose
//! DFA reaches a match state *is* the leftmost match, and the DFA's
//! leftmost-first semantics decide where it ends.
//!
//! # What it holds back, and why that is bounded
//!
//! Between calls of [`Redactor::feed`] the engine holds back only bytes that
//! could still turn out to be part of a token:
//!
//! - a candidate that has not yet matched nor failed (for the default rules
//!   at most 44 bytes: the prefix and 40 body bytes, for a body with an
//!   early `_`);
//! - a partial prefix at the end of the chunk (at most 3 bytes);
//! - inside a token that has matched, the bytes after the last match end
//!   (for the default rules one byte, because a DFA reports a match one
//!   byte late).
//!
//! The bytes of a matched token are never kept: the marker is written when
//! the token ends (from a running hash and the token's first and last four
//! bytes, when the marker needs them), so a token of any length costs
//! constant memory. [`RuleSet::max_held`] is the bound, computed from the
//! DFA when the rules are compiled.
//!
//! Custom rules can make the first or the last kind unbounded (`BEGIN.*END`).
//! Those are held to the rule set's hold cap: a run of the DFA stops when it
//! has gone the cap past its candidate's start, or past its last match end,
//! without a decision, and the engine redacts up to there (see
//! [`HOLD_CAP`](crate::engine::rules::HOLD_CAP)). Both distances are counted in the
//! stream, never in a buffer, so where the cut falls does not depend on how
//! the input was chunked.
//!
//! **A cut never splits a token of a rule that decides within the cap** (the
//! built-in keys, `ghp_…`: every rule whose own hold bound is below the
//! cap). At a cut, those rules alone are searched for over the bytes after
//! the cut run's start (or its last match end), leftmost first as a search
//! would find them; if one's token or candidate is still open at the cut,
//! the cut moves back to where it starts, and that token is then run under
//! those rules alone, redacted whole and reported under its own rule. The
//! search sees only bytes before the cut and the byte before each start, so
//! this too is the same however the input is chunked; and it stays linear:
//! an open token either started within those rules' bound of the cut or
//! has matched since, so a cut moved back still consumes all but that bound
//! of the cap, and the search costs no more per byte than the engine's own.
//! A rule that can itself reach the cap can still be cut.
//!
//! # Look-behind
//!
//! A candidate's start state depends on the byte before it (`\b` in a custom
//! rule), which may have come in an earlier chunk: the engine keeps the last
//! byte it consumed.

use std::{fmt, io, sync::Arc};

use regex_automata::{
    PatternID,
    dfa::{Automaton, dense},
    util::primitives::StateID,
};

use crate::{
    engine::marker::{Mask, Seen},
    engine::rules::{Bounded, CAPPED, RuleSet},
};

/// How many bytes of a new chunk are copied behind held-back bytes at a
/// time, to scan across the boundary. Held-back runs are short, so one
/// round almost always resolves them.
// Used by the drivers that read a file on several threads (`app::filter::segments`).
#[cfg(feature = "cli")]
mod resume;

const STITCH: usize = 256;

/// Redacts secrets from a stream fed to it in chunks of any size.
///
/// # Examples
///
/// ```
/// use phx_redact::{Redactor, RuleSet};
/// use std::sync::Arc;
///
/// let rules = Arc::new(RuleSet::default_rules(false));
/// let mut redactor = Redactor::new(rules);
/// let key = format!("phx_{}", "a1B2c3D4e5".repeat(5));
/// let line = format!("Authorization: Bearer {key}\n");
/// let (head, tail) = line.as_bytes().split_at(30); // a key split across reads
///
/// let mut out = Vec::new();
/// redactor.feed(head, &mut out).unwrap();
/// redactor.feed(tail, &mut out).unwrap();
/// redactor.finish(&mut out).unwrap();
/// assert_eq!(out, b"Authorization: Bearer phx_[REDACTED]\n");
/// ```
pub struct Redactor {
    rules: Arc<RuleSet>,
    mode: Mode,
    /// Bytes held back from earlier chunks; see the module docs for the bound.
    held: Vec<u8>,
    /// The byte before the next one to scan (`None` at the start of the
    /// stream): rules may look behind a token's start with `\b`.
    before: Option<u8>,
    /// Bytes of this stream consumed: written out or taken into a token.
    offset: u64,
    /// What the current token has shown so far.
    seen: Seen,
    /// Where the current token starts.
    token_at: Position,
    /// `Some` when findings are recorded.
    findings: Option<Findings>,
    stats: Stats,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Looking for the next token.
    Search,
    /// A cut at the hold cap was moved back to here, the start of a token
    /// of a rule that decides within the cap: run the DFA of those rules
    /// (see [`RuleSet::bounded`]) from here, as a candidate.
    Forced,
    /// Inside a token that has matched. `state` is the DFA's state after the
    /// last match end, which is where the held-back bytes start; `bounded`
    /// when that is the DFA of the rules that decide within the cap.
    Token { state: StateID, pattern: PatternID, bounded: bool },
}

/// What a scan of one mode decided, for [`Redactor::scan_from`]'s loop.
enum Step {
    /// Return: this many bytes of the buffer are consumed.
    Stop(usize),
    /// Everything before this offset is consumed and written: go on there.
    On(usize),
    /// Back to searching, from where the scan was.
    Search,
}

/// Counts of what a [`Redactor`] has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes fed in.
    pub bytes_in: u64,
    /// Tokens replaced, by rule, in the order of [`RuleSet::rules`].
    pub tokens: Vec<u64>,
    /// Runs cut at the hold cap before any rule matched them (see
    /// [`HOLD_CAP`](crate::engine::rules::HOLD_CAP)), redacted all the same.
    pub capped: u64,
}

impl Stats {
    /// Tokens replaced, all rules together, capped runs included.
    pub fn total_tokens(&self) -> u64 {
        self.tokens.iter().sum::<u64>() + self.capped
    }
}

/// A token found, as the check mode reports it: where it is and how to tell
/// it apart from others, never its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Index of its rule in [`RuleSet::rules`]; `None` for a run cut at the
    /// hold cap before any rule matched it.
    pub rule: Option<usize>,
    /// Byte offset of its first byte in the stream.
    pub offset: u64,
    /// Line of its first byte, from 1.
    pub line: u64,
    /// Byte column of its first byte, from 1.
    pub column: u64,
    /// Its length in bytes.
    pub len: u64,
    /// PostHog's mask of it (`phx_...abcd`).
    pub mask: Mask,
    /// Its hash, keyed if a key was given.
    pub fingerprint: [u8; 32],
    /// Where it is when not in the content itself, but in bytes around it
    /// that were scanned as a stream of their own: a compressed file's
    /// header field (`gzip header FNAME`) or skippable frame. Its offset,
    /// line and column are then within that field. None in the content.
    pub place: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Position {
    offset: u64,
    line: u64,
    column: u64,
}

#[derive(Debug, Default)]
struct Findings {
    list: Vec<Finding>,
    /// Newlines consumed so far.
    newlines: u64,
    /// Offset of the first byte after the last newline consumed.
    line_start: u64,
}

/// How a run of the DFA over a buffer ended.
struct Run {
    /// The last match seen: its end, the DFA state at that end, the rule.
    last: Option<(usize, StateID, PatternID)>,
    /// True when the DFA died; false when the buffer ran out first.
    dead: bool,
    /// The state after the last byte, when the DFA did not die.
    state: StateID,
    /// Where the run was cut, having gone the hold cap past its start or
    /// its last match end without a decision.
    capped: Option<usize>,
}

impl Redactor {
    /// A redactor for `rules`, which may be shared by many redactors.
    pub fn new(rules: Arc<RuleSet>) -> Redactor {
        let tokens = vec![0; rules.rules().len()];
        Redactor {
            held: Vec::with_capacity(rules.max_held().min(64 * 1024) + STITCH),
            rules,
            mode: Mode::Search,
            before: None,
            offset: 0,
            seen: Seen::default(),
            token_at: Position::default(),
            findings: None,
            stats: Stats { bytes_in: 0, tokens, capped: 0 },
        }
    }

    /// Also records a [`Finding`] for each token, with its line and column
    /// (which costs a count of the newlines); see [`Redactor::take_findings`].
    pub fn record_findings(mut self) -> Redactor {
        self.findings = Some(Findings::default());
        self
    }

    /// Whether it records findings (see [`Redactor::record_findings`]).
    pub fn records_findings(&self) -> bool {
        self.findings.is_some()
    }

    /// The findings recorded since the last call, in stream order.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        self.findings.as_mut().map(|f| std::mem::take(&mut f.list)).unwrap_or_default()
    }

    /// Redacts `chunk`, the next piece of the stream, into `out`.
    ///
    /// Everything that can no longer be part of a token is written before
    /// this returns; the rest (see [`Redactor::held`]) waits for the next
    /// chunk or for [`Redactor::finish`].
    ///
    /// # Errors
    ///
    /// Only those of `out`. After an error the redactor's output is
    /// incomplete; start a new one for a new stream.
    pub fn feed<W: io::Write + ?Sized>(&mut self, mut chunk: &[u8], out: &mut W) -> io::Result<()> {
        self.stats.bytes_in += chunk.len() as u64;
        // Scan across the boundary: copy a little of the new chunk behind the
        // held bytes until the scan gets past everything that was held. The
        // amount doubles with what is held, so that a long hold (a custom
        // rule) is rescanned a logarithmic number of times, not a linear one.
        while !self.held.is_empty() && !chunk.is_empty() {
            let old = self.held.len();
            let take = chunk.len().min(STITCH.max(old));
            self.held.extend_from_slice(&chunk[..take]);
            let held = std::mem::take(&mut self.held);
            let consumed = self.scan(&held, false, out);
            self.held = held;
            let consumed = consumed?;
            if consumed >= old {
                // Nothing from before remains: go on in the chunk itself, from
                // the first byte not consumed.
                self.held.clear();
                chunk = &chunk[consumed - old..];
                break;
            }
            self.held.drain(..consumed);
            chunk = &chunk[take..];
        }
        if self.held.is_empty() && !chunk.is_empty() {
            let consumed = self.scan(chunk, false, out)?;
            self.held.extend_from_slice(&chunk[consumed..]);
        }
        debug_assert!(self.held.len() <= self.rules.max_held());
        Ok(())
    }

    /// Ends the stream: writes out whatever was held back, redacted.
    ///
    /// The redactor is then ready for a new stream, whose offsets and lines
    /// count from the start again; its [`Stats`] carry on.
    ///
    /// # Errors
    ///
    /// Only those of `out`.
    pub fn finish<W: io::Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        let result = self.scan(&held, true, out);
        self.held = held;
        self.held.clear();
        self.mode = Mode::Search;
        self.before = None;
        self.offset = 0;
        if let Some(findings) = &mut self.findings {
            findings.newlines = 0;
            findings.line_start = 0;
        }
        result.map(|_| ())
    }

    /// Counts as this stream's the tokens of `found` (their bytes aside)
    /// and records `findings` (when findings are recorded): what another
    /// redactor, under the same rules, found in bytes that belong to this
    /// input but not to its content, such as a compressed file's header
    /// fields. A file whose only key is there is not clean.
    pub fn add_found(&mut self, found: &Stats, findings: impl IntoIterator<Item = Finding>) {
        for (mine, theirs) in self.stats.tokens.iter_mut().zip(&found.tokens) {
            *mine += theirs;
        }
        self.stats.capped += found.capped;
        if let Some(mine) = &mut self.findings {
            mine.list.extend(findings);
        }
    }

    /// How many bytes are held back, waiting for more input.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// How many bytes fed in have not been written out yet: held back, or
    /// taken into a token whose marker is not written yet. Everything
    /// written so far is the redaction of the stream's bytes before these,
    /// and depends on nothing after them: a new redactor fed the stream
    /// from there writes the rest (but for a rule that looks behind with
    /// `\b`, which sees the start of a stream there). Follow mode resumes
    /// from that point.
    pub fn unwritten(&self) -> u64 {
        // Only a token in progress has taken in bytes it has not written;
        // in any other mode everything not held has gone out.
        let token =
            if let Mode::Token { .. } = self.mode { self.offset - self.token_at.offset } else { 0 };
        token + self.held.len() as u64
    }

    /// What this redactor has seen so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The rules this redactor applies.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Redacts `buf` and returns how many of its bytes were consumed
    /// (written, or absorbed into a token). The rest must be presented again,
    /// at the start of the next call. With `eof`, everything is consumed.
    fn scan<W: io::Write + ?Sized>(
        &mut self,
        buf: &[u8],
        eof: bool,
        out: &mut W,
    ) -> io::Result<usize> {
        let consumed = self.scan_from(buf, eof, out)?;
        if let Some(consumed) = consumed.checked_sub(1) {
            self.before = Some(buf[consumed]);
        }
        Ok(consumed)
    }

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
        loop {
            let step = match (self.mode, &rules.bounded) {
                (Mode::Token { state, pattern, bounded }, _) => {
                    Some(self.scan_token(buf, pos, eof, (state, pattern, bounded), out)?)
                }
                (Mode::Forced, Some(set)) => {
                    Some(self.scan_forced(buf, pos, plain, eof, set, out)?)
                }
                _ => None,
            };
            match step {
                Some(Step::Stop(consumed)) => return Ok(consumed),
                Some(Step::On(end)) => {
                    pos = end;
                    plain = end;
                    continue;
                }
                Some(Step::Search) => continue,
                None => {}
            }
            let Some(found) = rules.prefilter.find(&buf[pos..]) else {
                let keep = if eof { buf.len() } else { self.partial_start(buf, pos) };
                self.pass(&buf[plain..keep], out)?;
                return Ok(keep);
            };
            let start = pos + found;
            let run =
                self.run::<true>(&rules.dfa, rules.start(self.byte_before(buf, start)), buf, start);
            if let Some(cut) = run.capped {
                pos = self.cut_at_cap(buf, plain, start, cut, &run, out)?;
                plain = pos;
                continue;
            }
            let mut last = run.last;
            if !run.dead && eof {
                let eoi = rules.dfa.next_eoi_state(run.state);
                if rules.dfa.is_match_state(eoi) {
                    last = Some((buf.len(), run.state, rules.dfa.match_pattern(eoi, 0)));
                }
            }
            match last {
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
                    self.pass(&buf[plain..start], out)?;
                    self.begin_token();
                    self.absorb(&buf[start..end]);
                    if run.dead || eof {
                        self.end_token(Some(pattern.as_usize()), out)?;
                        pos = end;
                        plain = end;
                    } else {
                        // The token goes on past this buffer.
                        self.mode = Mode::Token { state, pattern, bounded: false };
                        return Ok(end);
                    }
                }
            }
        }
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
        let mut last = run.last;
        if !run.dead && eof {
            let eoi = set.dfa.next_eoi_state(run.state);
            if set.dfa.is_match_state(eoi) {
                last = Some((buf.len(), run.state, set.dfa.match_pattern(eoi, 0)));
            }
        }
        match last {
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
                self.pass(&buf[plain..start], out)?;
                self.begin_token();
                self.absorb(&buf[start..end]);
                if run.dead || eof {
                    self.end_token(Some(set.rule_of[pattern.as_usize()]), out)?;
                    self.mode = Mode::Search;
                    return Ok(Step::On(end));
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
        self.end_token(run.last.map(|(.., pattern)| pattern.as_usize()), out)?;
        if open.is_some() {
            self.mode = Mode::Forced;
        }
        Ok(cut)
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
            _ => pattern.as_usize(),
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

    /// Runs `dfa` (the set's when `MAIN`, with its shortcuts) from `state`
    /// over `buf[from..]`, at most the hold cap past `from` or past the last
    /// match end.
    #[inline]
    fn run<const MAIN: bool>(
        &self,
        dfa: &dense::DFA<Vec<u32>>,
        mut state: StateID,
        buf: &[u8],
        from: usize,
    ) -> Run {
        let cap = self.rules.hold_cap;
        // Where the run must stop undecided: the cap past the last match
        // end, or past `from` until a match.
        let mut limit = from.saturating_add(cap);
        let mut stop = buf.len().min(limit);
        // The last match's end, the state there, and the match state, whose
        // rule is looked up once at the end rather than at every body byte.
        let mut last: Option<(usize, StateID, StateID)> = None;
        let mut dead = false;
        let mut i = from;
        while i < stop {
            if let Some(chain) = self.rules.chain(state).filter(|_| MAIN) {
                // A run of the chain's bytes moves along its path: count the
                // run with a table instead of stepping the DFA byte by byte.
                let most = (chain.path.len() - 1).min(stop - i);
                let n =
                    buf[i..].iter().take(most).take_while(|&&b| chain.on[usize::from(b)]).count();
                if n > 0 {
                    state = chain.path[n];
                    i += n;
                    continue;
                }
            }
            let next = dfa.next_state(state, buf[i]);
            if dfa.is_special_state(next) {
                if dfa.is_match_state(next) {
                    // Matches are reported one byte late: this one ends
                    // before `buf[i]`, where the state was `state`.
                    last = Some((i, state, next));
                    if MAIN && next == state {
                        if let Some(stay) = self.rules.self_loop(state) {
                            // Each byte that keeps the DFA here ends a match
                            // too: skip the run with a table, not the DFA.
                            let n =
                                buf[i + 1..].iter().take_while(|&&b| stay[usize::from(b)]).count();
                            i += n;
                            last = Some((i, state, next));
                        }
                    }
                    limit = i.saturating_add(cap);
                    stop = buf.len().min(limit);
                } else if dfa.is_dead_state(next) {
                    dead = true;
                    state = next;
                    break;
                }
            }
            state = next;
            i += 1;
        }
        let capped = (!dead && i >= limit).then_some(limit);
        // A DFA reports a match one byte late, so the byte that ends a token
        // leads to a match state from which every byte leads to the dead
        // state. Call that dead now: waiting for one more byte to learn it
        // would hold a finished line back until the next one arrives.
        if !dead && capped.is_none() && last.is_some_and(|(end, ..)| end + 1 == buf.len()) {
            dead = Self::is_final(dfa, state);
        }
        let last = last.map(|(end, at_end, matched)| (end, at_end, dfa.match_pattern(matched, 0)));
        Run { last, dead, state, capped }
    }

    /// Whether every byte leads from `state` to the dead state.
    fn is_final(dfa: &dense::DFA<Vec<u32>>, state: StateID) -> bool {
        dfa.byte_classes()
            .representatives(..)
            .filter_map(|unit| unit.as_u8())
            .all(|byte| dfa.is_dead_state(dfa.next_state(state, byte)))
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

    /// Writes bytes that are not part of a token.
    #[inline]
    fn pass<W: io::Write + ?Sized>(&mut self, bytes: &[u8], out: &mut W) -> io::Result<()> {
        self.advance(bytes);
        out.write_all(bytes)
    }

    /// Takes the next bytes of the current token.
    #[inline]
    fn absorb(&mut self, bytes: &[u8]) {
        self.seen.absorb(bytes);
        self.advance(bytes);
    }

    #[inline]
    fn advance(&mut self, bytes: &[u8]) {
        if let Some(findings) = &mut self.findings {
            if let Some(last) = memchr::memrchr(b'\n', bytes) {
                // SIMD counting: a memchr per line costs more than the
                // scan on lines of a hundred bytes.
                findings.newlines += bytecount::count(&bytes[..=last], b'\n') as u64;
                findings.line_start = self.offset + last as u64 + 1;
            }
        }
        self.offset += bytes.len() as u64;
    }

    #[inline]
    fn begin_token(&mut self) {
        let recording = self.findings.is_some();
        let (ends, hash) = (self.rules.needs_ends || recording, self.rules.needs_hash || recording);
        self.seen.start(ends, hash, || self.rules.fingerprints.hasher());
        let (line, column) = self
            .findings
            .as_ref()
            .map_or((0, 0), |f| (f.newlines + 1, self.offset - f.line_start + 1));
        self.token_at = Position { offset: self.offset, line, column };
    }

    /// Ends the current token of the rule at index `rule` (`None`: cut at
    /// the cap).
    #[inline]
    fn end_token<W: io::Write + ?Sized>(
        &mut self,
        rule: Option<usize>,
        out: &mut W,
    ) -> io::Result<()> {
        let rules = &*self.rules;
        let (name, marker, prefix) = match rule {
            Some(r) => {
                self.stats.tokens[r] += 1;
                let compiled = &rules.compiled[r];
                if let (Some(fixed), None) = (&compiled.fixed, &self.findings) {
                    return out.write_all(fixed);
                }
                let name = rules.rules()[r].name.as_str();
                (name, &compiled.marker, compiled.prefix.as_slice())
            }
            None => {
                self.stats.capped += 1;
                (CAPPED, &rules.capped_marker, &[][..])
            }
        };
        if let Some(findings) = &mut self.findings {
            findings.list.push(Finding {
                rule,
                offset: self.token_at.offset,
                line: self.token_at.line,
                column: self.token_at.column,
                len: self.seen.len,
                mask: self.seen.mask(),
                fingerprint: self.seen.hash(),
                place: None,
            });
        }
        marker.render(name, prefix, &self.seen, &rules.fingerprints, out)
    }
}

/// Redacts `input` in one piece with `rules`: for short texts such as
/// messages; a stream goes through a [`Redactor`].
///
/// ```
/// use phx_redact::{RuleSet, redact};
/// use std::sync::Arc;
///
/// let rules = Arc::new(RuleSet::default_rules(false));
/// let text = format!("no such file: phr_{}.log", "x".repeat(43));
/// assert_eq!(redact(&rules, text.as_bytes()), b"no such file: phr_[REDACTED].log");
/// ```
pub fn redact(rules: &Arc<RuleSet>, input: &[u8]) -> Vec<u8> {
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut out = Vec::with_capacity(input.len());
    // Writing to a Vec cannot fail.
    let _ = redactor.feed(input, &mut out).and_then(|()| redactor.finish(&mut out));
    out
}

impl fmt::Debug for Redactor {
    /// Never shows the held-back bytes: they may be the start of a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("mode", &self.mode)
            .field("token", &self.seen)
            .field("held", &format_args!("<{} bytes>", self.held.len()))
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
