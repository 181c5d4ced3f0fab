//! What counts as a secret: rules as data, compiled once into one DFA.
//!
//! A [`Rule`] is a name, a regex for the whole token and optionally its own
//! marker. A regex with a group named `secret` replaces only that group,
//! leaving the rest of its match (a name before a key, the byte after it)
//! as it was (`span.rs`). A [`RuleSet`] compiles every rule into a single anchored,
//! leftmost-first, multi-pattern DFA, so that all rules run in one pass over
//! the original bytes and, where two rules could match at the same start,
//! the one listed first wins, exactly as an alternation would.
//!
//! The prefilter looks for the rules' literal prefixes (`phx_`, ...), found
//! from the regexes themselves. A rule without one (`[A-Z0-9]{32}`) still
//! works: every byte that can begin a match is then a candidate. Rules that
//! could make the engine hold back without bound (`BEGIN.*END`) are held to
//! [`HOLD_CAP`].
//!
//! `rule.rs` holds what a rule is and the built-in ones; `set.rs` the
//! compiled set the engine reads; `compile.rs` how rules become it, within
//! limits; `lines.rs` rules that count only on lines naming a host; `family.rs` how rules that differ only in their literal prefix
//! share one pattern of the DFA; `analysis.rs` what is learnt from its DFA at start-up (how much
//! it may hold back, whether a marker could match a rule, the shortcuts of
//! the hot path); `file.rs` rules read from a TOML file.

mod analysis;
mod compile;
mod family;
mod file;
mod lines;
mod rule;
mod set;
mod span;
mod span_tail;

#[cfg(feature = "cli")]
pub(crate) use compile::literal_starts;
pub use compile::{DFA_SIZE_LIMIT, NEST_LIMIT, NFA_SIZE_LIMIT};
pub(crate) use family::HEAD_MAX;
#[cfg(feature = "rules-file")]
pub use file::{RULES_FILE_LIMIT, load_rules_file};
pub(crate) use lines::LineNames;
pub use lines::unnameable;
pub use rule::{
    BEARER_43, BEARER_KIND, BODY, BUILTIN_KINDS, CAPPED, DEFAULT_KINDS, HOLD_CAP, LEGACY,
    LEGACY_BEARER_KIND, LEGACY_KIND, LINE_LOOKAHEAD, MIN_HOLD_CAP, Options, POSTHOG_HOST,
    PUBLIC_KIND, RULESET_VERSION, Rule, SECRET_GROUP, SECRET_KINDS,
};
pub(crate) use set::Bounded;
pub use set::RuleSet;
pub use span::SPAN_MAX_LEN;
pub(crate) use span::SpanCache;
