//! What counts as a secret, as data: a [`Rule`], the built-in ones, and
//! the [`Options`] a set of rules is compiled with.

use crate::engine::fingerprint::Fingerprinter;

/// The version of the built-in rules' definition, printed by `--version`:
/// when it changes, what counts as a secret changed, and an audit made
/// with another version may have seen other tokens.
pub const RULESET_VERSION: &str = "2027-01: a [A-Za-z0-9_] body with 20 alnum in a row in its first \
     40; legacy personal API keys (43 URL-safe base64) after the names they are given, and as \
     bearer tokens on lines that name posthog.com";

/// The body that follows a secret prefix: a run of ASCII letters, digits
/// and underscores holding 20 letters or digits in a row that start within
/// its first 21 bytes (so by its 40th byte the question is settled).
///
/// 20, not the full length of any one era, so that truncated keys and every
/// era of PostHog's formats are caught. The trailing `[A-Za-z0-9_]*` makes
/// two glued keys (`phx_<a>phx_<b>`) one token, so the second key's body is
/// never left in the clear. Up to 20 bytes with `_` before the 20 letters
/// or digits fail closed where peer scanners (kingfisher's `phx_` + 14 +
/// `_` + 28) do, while a run with no 20 letters or digits in a row (Phoenix's
/// `phx_join`, mask-go's `phx_phx_phx_…`) is never a key however long it is.
/// The run of 20 must start by the body's 21st byte so that the engine
/// decides every candidate within 45 bytes: a rule that could wait for its
/// 20 letters or digits without end would hold the stream back to the cap.
/// Every way of matching ends at the end of the run, so the greedy `{0,20}`
/// never changes a token's extent.
pub const BODY: &str = "[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// The name of the group that holds a rule's secret (see `span.rs`).
pub const SECRET_GROUP: &str = "secret";

/// One kind of secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Short name, used in reports (`phx`, `phs`, ...).
    pub name: String,
    /// Regex for the whole token, in the syntax of `regex::bytes`.
    pub pattern: String,
    /// This rule's marker: a preset (`default`, `posthog`, `fingerprint`,
    /// `same-length`) or a template with `{prefix}`, `{rule}`, `{mask}`,
    /// `{last4}`, `{fingerprint}`, `{stars}`, `{len}`; `None` for the set's.
    pub marker: Option<String>,
    /// When not empty, a match counts only on a line that names one of
    /// these (ASCII letters in any case), anywhere before the match or up
    /// to [`LINE_LOOKAHEAD`] bytes after it: a host such as `posthog.com`
    /// for a token whose shape alone says nothing. A set holds at most one
    /// such rule, and tries it after every other (see `lines.rs`).
    pub on_lines_naming: Vec<String>,
}

impl Rule {
    /// A PostHog-style rule: `NAME_` followed by [`BODY`].
    pub fn posthog(name: &str) -> Rule {
        Rule::custom(name, format!("{name}_{BODY}"))
    }

    /// The built-in rule called `name` (one of [`BUILTIN_KINDS`]).
    pub fn builtin(name: &str) -> Option<Rule> {
        let pattern = match name {
            LEGACY_KIND => LEGACY,
            BEARER_KIND => BEARER_43,
            LEGACY_BEARER_KIND => {
                let mut rule = Rule::custom(name, BEARER_43);
                rule.on_lines_naming = vec![POSTHOG_HOST.to_string()];
                return Some(rule);
            }
            _ => return BUILTIN_KINDS.contains(&name).then(|| Rule::posthog(name)),
        };
        Some(Rule::custom(name, pattern))
    }

    /// The built-in rules applied by default, in priority order (the
    /// rules of [`RuleSet::default_rules`](super::RuleSet::default_rules)):
    /// [`DEFAULT_KINDS`]; `include_public` adds `phc_`, before the rule
    /// that counts only on some lines, which a set tries last.
    pub fn defaults(include_public: bool) -> Vec<Rule> {
        let public = include_public.then_some(PUBLIC_KIND);
        let (lines, rest) = DEFAULT_KINDS.split_last().expect("there are default kinds");
        rest.iter().copied().chain(public).chain([*lines]).filter_map(Rule::builtin).collect()
    }

    /// A rule for `pattern`, with the set's marker.
    pub fn custom(name: impl Into<String>, pattern: impl Into<String>) -> Rule {
        Rule {
            name: name.into(),
            pattern: pattern.into(),
            marker: None,
            on_lines_naming: Vec::new(),
        }
    }
}

/// Names of the prefixed secret kinds: personal API keys, secret
/// (feature-flag) keys, OAuth access and refresh tokens.
pub const SECRET_KINDS: [&str; 4] = ["phx", "phs", "pha", "phr"];

/// The rules redacted by default: the prefixed secret kinds, then the
/// legacy personal API keys, by their names and as bearer tokens sent to
/// PostHog (last: a set tries that rule after every other).
pub const DEFAULT_KINDS: [&str; 6] = ["phx", "phs", "pha", "phr", LEGACY_KIND, LEGACY_BEARER_KIND];

/// Name of the public project-key kind, redacted only when asked for.
pub const PUBLIC_KIND: &str = "phc";

/// Name of the rule for personal API keys made before 2021-06-23, which
/// have no prefix (see [`LEGACY`]).
pub const LEGACY_KIND: &str = "posthog-legacy";

/// Name of the opt-in rule for any `Authorization: Bearer` token of a
/// legacy key's shape (see [`BEARER_43`]).
pub const BEARER_KIND: &str = "bearer-43";

/// Name of the rule for an `Authorization: Bearer` token of a legacy key's
/// shape on a line that names a PostHog host ([`POSTHOG_HOST`], or a host
/// the user names): a legacy personal API key sent to PostHog.
pub const LEGACY_BEARER_KIND: &str = "posthog-legacy-bearer";

/// What a line names when it names PostHog Cloud: `us.posthog.com`,
/// `eu.i.posthog.com`, `app.posthog.com`, ...
pub const POSTHOG_HOST: &str = "posthog.com";

/// How far after a match of a rule that counts only on some lines (see
/// [`Rule::on_lines_naming`]) the engine looks for the name, on the match's
/// line: `curl -H "Authorization: Bearer …" https://us.posthog.com/…` names
/// the host after the header. The match and the bytes after it wait until
/// the line ends or this many bytes have come.
pub const LINE_LOOKAHEAD: usize = 4096;

/// Every built-in rule's name, in the order the key list ranks them (the
/// most powerful first).
pub const BUILTIN_KINDS: [&str; 8] =
    ["phx", LEGACY_KIND, LEGACY_BEARER_KIND, "phs", "pha", "phr", PUBLIC_KIND, BEARER_KIND];

/// Legacy personal API keys, found by the names they are given, since they
/// have no prefix: `personal_api_key=` (a query string or a form, `.env`),
/// `"personal_api_key": "` (JSON), `personal_api_key:` (YAML, and so
/// `posthog_personal_api_key:`), `POSTHOG_PERSONAL_API_KEY=` and
/// `POSTHOG_API_KEY=` (environment dumps, `.env`, YAML, quoted or not).
/// Only the value is replaced; the name stays as it was.
///
/// The value: 43 URL-safe base64 characters (`secrets.token_urlsafe(32)`,
/// PostHog's personal API keys before 2021-06-23, which still log in), in
/// the group `secret`, then a byte that cannot go on a key or the end of
/// the input: a longer value is not one. The DFA cannot look ahead, so the
/// rule matches that byte, and the engine gives it back (it replaces only
/// the group `secret`, and scans on from its end).
pub const LEGACY: &str = concat!(
    r#"(?:personal_api_key(?:"[ \t]{0,8}:[ \t]{0,8}"|[ \t]{0,8}[=:][ \t]{0,8}["']?)"#,
    r#"|POSTHOG_(?:PERSONAL_)?API_KEY"?[ \t]{0,8}[=:][ \t]{0,8}["']?)"#,
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
);

/// Any `Authorization: Bearer` token of a legacy key's shape, whatever the
/// host: opt-in (`--rule bearer-43`), since other services' tokens take
/// that shape too.
pub const BEARER_43: &str = concat!(
    r#"(?:Authorization|authorization)"?[ \t]{0,8}:[ \t]{0,8}"?(?:Bearer|bearer)[ \t]{1,8}"#,
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
);

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

/// How a [`RuleSet`](super::RuleSet) renders markers and hashes tokens.
#[derive(Clone, Debug)]
pub struct Options {
    /// The marker template or preset for rules that do not name their own.
    pub marker: String,
    /// Hashes `{fingerprint}` and the check mode's key summary.
    pub fingerprints: Fingerprinter,
    /// See [`HOLD_CAP`]; at least [`MIN_HOLD_CAP`].
    pub hold_cap: usize,
    /// Whether the markers are written (true but for an audit, which
    /// writes none): only then is each checked against a second run.
    pub markers_written: bool,
}

/// The smallest hold cap accepted (small caps are for tests).
pub const MIN_HOLD_CAP: usize = 16;

impl Default for Options {
    fn default() -> Options {
        Options {
            marker: "default".into(),
            fingerprints: Fingerprinter::unkeyed(),
            hold_cap: HOLD_CAP,
            markers_written: true,
        }
    }
}
