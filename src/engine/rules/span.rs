//! Where a rule's secret lies in its match: the group named `secret`.
//!
//! Most rules' matches are all secret (`phx_…`), and the engine replaces
//! them whole. A key with no prefix of its own is found by what comes
//! before it (`personal_api_key=`) and must end where a key cannot go on,
//! which a DFA without look-ahead can only learn by matching the byte after
//! it. Such a rule names its secret with a group, `(?P<secret>…)`: the
//! engine writes the match's bytes before the group through unchanged,
//! replaces the group, and gives back the bytes after it, which are scanned
//! again (so `personal_api_key=X&personal_api_key=Y` is two keys).
//!
//! The DFA finds where a match starts and ends; the group's place in it is
//! found afterwards, once per token, over the match alone: by a one-pass
//! DFA when the rule is one-pass (the built-in ones are: a few dozen
//! instructions a byte, against hundreds for a PikeVM, which matters where
//! every request line carries a key), else by a PikeVM. Each redactor
//! keeps its own scratch space for either ([`SpanCache`]), so a token costs
//! no allocation.

use std::sync::OnceLock;

use regex_automata::{
    Anchored, Input,
    dfa::onepass,
    nfa::thompson::{self, pikevm::PikeVM},
    util::{captures::Captures, syntax},
};
use regex_syntax::hir::{Hir, HirKind};

use super::{rule::SECRET_GROUP, span_tail::FixedTail};
use crate::error::Error;

/// The longest match a rule with a `secret` group may have: the engine holds
/// such a match back until it is decided, since it writes part of it.
pub const SPAN_MAX_LEN: usize = 1024;

/// How to find the secret in a match of one rule.
#[derive(Clone, Debug)]
pub(crate) struct Span {
    /// Where the key is from the match's last byte, for rules of that shape.
    tail: Option<FixedTail>,
    vm: PikeVM,
    /// The rule's one-pass DFA, built at its first token (`None`: the rule
    /// is not one-pass).
    onepass: OnceLock<Option<onepass::DFA>>,
    pattern: String,
    syntax: syntax::Config,
    thompson: thompson::Config,
    /// The rule's longest match.
    pub(crate) max_len: usize,
}

/// A redactor's scratch space for finding the secret in one rule's
/// matches.
#[derive(Clone, Debug)]
pub(crate) enum SpanCache {
    OnePass(onepass::Cache, Captures),
    Pike(regex_automata::nfa::thompson::pikevm::Cache, Captures),
}

impl Span {
    /// The span of rule `name`'s `pattern` (parsed as `hir`), if it has a
    /// `secret` group, compiled with the DFA's configuration (`syntax`,
    /// `thompson`).
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when the group can be empty or the rule's matches
    /// can be longer than [`SPAN_MAX_LEN`].
    pub(super) fn of(
        (name, pattern, hir): (&str, &str, &Hir),
        syntax: syntax::Config,
        thompson: thompson::Config,
    ) -> Result<Option<Span>, Error> {
        let Some(group) = secret_group(hir) else { return Ok(None) };
        if group.properties().minimum_len().is_none_or(|n| n == 0) {
            return Err(Error::Rule(format!("rule {name}: its group {SECRET_GROUP} can be empty")));
        }
        let max_len = hir.properties().maximum_len().filter(|&n| n <= SPAN_MAX_LEN);
        let Some(max_len) = max_len else {
            return Err(Error::Rule(format!(
                "rule {name}: a rule with a group {SECRET_GROUP} must match at most \
                 {SPAN_MAX_LEN} bytes (write {{m,n}}, not * or +)"
            )));
        };
        let vm = PikeVM::builder()
            .syntax(syntax)
            .thompson(thompson.clone())
            .build(pattern)
            .map_err(|e| Error::Rule(format!("rule {name}: cannot compile its groups: {e}")))?;
        let onepass = OnceLock::new();
        let (tail, pattern) = (FixedTail::of(hir), pattern.to_string());
        Ok(Some(Span { tail, vm, onepass, pattern, syntax, thompson, max_len }))
    }

    /// The rule's one-pass DFA, if it is one-pass.
    fn onepass(&self) -> Option<&onepass::DFA> {
        let build = || {
            onepass::Builder::new()
                .syntax(self.syntax)
                .thompson(self.thompson.clone())
                .build(&self.pattern)
                .ok()
        };
        self.onepass.get_or_init(build).as_ref()
    }

    /// Scratch space for [`Span::find`].
    pub(crate) fn cache(&self) -> SpanCache {
        match self.onepass() {
            Some(dfa) => SpanCache::OnePass(dfa.create_cache(), dfa.create_captures()),
            None => SpanCache::Pike(self.vm.create_cache(), self.vm.create_captures()),
        }
    }

    /// Where the secret is in the match `haystack[start..end]` (the bytes
    /// before `start` are there for look-behind), if the rule's own match
    /// from `start` is that one; `None` (replace it whole) otherwise.
    /// `cache` is this span's (see [`Span::cache`]).
    pub(crate) fn find(
        &self,
        cache: &mut SpanCache,
        haystack: &[u8],
        start: usize,
        end: usize,
    ) -> Option<(usize, usize)> {
        if let Some(tail) = &self.tail {
            return tail.find(haystack[end - 1], (start, end));
        }
        let input = Input::new(&haystack[..end]).range(start..end).anchored(Anchored::Yes);
        let caps = match (cache, self.onepass()) {
            (SpanCache::OnePass(cache, caps), Some(dfa)) => {
                dfa.captures(cache, input, caps);
                caps
            }
            (SpanCache::Pike(cache, caps), _) => {
                self.vm.search(cache, &input, caps);
                caps
            }
            (SpanCache::OnePass(..), None) => return None,
        };
        let whole = caps.get_match()?;
        let secret = caps.get_group_by_name(SECRET_GROUP)?;
        (whole.start() == start && whole.end() == end && !secret.is_empty())
            .then_some((secret.start, secret.end))
    }
}

/// The group named `secret` in `hir`, if there is one.
fn secret_group(hir: &Hir) -> Option<&Hir> {
    match hir.kind() {
        HirKind::Capture(capture) if capture.name.as_deref() == Some(SECRET_GROUP) => {
            Some(&capture.sub)
        }
        HirKind::Capture(capture) => secret_group(&capture.sub),
        HirKind::Repetition(repetition) => secret_group(&repetition.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().find_map(secret_group),
        _ => None,
    }
}
