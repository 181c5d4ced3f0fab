//! A shortcut for where the secret lies in the common shape of a rule with
//! a group `secret`: a key of fixed length at the end of the match, then
//! one byte that cannot go on the key, or the end of the input
//! (`…(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)`, the legacy keys'
//! rules). Given a match of such a rule, the last byte alone says where the
//! key ends: if it is one of the bytes after a key, just before it; else
//! (the match ended at the end of the input) at the match's end. No byte
//! can be both, so the answer is the regex's, without running anything
//! over the match (a one-pass DFA took a few thousand instructions a key,
//! where a log line per request carries one).

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::rule::SECRET_GROUP;

/// See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct FixedTail {
    /// The key's length.
    len: usize,
    /// The bytes that may follow the key.
    after: Box<[bool; 256]>,
}

impl FixedTail {
    /// The shortcut for a rule parsed as `hir`, if it has that shape: a
    /// concatenation that ends with the group `secret` of fixed length,
    /// then a byte class, or a byte class or the end of the input, that
    /// shares no byte with the group.
    pub(crate) fn of(hir: &Hir) -> Option<FixedTail> {
        let HirKind::Concat(subs) = hir.kind() else { return None };
        let [.., group, tail] = subs.as_slice() else { return None };
        let HirKind::Capture(capture) = group.kind() else { return None };
        if capture.name.as_deref() != Some(SECRET_GROUP) {
            return None;
        }
        let properties = capture.sub.properties();
        let len = properties.minimum_len().filter(|&n| Some(n) == properties.maximum_len())?;
        let mut inside = [false; 256];
        bytes_of(&capture.sub, &mut inside)?;
        let after = after_class(tail)?;
        (0..256).all(|b| !(inside[b] && after[b])).then_some(FixedTail { len, after })
    }

    /// Where the key is in the match `[start, end)` of the rule, whose
    /// last byte is `last`.
    #[inline]
    pub(crate) fn find(&self, last: u8, (start, end): (usize, usize)) -> Option<(usize, usize)> {
        let to = if self.after[usize::from(last)] { end - 1 } else { end };
        let from = to.checked_sub(self.len).filter(|&from| from >= start)?;
        Some((from, to))
    }
}

/// Marks in `set` every byte a match of `hir` can hold; `None` for a shape
/// this does not read (look-arounds, groups within).
fn bytes_of(hir: &Hir, set: &mut [bool; 256]) -> Option<()> {
    match hir.kind() {
        HirKind::Literal(literal) => literal.0.iter().for_each(|&b| set[usize::from(b)] = true),
        HirKind::Class(class) => mark(class, set)?,
        HirKind::Repetition(repetition) => bytes_of(&repetition.sub, set)?,
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().try_for_each(|sub| bytes_of(sub, set))?;
        }
        _ => return None,
    }
    Some(())
}

/// The bytes of the class `hir` after the key: a byte class alone, or a
/// byte class or the end of the input.
fn after_class(hir: &Hir) -> Option<Box<[bool; 256]>> {
    let mut set = Box::new([false; 256]);
    match hir.kind() {
        HirKind::Class(class) => mark(class, &mut set)?,
        HirKind::Alternation(subs) => {
            let [a, b] = subs.as_slice() else { return None };
            let (class, end) = match (a.kind(), b.kind()) {
                (HirKind::Class(class), HirKind::Look(look))
                | (HirKind::Look(look), HirKind::Class(class)) => (class, *look),
                _ => return None,
            };
            if end != Look::End {
                return None;
            }
            mark(class, &mut set)?;
        }
        _ => return None,
    }
    Some(set)
}

/// Marks the bytes of a byte class.
fn mark(class: &Class, set: &mut [bool; 256]) -> Option<()> {
    let Class::Bytes(bytes) = class else { return None };
    for range in bytes.ranges() {
        (range.start()..=range.end()).for_each(|b| set[usize::from(b)] = true);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rules::{BEARER_43, LEGACY, compile::parse};

    #[test]
    fn the_legacy_rules_have_the_shape_and_others_do_not() {
        for pattern in [LEGACY, BEARER_43] {
            let tail = FixedTail::of(&parse(pattern).unwrap()).expect(pattern);
            // `…=<43>&`: the key ends before the `&`; at the end: at the end.
            assert_eq!(tail.find(b'&', (0, 60)), Some((16, 59)));
            assert_eq!(tail.find(b'x', (0, 60)), Some((17, 60)));
        }
        for pattern in [
            r"key=(?P<secret>[a-z]{4,8})(?:[^a-z]|\z)",
            r"key=(?P<secret>[a-z0-9]{8})(?:[a-z]|\z)",
            r"key=(?P<secret>[a-z]{8})\b",
            r"(?P<secret>[a-z]{8})x(?:[^a-z]|\z)",
        ] {
            assert!(FixedTail::of(&parse(pattern).unwrap()).is_none(), "{pattern}");
        }
    }
}
