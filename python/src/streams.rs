//! Python file objects as streams: `redact_stream` and `check_stream`,
//! read and written in the engine's read size, a non-blocking file waited
//! on, and a reader's own exception passed on as it is.

use crate::{
    errors::py_error,
    findings::{Finding, Recorder},
    outcome::outcome_dict,
    rules::{Choice, rules_for},
    verify::{check_setup, finish},
};
use std::{
    fs,
    io::{self, BufWriter, Read, Seek, Write},
    sync::Arc,
};

use phx_redact::{
    Redactor as Engine,
    app::{self, Error, Levels, MessagePolicy},
};
use pyo3::{
    exceptions::{PyBlockingIOError, PyOSError, PyTypeError},
    prelude::*,
    types::{PyBytes, PyDict},
};

/// Waits until the descriptor of the file object `stream` is ready for
/// `event` (`"POLLIN"`, `"POLLOUT"`), through Python's `select.poll`: it
/// lets the GIL go while it waits and runs signal handlers (Ctrl-C raises
/// KeyboardInterrupt) as any Python call does. A stream with no `fileno()`
/// cannot be waited on: a BlockingIOError says so (nothing is dropped).
pub(crate) fn wait_ready(stream: &Bound<'_, PyAny>, event: &str) -> PyResult<()> {
    let py = stream.py();
    let Ok(fd) = stream.call_method0("fileno") else {
        let eagain: i32 = py.import("errno")?.getattr("EAGAIN")?.extract()?;
        return Err(PyBlockingIOError::new_err((
            eagain,
            "the non-blocking stream is not ready and has no fileno() to wait on",
        )));
    };
    let select = py.import("select")?;
    let poll = select.call_method0("poll")?;
    poll.call_method1("register", (fd, select.getattr(event)?))?;
    poll.call_method0("poll")?;
    Ok(())
}

/// A Python binary file object's `read`, as a [`Read`], called with the
/// GIL taken back for each call. A Python exception is kept, to be raised
/// as it is once the engine has stopped.
pub(crate) struct PyReader {
    reader: Py<PyAny>,
    /// Bytes a `read(n)` returned beyond `n`.
    extra: Vec<u8>,
    error: Option<PyErr>,
}

impl PyReader {
    pub(crate) fn new(reader: Py<PyAny>) -> PyReader {
        PyReader { reader, extra: Vec::new(), error: None }
    }

    pub(crate) fn fail(&mut self, err: PyErr) -> io::Error {
        self.error = Some(err);
        io::Error::other("the Python reader raised an exception")
    }

    /// The next `read(n)`. On a non-blocking stream with nothing yet
    /// (`None`, or BlockingIOError), waits until it is readable and reads
    /// again.
    pub(crate) fn read_chunk(&self, n: usize) -> PyResult<Vec<u8>> {
        Python::attach(|py| {
            let reader = self.reader.bind(py);
            loop {
                let data = match reader.call_method1("read", (n,)) {
                    Ok(data) if !data.is_none() => data,
                    Ok(_) => {
                        wait_ready(reader, "POLLIN")?;
                        continue;
                    }
                    Err(err) if err.is_instance_of::<PyBlockingIOError>(py) => {
                        wait_ready(reader, "POLLIN")?;
                        continue;
                    }
                    Err(err) => return Err(err),
                };
                let bytes = data.cast::<PyBytes>().map_err(|_| {
                    PyTypeError::new_err(
                        "the reader's read() must return bytes (open it in binary mode)",
                    )
                })?;
                return Ok(bytes.as_bytes().to_vec());
            }
        })
    }
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.error.is_some() {
            return Err(io::Error::other("the Python reader raised an exception"));
        }
        if self.extra.is_empty() {
            match self.read_chunk(buf.len()) {
                Ok(chunk) => self.extra = chunk,
                Err(err) => return Err(self.fail(err)),
            }
        }
        let n = self.extra.len().min(buf.len());
        buf[..n].copy_from_slice(&self.extra[..n]);
        self.extra.drain(..n);
        Ok(n)
    }
}

/// A Python binary file object's `write`, as a [`Write`]: see [`PyReader`].
/// Every byte is taken or an exception raised: a short write is followed
/// by a write of the rest, and a non-blocking writer that is not ready is
/// waited on.
pub(crate) struct PyWriter {
    writer: Py<PyAny>,
    /// Whether the writer is an `io.RawIOBase`, whose `write` returns None
    /// when it took nothing (a non-blocking descriptor that is full); any
    /// other writer that returns None took everything.
    raw: bool,
    error: Option<PyErr>,
}

impl PyWriter {
    pub(crate) fn new(py: Python<'_>, writer: Py<PyAny>) -> PyResult<PyWriter> {
        let raw_base = py.import("io")?.getattr("RawIOBase")?;
        let raw = writer.bind(py).is_instance(&raw_base)?;
        Ok(PyWriter { writer, raw, error: None })
    }

    pub(crate) fn write_all_py(&self, buf: &[u8]) -> PyResult<()> {
        Python::attach(|py| {
            let writer = self.writer.bind(py);
            let mut rest = buf;
            while !rest.is_empty() {
                let taken = match writer.call_method1("write", (PyBytes::new(py, rest),)) {
                    Ok(n) if n.is_none() && self.raw => {
                        wait_ready(writer, "POLLOUT")?;
                        0
                    }
                    Ok(n) if n.is_none() => rest.len(),
                    Ok(n) => match n.extract::<usize>()? {
                        0 => return Err(PyOSError::new_err("the writer's write() took no bytes")),
                        n => n,
                    },
                    // A buffered writer over a non-blocking descriptor: it
                    // took `characters_written` bytes of this call.
                    Err(err) if err.is_instance_of::<PyBlockingIOError>(py) => {
                        let taken = err.value(py).getattr("characters_written");
                        let taken = taken.and_then(|n| n.extract::<usize>()).unwrap_or(0);
                        wait_ready(writer, "POLLOUT")?;
                        taken
                    }
                    Err(err) => return Err(err),
                };
                rest = &rest[taken.min(rest.len())..];
            }
            Ok(())
        })
    }

    /// The writer's own `flush()`, if it has one, until it has flushed:
    /// a buffered writer over a non-blocking descriptor may still hold
    /// bytes, which must not wait for a `close()` that could fail.
    pub(crate) fn flush_py(&self) -> PyResult<()> {
        Python::attach(|py| {
            let writer = self.writer.bind(py);
            if !writer.hasattr("flush")? {
                return Ok(());
            }
            loop {
                match writer.call_method0("flush") {
                    Ok(_) => return Ok(()),
                    Err(err) if err.is_instance_of::<PyBlockingIOError>(py) => {
                        wait_ready(writer, "POLLOUT")?;
                    }
                    Err(err) => return Err(err),
                }
            }
        })
    }

    pub(crate) fn fail(&mut self, err: PyErr) -> io::Error {
        self.error = Some(err);
        io::Error::other("the Python writer raised an exception")
    }
}

impl Write for PyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("the Python writer raised an exception"));
        }
        match self.write_all_py(buf) {
            Ok(()) => Ok(buf.len()),
            Err(err) => Err(self.fail(err)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Err(io::Error::other("the Python writer raised an exception"));
        }
        self.flush_py().map_err(|err| self.fail(err))
    }
}

/// Copies all of `reader` into an anonymous temporary file (unlinked from
/// the start, so nothing is left behind whatever happens), in reads of
/// [`CHUNK`] bytes.
pub(crate) fn spool(reader: &mut PyReader) -> Result<fs::File, Error> {
    let mut file = tempfile::tempfile().map_err(Error::Write)?;
    let mut buf = vec![0; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Read(e)),
        };
        file.write_all(&buf[..n]).map_err(Error::Write)?;
    }
    file.rewind().map_err(Error::Read)?;
    Ok(file)
}

/// Redacts a binary stream into another: the bytes :func:`redact_file`
/// writes for a file holding the same bytes.
///
/// For object stores (fsspec file objects, say). The format is told from
/// the content. The input is read in 256 KiB calls of ``reader.read(n)``
/// and spooled to an anonymous temporary file (unlinked from the start, so
/// nothing is left behind), for a file with nothing to redact is copied
/// as it is and one with a key rewritten from its start: memory stays
/// constant, whatever the size. Nothing is written before the whole input
/// has been decoded, so an input that is refused writes nothing. The GIL is
/// released but for the calls of ``read`` and ``write``.
///
/// Args:
///     reader: an object with ``read(n) -> bytes`` (``b""`` at the end).
///         A non-blocking one that has nothing yet (``None``, or
///         BlockingIOError) is waited on (``select.poll`` on its
///         ``fileno()``) and read again.
///     writer: an object with ``write(b)``. Every byte is written or an
///         exception raised: a write that took part (a count short of
///         ``len(b)``, or BlockingIOError's ``characters_written``) is
///         followed by one of the rest; a raw stream (``io.RawIOBase``)
///         that returns None took nothing, and is waited on as a reader is
///         (any other writer that returns None took everything). Its
///         ``flush()``, if it has one, is called at the end.
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
///     A dict, as :func:`redact_file`'s.
///
/// Raises:
///     RedactError: as :func:`redact_file`.
///     OSError: the temporary file cannot be written.
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern; so is
///         a host of ``posthog_hosts`` that is empty, over 255 bytes or holds a line end.
///     BlockingIOError: a non-blocking reader or writer is not ready and
///         has no ``fileno()`` to wait on.
///     Whatever ``reader.read``, ``writer.write`` or ``writer.flush``
///         raises, as it is.
#[pyfunction]
#[pyo3(
    signature = (reader, writer, *, include_public = false, patterns = Vec::new(),
                 posthog_hosts = Vec::new(), marker = "default"),
    text_signature = "(reader, writer, *, include_public=False, patterns=(), posthog_hosts=(), \
                      marker='default')"
)]
pub(crate) fn redact_stream<'py>(
    py: Python<'py>,
    reader: Py<PyAny>,
    writer: Py<PyAny>,
    include_public: bool,
    patterns: Vec<String>,
    posthog_hosts: Vec<String>,
    marker: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = rules_for(py, &Choice::new(include_public, patterns, posthog_hosts), marker)?;
    let mut reader = PyReader::new(reader);
    let mut writer = PyWriter::new(py, writer)?;
    let result = py.detach(|| {
        let mut file = spool(&mut reader)?;
        let mut out = BufWriter::with_capacity(CHUNK, &mut writer);
        let outcome = app::scrub_stored(&mut file, &mut out, &rules, Levels::default())?;
        out.flush().map_err(Error::Write)?;
        Ok(outcome)
    });
    if let Some(err) = reader.error.take().or_else(|| writer.error.take()) {
        return Err(err);
    }
    match result {
        Ok(outcome) => outcome_dict(py, &outcome),
        Err(err) => Err(py_error(&err, None, &MessagePolicy::new(&rules))),
    }
}

/// Finds the tokens in a binary stream: the findings :func:`check`
/// returns for a file holding the same bytes.
///
/// The format is told from the content; the stream is read once, in
/// 256 KiB calls of ``reader.read(n)``, in constant memory (the findings
/// aside). The GIL is released but for the calls of ``read``.
///
/// Args:
///     reader: an object with ``read(n) -> bytes`` (``b""`` at the end);
///         a non-blocking one is waited on, as :func:`redact_stream`'s.
///     path: the name findings carry (keys in it redacted), or None.
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
///     The findings, in stream order.
///
/// Raises:
///     RedactError: as :func:`check`.
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern; so is
///         a host of ``posthog_hosts`` that is empty, over 255 bytes or holds a line end. Also a
///         URL of ``posthog_urls`` or the timeout, or ``posthog_hosts`` with a
///         verifier that would ask PostHog Cloud, before anything is read.
///     TypeError: ``verify`` is not a bool or a :class:`Verifier`.
///     Whatever ``reader.read`` raises, as it is.
#[pyfunction]
#[pyo3(
    signature = (reader, *, path = None, include_public = false, patterns = Vec::new(),
                 posthog_hosts = Vec::new(), verify = None, posthog_urls = None,
                 verify_timeout = None),
    text_signature = "(reader, *, path=None, include_public=False, patterns=(), \
                      posthog_hosts=(), verify=False, \
                      posthog_urls=None, verify_timeout=10.0)"
)]
#[allow(clippy::too_many_arguments)] // Python's keyword arguments, one each.
pub(crate) fn check_stream(
    py: Python<'_>,
    reader: Py<PyAny>,
    path: Option<String>,
    include_public: bool,
    patterns: Vec<String>,
    posthog_hosts: Vec<String>,
    verify: Option<&Bound<'_, PyAny>>,
    posthog_urls: Option<Vec<String>>,
    verify_timeout: Option<f64>,
) -> PyResult<Vec<Finding>> {
    let choice = Choice::new(include_public, patterns, posthog_hosts);
    let (verifier, rules) = check_setup(py, &choice, verify, posthog_urls, verify_timeout)?;
    let mut reader = PyReader::new(reader);
    let mut recorder = Recorder::new(&rules, path.as_deref());
    let result = py.detach(|| {
        let mut engine = Engine::new(Arc::clone(&rules)).record_findings();
        let mut buf = vec![0; CHUNK];
        let result = app::inspect_stream(&mut engine, &mut reader, &mut buf, |engine| {
            recorder.add(&engine.take_findings());
            false
        });
        recorder.add(&engine.take_findings());
        result
    });
    if let Some(err) = reader.error.take() {
        return Err(err);
    }
    match result {
        Ok(()) => Ok(finish(py, recorder.findings, &recorder.targets, verifier.as_ref())),
        Err(err) => Err(py_error(&err, path.as_deref(), &MessagePolicy::new(&rules))),
    }
}

/// Bytes read from a Python reader, or written to a Python writer, per
/// call: the engine's own read size.
pub(crate) const CHUNK: usize = app::READ_SIZE;
