//! Rules that differ only in the literal their tokens start with, compiled
//! as one pattern of the DFA.
//!
//! `phx_`, `phs_`, `pha_` and `phr_` share one body, and the body counts
//! its letters and digits (20 in a row within its first 40 bytes), which
//! takes a few hundred DFA states. As four patterns, the DFA holds those
//! states four times over, since a match state says which pattern matched;
//! and every state costs start-up time in proportion to the rules' byte
//! classes (which the names of the legacy keys' contexts multiply). As one
//! pattern, `(?:phx_|phs_|pha_|phr_)BODY`, it holds them once: start-up
//! fell to about a quarter (callgrind, `echo | phx-redact`).
//!
//! Which rule a token is, is then read from its first bytes: the family's
//! literals are distinct and none starts another, so exactly one of them
//! starts each match. Merging never changes what matches or which rule
//! wins: a rule joins a family listed before it only when no rule listed
//! between them can match where it does (their literals exclude it).

use regex_syntax::hir::{Hir, HirKind};

/// The longest literal a family tells its rules apart by: the engine keeps
/// this many of a token's first bytes.
pub(crate) const HEAD_MAX: usize = 16;

/// How the DFA's patterns map to the rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Patterns {
    /// For each pattern, its rules, each with the literal its tokens start
    /// with (empty for a pattern of one rule).
    members: Vec<Vec<(Vec<u8>, usize)>>,
    /// The pattern of each rule.
    pattern_of: Vec<usize>,
}

impl Patterns {
    /// One pattern per rule: the DFA of `rules` rules compiled apart.
    pub(crate) fn one_each(rules: usize) -> Patterns {
        Patterns {
            members: (0..rules).map(|r| vec![(Vec::new(), r)]).collect(),
            pattern_of: (0..rules).collect(),
        }
    }

    /// The rule of a token of `pattern` that starts with `head` (at least
    /// its first [`HEAD_MAX`] bytes, or all of it if shorter).
    #[inline]
    pub(crate) fn rule(&self, pattern: usize, head: &[u8]) -> usize {
        match self.members[pattern].as_slice() {
            [(_, rule)] => *rule,
            members => members
                .iter()
                .find(|(literal, _)| head.starts_with(literal))
                .or(members.first())
                .map(|&(_, rule)| rule)
                .expect("a pattern has rules"),
        }
    }

    /// The pattern that holds `rule`.
    pub(crate) fn pattern_of(&self, rule: usize) -> usize {
        self.pattern_of[rule]
    }
}

/// A rule's regex as a literal and what follows it, if it is one (of at
/// most [`HEAD_MAX`] bytes) and the regex has no groups.
fn split_literal(hir: &Hir) -> Option<(Vec<u8>, Hir)> {
    if hir.properties().explicit_captures_len() > 0 {
        return None;
    }
    let HirKind::Concat(subs) = hir.kind() else { return None };
    let HirKind::Literal(literal) = subs.first()?.kind() else { return None };
    let literal = literal.0.to_vec();
    (1..=HEAD_MAX).contains(&literal.len()).then(|| (literal, Hir::concat(subs[1..].to_vec())))
}

/// Whether one of `a` and `b` starts the other: a text can then begin with
/// both.
fn overlap(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// A pattern being grouped: what follows its literal (None: no literal),
/// its rules with their literals, and its first rule.
type Family = (Option<Hir>, Vec<(Vec<u8>, usize)>, usize);

/// The patterns to compile for rules parsed as `hirs`, in priority order,
/// and how they map to the rules; `starts` holds the literals every match
/// of each rule starts with, where known.
pub(super) fn group(hirs: Vec<Hir>, starts: &[Option<Vec<Vec<u8>>>]) -> (Vec<Hir>, Patterns) {
    let rules = hirs.len();
    let mut families: Vec<Family> = Vec::new();
    let mut patterns: Vec<Hir> = Vec::new();
    let mut pattern_of = vec![usize::MAX; rules];
    for (i, hir) in hirs.into_iter().enumerate() {
        let split = split_literal(&hir);
        let excludes = |k: usize, literal: &[u8]| {
            starts[k].as_ref().is_some_and(|s| s.iter().all(|l| !overlap(l, literal)))
        };
        let family = split.as_ref().and_then(|(literal, rest)| {
            (0..families.len()).find(|&f| {
                let (r, members, first) = &families[f];
                r.as_ref() == Some(rest)
                    && members.iter().all(|(l, _)| !overlap(l, literal))
                    && (first + 1..i).all(|k| pattern_of[k] == f || excludes(k, literal))
            })
        });
        match (family, split) {
            (Some(f), Some((literal, _))) => {
                families[f].1.push((literal, i));
                pattern_of[i] = f;
            }
            (_, split) => {
                pattern_of[i] = patterns.len();
                patterns.push(hir);
                let (literal, rest) = split.map_or((Vec::new(), None), |(l, r)| (l, Some(r)));
                families.push((rest, vec![(literal, i)], i));
            }
        }
    }
    let mut members = Vec::with_capacity(families.len());
    let mut hirs = Vec::with_capacity(families.len());
    for ((rest, family, _), hir) in families.into_iter().zip(patterns) {
        match (rest, family.as_slice()) {
            (Some(rest), [_, _, ..]) => {
                let literals = family.iter().map(|(l, _)| Hir::literal(l.clone())).collect();
                hirs.push(Hir::concat(vec![Hir::alternation(literals), rest]));
                members.push(family);
            }
            _ => {
                hirs.push(hir);
                members.push(vec![(Vec::new(), family[0].1)]);
            }
        }
    }
    (hirs, Patterns { members, pattern_of })
}
