//! Rules that count only on some lines.
//!
//! A legacy personal API key sent as `Authorization: Bearer <43 chars>` has
//! the shape of many services' tokens: it is PostHog's only when the line
//! names PostHog's host (`GET https://us.posthog.com/api/… Authorization:
//! Bearer …`, or the host after the header, as `curl -H … URL` writes it).
//! A DFA cannot ask that of a line without blowing up (a host at any
//! distance before the header costs states for every distance), so the
//! engine asks it beside the DFA: it keeps, for the line being read,
//! whether a name has been seen and the last few bytes (a name may be cut by
//! a read), and when such a rule matches it looks on the match's line, back
//! to its start and ahead to its end or [`LINE_LOOKAHEAD`] bytes past the
//! match, whichever comes first. A line that has not ended that far is held
//! back until it has, so the answer never depends on how reads cut it.
//!
//! A match that does not count is no match at all: the engine looks again
//! one byte on. That equals the oracle because such a rule is tried last
//! (the set puts it after every other), so no other rule could have matched
//! where it was refused; and a set holds at most one, so none is hidden
//! behind another that was refused.

use super::rule::{LINE_LOOKAHEAD, Rule};
use crate::error::Error;

/// The longest name a rule may ask a line for (a DNS name is at most 253).
const NAME_MAX: usize = 255;

/// Why no line could name `name`, if none could: a rule's
/// [`on_lines_naming`](super::Rule::on_lines_naming) refuses it. For a
/// caller that says so in its own option's name (`--posthog-host`,
/// `posthog_hosts=`), before the rules are built; the reason never holds
/// the name (a pasted secret, say).
pub fn unnameable(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > NAME_MAX {
        Some("is longer than 255 bytes")
    } else if name.contains(['\n', '\r']) {
        Some("holds a line end (\\n or \\r)")
    } else {
        None
    }
}

/// What a line must name for one rule's matches to count.
#[derive(Clone, Debug)]
pub(crate) struct LineNames {
    /// The rule's index in the set.
    pub(crate) rule: usize,
    /// The names, in lower case.
    names: Vec<Vec<u8>>,
    /// The longest name's length.
    pub(crate) longest: usize,
    /// The rule's longest match.
    pub(crate) max_len: usize,
    /// How far after a match its line is searched.
    pub(crate) lookahead: usize,
}

impl LineNames {
    /// The names `rule`, the set's rule at index `index`, asks its lines
    /// for, if any; `cap` (the hold cap) bounds how far the engine may
    /// look ahead past a match of `max_len` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when a name is empty, longer than 255 bytes, or
    /// holds a line's end (no line could name it).
    pub(super) fn of(
        (index, rule): (usize, &Rule),
        max_len: usize,
        cap: usize,
    ) -> Result<Option<LineNames>, Error> {
        let names = &rule.on_lines_naming;
        if names.is_empty() {
            return Ok(None);
        }
        for (i, name) in names.iter().enumerate() {
            if let Some(why) = unnameable(name) {
                return Err(Error::Rule(format!(
                    "rule {}: name {} of {} its lines must hold {why}: no line could name it",
                    rule.name,
                    i + 1,
                    names.len()
                )));
            }
        }
        let lower = names.iter().map(|n| n.to_ascii_lowercase().into_bytes()).collect();
        let longest = names.iter().map(String::len).max().unwrap_or(1);
        // The match, the byte after it and the look-ahead are held at once:
        // they stay within the hold cap.
        let lookahead = LINE_LOOKAHEAD.min(cap.saturating_sub(max_len + 1));
        Ok(Some(LineNames { rule: index, names: lower, longest, max_len, lookahead }))
    }

    /// A byte `m` such that every name begins with a byte `b` where
    /// `b | 0x20 == m` (a letter in either case, say): text without such a
    /// byte holds no name's start. `None` when the names begin with bytes
    /// no one such `m` covers.
    #[cfg(feature = "cli")]
    pub(crate) fn mark(&self) -> Option<u8> {
        let mark = self.names[0][0] | 0x20;
        self.names.iter().all(|name| name[0] | 0x20 == mark).then_some(mark)
    }

    /// Whether `text` holds one of the names, in any case.
    ///
    /// The texts are a line's few dozen bytes around a match, where a
    /// search automaton's set-up costs more than the search: each place
    /// where a name's first byte (in either case) is, found with `memchr`,
    /// is compared with the name.
    #[inline]
    pub(crate) fn found(&self, text: &[u8]) -> bool {
        self.first_end(text).is_some()
    }

    /// Where the name in `text` that ends first ends, if it holds one:
    /// `text[..stop]` holds a name exactly when that is at most `stop`.
    #[inline]
    pub(crate) fn first_end(&self, text: &[u8]) -> Option<usize> {
        // Each name's first place is where it ends first.
        let first = |name: &Vec<u8>| {
            let (byte, len) = (name[0], name.len());
            let at =
                |i: &usize| text.get(*i..*i + len).is_some_and(|w| w.eq_ignore_ascii_case(name));
            memchr::memchr2_iter(byte, byte.to_ascii_uppercase(), text).find(at).map(|i| i + len)
        };
        self.names.iter().filter_map(first).min()
    }
}
