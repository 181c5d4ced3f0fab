//! Files by name: `redact_file` (the mirror scrub of `--output-dir`) and
//! `check` (the audit of `--check`).

use crate::outcome::outcome_dict;
use crate::streams::CHUNK;
use crate::{
    errors::py_error,
    findings::{Finding, Recorder},
    rules::{Choice, rules_for},
    verify::{check_setup, finish},
};
use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use phx_redact::{
    Redactor as Engine,
    app::{self, Dest, Input, Levels, MessagePolicy},
};
use pyo3::{exceptions::PyValueError, prelude::*, types::PyDict};

/// Writes a redacted copy of the file ``src`` to ``dst``: the bytes
/// ``phx-redact --output-dir`` writes for it.
///
/// A file with nothing to redact is copied as it is; one with a key is
/// redacted and stored again in its own format (gzip, multi-member too,
/// zstd, xz, bzip2, lz4; told by its content, not its name). The copy is
/// written to a temporary file beside ``dst`` and renamed over it, with
/// ``src``'s mode and times: ``dst`` is whole or untouched, whatever
/// fails. ``dst``'s folder is made if needed.
///
/// Args:
///     src: the file to read (str or path-like).
///     dst: where the copy goes; not ``src`` itself.
///     include_public: also redact public project keys (``phc_``), as
///         ``--include-public``.
///     patterns: extra regexes to redact, as ``--pattern`` (the regex
///         crate's syntax, over bytes); their rules are named
///         ``pattern-1``, ``pattern-2``, ...
///     posthog_hosts: self-hosted PostHog hosts, as ``--posthog-host``: a
///         legacy personal API key sent as ``Authorization: Bearer`` counts
///         on a line naming one, as on one naming ``posthog.com``.
///     marker: what a token becomes, as ``--marker``: a preset
///         (``default``, ``posthog``, ``fingerprint``, ``same-length``) or a
///         template with ``{prefix}``, ``{rule}``, ``{mask}``, ``{last4}``,
///         ``{fingerprint}``, ``{stars}``, ``{len}``.
///
/// Returns:
///     A dict: ``bytes`` (read, decompressed), ``stored_bytes`` (as
///     stored), ``tokens`` (redacted), ``format`` (``plain``, ``gzip``,
///     ``zstd``, ``xz``, ``bzip2``, ``lz4``), ``written`` (True).
///
/// Raises:
///     RedactError: corrupt or truncated compressed data, a format
///         phx-redact cannot read (zip, 7z, ``.Z``, ...), or an archive, a
///         database or binary data holding a secret (a rewrite would break
///         it): as the CLI refuses them, with its message.
///     OSError: ``src`` cannot be read or ``dst`` written
///         (``FileNotFoundError``, ``PermissionError``, ...).
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern; so is
///         a host of ``posthog_hosts`` that is empty, over 255 bytes or holds a line end.
///         Also when ``dst`` is ``src``.
#[pyfunction]
#[pyo3(
    signature = (src, dst, *, include_public = false, patterns = Vec::new(),
                 posthog_hosts = Vec::new(), marker = "default"),
    text_signature = "(src, dst, *, include_public=False, patterns=(), posthog_hosts=(), \
                      marker='default')"
)]
pub(crate) fn redact_file<'py>(
    py: Python<'py>,
    src: PathBuf,
    dst: PathBuf,
    include_public: bool,
    patterns: Vec<String>,
    posthog_hosts: Vec<String>,
    marker: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = rules_for(py, &Choice::new(include_public, patterns, posthog_hosts), marker)?;
    let policy = MessagePolicy::new(&rules);
    let name = src.display().to_string();
    let Some(file_name) = dst.file_name().map(Path::new) else {
        let text = format!("{}: names no file to write", dst.display());
        return Err(PyValueError::new_err(policy.redact_str(&text)));
    };
    // A copy written over its own input would be an in-place rewrite
    // without the in-place checks (hard links, live writers).
    if let (Ok(a), Ok(b)) = (fs::metadata(&src), fs::metadata(&dst))
        && (a.dev(), a.ino()) == (b.dev(), b.ino())
    {
        let text = format!(
            "{name}: dst is the input itself; write the copy elsewhere (or use \
             `phx-redact --in-place`)"
        );
        return Err(PyValueError::new_err(policy.redact_str(&text)));
    }
    let root = match dst.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dest = Dest::Mirror { root };
    let result = py.detach(|| app::scrub_file(&src, file_name, &dest, &rules, Levels::default()));
    match result {
        Ok(outcome) => outcome_dict(py, &outcome),
        Err(err) => Err(py_error(&err, Some(&name), &policy)),
    }
}

/// Finds the tokens in the file at ``path``: the findings
/// ``phx-redact --check --json PATH`` prints, as :class:`Finding`.
///
/// Compressed files are decompressed as the CLI does; the file is read
/// once, in constant memory (the findings aside), and never written.
///
/// Args:
///     path: the file (str or path-like); findings carry it as given,
///         keys in it redacted.
///     include_public: also redact public project keys (``phc_``), as
///         ``--include-public``.
///     patterns: extra regexes to redact, as ``--pattern`` (the regex
///         crate's syntax, over bytes); their rules are named
///         ``pattern-1``, ``pattern-2``, ...
///     posthog_hosts: self-hosted PostHog hosts, as ``--posthog-host``: a
///         legacy personal API key sent as ``Authorization: Bearer`` counts
///         on a line naming one, as on one naming ``posthog.com``.
///     verify: also ask PostHog whether each key found is live (opt-in;
///         off by default): ``True`` for a cache of this call only, or a
///         :class:`Verifier` to share its cache across calls. Each finding
///         of a ``phx``, ``phs``, ``pha``, ``phr`` or legacy personal key
///         then has a ``status``: ``"live"``, ``"live (scoped)"``,
///         ``"not live"`` or ``"unknown: REASON"``; each distinct key is
///         sent once to each host, in a header, never in a URL.
///     posthog_urls: with ``verify=True``, the hosts to ask instead of
///         PostHog's two cloud regions (self-hosted), as for
///         :class:`Verifier`. Needed with ``posthog_hosts``: a key found
///         for a self-hosted host's line is not sent to PostHog Cloud.
///     verify_timeout: with ``verify=True``, the seconds one call may take
///         (default 10).
///
/// Returns:
///     The findings, in file order.
///
/// Raises:
///     RedactError: corrupt or truncated compressed data, or a format
///         phx-redact cannot read.
///     OSError: the file cannot be read.
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern; so is
///         a host of ``posthog_hosts`` that is empty, over 255 bytes or holds a line end. Also a
///         URL of ``posthog_urls`` or the timeout, or ``posthog_hosts`` with a
///         verifier that would ask PostHog Cloud, before the file is read.
///     TypeError: ``verify`` is not a bool or a :class:`Verifier`.
#[pyfunction]
#[pyo3(
    signature = (path, *, include_public = false, patterns = Vec::new(),
                 posthog_hosts = Vec::new(), verify = None, posthog_urls = None,
                 verify_timeout = None),
    text_signature = "(path, *, include_public=False, patterns=(), \
                      posthog_hosts=(), verify=False, \
                      posthog_urls=None, verify_timeout=10.0)"
)]
#[allow(clippy::too_many_arguments)] // Python's keyword arguments, one each.
pub(crate) fn check(
    py: Python<'_>,
    path: PathBuf,
    include_public: bool,
    patterns: Vec<String>,
    posthog_hosts: Vec<String>,
    verify: Option<&Bound<'_, PyAny>>,
    posthog_urls: Option<Vec<String>>,
    verify_timeout: Option<f64>,
) -> PyResult<Vec<Finding>> {
    let choice = Choice::new(include_public, patterns, posthog_hosts);
    let (verifier, rules) = check_setup(py, &choice, verify, posthog_urls, verify_timeout)?;
    let input = Input::Path(path);
    let name = input.display().to_string();
    let mut recorder = Recorder::new(&rules, Some(&name));
    let result = py.detach(|| {
        let mut engine = Engine::new(Arc::clone(&rules)).record_findings();
        let mut buf = vec![0; CHUNK];
        let result = app::inspect_input(&mut engine, &input, &mut buf, |engine| {
            recorder.add(&engine.take_findings());
            false
        });
        recorder.add(&engine.take_findings());
        result
    });
    match result {
        Ok(()) => Ok(finish(py, recorder.findings, &recorder.targets, verifier.as_ref())),
        Err(err) => Err(py_error(&err, Some(&name), &MessagePolicy::new(&rules))),
    }
}
