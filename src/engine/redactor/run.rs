//! The hot path: one run of the DFA over a buffer, from a candidate's
//! start or from a token's last match end, with the shortcuts that let it
//! skip runs of bytes without stepping the DFA byte by byte.

use regex_automata::{
    PatternID,
    dfa::{Automaton, dense},
    util::primitives::StateID,
};

use super::Redactor;

/// How a run of the DFA over a buffer ended.
pub(super) struct Run {
    /// The last match seen: its end, the DFA state at that end, the rule.
    pub(super) last: Option<(usize, StateID, PatternID)>,
    /// True when the DFA died; false when the buffer ran out first.
    pub(super) dead: bool,
    /// The state after the last byte, when the DFA did not die.
    pub(super) state: StateID,
    /// Where the run was cut, having gone the hold cap past its start or
    /// its last match end without a decision.
    pub(super) capped: Option<usize>,
}

impl Redactor {
    /// Runs `dfa` (the set's when `MAIN`, with its shortcuts) from `state`
    /// over `buf[from..]`, at most the hold cap past `from` or past the last
    /// match end.
    #[inline]
    pub(super) fn run<const MAIN: bool>(
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
                        if let Some(n) = self.stays(state, buf, i + 1) {
                            // Each byte that keeps the DFA here ends a match
                            // too: skip the run with a table, not the DFA.
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
        let last = last.map(|(end, at_end, matched)| (end, at_end, dfa.match_pattern(matched, 0)));
        Run { last, dead, state, capped }.settled(dfa, buf.len())
    }

    /// How many bytes from `buf[from]` on keep match state `state` where it
    /// is, if it loops on many bytes (`None`: it does not).
    #[inline(always)]
    fn stays(&self, state: StateID, buf: &[u8], from: usize) -> Option<usize> {
        let stay = self.rules.self_loop(state)?;
        Some(buf[from..].iter().take_while(|&&b| stay[usize::from(b)]).count())
    }
}

impl Run {
    /// This run, over a buffer of `len` bytes, with a token that has
    /// ended at the buffer's last byte called dead: once per run, out of
    /// its loop but inlined into it.
    #[inline(always)]
    fn settled(mut self, dfa: &dense::DFA<Vec<u32>>, len: usize) -> Run {
        // A DFA reports a match one byte late, so the byte that ends a token
        // leads to a match state from which every byte leads to the dead
        // state. Call that dead now: waiting for one more byte to learn it
        // would hold a finished line back until the next one arrives.
        if !self.dead && self.capped.is_none() && self.last.is_some_and(|(end, ..)| end + 1 == len)
        {
            self.dead = is_final(dfa, self.state);
        }
        // A rule that matches the byte after its token (the legacy keys'
        // newline) ends its match with the buffer's last byte: when every
        // next byte, and the end of the input, report that same match and
        // nothing longer, it is decided now (else that line too would wait
        // for the next).
        if !self.dead && self.capped.is_none() && self.last.is_none_or(|(end, ..)| end < len) {
            if let Some(pattern) = ends_here(dfa, self.state) {
                self.last = Some((len, self.state, pattern));
                self.dead = true;
            }
        }
        self
    }

    /// The last match, or at `eof` the match that the end of the input
    /// completes, ending at `len`: a DFA reports a match one byte late, and the
    /// end of the input is that byte.
    #[inline(always)]
    pub(super) fn last_match(
        &self,
        dfa: &dense::DFA<Vec<u32>>,
        len: usize,
        eof: bool,
    ) -> Option<(usize, StateID, PatternID)> {
        let mut last = self.last;
        if !self.dead && eof {
            let eoi = dfa.next_eoi_state(self.state);
            if dfa.is_match_state(eoi) {
                last = Some((len, self.state, dfa.match_pattern(eoi, 0)));
            }
        }
        last
    }
}

/// The rule of the match that ends at `state` whatever comes next: every
/// byte, and the end of the input, lead from it to a match state of that
/// pattern, from which no byte nor the end goes on to a longer match.
fn ends_here(dfa: &dense::DFA<Vec<u32>>, state: StateID) -> Option<PatternID> {
    let eoi = dfa.next_eoi_state(state);
    if !dfa.is_match_state(eoi) {
        return None;
    }
    let pattern = dfa.match_pattern(eoi, 0);
    let same = |next: StateID| {
        dfa.is_match_state(next)
            && dfa.match_pattern(next, 0) == pattern
            && !dfa.is_match_state(dfa.next_eoi_state(next))
            && is_final(dfa, next)
    };
    let mut bytes = dfa.byte_classes().representatives(..).filter_map(|unit| unit.as_u8());
    bytes.all(|byte| same(dfa.next_state(state, byte))).then_some(pattern)
}

/// Whether every byte leads from `state` to the dead state.
fn is_final(dfa: &dense::DFA<Vec<u32>>, state: StateID) -> bool {
    dfa.byte_classes()
        .representatives(..)
        .filter_map(|unit| unit.as_u8())
        .all(|byte| dfa.is_dead_state(dfa.next_state(state, byte)))
}
