//! Analyses of the compiled DFA: how much it may hold back, whether a
//! marker could match a rule, self-loops and chains for the hot path.

use regex_automata::{
    Anchored,
    dfa::{Automaton, dense},
    util::{primitives::StateID, start},
};

use super::{
    rule::CAPPED,
    set::{Chain, RuleSet},
};
use crate::{engine::marker::Segment, error::Error};

/// The bytes on which `state` moves to its most frequent live successor
/// (`None`: it has none): the bytes of a chain from it, if there is one.
fn busiest_move(dfa: &dense::DFA<Vec<u32>>, state: StateID) -> Option<Box<[bool; 256]>> {
    // A state has few distinct successors: a list searched in place costs
    // less than hashing 256 bytes' worth (this runs at every start-up).
    let mut counts: Vec<(StateID, usize)> = Vec::new();
    for byte in 0..=255u8 {
        let next = dfa.next_state(state, byte);
        if !dfa.is_dead_state(next) {
            match counts.iter_mut().find(|(s, _)| *s == next) {
                Some((_, n)) => *n += 1,
                None => counts.push((next, 1)),
            }
        }
    }
    let &(first, _) = counts.iter().max_by_key(|&&(s, n)| (n, s))?;
    let mut on = Box::new([false; 256]);
    for byte in 0..=255u8 {
        on[usize::from(byte)] = dfa.next_state(state, byte) == first;
    }
    Some(on)
}

/// The start state at the beginning of the input, and after each byte.
pub(super) fn start_states(
    dfa: &dense::DFA<Vec<u32>>,
) -> Result<(StateID, Box<[StateID; 256]>), Error> {
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
pub(super) fn distinct_starts(first: StateID, after: &[StateID; 256]) -> Vec<StateID> {
    let mut starts: Vec<StateID> = after.iter().copied().chain([first]).collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Every state of `dfa` reachable from `starts`, but the dead one.
pub(super) fn reachable(dfa: &dense::DFA<Vec<u32>>, starts: &[StateID]) -> Vec<StateID> {
    let reps: Vec<u8> = dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
    // Indexed by state (IDs are multiples of the stride): a hash set was a
    // fifth of every start-up.
    let mut seen: Vec<bool> = Vec::new();
    let mut stack = starts.to_vec();
    let mut states = Vec::new();
    while let Some(state) = stack.pop() {
        let index = state.as_usize() >> dfa.stride2();
        if dfa.is_dead_state(state) || seen.get(index).copied().unwrap_or(false) {
            continue;
        }
        if seen.len() <= index {
            seen.resize(index + 1, false);
        }
        seen[index] = true;
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
pub(super) fn hold_bound(dfa: &dense::DFA<Vec<u32>>, starts: &[StateID]) -> Option<usize> {
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

impl RuleSet {
    /// The distinct start states.
    pub(crate) fn starts(&self) -> Vec<StateID> {
        distinct_starts(self.start_first, &self.start_after)
    }

    /// Refuses a marker that a rule could match, whatever token it stands
    /// for, alone or with the text that follows a token: a second run over
    /// the output would change it.
    pub(super) fn check_markers(&self, can_cap: bool) -> Result<(), Error> {
        let capped = std::iter::once((CAPPED, &self.capped_marker, &[][..], None));
        let markers = self
            .rules
            .iter()
            .zip(&self.compiled)
            .enumerate()
            .map(|(i, (r, c))| (r.name.as_str(), &c.marker, c.prefix.as_slice(), Some(i)))
            .chain(capped);
        for (name, marker, prefix, rule) in markers {
            // Where no cut can happen, the cut marker is never written. A
            // rule with a group `secret` gives back the bytes after it: what
            // follows its marker is not what follows its match, which the
            // check below walks, so its marker is checked alone.
            let span = rule.is_some_and(|i| self.compiled[i].span.is_some());
            let follows = (rule.is_some() || can_cap) && !span;
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
    pub(super) fn may_continue(&self, live: &[StateID], rule: Option<usize>) -> bool {
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
                let ends = self.token_ends(rule, &reps);
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

    /// The byte after a token of `rule`, and the state that reports its
    /// end: the match state it leads to from a state after such a token
    /// (`reps`: one byte of each class). For a rule that shares its
    /// pattern, those of the pattern: its rules' tokens end alike.
    fn token_ends(&self, rule: usize, reps: &[u8]) -> std::collections::HashSet<(u8, StateID)> {
        let dfa = &self.dfa;
        let pattern = self.patterns.pattern_of(rule);
        let mut ends = std::collections::HashSet::new();
        for u in self.reachable_states() {
            for &byte in reps {
                let m = dfa.next_state(u, byte);
                if dfa.is_match_state(m) && dfa.match_pattern(m, 0).as_usize() == pattern {
                    ends.insert((byte, m));
                }
            }
        }
        ends
    }

    /// Whether some rule could match somewhere inside a text of `shape`:
    /// `None` if so, else the states of the candidates begun inside it that
    /// are still alive at its end.
    pub(super) fn may_match(&self, shape: &[Segment]) -> Option<Vec<StateID>> {
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

    /// Every state reachable from the start, but the dead one.
    pub(super) fn reachable_states(&self) -> Vec<StateID> {
        reachable(&self.dfa, &self.starts())
    }

    pub(super) fn find_self_loops(&self) -> Vec<(StateID, Box<[bool; 256]>)> {
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

    /// For each non-special state, the run of states it moves through on one
    /// set of bytes (a token's first body bytes, for the default rules).
    pub(super) fn find_chains(&self) -> (Vec<u32>, Vec<Chain>) {
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
        // Bytes of one class move alike, so one byte per class is looked
        // at: a few lookups per step rather than 256 (this runs at every
        // start-up).
        let reps: Vec<u8> =
            dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
        let successor = |state: StateID, on: &[u8]| {
            let mut bytes = on.iter().map(|&b| dfa.next_state(state, b));
            let next = bytes.next()?;
            (plain(next) && bytes.all(|other| other == next)).then_some(next)
        };
        let states = self.reachable_states();
        let mut chain_of =
            vec![
                u32::MAX;
                states.iter().map(|s| (s.as_usize() >> dfa.stride2()) + 1).max().unwrap_or(0)
            ];
        let mut chains = Vec::new();
        for &start in states.iter().filter(|&&s| plain(s)) {
            let Some(on) = busiest_move(dfa, start) else { continue };
            let on_reps: Vec<u8> = reps.iter().copied().filter(|&b| on[usize::from(b)]).collect();
            let mut path = vec![start];
            while path.len() < MAX_CHAIN {
                let Some(next) = successor(*path.last().expect("non-empty"), &on_reps) else {
                    break;
                };
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
    pub(super) fn matches_start_with(&self, prefixes: &[Vec<u8>]) -> bool {
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
