//! What counts as a secret: rules as data, compiled once into one DFA.
//!
//! A [`Rule`] is a literal prefix, a regex for the whole token (prefix
//! included) and a marker. A [`RuleSet`] compiles every rule into a single
//! anchored, leftmost-first, multi-pattern DFA, so that all rules run in one
//! pass over the original bytes and, where two rules could match at the same
//! start, the one listed first wins, exactly as an alternation would.

use std::collections::HashMap;

use regex_automata::{
    Anchored, MatchKind, PatternID,
    dfa::{Automaton, StartKind, dense},
    nfa::thompson,
    util::{primitives::StateID, start, syntax},
};

use crate::{error::Error, prefilter::Prefilter};

/// The body that follows a secret prefix: at least 20 ASCII letters or
/// digits, then any further letters, digits or underscores.
///
/// 20, not the full length of any one era, so that truncated keys and every
/// era of PostHog's formats are caught. The trailing `_` in the second class
/// makes two glued keys (`phx_<a>phx_<b>`) one token, so the second key's
/// body is never left in the clear.
pub const BODY: &str = "[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// One kind of secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Short name, used in reports (`phx`, `phs`, ...).
    pub name: String,
    /// The literal every match starts with. The prefilter searches for it.
    pub prefix: Vec<u8>,
    /// Regex for the whole token, prefix included, in the syntax of
    /// `regex::bytes`.
    pub pattern: String,
    /// What a match is replaced with.
    pub marker: Vec<u8>,
}

impl Rule {
    /// A PostHog-style rule: `PREFIX_` followed by [`BODY`], replaced by
    /// `PREFIX_[REDACTED]`.
    pub fn posthog(name: &str) -> Rule {
        let prefix = format!("{name}_");
        Rule {
            name: name.to_string(),
            pattern: format!("{prefix}{BODY}"),
            marker: format!("{prefix}[REDACTED]").into_bytes(),
            prefix: prefix.into_bytes(),
        }
    }
}

/// Names of the secret kinds redacted by default: personal API keys,
/// secret (feature-flag) keys, OAuth access and refresh tokens.
pub const SECRET_KINDS: [&str; 4] = ["phx", "phs", "pha", "phr"];

/// Name of the public project-key kind, redacted only when asked for.
pub const PUBLIC_KIND: &str = "phc";

/// The default rules, in priority order; `include_public` adds `phc_`.
pub fn default_rules(include_public: bool) -> Vec<Rule> {
    let public = include_public.then_some(PUBLIC_KIND);
    SECRET_KINDS.into_iter().chain(public).map(Rule::posthog).collect()
}

/// Rules compiled for the engine. Build once, share between redactors.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    pub(crate) dfa: dense::DFA<Vec<u32>>,
    pub(crate) start: StateID,
    pub(crate) prefilter: Prefilter,
    /// Longest literal prefix, for the end-of-buffer check.
    pub(crate) max_prefix_len: usize,
    max_held: usize,
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
    /// Compiles `rules` and checks them before any input is read.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when there are no rules, a rule does not start with
    /// its own prefix, a prefix is empty, a pattern does not compile, a rule
    /// can match where no token is (the empty string), a marker would itself
    /// be redacted by a second run, or the rules could make the engine hold
    /// back an unbounded number of bytes.
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, Error> {
        if rules.is_empty() {
            return Err(Error::Rule("no rules to apply".into()));
        }
        for rule in &rules {
            if rule.prefix.is_empty() {
                return Err(Error::Rule(format!("rule {}: empty prefix", rule.name)));
            }
        }
        let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        let dfa = dense::Builder::new()
            // The same syntax as `regex::bytes::Regex`, which is the oracle.
            .syntax(syntax::Config::new().utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .start_kind(StartKind::Anchored)
                    .minimize(true),
            )
            .build_many(&patterns)
            .map_err(|e| Error::Rule(format!("cannot compile rules: {e}")))?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .map_err(|e| Error::Rule(format!("cannot start rules: {e}")))?;
        if dfa.is_match_state(dfa.next_eoi_state(start)) {
            return Err(Error::Rule("a rule matches the empty string".into()));
        }
        let prefixes: Vec<&[u8]> = rules.iter().map(|r| r.prefix.as_slice()).collect();
        let mut set = RuleSet {
            max_prefix_len: prefixes.iter().map(|p| p.len()).max().unwrap_or(0),
            prefilter: Prefilter::new(&prefixes),
            rules,
            dfa,
            start,
            max_held: 0,
            self_loops: Vec::new(),
            chain_of: Vec::new(),
            chains: Vec::new(),
        };
        // The prefilter only looks for prefixes: a match that began any
        // other way would be missed.
        if !set.matches_start_with_prefixes() {
            return Err(Error::Rule(
                "a rule can match without starting with its literal prefix".into(),
            ));
        }
        for rule in &set.rules {
            if set.find_in(&rule.marker) {
                return Err(Error::Rule(format!(
                    "rule {}: its marker would itself be redacted",
                    rule.name
                )));
            }
        }
        set.self_loops = set.find_self_loops();
        (set.chain_of, set.chains) = set.find_chains();
        set.max_held = set.hold_bound().ok_or_else(|| {
            Error::Rule("the rules can hold back an unbounded number of bytes".into())
        })?;
        Ok(set)
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

    /// The rules, in priority order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The most bytes a [`Redactor`](crate::Redactor) ever holds back
    /// between two calls of `feed`: the longest run that can still turn out
    /// to be part of a token.
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
        let reps: Vec<u8> =
            self.dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![self.start];
        let mut states = Vec::new();
        while let Some(state) = stack.pop() {
            if self.dfa.is_dead_state(state) || !seen.insert(state) {
                continue;
            }
            states.push(state);
            stack.extend(reps.iter().map(|&b| self.dfa.next_state(state, b)));
        }
        states
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
            while let Some(next) = successor(*path.last().expect("non-empty"), &on) {
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

    pub(crate) fn marker(&self, pattern: PatternID) -> &[u8] {
        &self.rules[pattern.as_usize()].marker
    }

    /// The pattern and end of the match anchored at the start of `hay`, if
    /// the whole of `hay` is the input.
    fn anchored_match(&self, hay: &[u8]) -> Option<(PatternID, usize)> {
        let mut state = self.start;
        let mut last = None;
        for (i, &b) in hay.iter().enumerate() {
            state = self.dfa.next_state(state, b);
            if self.dfa.is_match_state(state) {
                last = Some((self.dfa.match_pattern(state, 0), i));
            } else if self.dfa.is_dead_state(state) {
                return last;
            }
        }
        state = self.dfa.next_eoi_state(state);
        if self.dfa.is_match_state(state) {
            last = Some((self.dfa.match_pattern(state, 0), hay.len()));
        }
        last
    }

    /// Whether any rule matches anywhere in `hay`.
    fn find_in(&self, hay: &[u8]) -> bool {
        (0..hay.len()).any(|i| self.anchored_match(&hay[i..]).is_some())
    }

    /// Whether the DFA, from its start, dies on every byte that leaves all
    /// of the prefixes, and matches nothing before a whole prefix is read.
    fn matches_start_with_prefixes(&self) -> bool {
        let prefixes: Vec<&[u8]> = self.rules.iter().map(|r| r.prefix.as_slice()).collect();
        let mut frontier: Vec<(StateID, Vec<u8>)> = vec![(self.start, Vec::new())];
        while let Some((state, seen)) = frontier.pop() {
            let live: Vec<&&[u8]> = prefixes.iter().filter(|p| p.starts_with(&seen)).collect();
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

    /// The longest run of bytes the engine may have to hold back: the
    /// longest path from the start state through states that are neither
    /// match nor dead (a candidate not yet confirmed), or from a match state
    /// through non-match states (bytes after the last match end that may
    /// still become part of the token), plus the one byte by which a DFA
    /// reports a match late. `None` when a cycle makes it unbounded.
    fn hold_bound(&self) -> Option<usize> {
        let dfa = &self.dfa;
        let reps: Vec<u8> =
            dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
        // Longest path (in bytes) of non-match, non-dead states starting
        // after `state`, memoised by state; `None` marks a cycle.
        fn longest(
            dfa: &dense::DFA<Vec<u32>>,
            reps: &[u8],
            state: StateID,
            memo: &mut std::collections::HashMap<StateID, Option<usize>>,
            on_path: &mut std::collections::HashSet<StateID>,
        ) -> Option<usize> {
            if let Some(&known) = memo.get(&state) {
                return known;
            }
            if !on_path.insert(state) {
                return None;
            }
            let mut best = Some(0usize);
            for &b in reps {
                let next = dfa.next_state(state, b);
                if dfa.is_dead_state(next) || dfa.is_match_state(next) {
                    continue;
                }
                best = match (best, longest(dfa, reps, next, memo, on_path)) {
                    (Some(a), Some(n)) => Some(a.max(n + 1)),
                    _ => None,
                };
                if best.is_none() {
                    break;
                }
            }
            on_path.remove(&state);
            memo.insert(state, best);
            best
        }
        let mut memo = std::collections::HashMap::new();
        let mut on_path = std::collections::HashSet::new();
        let mut bound = longest(dfa, &reps, self.start, &mut memo, &mut on_path)?;
        // From every reachable match state too.
        for state in self.reachable_states() {
            if dfa.is_match_state(state) {
                bound = bound.max(longest(dfa, &reps, state, &mut memo, &mut on_path)?);
            }
        }
        Some(bound + 1)
    }
}
