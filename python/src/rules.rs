//! The rules a call asks for, compiled from the same options as the
//! command line's and cached (a logging filter asks at every record), and
//! `rules()`, which lists them.

use std::{
    ffi::OsString,
    sync::{Arc, Mutex, PoisonError},
};

use phx_redact::{
    RuleSet,
    app::{RuleOptions, verify::VERIFIABLE},
    fingerprint::KEY_ENV,
    rules::unnameable,
};
use pyo3::{exceptions::PyValueError, prelude::*};

/// The most compiled rule sets kept for reuse (see [`rules_for`]).
pub(crate) const CACHED_RULE_SETS: usize = 32;

/// The rule options a call gives, as the command line's
/// `--include-public`, `--pattern` and `--posthog-host`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) include_public: bool,
    pub(crate) patterns: Vec<String>,
    pub(crate) posthog_hosts: Vec<String>,
}

impl Choice {
    pub(crate) fn new(
        include_public: bool,
        patterns: Vec<String>,
        posthog_hosts: Vec<String>,
    ) -> Choice {
        Choice { include_public, patterns, posthog_hosts }
    }
}

/// What a compiled rule set is looked up by: the options, and the
/// fingerprint key the environment gives (the CLI reads it at each run),
/// and whether the findings carry the keys PostHog verifies (`verify=`).
pub(crate) type RulesKey = (Choice, String, Option<OsString>, bool);

/// The rules for these options, compiled by the command line's code, or
/// taken from a small cache: a logging filter asks for the same rules at
/// every record, and compiling them costs far more than redacting a line.
///
/// An error is a `ValueError` whose message went through the policy the
/// CLI applies before its rules are known: the built-in rules and each
/// pattern that compiles alone, so it never shows a pattern's text where
/// that could be a secret.
pub(crate) fn rules_for(py: Python<'_>, choice: &Choice, marker: &str) -> PyResult<Arc<RuleSet>> {
    compiled(py, (choice.clone(), marker.to_string(), None, false))
}

/// The rules of a check (marker `default`), whose findings carry the keys
/// PostHog verifies when `capture` (`verify=`), as `--check --verify`'s.
pub(crate) fn rules_for_check(
    py: Python<'_>,
    choice: &Choice,
    capture: bool,
) -> PyResult<Arc<RuleSet>> {
    compiled(py, (choice.clone(), "default".into(), None, capture))
}

/// Refuses a host no line could name (empty, too long for a host, or
/// holding a line's end), as the engine refuses it for `--posthog-host`,
/// but in the option's name; the message gives the host's place, never its
/// text (a pasted secret).
fn check_hosts(hosts: &[String]) -> PyResult<()> {
    let refused = hosts.iter().enumerate().find_map(|(i, h)| Some((i, unnameable(h)?)));
    match refused {
        Some((i, why)) => Err(PyValueError::new_err(format!(
            "posthog_hosts: host {} of {} {why}: no line could name it",
            i + 1,
            hosts.len()
        ))),
        None => Ok(()),
    }
}

/// The rules for `key` (its fingerprint key read here), compiled or cached.
fn compiled(py: Python<'_>, mut key: RulesKey) -> PyResult<Arc<RuleSet>> {
    static CACHE: Mutex<Vec<(RulesKey, Arc<RuleSet>)>> = Mutex::new(Vec::new());
    key.2 = std::env::var_os(KEY_ENV);
    {
        let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, rules)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(rules));
        }
    }
    let (choice, marker, capture) = (&key.0, &key.1, key.3);
    check_hosts(&choice.posthog_hosts)?;
    let args = RuleOptions {
        include_public: choice.include_public,
        patterns: choice.patterns.clone(),
        posthog_hosts: choice.posthog_hosts.clone(),
        marker: marker.clone(),
        ..RuleOptions::default()
    };
    let rules = match py.detach(|| args.rule_set()) {
        Ok(rules) if capture => Arc::new(rules.capture_tokens(VERIFIABLE)),
        Ok(rules) => Arc::new(rules),
        Err(err) => {
            let policy = args.error_policy();
            return Err(PyValueError::new_err(policy.redact_str(&format!("{err:#}"))));
        }
    };
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= CACHED_RULE_SETS {
        cache.remove(0);
    }
    cache.push((key, Arc::clone(&rules)));
    Ok(rules)
}

/// The rules these options compile to: (name, regex) pairs in priority
/// order, the regexes the engine runs (as ``phx-redact --list-rules``).
///
/// ``posthog-legacy-bearer`` (a legacy personal API key sent as
/// ``Authorization: Bearer``) counts only on lines naming ``posthog.com``
/// or one of ``posthog_hosts`` (in any case): its regex alone matches on
/// any line, and the pair does not say so.
///
/// Args:
///     include_public: also redact public project keys (``phc_``), as
///         ``--include-public``.
///     patterns: extra regexes to redact, as ``--pattern`` (the regex
///         crate's syntax, over bytes); their rules are named
///         ``pattern-1``, ``pattern-2``, ...
///     posthog_hosts: self-hosted PostHog hosts, as ``--posthog-host``:
///         ``posthog-legacy-bearer`` counts on lines naming one too.
///
/// Raises:
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern. Also a
///         host that is empty or holds a line end.
#[pyfunction]
#[pyo3(
    signature = (*, include_public = false, patterns = Vec::new(), posthog_hosts = Vec::new()),
    text_signature = "(*, include_public=False, patterns=(), posthog_hosts=())"
)]
pub(crate) fn rules(
    py: Python<'_>,
    include_public: bool,
    patterns: Vec<String>,
    posthog_hosts: Vec<String>,
) -> PyResult<Vec<(String, String)>> {
    let choice = Choice::new(include_public, patterns, posthog_hosts);
    let rules = rules_for(py, &choice, "default")?;
    Ok(rules.rules().iter().map(|r| (r.name.clone(), r.pattern.clone())).collect())
}
