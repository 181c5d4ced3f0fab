//! The compiled rule set the engine reads: the DFA, its start states, the
//! prefilter, each rule's marker, and the shortcuts of the hot path.

use regex_automata::{dfa::dense, util::primitives::StateID};

use super::{family::Patterns, lines::LineNames, rule::Rule, span::Span};
use crate::engine::{fingerprint::Fingerprinter, marker::Marker, prefilter::Prefilter};

/// A rule as the engine uses it.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) marker: Marker,
    /// The bytes every token of the rule starts with (empty if there are
    /// none to keep apart from the secret), for `{prefix}` and `{stars}`.
    pub(crate) prefix: Vec<u8>,
    /// The marker, when it is the same for every token.
    pub(crate) fixed: Option<Vec<u8>>,
    /// Where the secret lies in a match, for a rule with a group `secret`
    /// (`None`: the match is all secret).
    pub(crate) span: Option<Span>,
}

/// Rules compiled for the engine. Build once, share between redactors.
#[derive(Debug)]
pub struct RuleSet {
    pub(super) rules: Vec<Rule>,
    pub(crate) compiled: Vec<Compiled>,
    /// The marker for a run cut at the hold cap.
    pub(crate) capped_marker: Marker,
    pub(crate) fingerprints: Fingerprinter,
    pub(crate) dfa: dense::DFA<Vec<u32>>,
    /// Which rule each of the DFA's patterns is (a pattern may hold rules
    /// that differ only in their literal prefix: see `family.rs`).
    pub(crate) patterns: Patterns,
    /// The start state after each byte (rules may look behind with `\b`).
    pub(crate) start_after: Box<[StateID; 256]>,
    /// The start state at the beginning of the input.
    pub(crate) start_first: StateID,
    pub(crate) prefilter: Prefilter,
    /// Longest literal prefix, for the end-of-buffer check.
    pub(crate) max_prefix_len: usize,
    /// Whether the prefilter looks for literal prefixes (else for the bytes
    /// a token can begin with).
    pub(super) literal_prefilter: bool,
    /// Whether a literal prefix holds a newline (so that a prefix may run
    /// from one line into the next).
    pub(super) newline_in_prefix: bool,
    /// A prefilter that finds, in a JSON string's raw bytes, a place for
    /// every token that may begin in the string with its `\"`, `\\` and
    /// `\/` escapes undone: the literal prefixes cut before their first
    /// `"`, `\` or `/`, which a token's start then holds as they are in
    /// the raw bytes (a prefilter of first bytes finds the escape's byte
    /// in both). `None` when a prefix begins with one of those.
    pub(super) escaped_prefilter: Option<Prefilter>,
    pub(super) max_held: usize,
    pub(crate) hold_cap: usize,
    /// Whether some marker needs the token's hash.
    pub(crate) needs_hash: bool,
    /// Whether some marker needs the token's first or last bytes.
    pub(crate) needs_ends: bool,
    /// Match states that loop back to themselves on many bytes (a token's
    /// body, for the default rules), with those bytes, so that the engine
    /// can skip a run of them without stepping the DFA byte by byte.
    pub(super) self_loops: Vec<(StateID, Box<[bool; 256]>)>,
    /// Plain (neither match nor dead) states that move, on every byte of a
    /// set, to the next state of a fixed path: the engine counts a run of
    /// such bytes with a table and jumps along the path, rather than
    /// stepping the DFA through a chain of dependent table loads. Indexed
    /// by state index; `u32::MAX` for none.
    pub(super) chain_of: Vec<u32>,
    pub(super) chains: Vec<Chain>,
    /// When a rule can reach the hold cap: the others, which a cut must
    /// never split.
    pub(crate) bounded: Option<Bounded>,
    /// Per rule: whether its findings carry the token (see
    /// [`RuleSet::capture_tokens`]). Empty: none do.
    pub(crate) capture: Vec<bool>,
    /// The rule that counts only on lines naming a host, if there is one
    /// (the last), and those names.
    pub(crate) lines: Option<LineNames>,
}

/// See [`RuleSet::chain`].
#[derive(Debug)]
pub(crate) struct Chain {
    /// The bytes that move along the path.
    pub(crate) on: Box<[bool; 256]>,
    /// `path[k]` is the state after `k` such bytes; all plain.
    pub(crate) path: Vec<StateID>,
}

/// The rules of a set that decide every candidate well within the hold cap
/// (the built-in keys, `ghp_…`), compiled apart, for when another rule of
/// the set can reach the cap: the engine moves a cut back to the start of
/// such a rule's token, so that a cut never falls inside one (see
/// [`HOLD_CAP`](super::HOLD_CAP)).
#[derive(Debug)]
pub(crate) struct Bounded {
    pub(crate) dfa: dense::DFA<Vec<u32>>,
    pub(super) start_first: StateID,
    pub(super) start_after: Box<[StateID; 256]>,
    /// The bytes on which some start leaves for a live state.
    pub(crate) first: Box<[bool; 256]>,
    /// The index in the set of the rule of each of the DFA's patterns.
    pub(crate) rule_of: Vec<usize>,
}

impl Bounded {
    /// The start state for a candidate after `before` (`None`: at the
    /// beginning of the input).
    #[inline]
    pub(crate) fn start(&self, before: Option<u8>) -> StateID {
        match before {
            Some(byte) => self.start_after[usize::from(byte)],
            None => self.start_first,
        }
    }
}

impl RuleSet {
    /// The start state for a candidate after `before` (`None`: at the
    /// beginning of the input).
    #[inline]
    pub(crate) fn start(&self, before: Option<u8>) -> StateID {
        match before {
            Some(byte) => self.start_after[usize::from(byte)],
            None => self.start_first,
        }
    }

    /// The default rules (see [`Rule::defaults`]), compiled.
    pub fn default_rules(include_public: bool) -> RuleSet {
        RuleSet::new(Rule::defaults(include_public)).expect("the default rules are valid")
    }

    /// The rules, one per line (name, regex, marker), then how much they
    /// may hold back: what `--list-rules` prints.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        for (rule, compiled) in self.rules.iter().zip(&self.compiled) {
            let only =
                if compiled.span.is_some() { "\t(replaces the group secret only)" } else { "" };
            let lines = if rule.on_lines_naming.is_empty() {
                String::new()
            } else {
                format!("\t(only on lines naming {})", rule.on_lines_naming.join(", "))
            };
            text += &format!(
                "{}\t{}\t{}{only}{lines}\n",
                rule.name,
                rule.pattern,
                compiled.marker.template()
            );
        }
        let prefilter = if self.literal_prefilter {
            "literal prefixes"
        } else {
            "first bytes (a rule has no literal prefix)"
        };
        text += &format!(
            "holds back at most {} bytes between reads{}; the prefilter looks for {prefilter}\n",
            self.max_held,
            if self.max_held == self.hold_cap { " (the cap: a rule could hold more)" } else { "" },
        );
        text
    }

    /// Whether a token of these rules may occur in `text`, a whole text
    /// (not a chunk of a stream). False is sure: no token can begin in
    /// `text`, and the engine, which runs the same prefilter before its
    /// DFA, finds none there; true is only a maybe. For a caller that
    /// decides many short texts (a log record's fields) and runs a
    /// [`Redactor`](crate::Redactor) on the few that may hold a token.
    #[inline]
    pub fn may_hold_token(&self, text: &[u8]) -> bool {
        self.prefilter.find(text).is_some()
    }

    /// A byte `m` such that no name the rules look for on a line (see
    /// `Rule::on_lines_naming`) begins in text without a byte `b` where
    /// `b | 0x20 == m`; `None` when the rules look for none, or for names
    /// no one such byte covers.
    #[cfg(feature = "cli")]
    pub(crate) fn line_name_mark(&self) -> Option<u8> {
        self.lines.as_ref()?.mark()
    }

    /// Where, in `text[pos..]`, the first possible token start is, when
    /// that shows that no token begins in the whole lines before it
    /// (each ending in a newline, maybe with other bytes between them),
    /// nor in a stream made of those lines alone: the prefilter's first
    /// hit (`text.len()` if none), when no literal prefix holds a newline
    /// (so none runs from one line into the next, and a redactor fed the
    /// lines holds nothing back at their end: see [`Redactor`]'s
    /// `skip_lines`); `None` when one does. Within one `text`, `pos` only
    /// grows from call to call with one `cursor`.
    ///
    /// [`Redactor`]: crate::Redactor
    #[inline]
    #[cfg(feature = "cli")]
    pub(crate) fn clean_lines(
        &self,
        text: &[u8],
        pos: usize,
        cursor: &mut crate::engine::prefilter::Cursor,
        escaped: bool,
    ) -> Option<usize> {
        let prefilter = if escaped { self.escaped_prefilter.as_ref()? } else { &self.prefilter };
        let hit = || prefilter.find_at(text, pos, cursor).unwrap_or(text.len());
        (!self.newline_in_prefix).then(hit)
    }

    /// Makes the findings of the rules named in `names` carry the token
    /// itself ([`Finding::secret`](crate::Finding::secret)), for a check
    /// that asks the issuer whether a key is live. Off by default: a
    /// finding otherwise never holds a token's bytes. A token longer than
    /// [`CAPTURE_MAX`](crate::CAPTURE_MAX) bytes is not carried.
    ///
    /// A name of a built-in rule stands for that rule only: a custom rule
    /// given its name (with the built-in one left out) is not carried, so
    /// that its tokens (another service's secrets) are never sent as
    /// PostHog's keys.
    pub fn capture_tokens(mut self, names: &[&str]) -> RuleSet {
        let named = |r: &Rule| {
            names.contains(&r.name.as_str())
                && Rule::builtin(&r.name).is_none_or(|builtin| builtin.pattern == r.pattern)
        };
        self.capture = self.rules.iter().map(named).collect();
        if !self.capture.contains(&true) {
            self.capture.clear();
        }
        self
    }

    /// The rules, in priority order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The most bytes a [`Redactor`](crate::Redactor) ever holds back
    /// between two calls of `feed`: the longest run that can still turn out
    /// to be part of a token, or the hold cap if that is shorter.
    pub fn max_held(&self) -> usize {
        self.max_held
    }

    /// The bytes on which match state `state` stays where it is, if it
    /// has many of them.
    #[inline]
    pub(crate) fn self_loop(&self, state: StateID) -> Option<&[bool; 256]> {
        self.self_loops.iter().find(|(s, _)| *s == state).map(|(_, stay)| &**stay)
    }

    /// The chain that starts at non-special state `state`, if any.
    #[inline]
    pub(crate) fn chain(&self, state: StateID) -> Option<&Chain> {
        let index = state.as_usize() >> self.dfa.stride2();
        let chain = *self.chain_of.get(index)?;
        self.chains.get(chain as usize)
    }
}
