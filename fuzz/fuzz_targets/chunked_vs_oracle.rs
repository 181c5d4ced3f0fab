//! The engine, fed the input in pieces whose sizes come from the fuzz input,
//! must give exactly what it gives for the whole input at once, and exactly
//! what the regex gives over the whole input whenever the hold cap did not
//! cut; with findings recorded (as `--check` does), the output is the same
//! and the findings are where the oracle's matches are. Four rule sets: the defaults, the defaults with public keys, the
//! defaults with custom rules beside them (a literal prefix of their own, no
//! literal prefix at all, a look-behind), and an unbounded rule under a small
//! hold cap. The oracle spells the built-in rules out itself, apart from
//! the crate's constants, so that a change to them shows here; and for the
//! rule sets that cannot reach the hold cap, nothing may ever be capped.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use phx_redact::{
    Finding, Redactor, Rule, RuleSet, Stats,
    rules::{HOLD_CAP, Options},
};
use regex::bytes::{Captures, Regex};

/// A key's body, as the README defines it: written here, not taken from
/// the crate.
const KEY_BODY: &str = r"[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// The built-in secret kinds, in the crate's priority order.
const SECRET_KINDS: [&str; 4] = ["phx", "phs", "pha", "phr"];

/// Legacy personal API keys (no prefix), after the names they are given:
/// only the group `secret` is replaced, and the byte after it, which ends
/// the match, is scanned again. Spelled out here as the README defines it.
const LEGACY: &str = concat!(
    r#"(?:personal_api_key(?:"[ \t]{0,8}:[ \t]{0,8}"|[ \t]{0,8}[=:][ \t]{0,8}["']?)"#,
    r#"|POSTHOG_(?:PERSONAL_)?API_KEY"?[ \t]{0,8}[=:][ \t]{0,8}["']?)"#,
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
);

/// The rule index of the legacy keys in every set (after the four kinds).
const LEGACY_RULE: usize = 4;

/// A legacy key sent as a bearer token, PostHog's only on a line that
/// names PostHog's host ([`POSTHOG_HOST`], any case) from the line's start
/// to its end or [`LOOKAHEAD`] bytes past the match. Every set tries it
/// last, after its custom rules: where another rule matches at the same
/// start, that one wins. Spelled out here as the README defines it.
const BEARER: &str = concat!(
    r#"(?:Authorization|authorization)"?[ \t]{0,8}:[ \t]{0,8}"?(?:Bearer|bearer)[ \t]{1,8}"#,
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
);
const POSTHOG_HOST: &[u8] = b"posthog.com";
const LOOKAHEAD: usize = 4096;
const BEARER_MARKER: &[u8] = b"[REDACTED:posthog-legacy-bearer]";

static BEARER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("(?-u){BEARER}")).unwrap());

/// Whether the line of the match `input[start..end]` names PostHog's host.
fn line_names_posthog(input: &[u8], start: usize, end: usize) -> bool {
    let begins = input[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let ends = input[start..].iter().position(|&b| b == b'\n').map_or(input.len(), |i| start + i);
    let line = input[begins..ends.min(end + LOOKAHEAD)].to_ascii_lowercase();
    line.windows(POSTHOG_HOST.len()).any(|w| w == POSTHOG_HOST)
}

/// The first bearer token at or after `from` whose line names PostHog's
/// host: the match's start, and the key's range.
fn next_bearer(input: &[u8], mut from: usize) -> Option<(usize, std::ops::Range<usize>)> {
    while let Some(c) = BEARER_RE.captures_at(input, from) {
        let whole = c.get(0).unwrap();
        if line_names_posthog(input, whole.start(), whole.end()) {
            return Some((whole.start(), c.name("secret").unwrap().range()));
        }
        from = whole.start() + 1;
    }
    None
}

/// What the default marker writes for a legacy key.
const LEGACY_MARKER: &[u8] = b"[REDACTED:posthog-legacy]";

/// The hold cap of the last rule set: small, so that the fuzzer reaches it.
const SMALL_CAP: usize = 64;

/// The custom rules of the third set: (name, pattern, prefix length).
const CUSTOM: [(&str, &str, usize); 3] = [
    ("github", r"ghp_[A-Za-z0-9]{8,}", 4),
    ("digits", r"[0-9]{6,}", 0),
    ("key", r"\bkey=[a-z]{4,}\b", 4),
];

/// The unbounded rule of the fourth set, with its prefix length.
const BLOCK: (&str, &str, usize) = ("block", r"BEGIN[^!]*END", 5);

/// A rule set and its oracle.
struct Case {
    rules: Arc<RuleSet>,
    /// One leftmost-first alternation of the rules, in rule order, with
    /// Unicode off as the engine has it; group `r{i}` is rule `i`.
    oracle: Regex,
    /// Per rule, how many bytes of a token the default marker keeps.
    prefix_lens: Vec<usize>,
    /// For a capped set: what in the input could bring a candidate to the
    /// cap. The oracle is checked only where this does not match.
    near_cap: Option<Regex>,
}

/// The oracle's own alternatives for the built-in rules: (regex, prefix
/// length).
fn builtin_alternatives(public: bool) -> Vec<(String, usize)> {
    let public = public.then_some("phc");
    let kind = |k: &str| (format!("{k}_{KEY_BODY}"), 4);
    let mut all: Vec<(String, usize)> = SECRET_KINDS.iter().map(|k| kind(k)).collect();
    all.push((LEGACY.to_string(), 0));
    all.extend(public.map(kind));
    all
}

impl Case {
    fn new(extra: &[(&str, &str, usize)], public: bool, hold_cap: Option<usize>) -> Case {
        let mut rules = Rule::defaults(public);
        let mut alternatives = builtin_alternatives(public);
        // The bearer rule is the oracle's own loop, not an alternative.
        assert_eq!(rules.len(), alternatives.len() + 1);
        for &(name, pattern, prefix_len) in extra {
            rules.push(Rule::custom(name, pattern));
            alternatives.push((pattern.to_string(), prefix_len));
        }
        let options = Options { hold_cap: hold_cap.unwrap_or(HOLD_CAP), ..Options::default() };
        let rules = Arc::new(RuleSet::with_options(rules, options).unwrap());
        let groups: Vec<String> =
            alternatives.iter().enumerate().map(|(i, (re, _))| format!("(?P<r{i}>{re})")).collect();
        let oracle = Regex::new(&format!("(?-u){}", groups.join("|"))).unwrap();
        // A block candidate undecided for the cap: BEGIN and then enough
        // bytes that are not `!` (from its start, or after an END it may
        // still extend past).
        let near_cap =
            hold_cap.map(|cap| Regex::new(&format!("(?-u)BEGIN[^!]{{{}}}", cap - 5)).unwrap());
        Case {
            rules,
            oracle,
            prefix_lens: alternatives.into_iter().map(|(_, n)| n).collect(),
            near_cap,
        }
    }

    fn rule_of(&self, c: &Captures) -> usize {
        (0..self.prefix_lens.len()).find(|i| c.name(&format!("r{i}")).is_some()).unwrap()
    }

    /// The bearer rule's index: the set's last.
    fn bearer_rule(&self) -> usize {
        self.rules.rules().len() - 1
    }

    /// Each match from the left, as the engine takes them: (rule, the
    /// token's range, where the scan goes on). A legacy key's token is its
    /// group `secret`, and the scan goes on right after it.
    fn tokens(&self, input: &[u8]) -> Vec<(usize, std::ops::Range<usize>, usize)> {
        let mut tokens = Vec::new();
        let mut pos = 0;
        loop {
            let c = self.oracle.captures_at(input, pos);
            let bearer = next_bearer(input, pos);
            let c = match (c, bearer) {
                (c, Some((start, key))) if c.as_ref().is_none_or(|c| c.get(0).unwrap().start() > start) => {
                    pos = key.end;
                    tokens.push((self.bearer_rule(), key, pos));
                    continue;
                }
                (Some(c), _) => c,
                (None, _) => break,
            };
            let rule = self.rule_of(&c);
            let token = c.name("secret").or(c.get(0)).unwrap().range();
            pos = if c.name("secret").is_some() { token.end } else { c.get(0).unwrap().end() };
            tokens.push((rule, token, pos));
        }
        tokens
    }

    /// The output with the default marker.
    fn expected(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pos = 0;
        for (rule, token, next) in self.tokens(input) {
            out.extend_from_slice(&input[pos..token.start]);
            if rule == LEGACY_RULE {
                out.extend_from_slice(LEGACY_MARKER);
            } else if rule == self.bearer_rule() {
                out.extend_from_slice(BEARER_MARKER);
            } else {
                out.extend_from_slice(&input[token.start..token.start + self.prefix_lens[rule]]);
                out.extend_from_slice(b"[REDACTED]");
            }
            pos = next;
        }
        out.extend_from_slice(&input[pos..]);
        out
    }

    /// The findings, as (rule, offset, length).
    fn expected_findings(&self, input: &[u8]) -> Vec<(Option<usize>, u64, u64)> {
        let tokens = self.tokens(input).into_iter();
        tokens.map(|(rule, t, _)| (Some(rule), t.start as u64, t.len() as u64)).collect()
    }
}

/// A whole key of any built-in kind, and nothing more.
static WHOLE_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^(?:phx|phs|pha|phr|phc)_{KEY_BODY}$")).unwrap());

static CASES: LazyLock<[Case; 4]> = LazyLock::new(|| {
    [
        Case::new(&[], false, None),
        Case::new(&[], true, None),
        Case::new(&CUSTOM, false, None),
        Case::new(&[BLOCK], false, Some(SMALL_CAP)),
    ]
});

/// `rules` fed `input` in pieces of `sizes` (cycled, 0 meaning 1; no sizes
/// meaning the whole input at once): the output, the stats and, if asked
/// for, the findings. Checks the hold bound after every piece.
fn redact(
    rules: &Arc<RuleSet>,
    input: &[u8],
    sizes: &[u8],
    findings: bool,
) -> (Vec<u8>, Stats, Vec<Finding>) {
    let max_held = rules.max_held();
    let mut redactor = Redactor::new(Arc::clone(rules));
    if findings {
        redactor = redactor.record_findings();
    }
    let mut found = Vec::new();
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes.get(i % sizes.len().max(1)).map_or(rest.len(), |&s| usize::from(s).max(1));
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        redactor.feed(chunk, &mut out).unwrap();
        assert!(redactor.held() <= max_held, "held {} > bound {max_held}", redactor.held());
        found.extend(redactor.take_findings());
        rest = tail;
        i += 1;
    }
    redactor.finish(&mut out).unwrap();
    assert_eq!(redactor.held(), 0);
    found.extend(redactor.take_findings());
    (out, redactor.stats().clone(), found)
}

fuzz_target!(|data: &[u8]| {
    // Layout: [flags][n][n split sizes][input...]. The low two bits of flags
    // pick the rule set (bit 0 alone picked public keys before, so old
    // corpus entries keep their meaning or move to a custom set); bit 2 has
    // the chunked run record findings.
    let Some((&flags, rest)) = data.split_first() else { return };
    let Some((&n, rest)) = rest.split_first() else { return };
    let n = usize::from(n % 16).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    let case = &CASES[usize::from(flags & 3)];
    let record = flags & 4 != 0;

    let (chunked, chunked_stats, findings) = redact(&case.rules, input, sizes, record);
    let (whole, whole_stats, _) = redact(&case.rules, input, &[], false);
    assert_eq!(chunked, whole, "chunked output differs from the whole-input one");
    assert_eq!(chunked_stats, whole_stats);
    if record {
        assert_eq!(findings.len() as u64, whole_stats.total_tokens());
        // Every key found is found whole, even where the hold cap cut next
        // to it: it is a key from its first byte, and its body goes on no
        // further.
        let builtins = if flags & 3 == 1 { 6 } else { 5 };
        let bearer = case.bearer_rule();
        for f in findings.iter().filter(|f| f.rule.is_some_and(|r| r < builtins || r == bearer)) {
            let (start, end) = (f.offset as usize, (f.offset + f.len) as usize);
            let next = input.get(end).copied().unwrap_or(b' ');
            if f.rule == Some(LEGACY_RULE) || f.rule == Some(bearer) {
                let key = &input[start..end];
                let urlsafe = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
                assert!(key.len() == 43 && key.iter().all(|&b| urlsafe(b)), "a legacy key in part");
                assert!(!urlsafe(next), "a legacy key cut short");
                continue;
            }
            assert!(WHOLE_KEY.is_match(&input[start..end]), "a key found in part");
            assert!(!(next.is_ascii_alphanumeric() || next == b'_'), "a key cut short");
        }
    }

    if case.near_cap.is_none() {
        // No candidate of these rules stays undecided for as long as the
        // cap, and inputs are shorter (`.ci/run` fuzzes with -max_len=4096).
        assert_eq!(whole_stats.capped, 0, "capped with rules that cannot reach the cap");
    }
    if flags & 3 < 2 {
        // The built-in keys decide every candidate within a few dozen
        // bytes, a legacy key's name and value within about a hundred, and
        // a bearer token's line within the look-ahead past it. (The custom
        // set can hold without bound: `key=` followed by lowercase letters
        // waits for its closing `\b`.)
        let held = case.rules.max_held();
        assert!(held < LOOKAHEAD + 128, "built-in keys held {held}");
    }
    let near_cap = case.near_cap.as_ref().is_some_and(|re| re.is_match(input));
    if whole_stats.capped == 0 && !near_cap {
        assert_eq!(whole, case.expected(input), "output differs from the regex oracle");
        if record {
            let found: Vec<_> = findings.iter().map(|f| (f.rule, f.offset, f.len)).collect();
            assert_eq!(found, case.expected_findings(input), "findings differ from the oracle");
        }
    }
});
