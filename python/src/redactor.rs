//! `Redactor`: a streaming redactor for Python, fed chunks of any size,
//! safe to share between threads (one lock).

use crate::bytes_out::{Pieces, filled_bytes};
use crate::{
    bytes_out::new_bytes,
    findings::{Finding, Recorder},
    rules::{Choice, rules_for},
    text::bytes_like,
};
use std::sync::{Arc, Mutex, PoisonError};

use phx_redact::Redactor as Engine;
use pyo3::{
    exceptions::{PyTypeError, PyValueError},
    prelude::*,
    types::PyBytes,
};

/// A streaming redactor: feed it chunks of any size, then finish it.
///
/// A token split across chunks is still found whole: the output is the
/// same however the stream is cut. Between calls it holds back only the
/// bytes that may still be part of a token (a few dozen for the built-in
/// rules), so ``feed`` returns all the rest. It records each token it
/// finds (see :meth:`findings`).
///
/// One redactor is one stream, and may be shared by threads: its calls
/// take turns (a lock, waited on with the GIL released), so none raises
/// and no chunk is lost. Each ``feed`` is applied whole, in the order the
/// calls get the redactor; when threads race, that order is theirs to
/// decide, and so is the interleaving of their chunks in the one stream
/// (a line two threads each feed half of is two halves in either order).
/// A call returns what that call decided, which may include bytes another
/// thread's chunk left held back. Threads that each have their own
/// redactor run in parallel.
///
/// Args:
///     path: the name findings carry (keys in it redacted), or None.
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
/// Raises:
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern; so is
///         a host of ``posthog_hosts`` that is empty, over 255 bytes or holds a line end.
#[pyclass(frozen, module = "phx_redact")]
pub(crate) struct Redactor {
    stream: Mutex<Stream>,
}

/// A [`Redactor`]'s state, behind its lock.
pub(crate) struct Stream {
    engine: Engine,
    recorder: Recorder,
    finished: bool,
}

impl Redactor {
    /// Runs `f` on the stream, holding its lock: waited for, and held,
    /// with the GIL released, so that a thread holding the lock can always
    /// take the GIL back (a thread waiting with the GIL would deadlock it).
    pub(crate) fn with_stream<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Stream) -> T + Send,
    ) -> T {
        py.detach(|| f(&mut self.stream.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}

#[pymethods]
impl Redactor {
    #[new]
    #[pyo3(
        signature = (*, path = None, include_public = false, patterns = Vec::new(),
                     posthog_hosts = Vec::new(), marker = "default"),
        text_signature = "(*, path=None, include_public=False, patterns=(), posthog_hosts=(), \
                          marker='default')"
    )]
    pub(crate) fn new(
        py: Python<'_>,
        path: Option<String>,
        include_public: bool,
        patterns: Vec<String>,
        posthog_hosts: Vec<String>,
        marker: &str,
    ) -> PyResult<Redactor> {
        let rules = rules_for(py, &Choice::new(include_public, patterns, posthog_hosts), marker)?;
        Ok(Redactor {
            stream: Mutex::new(Stream {
                engine: Engine::new(Arc::clone(&rules)).record_findings(),
                recorder: Recorder::new(&rules, path.as_deref()),
                finished: false,
            }),
        })
    }

    /// Redacts the next chunk of the stream: bytes or any bytes-like
    /// object (bytearray, memoryview, array, mmap).
    ///
    /// Returns:
    ///     The output that is decided so far (may be shorter or longer than
    ///     ``data``, or empty while a token is still open).
    ///
    /// Raises:
    ///     ValueError: after :meth:`finish`.
    ///     TypeError: ``data`` is not bytes-like.
    pub(crate) fn feed<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let Some(data) = bytes_like(data)? else {
            let kind = data.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "feed() takes bytes or a bytes-like object, not {kind}"
            )));
        };
        let input: &[u8] = &data;
        let out = self.with_stream(py, |stream| {
            if stream.finished {
                return None;
            }
            let mut out = Pieces::new(input);
            // Writing into pieces cannot fail.
            let _ = stream.engine.feed(input, &mut out);
            let found = stream.engine.take_findings();
            stream.recorder.add(&found);
            Some(out)
        });
        match out {
            Some(out) => filled_bytes(py, out.len, |dest| out.copy_to(dest)),
            None => Err(PyValueError::new_err("feed() after finish(): make a new Redactor")),
        }
    }

    /// Ends the stream.
    ///
    /// Returns:
    ///     The rest of the output: what was held back (a token at the very
    ///     end, a partial prefix). A second call returns ``b""``.
    pub(crate) fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let out = self.with_stream(py, |stream| {
            let mut out = Vec::new();
            if !stream.finished {
                stream.finished = true;
                let _ = stream.engine.finish(&mut out);
                let found = stream.engine.take_findings();
                stream.recorder.add(&found);
            }
            out
        });
        new_bytes(py, &out)
    }

    /// The tokens found so far, in stream order, as :class:`Finding`.
    ///
    /// Args:
    ///     clear: forget them once returned (a long-lived redactor's memory
    ///         then stays bounded).
    #[pyo3(signature = (*, clear = false))]
    pub(crate) fn findings(&self, py: Python<'_>, clear: bool) -> Vec<Finding> {
        self.with_stream(py, |stream| {
            if clear {
                std::mem::take(&mut stream.recorder.findings)
            } else {
                stream.recorder.findings.clone()
            }
        })
    }
}
