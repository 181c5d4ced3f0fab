//! What counts as a secret: rules as data, compiled once into one DFA.
//!
//! A [`Rule`] is a name, a regex for the whole token and optionally its own
//! marker. A [`RuleSet`] compiles every rule into a single anchored,
//! leftmost-first, multi-pattern DFA, so that all rules run in one pass over
//! the original bytes and, where two rules could match at the same start,
//! the one listed first wins, exactly as an alternation would.
//!
//! The prefilter looks for the rules' literal prefixes (`phx_`, ...), found
//! from the regexes themselves. A rule without one (`[A-Z0-9]{32}`) still
//! works: every byte that can begin a match is then a candidate. Rules that
//! could make the engine hold back without bound (`BEGIN.*END`) are held to
//! [`HOLD_CAP`].

use regex_automata::{
    Anchored, MatchKind,
    dfa::{Automaton, StartKind, dense},
    nfa::thompson,
    util::{primitives::StateID, start, syntax},
};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::{
    engine::{
        fingerprint::Fingerprinter,
        marker::{Marker, Segment},
        prefilter::Prefilter,
    },
    error::Error,
};

mod analysis;
mod compile;
mod file;

pub(crate) use analysis::Bounded;
use analysis::*;
use compile::*;
pub use compile::{DFA_SIZE_LIMIT, NEST_LIMIT, NFA_SIZE_LIMIT};
pub(crate) use file::read_small_file;
#[cfg(feature = "rules-file")]
pub use file::{RULES_FILE_LIMIT, load_rules_file};

/// The version of the built-in rules' definition, printed by `--version`:
/// when it changes, what counts as a secret changed, and an audit made
/// with another version may have seen other tokens.
pub const RULESET_VERSION: &str =
    "2026-12: a [A-Za-z0-9_] body with 20 alnum in a row in its first 40";

/// The body that follows a secret prefix: a run of ASCII letters, digits
/// and underscores holding 20 letters or digits in a row that start within
/// its first 21 bytes (so by its 40th byte the question is settled).
///
/// 20, not the full length of any one era, so that truncated keys and every
/// era of PostHog's formats are caught. The trailing `[A-Za-z0-9_]*` makes
/// two glued keys (`phx_<a>phx_<b>`) one token, so the second key's body is
/// never left in the clear. Up to 20 bytes with `_` before the 20 letters
/// or digits fail closed where peer scanners (kingfisher's `phx_` + 14 +
/// `_` + 28) do, while a run with no 20 letters or digits in a row (Phoenix's
/// `phx_join`, mask-go's `phx_phx_phx_…`) is never a key however long it is.
/// The run of 20 must start by the body's 21st byte so that the engine
/// decides every candidate within 45 bytes: a rule that could wait for its
/// 20 letters or digits without end would hold the stream back to the cap.
/// Every way of matching ends at the end of the run, so the greedy `{0,20}`
/// never changes a token's extent.
pub const BODY: &str = "[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// One kind of secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Short name, used in reports (`phx`, `phs`, ...).
    pub name: String,
    /// Regex for the whole token, in the syntax of `regex::bytes`.
    pub pattern: String,
    /// This rule's marker: a preset (`default`, `posthog`, `fingerprint`,
    /// `same-length`) or a template with `{prefix}`, `{rule}`, `{mask}`,
    /// `{last4}`, `{fingerprint}`, `{stars}`, `{len}`; `None` for the set's.
    pub marker: Option<String>,
}

impl Rule {
    /// A PostHog-style rule: `NAME_` followed by [`BODY`].
    pub fn posthog(name: &str) -> Rule {
        Rule { name: name.to_string(), pattern: format!("{name}_{BODY}"), marker: None }
    }

    /// The built-in rule called `name` (one of [`BUILTIN_KINDS`]).
    pub fn builtin(name: &str) -> Option<Rule> {
        BUILTIN_KINDS.contains(&name).then(|| Rule::posthog(name))
    }

    /// The built-in rules applied by default, in priority order (the
    /// rules of [`RuleSet::default_rules`]); `include_public` adds `phc_`.
    pub fn defaults(include_public: bool) -> Vec<Rule> {
        let public = include_public.then_some(PUBLIC_KIND);
        SECRET_KINDS.into_iter().chain(public).map(Rule::posthog).collect()
    }

    /// A rule for `pattern`, with the set's marker.
    pub fn custom(name: impl Into<String>, pattern: impl Into<String>) -> Rule {
        Rule { name: name.into(), pattern: pattern.into(), marker: None }
    }
}

/// Names of the secret kinds redacted by default: personal API keys,
/// secret (feature-flag) keys, OAuth access and refresh tokens.
pub const SECRET_KINDS: [&str; 4] = ["phx", "phs", "pha", "phr"];

/// Name of the public project-key kind, redacted only when asked for.
pub const PUBLIC_KIND: &str = "phc";

/// Every built-in rule's name.
pub const BUILTIN_KINDS: [&str; 5] = ["phx", "phs", "pha", "phr", PUBLIC_KIND];

/// The most bytes the engine holds back for rules that could otherwise make
/// it hold back more (a custom rule such as `BEGIN.*END`). A candidate still
/// undecided this many bytes after its start, or after its last match end,
/// is cut there and redacted: the engine fails closed, and where it cuts
/// depends only on the bytes, never on how they arrive. A cut never falls
/// inside a token of a rule that decides well within the cap (the built-in
/// keys): it moves back to that token's start, and the token is redacted
/// and reported whole under its own rule.
pub const HOLD_CAP: usize = 64 * 1024;

/// The name reported for a run of bytes cut at [`HOLD_CAP`] before any rule
/// matched it.
pub const CAPPED: &str = "capped";

/// How a [`RuleSet`] renders markers and hashes tokens.
#[derive(Clone, Debug)]
pub struct Options {
    /// The marker template or preset for rules that do not name their own.
    pub marker: String,
    /// Hashes `{fingerprint}` and the check mode's key summary.
    pub fingerprints: Fingerprinter,
    /// See [`HOLD_CAP`]; at least [`MIN_HOLD_CAP`].
    pub hold_cap: usize,
    /// Whether the markers are written (true but for an audit, which
    /// writes none): only then is each checked against a second run.
    pub markers_written: bool,
}

/// The smallest hold cap accepted (small caps are for tests).
pub const MIN_HOLD_CAP: usize = 16;

impl Default for Options {
    fn default() -> Options {
        Options {
            marker: "default".into(),
            fingerprints: Fingerprinter::unkeyed(),
            hold_cap: HOLD_CAP,
            markers_written: true,
        }
    }
}

/// A rule as the engine uses it.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) marker: Marker,
    /// The bytes every token of the rule starts with (empty if there are
    /// none to keep apart from the secret), for `{prefix}` and `{stars}`.
    pub(crate) prefix: Vec<u8>,
    /// The marker, when it is the same for every token.
    pub(crate) fixed: Option<Vec<u8>>,
}

/// Rules compiled for the engine. Build once, share between redactors.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    pub(crate) compiled: Vec<Compiled>,
    /// The marker for a run cut at the hold cap.
    pub(crate) capped_marker: Marker,
    pub(crate) fingerprints: Fingerprinter,
    pub(crate) dfa: dense::DFA<Vec<u32>>,
    /// The start state after each byte (rules may look behind with `\b`).
    pub(crate) start_after: Box<[StateID; 256]>,
    /// The start state at the beginning of the input.
    pub(crate) start_first: StateID,
    pub(crate) prefilter: Prefilter,
    /// Longest literal prefix, for the end-of-buffer check.
    pub(crate) max_prefix_len: usize,
    /// Whether the prefilter looks for literal prefixes (else for the bytes
    /// a token can begin with).
    literal_prefilter: bool,
    max_held: usize,
    pub(crate) hold_cap: usize,
    /// Whether some marker needs the token's hash.
    pub(crate) needs_hash: bool,
    /// Whether some marker needs the token's first or last bytes.
    pub(crate) needs_ends: bool,
    /// Match states that loop back to themselves on many bytes (a token's
    /// body, for the default rules), with those bytes, so that the engine
    /// can skip a run of them without stepping the DFA byte by byte.
    self_loops: Vec<(StateID, Box<[bool; 256]>)>,
    /// Plain (neither match nor dead) states that move, on every byte of a
    /// set, to the next state of a fixed path: the engine counts a run of
    /// such bytes with a table and jumps along the path, rather than
    /// stepping the DFA through a chain of dependent table loads. Indexed
    /// by state index; `u32::MAX` for none.
    chain_of: Vec<u32>,
    chains: Vec<Chain>,
    /// When a rule can reach the hold cap: the others, which a cut must
    /// never split.
    pub(crate) bounded: Option<Bounded>,
}

/// See [`RuleSet::chain`].
#[derive(Debug)]
pub(crate) struct Chain {
    /// The bytes that move along the path.
    pub(crate) on: Box<[bool; 256]>,
    /// `path[k]` is the state after `k` such bytes; all plain.
    pub(crate) path: Vec<StateID>,
}

impl RuleSet {
    /// The distinct start states.
    pub(crate) fn starts(&self) -> Vec<StateID> {
        distinct_starts(self.start_first, &self.start_after)
    }

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
            text += &format!("{}\t{}\t{}\n", rule.name, rule.pattern, compiled.marker.template());
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
}
