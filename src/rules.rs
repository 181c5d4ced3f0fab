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

use std::collections::HashMap;

use regex_automata::{
    Anchored, MatchKind,
    dfa::{Automaton, StartKind, dense},
    nfa::thompson,
    util::{primitives::StateID, start, syntax},
};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::{
    error::Error,
    fingerprint::Fingerprinter,
    marker::{Marker, Segment},
    prefilter::Prefilter,
};

/// The body that follows a secret prefix: a run of ASCII letters, digits
/// and underscores that either starts with 20 letters or digits, or is at
/// least 40 long.
///
/// 20, not the full length of any one era, so that truncated keys and every
/// era of PostHog's formats are caught. The trailing `_` in the first
/// branch makes two glued keys (`phx_<a>phx_<b>`) one token, so the second
/// key's body is never left in the clear. The second branch fails closed
/// where peer scanners (trufflehog, kingfisher) do: 40 or more such bytes
/// are a key even with an `_` early in them, while Phoenix's `phx_join`
/// and the like stay far too short to be one. Both branches end at the end
/// of the same run, so which one matched never changes a token's extent.
pub const BODY: &str = "(?:[A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})";

/// One kind of secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Short name, used in reports (`phx`, `phs`, ...).
    pub name: String,
    /// Regex for the whole token, in the syntax of `regex::bytes`.
    pub pattern: String,
    /// This rule's marker template or preset (see [`Marker::parse`]);
    /// `None` for the set's.
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

/// The default rules, in priority order; `include_public` adds `phc_`.
pub fn default_rules(include_public: bool) -> Vec<Rule> {
    let public = include_public.then_some(PUBLIC_KIND);
    SECRET_KINDS.into_iter().chain(public).map(Rule::posthog).collect()
}

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
}

/// The smallest hold cap accepted (small caps are for tests).
pub const MIN_HOLD_CAP: usize = 16;

impl Default for Options {
    fn default() -> Options {
        Options {
            marker: "default".into(),
            fingerprints: Fingerprinter::unkeyed(),
            hold_cap: HOLD_CAP,
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

/// Parses `pattern` as the DFA will.
fn parse(pattern: &str) -> Result<regex_syntax::hir::Hir, Box<regex_syntax::Error>> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(Box::new)
}

/// The literals every match of `pattern` starts with, if there are a few,
/// and its prefix for `{prefix}`: what all those literals share (`phx_`; nothing for `[0-9]{6,}`, whose literals are `00`, `01`,
/// ...), or nothing when a literal is a whole match (`password=hunter2` has
/// no prefix to keep apart from its secret).
fn literal_prefixes(pattern: &str) -> (Option<Vec<Vec<u8>>>, Vec<u8>) {
    let Ok(hir) = parse(pattern) else { return (None, Vec::new()) };
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let Some(literals) = seq.literals() else { return (None, Vec::new()) };
    let prefix_len = match literals.split_first() {
        Some((first, rest)) if !literals.iter().any(|l| l.is_exact()) => {
            rest.iter().fold(first.len(), |n, l| {
                first.as_bytes()[..n].iter().zip(l.as_bytes()).take_while(|(a, b)| a == b).count()
            })
        }
        _ => 0,
    };
    let prefixes: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_vec()).collect();
    let usable =
        !prefixes.is_empty() && prefixes.len() <= 64 && prefixes.iter().all(|p| !p.is_empty());
    let prefix = prefixes.first().map_or(Vec::new(), |p| p[..prefix_len].to_vec());
    (usable.then_some(prefixes), prefix)
}

/// How deeply a rule's regex may nest groups and repetitions.
pub const NEST_LIMIT: u32 = 64;

/// The most memory the rules' NFA may take: about 10,000 literal bytes of
/// regex (a 300-word alternation takes a twentieth of it), while `x{20000}`
/// is refused at once rather than compiled into a DFA of 20,000 states.
pub const NFA_SIZE_LIMIT: usize = 256 * 1024;

/// The most memory determinization and the DFA itself may take. The
/// built-in rules take a few KiB and a 300-word alternation about 300 KiB;
/// a regex such as `(a|b)*a(a|b){25}`, whose DFA has 2^26 states, is
/// refused after building 8 MiB of it, in a fraction of a second, instead
/// of running for minutes and gigabytes.
pub const DFA_SIZE_LIMIT: usize = 8 * 1024 * 1024;

/// DFAs of up to this size are minimized. Minimizing costs time that
/// grows faster than the DFA (seconds for 8,000 states), and buys only a
/// smaller table: the built-in rules take a few dozen KiB.
const MINIMIZE_SIZE_LIMIT: usize = 256 * 1024;

/// Compiles `patterns` into one anchored, leftmost-first DFA, within the
/// limits above: minimized when it is small, as it is for the built-in
/// rules (one build), and left as determinized when it is larger (a
/// second build, without minimizing, up to [`DFA_SIZE_LIMIT`]).
fn compile(patterns: &[&str]) -> Result<dense::DFA<Vec<u32>>, Box<dense::BuildError>> {
    build(patterns, Some(MINIMIZE_SIZE_LIMIT)).or_else(|_| build(patterns, None))
}

/// With `minimize_within`, the DFA is minimized, and the build fails if
/// it grows past that size before; without, it is not minimized and may
/// grow to [`DFA_SIZE_LIMIT`].
fn build(
    patterns: &[&str],
    minimize_within: Option<usize>,
) -> Result<dense::DFA<Vec<u32>>, Box<dense::BuildError>> {
    let limit = minimize_within.unwrap_or(DFA_SIZE_LIMIT);
    dense::Builder::new()
        // The syntax of `regex::bytes::Regex` with Unicode off (the
        // oracle adds `(?-u)`): logs are bytes, `\b` `\w` `\d` are ASCII
        // (a DFA cannot do Unicode word boundaries), and a literal such
        // as `é` still matches its UTF-8 bytes.
        .syntax(syntax::Config::new().utf8(false).unicode(false).nest_limit(NEST_LIMIT))
        .thompson(thompson::Config::new().utf8(false).nfa_size_limit(Some(NFA_SIZE_LIMIT)))
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .start_kind(StartKind::Anchored)
                .determinize_size_limit(Some(limit))
                .dfa_size_limit(Some(limit))
                .minimize(minimize_within.is_some()),
        )
        .build_many(patterns)
        .map_err(Box::new)
}

/// Compiles `rules` as [`compile`] does; an error names the rule at fault
/// when one alone is.
fn compile_rules(rules: &[&Rule]) -> Result<dense::DFA<Vec<u32>>, Error> {
    let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
    compile(&patterns).map_err(|e| {
        // The builder's message says which stage failed; its source, why.
        let e = match std::error::Error::source(&*e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        };
        let culprit = (rules.len() > 1)
            .then(|| rules.iter().find(|r| compile(&[r.pattern.as_str()]).is_err()))
            .flatten()
            .or(rules.first().filter(|_| rules.len() == 1));
        match culprit {
            Some(rule) => Error::Rule(format!(
                "rule {}: cannot compile it into a DFA: {e} (limits: {} KiB of NFA, {} MiB \
                 of DFA); simplify the regex: fewer or smaller repetitions, a shorter \
                 alternation",
                rule.name,
                NFA_SIZE_LIMIT / 1024,
                DFA_SIZE_LIMIT >> 20
            )),
            None => Error::Rule(format!(
                "cannot compile the rules together into a DFA: {e}; use fewer or simpler rules"
            )),
        }
    })
}

/// The start state at the beginning of the input, and after each byte.
fn start_states(dfa: &dense::DFA<Vec<u32>>) -> Result<(StateID, Box<[StateID; 256]>), Error> {
    let start = |look_behind| {
        dfa.start_state(&start::Config::new().anchored(Anchored::Yes).look_behind(look_behind))
            .map_err(|e| Error::Rule(format!("cannot start the rules: {e}")))
    };
    let start_first = start(None)?;
    let mut start_after = Box::new([start_first; 256]);
    for byte in 0..=255u8 {
        start_after[usize::from(byte)] = start(Some(byte))?;
    }
    Ok((start_first, start_after))
}

/// The distinct states among `first` and `after`.
fn distinct_starts(first: StateID, after: &[StateID; 256]) -> Vec<StateID> {
    let mut starts: Vec<StateID> = after.iter().copied().chain([first]).collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Every state of `dfa` reachable from `starts`, but the dead one.
fn reachable(dfa: &dense::DFA<Vec<u32>>, starts: &[StateID]) -> Vec<StateID> {
    let reps: Vec<u8> = dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
    let mut seen = std::collections::HashSet::new();
    let mut stack = starts.to_vec();
    let mut states = Vec::new();
    while let Some(state) = stack.pop() {
        if dfa.is_dead_state(state) || !seen.insert(state) {
            continue;
        }
        states.push(state);
        stack.extend(reps.iter().map(|&b| dfa.next_state(state, b)));
    }
    states
}

/// The longest run of bytes the engine may have to hold back for `dfa`:
/// the longest path from a start through states that are neither match
/// nor dead (a candidate not yet confirmed), or from a match state through
/// non-match states (bytes after the last match end that may still become
/// part of the token), plus the one byte by which a DFA reports a match
/// late. `None` when a cycle makes it unbounded.
///
/// A depth-first search with its own stack, not one call per state: a rule
/// such as `x{5000}` has a path of thousands of states, which would
/// overflow the thread's stack.
fn hold_bound(dfa: &dense::DFA<Vec<u32>>, starts: &[StateID]) -> Option<usize> {
    use std::collections::{HashMap, HashSet};
    let reps: Vec<u8> = dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
    // Longest path (in bytes) of non-match, non-dead states after a state.
    let mut memo: HashMap<StateID, usize> = HashMap::new();
    let mut on_path: HashSet<StateID> = HashSet::new();
    let mut bound = 0;
    for root in reachable(dfa, starts) {
        if !dfa.is_match_state(root) && !starts.contains(&root) {
            continue;
        }
        if let Some(&known) = memo.get(&root) {
            bound = bound.max(known);
            continue;
        }
        // (state, index of the next byte class to try, longest so far)
        let mut stack = vec![(root, 0usize, 0usize)];
        on_path.insert(root);
        while let Some(top) = stack.last_mut() {
            let (state, i, best) = *top;
            if let Some(&rep) = reps.get(i) {
                top.1 += 1;
                let next = dfa.next_state(state, rep);
                if dfa.is_dead_state(next) || dfa.is_match_state(next) {
                    continue;
                }
                if let Some(&n) = memo.get(&next) {
                    top.2 = best.max(n + 1);
                } else if !on_path.insert(next) {
                    return None; // a cycle
                } else {
                    stack.push((next, 0, 0));
                }
                continue;
            }
            stack.pop();
            on_path.remove(&state);
            memo.insert(state, best);
            match stack.last_mut() {
                Some(parent) => parent.2 = parent.2.max(best + 1),
                None => bound = bound.max(best),
            }
        }
    }
    Some(bound + 1)
}

/// The rules of a set that decide every candidate well within the hold cap
/// (the built-in keys, `ghp_…`), compiled apart, for when another rule of
/// the set can reach the cap: the engine moves a cut back to the start of
/// such a rule's token, so that a cut never falls inside one (see
/// [`HOLD_CAP`]).
#[derive(Debug)]
pub(crate) struct Bounded {
    pub(crate) dfa: dense::DFA<Vec<u32>>,
    start_first: StateID,
    start_after: Box<[StateID; 256]>,
    /// The bytes on which some start leaves for a live state.
    pub(crate) first: Box<[bool; 256]>,
    /// The index in the set of the rule of each of the DFA's patterns.
    pub(crate) rule_of: Vec<usize>,
}

impl Bounded {
    /// The rules of `rules` whose own hold bound is below `cap`, if some
    /// are, and if together they stay below it.
    fn new(rules: &[Rule], cap: usize) -> Result<Option<Bounded>, Error> {
        let mut rule_of = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let dfa = compile_rules(&[rule])?;
            let (first, after) = start_states(&dfa)?;
            if hold_bound(&dfa, &distinct_starts(first, &after)).is_some_and(|b| b < cap) {
                rule_of.push(i);
            }
        }
        if rule_of.is_empty() {
            return Ok(None);
        }
        let dfa = compile_rules(&rule_of.iter().map(|&i| &rules[i]).collect::<Vec<_>>())?;
        let (start_first, start_after) = start_states(&dfa)?;
        let starts = distinct_starts(start_first, &start_after);
        if hold_bound(&dfa, &starts).is_none_or(|b| b >= cap) {
            return Ok(None);
        }
        let mut first = Box::new([false; 256]);
        for &start in &starts {
            for byte in 0..=255u8 {
                if !dfa.is_dead_state(dfa.next_state(start, byte)) {
                    first[usize::from(byte)] = true;
                }
            }
        }
        Ok(Some(Bounded { dfa, start_first, start_after, first, rule_of }))
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
}

impl RuleSet {
    /// Compiles `rules` with the default [`Options`].
    ///
    /// # Errors
    ///
    /// As [`RuleSet::with_options`].
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, Error> {
        RuleSet::with_options(rules, Options::default())
    }

    /// Compiles `rules` and checks them before any input is read.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when there are no rules, two rules share a name, a
    /// pattern does not compile or compiles past [`NFA_SIZE_LIMIT`] or
    /// [`DFA_SIZE_LIMIT`] or nests deeper than [`NEST_LIMIT`] (the error
    /// names the rule), a rule can match the empty string, a marker
    /// does not parse or could itself be matched by a rule (so that a
    /// second run would change the output), or the hold cap is below
    /// [`MIN_HOLD_CAP`].
    pub fn with_options(rules: Vec<Rule>, options: Options) -> Result<RuleSet, Error> {
        if rules.is_empty() {
            return Err(Error::Rule("no rules to apply".into()));
        }
        if options.hold_cap < MIN_HOLD_CAP {
            return Err(Error::Rule(format!("the hold cap must be at least {MIN_HOLD_CAP}")));
        }
        for (i, rule) in rules.iter().enumerate() {
            if rule.name.is_empty() || rule.name == CAPPED {
                return Err(Error::Rule(format!("rule {}: reserved or empty name", i + 1)));
            }
            if rules[..i].iter().any(|r| r.name == rule.name) {
                return Err(Error::Rule(format!("two rules are named {}", rule.name)));
            }
            let hir = parse(&rule.pattern).map_err(|e| {
                Error::Rule(format!("rule {}: cannot parse the regex: {e}", rule.name))
            })?;
            if hir.properties().minimum_len() == Some(0) {
                return Err(Error::Rule(format!("rule {}: can match the empty string", rule.name)));
            }
        }
        let dfa = compile_rules(&rules.iter().collect::<Vec<_>>())?;
        let (start_first, start_after) = start_states(&dfa)?;
        let default_marker = Marker::parse(&options.marker)?;
        let mut compiled = Vec::with_capacity(rules.len());
        let mut prefixes: Option<Vec<Vec<u8>>> = Some(Vec::new());
        for rule in &rules {
            let marker = match &rule.marker {
                Some(spec) => Marker::parse(spec)?,
                None => default_marker.clone(),
            };
            let (literals, prefix) = literal_prefixes(&rule.pattern);
            match (&mut prefixes, literals) {
                (Some(all), Some(literals)) => all.extend(literals),
                _ => prefixes = None,
            }
            let fixed = marker.fixed(&rule.name, &prefix);
            compiled.push(Compiled { marker, prefix, fixed });
        }
        let mut set = RuleSet {
            max_prefix_len: 1,
            literal_prefilter: false,
            prefilter: Prefilter::first_bytes(&[false; 256]),
            needs_hash: compiled.iter().any(|c| c.marker.needs_hash())
                || default_marker.needs_hash(),
            needs_ends: compiled.iter().any(|c| c.marker.needs_ends())
                || default_marker.needs_ends(),
            capped_marker: default_marker,
            fingerprints: options.fingerprints,
            compiled,
            rules,
            dfa,
            start_after,
            start_first,
            max_held: 0,
            hold_cap: options.hold_cap,
            self_loops: Vec::new(),
            chain_of: Vec::new(),
            chains: Vec::new(),
            bounded: None,
        };
        for start in set.starts() {
            let empty = set.dfa.is_match_state(set.dfa.next_eoi_state(start))
                || (0..=255u8).any(|b| set.dfa.is_match_state(set.dfa.next_state(start, b)));
            if empty {
                return Err(Error::Rule("a rule can match the empty string".into()));
            }
        }
        match prefixes {
            // The prefilter looks for the literal prefixes; check that no
            // match can begin any other way.
            Some(prefixes) if set.matches_start_with(&prefixes) => {
                let refs: Vec<&[u8]> = prefixes.iter().map(Vec::as_slice).collect();
                set.prefilter = Prefilter::new(&refs);
                set.max_prefix_len = prefixes.iter().map(Vec::len).max().unwrap_or(1);
                set.literal_prefilter = true;
            }
            // A rule without a literal prefix: every byte on which the DFA
            // leaves its start may begin a token.
            _ => {
                let mut table = [false; 256];
                for start in set.starts() {
                    for byte in 0..=255u8 {
                        if !set.dfa.is_dead_state(set.dfa.next_state(start, byte)) {
                            table[usize::from(byte)] = true;
                        }
                    }
                }
                set.prefilter = Prefilter::first_bytes(&table);
            }
        }
        let bound = hold_bound(&set.dfa, &set.starts());
        set.check_markers(bound.is_none_or(|bound| bound >= set.hold_cap))?;
        set.self_loops = set.find_self_loops();
        (set.chain_of, set.chains) = set.find_chains();
        set.max_held = bound.map_or(set.hold_cap, |bound| bound.min(set.hold_cap));
        if bound.is_none_or(|bound| bound >= set.hold_cap) {
            set.bounded = Bounded::new(&set.rules, set.hold_cap)?;
        }
        Ok(set)
    }

    /// Refuses a marker that a rule could match, whatever token it stands
    /// for, alone or with the text that follows a token: a second run over
    /// the output would change it.
    fn check_markers(&self, can_cap: bool) -> Result<(), Error> {
        let capped = std::iter::once((CAPPED, &self.capped_marker, &[][..], None));
        let markers = self
            .rules
            .iter()
            .zip(&self.compiled)
            .enumerate()
            .map(|(i, (r, c))| (r.name.as_str(), &c.marker, c.prefix.as_slice(), Some(i)))
            .chain(capped);
        for (name, marker, prefix, rule) in markers {
            // Where no cut can happen, the cut marker is never written.
            let follows = rule.is_some() || can_cap;
            for shape in marker.shapes(name, prefix) {
                let problem = match self.may_match(&shape) {
                    None => "could itself be redacted by a second run (a rule can match it)",
                    Some(live) if follows && self.may_continue(&live, rule) => {
                        "could be redacted by a second run together with the text that \
                         follows a token (a rule's match can begin in the marker and go on \
                         past it, as `{prefix}` of K[0-9]{3} would turn K123456 into K456)"
                    }
                    Some(_) => continue,
                };
                return Err(Error::Rule(format!(
                    "rule {name}: its marker {:?} {problem}; choose a marker that shows none \
                     of the token and ends where no rule's match can go on (such as `]`), or \
                     narrow the rule",
                    marker.template()
                )));
            }
        }
        Ok(())
    }

    /// Whether a second run could find a match that begins inside a marker
    /// (at one of the `live` states at its end) and goes on into the text
    /// that followed the token, of rule `rule` (`None`: a cut at the cap,
    /// which any text may follow).
    ///
    /// What follows a token is not any text: the first run found the token
    /// to end there, so from the state `u` after the token, that text
    /// reaches no further match. A match from a marker state `v` is only a
    /// problem for a text that reaches a match from `v` and none from some
    /// such `u`: the search walks `v` and `u` side by side over the same
    /// bytes (pairs of states, within a budget past which it answers yes).
    fn may_continue(&self, live: &[StateID], rule: Option<usize>) -> bool {
        use std::collections::HashSet;
        // Pairs of states explored at most; past it, fail closed.
        const BUDGET: usize = 1 << 20;
        let dfa = &self.dfa;
        let reps: Vec<u8> =
            dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
        // (state after the marker, state after the token or `None` where
        // the token side can never match again).
        let mut stack: Vec<(StateID, Option<StateID>)> = Vec::new();
        match rule {
            None => stack.extend(live.iter().map(|&v| (v, None))),
            Some(rule) => {
                // The byte after a token, and the state that reports its
                // end: the match state it leads to from a state after a
                // token of `rule`.
                let mut ends = HashSet::new();
                for u in self.reachable_states() {
                    for &byte in &reps {
                        let m = dfa.next_state(u, byte);
                        if dfa.is_match_state(m) && dfa.match_pattern(m, 0).as_usize() == rule {
                            ends.insert((byte, m));
                        }
                    }
                }
                for &v in live {
                    for &(byte, m) in &ends {
                        let a = dfa.next_state(v, byte);
                        if dfa.is_match_state(a) {
                            return true;
                        }
                        stack.push((a, Some(m)));
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        while let Some((a, m)) = stack.pop() {
            if dfa.is_dead_state(a) || !seen.insert((a, m)) {
                continue;
            }
            if seen.len() > BUDGET {
                return true;
            }
            let eoi_ends = m.is_none_or(|m| !dfa.is_match_state(dfa.next_eoi_state(m)));
            if eoi_ends && dfa.is_match_state(dfa.next_eoi_state(a)) {
                return true;
            }
            for &byte in &reps {
                let m = match m.map(|m| dfa.next_state(m, byte)) {
                    // The token would have gone on: no such text follows.
                    Some(m) if dfa.is_match_state(m) => continue,
                    Some(m) if dfa.is_dead_state(m) => None,
                    m => m,
                };
                let a = dfa.next_state(a, byte);
                if dfa.is_match_state(a) {
                    return true;
                }
                stack.push((a, m));
            }
        }
        false
    }

    /// Whether some rule could match somewhere inside a text of `shape`:
    /// `None` if so, else the states of the candidates begun inside it that
    /// are still alive at its end.
    fn may_match(&self, shape: &[Segment]) -> Option<Vec<StateID>> {
        use std::collections::HashSet;
        let dfa = &self.dfa;
        let starts: HashSet<StateID> = self.starts().into_iter().collect();
        let classes = dfa.byte_classes();
        let step = |live: &HashSet<StateID>, seg: &Segment| -> Option<HashSet<StateID>> {
            // One byte per class: the others lead to the same states.
            let mut done = [false; 257];
            let bytes: Vec<u8> = (0..=255u8)
                .filter(|&b| {
                    let class = usize::from(classes.get(b));
                    seg.bytes[usize::from(b)] && !std::mem::replace(&mut done[class], true)
                })
                .collect();
            let mut next = HashSet::new();
            for &state in live.iter().chain(&starts) {
                for &byte in &bytes {
                    let to = dfa.next_state(state, byte);
                    if dfa.is_match_state(to) {
                        return None;
                    }
                    if !dfa.is_dead_state(to) {
                        next.insert(to);
                    }
                }
            }
            Some(next)
        };
        let mut live: HashSet<StateID> = HashSet::new();
        for seg in shape {
            for _ in 0..seg.min {
                live = step(&live, seg)?;
            }
            // Optional repetitions: the states after any number of them.
            let mut extra = seg.max.map_or(usize::MAX, |max| max - seg.min);
            // Each step also starts a match at every position, so stop once
            // a step adds nothing: the next would add nothing either.
            let mut frontier = live.clone();
            while extra > 0 {
                let next = step(&frontier, seg)?;
                frontier = next.difference(&live).copied().collect();
                if frontier.is_empty() {
                    break;
                }
                live.extend(next);
                extra -= 1;
            }
        }
        if live.iter().chain(&starts).any(|&s| dfa.is_match_state(dfa.next_eoi_state(s))) {
            return None;
        }
        Some(live.into_iter().collect())
    }

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

    /// The default rules (see [`default_rules`]), compiled.
    pub fn default_rules(include_public: bool) -> RuleSet {
        RuleSet::new(default_rules(include_public)).expect("the default rules are valid")
    }

    /// Redacts `input` in one piece: for short texts such as messages.
    ///
    /// ```
    /// let rules = std::sync::Arc::new(phx_redact::RuleSet::default_rules(false));
    /// let text = format!("no such file: phr_{}.log", "x".repeat(43));
    /// assert_eq!(rules.redact(text.as_bytes()), b"no such file: phr_[REDACTED].log");
    /// ```
    pub fn redact(self: &std::sync::Arc<Self>, input: &[u8]) -> Vec<u8> {
        let mut redactor = crate::Redactor::new(std::sync::Arc::clone(self));
        let mut out = Vec::with_capacity(input.len());
        // Writing to a Vec cannot fail.
        let _ = redactor.feed(input, &mut out).and_then(|()| redactor.finish(&mut out));
        out
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

    /// Every state reachable from the start, but the dead one.
    fn reachable_states(&self) -> Vec<StateID> {
        reachable(&self.dfa, &self.starts())
    }

    fn find_self_loops(&self) -> Vec<(StateID, Box<[bool; 256]>)> {
        // Below this many bytes a skip loop would rarely run long enough to
        // pay for itself.
        const MIN_LOOP_BYTES: usize = 16;
        self.reachable_states()
            .into_iter()
            .filter(|&s| self.dfa.is_match_state(s))
            .filter_map(|state| {
                let mut stay = Box::new([false; 256]);
                for byte in 0..=255u8 {
                    stay[usize::from(byte)] = self.dfa.next_state(state, byte) == state;
                }
                (stay.iter().filter(|&&b| b).count() >= MIN_LOOP_BYTES).then_some((state, stay))
            })
            .collect()
    }

    /// The chain that starts at non-special state `state`, if any.
    #[inline]
    pub(crate) fn chain(&self, state: StateID) -> Option<&Chain> {
        let index = state.as_usize() >> self.dfa.stride2();
        let chain = *self.chain_of.get(index)?;
        self.chains.get(chain as usize)
    }

    /// For each non-special state, the run of states it moves through on one
    /// set of bytes (a token's first body bytes, for the default rules).
    fn find_chains(&self) -> (Vec<u32>, Vec<Chain>) {
        // Shorter chains are stepped as fast by the DFA itself.
        const MIN_CHAIN: usize = 4;
        // Longer ones would gain little more (the built-in rules' run 40
        // bytes), and would cost time and memory in proportion to the
        // number of states times the length of the path from each: a rule
        // such as `x{5000}` would take a quadratic time to compile.
        const MAX_CHAIN: usize = 64;
        let dfa = &self.dfa;
        let plain = |s: StateID| !dfa.is_special_state(s);
        // The one state that every byte of `on` leads to from `state`, if
        // that state is plain.
        let successor = |state: StateID, on: &[bool; 256]| {
            let mut bytes = (0..=255u8).filter(|&b| on[usize::from(b)]);
            let next = dfa.next_state(state, bytes.next()?);
            (plain(next) && bytes.all(|b| dfa.next_state(state, b) == next)).then_some(next)
        };
        let states = self.reachable_states();
        let mut chain_of =
            vec![
                u32::MAX;
                states.iter().map(|s| (s.as_usize() >> dfa.stride2()) + 1).max().unwrap_or(0)
            ];
        let mut chains = Vec::new();
        for &start in states.iter().filter(|&&s| plain(s)) {
            // `on`: the bytes leading to the most frequent live successor.
            let mut counts: HashMap<StateID, usize> = HashMap::new();
            for byte in 0..=255u8 {
                let next = dfa.next_state(start, byte);
                if !dfa.is_dead_state(next) {
                    *counts.entry(next).or_default() += 1;
                }
            }
            let Some((&first, _)) = counts.iter().max_by_key(|&(s, n)| (*n, *s)) else { continue };
            let mut on = Box::new([false; 256]);
            for byte in 0..=255u8 {
                on[usize::from(byte)] = dfa.next_state(start, byte) == first;
            }
            let mut path = vec![start];
            while path.len() < MAX_CHAIN {
                let Some(next) = successor(*path.last().expect("non-empty"), &on) else { break };
                if path.contains(&next) {
                    break; // a loop, not a chain
                }
                path.push(next);
            }
            if path.len() > MIN_CHAIN {
                chain_of[start.as_usize() >> dfa.stride2()] = chains.len() as u32;
                chains.push(Chain { on, path });
            }
        }
        (chain_of, chains)
    }

    /// Whether the DFA, from every start, dies on every byte that leaves all
    /// of the prefixes, and matches nothing before a whole prefix is read.
    fn matches_start_with(&self, prefixes: &[Vec<u8>]) -> bool {
        let mut frontier: Vec<(StateID, Vec<u8>)> =
            self.starts().into_iter().map(|s| (s, Vec::new())).collect();
        while let Some((state, seen)) = frontier.pop() {
            let live: Vec<&Vec<u8>> = prefixes.iter().filter(|p| p.starts_with(&seen)).collect();
            if live.iter().any(|p| p.len() == seen.len()) {
                continue; // a whole prefix has been read
            }
            if self.dfa.is_match_state(self.dfa.next_eoi_state(state)) {
                return false;
            }
            for byte in 0..=255u8 {
                let next = self.dfa.next_state(state, byte);
                if self.dfa.is_dead_state(next) {
                    continue;
                }
                let mut longer = seen.clone();
                longer.push(byte);
                if self.dfa.is_match_state(next) || !live.iter().any(|p| p.starts_with(&longer)) {
                    return false;
                }
                frontier.push((next, longer));
            }
        }
        true
    }
}

/// The largest rules file read: far more than any set of rules that
/// compiles within the limits.
pub const RULES_FILE_LIMIT: u64 = 1024 * 1024;

/// Reads a small configuration file (rules, a key) whole: at most `limit`
/// bytes, and only from a regular file, so that a FIFO or `/dev/zero`
/// named by mistake fails at once instead of blocking or eating memory.
pub(crate) fn read_small_file(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let not_regular = || Error::new(ErrorKind::InvalidInput, "not a regular file");
    // Checked before opening too: opening a FIFO blocks until a writer
    // comes.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {} KiB", limit / 1024),
        ));
    }
    Ok(bytes)
}

/// A rules file: `[[rule]]` tables with `name`, `regex` and an optional
/// `marker`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<FileRule>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    name: String,
    regex: String,
    marker: Option<String>,
}

/// Reads custom rules from a TOML file:
///
/// ```toml
/// [[rule]]
/// name = "github"
/// regex = "gh[pousr]_[A-Za-z0-9]{36}"
/// marker = "{prefix}[REDACTED:{fingerprint}]"   # optional
/// ```
///
/// # Errors
///
/// [`Error::Rule`] when the file cannot be read, is not a regular file, is
/// larger than [`RULES_FILE_LIMIT`], is not such TOML, or holds no rule.
pub fn load_rules_file(path: &std::path::Path) -> Result<Vec<Rule>, Error> {
    let text = read_small_file(path, RULES_FILE_LIMIT)
        .and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
        })
        .map_err(|e| Error::Rule(format!("cannot read {}: {e}", path.display())))?;
    let file: RulesFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(0, |span| text[..span.start].matches('\n').count() + 1);
        Error::Rule(format!("{}:{line}: {}", path.display(), e.message()))
    })?;
    if file.rule.is_empty() {
        return Err(Error::Rule(format!("{}: no [[rule]] in it", path.display())));
    }
    Ok(file
        .rule
        .into_iter()
        .map(|r| Rule { name: r.name, pattern: r.regex, marker: r.marker })
        .collect())
}
