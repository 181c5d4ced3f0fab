//! What a [`Redactor`](super::Redactor) reports: counts of what it has
//! seen ([`Stats`]) and, when asked, each token found ([`Finding`]), with
//! the line count that places it.

use crate::engine::marker::Mask;

/// Counts of what a [`Redactor`](super::Redactor) has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes fed in.
    pub bytes_in: u64,
    /// Tokens replaced, by rule, in the order of
    /// [`RuleSet::rules`](crate::RuleSet::rules).
    pub tokens: Vec<u64>,
    /// Runs cut at the hold cap before any rule matched them (see
    /// [`HOLD_CAP`](crate::engine::rules::HOLD_CAP)), redacted all the same.
    pub capped: u64,
}

impl Stats {
    /// Tokens replaced, all rules together, capped runs included.
    pub fn total_tokens(&self) -> u64 {
        self.tokens.iter().sum::<u64>() + self.capped
    }
}

/// A token found, as the check mode reports it: where it is and how to tell
/// it apart from others, never its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Index of its rule in [`RuleSet::rules`](crate::RuleSet::rules);
    /// `None` for a run cut at the hold cap before any rule matched it.
    pub rule: Option<usize>,
    /// Byte offset of its first byte in the stream.
    pub offset: u64,
    /// Line of its first byte, from 1.
    pub line: u64,
    /// Byte column of its first byte, from 1.
    pub column: u64,
    /// Its length in bytes.
    pub len: u64,
    /// PostHog's mask of it (`phx_...abcd`).
    pub mask: Mask,
    /// Its hash, keyed if a key was given.
    pub fingerprint: [u8; 32],
    /// Where it is when not in the content itself, but in bytes around it
    /// that were scanned as a stream of their own: a compressed file's
    /// header field (`gzip header FNAME`) or skippable frame. Its offset,
    /// line and column are then within that field. None in the content.
    pub place: Option<&'static str>,
    /// The token itself, only when its rule was asked to carry it
    /// ([`RuleSet::capture_tokens`](crate::RuleSet::capture_tokens)); its
    /// `Debug` shows only its length.
    pub secret: Option<crate::Secret>,
}

/// Where a token starts: the offset, line and column of its finding.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Position {
    pub(super) offset: u64,
    pub(super) line: u64,
    pub(super) column: u64,
}

/// The findings recorded, and the count of lines that places the next.
#[derive(Debug, Default)]
pub(super) struct Findings {
    pub(super) list: Vec<Finding>,
    /// Newlines consumed so far.
    pub(super) newlines: u64,
    /// Offset of the first byte after the last newline consumed.
    pub(super) line_start: u64,
}
