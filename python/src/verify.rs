//! `verify=` of `check` and `check_stream`: whether each key found is live,
//! asked of PostHog by the CLI's own client and cache (`--check --verify`),
//! and the [`Verifier`] that keeps that cache across calls.
//!
//! The key is asked about from Rust, with the GIL released, and never
//! reaches Python: a finding, a `Verifier`'s repr and every message hold
//! masks, fingerprints, host names and statuses only.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use phx_redact::RuleSet;
use phx_redact::app::{
    MessagePolicy, PosthogHost, VerifyOptions, VerifyStatus, VerifyTarget,
    verify::{Cache, DEFAULT_TIMEOUT},
};
use pyo3::{
    exceptions::{PyTypeError, PyValueError},
    prelude::*,
};

use crate::{
    findings::Finding,
    rules::{Choice, rules_for_check},
};

/// The longest timeout a call may be given: an hour.
const MAX_TIMEOUT: f64 = 3600.0;

/// Asks PostHog whether keys are live, and remembers each answer: give
/// one to ``check(..., verify=verifier)`` (or ``check_stream``) to ask
/// about each key once however many calls find it, in any thread.
///
/// Each distinct key (``phx``, ``phs``, ``pha``, ``phr``, and legacy
/// personal keys) is sent once to each host, in an ``Authorization``
/// header, never in a URL: ``GET /api/users/@me/``. A key's status is
/// ``"live"`` (200 in some region), ``"live (scoped)"`` (403: live
/// without the ``user:read`` scope), ``"not live"`` (401 everywhere) or
/// ``"unknown: REASON"`` (anything else: the host and the status, or the
/// failure, such as a timeout).
///
/// Args:
///     posthog_urls: the hosts to ask, each ``https://HOST[:PORT][/PREFIX]``
///         (self-hosted PostHog); plain ``http://`` only to a loopback
///         address. By default PostHog's two cloud regions,
///         ``https://us.posthog.com`` and ``https://eu.posthog.com``.
///         A call given ``posthog_hosts`` (a self-hosted PostHog) refuses
///         a verifier without ``posthog_urls``: that instance's keys are
///         not sent to PostHog Cloud.
///     timeout: the seconds one call may take (default 10).
///
/// Raises:
///     ValueError: a URL or the timeout is refused.
#[pyclass(frozen, module = "phx_redact")]
pub(crate) struct Verifier {
    options: VerifyOptions,
    /// No ``posthog_urls`` given: it asks PostHog Cloud's two regions.
    cloud: bool,
    cache: Mutex<Cache>,
}

#[pymethods]
impl Verifier {
    #[new]
    #[pyo3(signature = (*, posthog_urls = None, timeout = 10.0))]
    fn new(posthog_urls: Option<Vec<String>>, timeout: f64) -> PyResult<Verifier> {
        let cloud = posthog_urls.is_none();
        Ok(Verifier { options: options(posthog_urls, timeout)?, cloud, cache: Mutex::default() })
    }

    /// The status of each key asked about so far, by its short
    /// fingerprint (as :attr:`Finding.fingerprint` gives it).
    fn statuses(&self) -> HashMap<String, String> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.statuses().sorted().into_iter().map(|(f, s)| (f.to_string(), shown(s))).collect()
    }

    fn __repr__(&self) -> String {
        let hosts: Vec<&str> = self.options.hosts.iter().map(|h| h.name()).collect();
        let known = self.cache.lock().unwrap_or_else(PoisonError::into_inner).statuses().len();
        let text = format!(
            "Verifier(hosts={hosts:?}, timeout={}, keys_known={known})",
            self.options.timeout.as_secs_f64()
        );
        MessagePolicy::builtin().redact_str(&text)
    }
}

impl Verifier {
    /// Asks about each target not yet known and gives each finding of a
    /// target its status; the GIL is released while the hosts are asked.
    pub(crate) fn apply(&self, py: Python<'_>, findings: &mut [Finding], targets: &[VerifyTarget]) {
        if targets.is_empty() {
            return;
        }
        // Only these targets' statuses, not the whole cache's, leave the lock.
        let statuses: HashMap<&str, String> = py.detach(|| {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let known = cache.verify(targets, &self.options);
            let status = |t: &VerifyTarget| known.get(&t.fingerprint).map(shown);
            targets.iter().filter_map(|t| Some((t.fingerprint.as_str(), status(t)?))).collect()
        });
        for finding in findings {
            if let Some(status) = statuses.get(finding.fingerprint.as_str()) {
                finding.status = Some(status.clone());
            }
        }
    }
}

/// A status as Python gets it: through the built-in rules, since a reason
/// names a host, and a host is the user's text.
fn shown(status: &VerifyStatus) -> String {
    MessagePolicy::builtin().redact_str(&status.to_string())
}

/// The options of a verifier: the hosts checked (cloud by default) and
/// the timeout.
fn options(posthog_urls: Option<Vec<String>>, timeout: f64) -> PyResult<VerifyOptions> {
    let mut options = VerifyOptions::default();
    if !(timeout > 0.0 && timeout <= MAX_TIMEOUT) {
        let text = format!("verify timeout {timeout}: more than 0 and at most {MAX_TIMEOUT} s");
        return Err(PyValueError::new_err(text));
    }
    options.timeout = Duration::try_from_secs_f64(timeout).unwrap_or(DEFAULT_TIMEOUT);
    if let Some(urls) = posthog_urls {
        if urls.is_empty() {
            return Err(PyValueError::new_err("posthog_urls: give at least one URL, or None"));
        }
        options.hosts = urls.iter().map(|url| host(url)).collect::<PyResult<_>>()?;
    }
    Ok(options)
}

/// `url` as a host, or a `ValueError` that never quotes a key the URL may
/// hold (its text goes through the built-in rules).
fn host(url: &str) -> PyResult<PosthogHost> {
    PosthogHost::parse(url).map_err(|why| {
        let text = format!("posthog_urls: {url}: {why}");
        PyValueError::new_err(MessagePolicy::builtin().redact_str(&text))
    })
}

/// The verifier a call's `verify=` asks for: none (`False`), the caller's
/// [`Verifier`], or a new one for this call only (`True`), from
/// `posthog_urls` and `timeout`, which a given `Verifier` already holds.
fn verifier_for(
    verify: Option<&Bound<'_, PyAny>>,
    posthog_urls: Option<Vec<String>>,
    timeout: Option<f64>,
) -> PyResult<Option<Py<Verifier>>> {
    let Some(verify) = verify else {
        return Ok(None);
    };
    if let Ok(verifier) = verify.cast::<Verifier>() {
        if posthog_urls.is_some() || timeout.is_some() {
            let text = "posthog_urls and verify_timeout go to the Verifier, not beside it";
            return Err(PyValueError::new_err(text));
        }
        return Ok(Some(verifier.clone().unbind()));
    }
    if verify.is_none() {
        return Ok(None);
    }
    let Ok(wanted) = verify.extract::<bool>() else {
        return Err(PyTypeError::new_err("verify: True, False or a phx_redact.Verifier"));
    };
    if !wanted {
        return Ok(None);
    }
    let cloud = posthog_urls.is_none();
    let options = options(posthog_urls, timeout.unwrap_or(DEFAULT_TIMEOUT.as_secs_f64()))?;
    let verifier = Verifier { options, cloud, cache: Mutex::default() };
    Ok(Some(Py::new(verify.py(), verifier)?))
}

/// Refuses `verifier` when it would ask PostHog Cloud (no `posthog_urls`)
/// and `posthog_hosts` names a self-hosted PostHog: a bearer token counted
/// for a line naming one is that instance's key, which the cloud must not
/// receive (as the CLI refuses `--posthog-host` with `--verify` and no
/// `--posthog-url`).
fn refuse_cloud(verifier: Option<&Py<Verifier>>, posthog_hosts: &[String]) -> PyResult<()> {
    if posthog_hosts.is_empty() || !verifier.is_some_and(|v| v.get().cloud) {
        return Ok(());
    }
    Err(PyValueError::new_err(
        "posthog_hosts names a self-hosted PostHog, whose keys verify= would send to \
         PostHog Cloud: name the instance with posthog_urls= (or a Verifier's \
         posthog_urls; add https://us.posthog.com and https://eu.posthog.com to ask the \
         cloud too)",
    ))
}

/// The verifier and the rules of a check (`check`, `check_stream`):
/// `verify=` as [`verifier_for`] reads it, refused where [`refuse_cloud`]
/// says, and the rules compiled for it by [`rules_for_check`].
pub(crate) fn check_setup(
    py: Python<'_>,
    choice: &Choice,
    verify: Option<&Bound<'_, PyAny>>,
    posthog_urls: Option<Vec<String>>,
    timeout: Option<f64>,
) -> PyResult<(Option<Py<Verifier>>, Arc<RuleSet>)> {
    let verifier = verifier_for(verify, posthog_urls, timeout)?;
    refuse_cloud(verifier.as_ref(), &choice.posthog_hosts)?;
    let rules = rules_for_check(py, choice, verifier.is_some())?;
    Ok((verifier, rules))
}

/// `findings`, each of a key in `targets` with its status when `verifier`
/// is given (asked now, the GIL released).
pub(crate) fn finish(
    py: Python<'_>,
    mut findings: Vec<Finding>,
    targets: &[VerifyTarget],
    verifier: Option<&Py<Verifier>>,
) -> Vec<Finding> {
    if let Some(verifier) = verifier {
        verifier.get().apply(py, &mut findings, targets);
    }
    findings
}
