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
//!
//! # Where it lives
//!
//! This file holds the [`Redactor`] and its public face; `scan.rs` the loop
//! that decides, candidate by candidate, what is a token; `run.rs` the run
//! of the DFA over a buffer (the hot path); `record.rs` what is done with
//! the bytes a scan decides on (written out, or taken into a token, counted
//! and recorded); `report.rs` the counts and findings it reports;
//! `lines.rs` what it keeps of the line it is in, for a rule that counts
//! only on lines that name a host;
//! `resume.rs` a redactor started part-way through a stream; `skip.rs`
//! lines a caller proved clean and wrote itself.

use std::{fmt, io, sync::Arc};

use regex_automata::{PatternID, util::primitives::StateID};

use crate::engine::{
    marker::Seen,
    rules::{HEAD_MAX, RuleSet, SpanCache},
};

mod lines;
mod record;
mod report;
// Used by the drivers that read a file on several threads (`app::filter::segments`).
#[cfg(feature = "cli")]
mod resume;
mod run;
mod scan;
// Used by the container records' reader (`app::records`).
#[cfg(feature = "cli")]
mod skip;

pub use report::{Finding, Stats};
use report::{Findings, Position};

/// How many bytes of a new chunk are copied behind held-back bytes at a
/// time, to scan across the boundary. Held-back runs are short, so one
/// round almost always resolves them.
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
    /// The current token's first bytes, while it goes on across feeds:
    /// they say which rule of its DFA pattern it is.
    head: Head,
    /// `Some` when findings are recorded.
    findings: Option<Findings>,
    stats: Stats,
    /// The line being read, for a rule that counts only on some lines.
    line: Line,
    /// Per rule with a group `secret`, the scratch space that finds it in
    /// a match, made at the rule's first token.
    spans: Vec<Option<SpanCache>>,
}

/// A token's first bytes, as many as tell the rules of one DFA pattern
/// apart (see [`HEAD_MAX`]).
#[derive(Clone, Copy, Debug, Default)]
struct Head {
    bytes: [u8; HEAD_MAX],
    len: u8,
}

impl Head {
    /// Keeps the first bytes of `token`.
    #[inline]
    fn keep(&mut self, token: &[u8]) {
        let len = token.len().min(HEAD_MAX);
        self.bytes[..len].copy_from_slice(&token[..len]);
        self.len = len as u8;
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The consumed bytes of the current line, as far as a rule that counts
/// only on some lines needs them (see `lines.rs`): whether a name was in
/// them, and their last bytes (a name's start cut off by a read), fewer
/// than the longest name.
#[derive(Clone, Debug, Default)]
struct Line {
    named: bool,
    tail: Vec<u8>,
    /// What the scan in progress learned of the line, in its buffer, of
    /// the last match it asked about (see `lines.rs`); forgotten when the
    /// scan ends.
    in_buf: Option<BufLine>,
}

/// A line of the buffer being scanned, as far as the rule that counts only
/// on some lines asks it: searched once for the names, however many of
/// that rule's matches it holds (a search per match would cost the line's
/// length times its matches).
#[derive(Clone, Copy, Debug)]
struct BufLine {
    /// Where it begins in the buffer; `None` when it began before it.
    begins: Option<usize>,
    /// Where it ends: at its newline, or at the buffer's end.
    ends: usize,
    /// Where the name that ends first on it, from its start in the
    /// buffer, ends.
    named_by: Option<usize>,
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

impl Redactor {
    /// A redactor for `rules`, which may be shared by many redactors.
    pub fn new(rules: Arc<RuleSet>) -> Redactor {
        let tokens = vec![0; rules.rules().len()];
        let mut seen = Seen::default();
        if !rules.capture.is_empty() {
            seen.capture();
        }
        Redactor {
            held: Vec::with_capacity(rules.max_held().min(64 * 1024) + STITCH),
            rules,
            mode: Mode::Search,
            before: None,
            offset: 0,
            seen,
            token_at: Position::default(),
            head: Head::default(),
            findings: None,
            line: Line::default(),
            spans: vec![None; tokens.len()],
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
        self.reset_line();
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
