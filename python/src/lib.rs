//! `phx_redact._native`: the phx-redact engine for Python (PyO3).
//!
//! The Python package `phx_redact` re-exports what is here; its docstrings
//! are the user's documentation. Nothing here is a second implementation:
//! the rules are built by the command line's own code
//! ([`RuleArgs`](phx_redact::cli::config::RuleArgs)), `redact_file` is the
//! mirror scrub of `--output-dir`, `check` is the audit of `--check`, and
//! the streams go through the same passes.
//!
//! The GIL is released while the engine, the decoders and the encoders
//! run. The stream functions take it back only to call the Python
//! reader's `read` and the writer's `write`, once per 256 KiB.

mod record;

use std::{
    ffi::OsString,
    fs,
    io::{self, BufWriter, Read, Seek, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use phx_redact::{
    Error, Finding as EngineFinding, Redactor as Engine, RuleSet,
    app::{
        check::{JsonFinding, rule_names},
        compress::Levels,
        filter::{self, Input},
        policy::MessagePolicy,
        scrub::{self, Dest, Outcome},
    },
    cli::{config::RuleArgs, messages::patterns_policy},
    fingerprint::KEY_ENV,
};
use pyo3::{
    create_exception,
    exceptions::{PyBlockingIOError, PyException, PyOSError, PyTypeError, PyValueError},
    prelude::*,
    pybacked::PyBackedBytes,
    types::{PyBytes, PyDict, PyMemoryView, PyString},
};

create_exception!(
    phx_redact,
    RedactError,
    PyException,
    "An input phx-redact refuses: corrupt or truncated compressed data, a \
     compressed or archive format it cannot read, or content a rewrite would \
     break (an archive, a database, binary data holding a secret). The \
     message names the input and what to do; it never holds a key."
);

/// Bytes read from a Python reader, or written to a Python writer, per
/// call: the engine's own read size.
const CHUNK: usize = filter::READ_SIZE;

/// The most compiled rule sets kept for reuse (see [`rules_for`]).
const CACHED_RULE_SETS: usize = 32;

/// What a compiled rule set is looked up by: the options, and the
/// fingerprint key the environment gives (the CLI reads it at each run).
type RulesKey = (bool, Vec<String>, String, Option<OsString>);

/// The rules for these options, compiled by the command line's code, or
/// taken from a small cache: a logging filter asks for the same rules at
/// every record, and compiling them costs far more than redacting a line.
///
/// An error is a `ValueError` whose message went through the policy the
/// CLI applies before its rules are known: the built-in rules and each
/// pattern that compiles alone, so it never shows a pattern's text where
/// that could be a secret.
fn rules_for(
    py: Python<'_>,
    include_public: bool,
    patterns: &[String],
    marker: &str,
) -> PyResult<Arc<RuleSet>> {
    static CACHE: Mutex<Vec<(RulesKey, Arc<RuleSet>)>> = Mutex::new(Vec::new());
    let key: RulesKey =
        (include_public, patterns.to_vec(), marker.to_string(), std::env::var_os(KEY_ENV));
    {
        let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, rules)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(rules));
        }
    }
    let args = RuleArgs {
        names: &[],
        include_public,
        patterns,
        rules_file: None,
        marker,
        fingerprint_key: None,
    };
    let rules = match py.detach(|| args.rule_set()) {
        Ok(rules) => Arc::new(rules),
        Err(err) => {
            let custom = patterns.iter().map(|p| phx_redact::Rule::custom("pattern", p.clone()));
            let policy = patterns_policy(custom.collect()).unwrap_or_else(MessagePolicy::builtin);
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

/// `err` as the Python exception a user expects, its message through
/// `policy` (as the CLI prints it), prefixed with the input's name when
/// there is one: `ValueError` for rules, `OSError` (its subclass for the
/// errno: `FileNotFoundError`, ...) for reading and writing,
/// [`RedactError`] for an input phx-redact refuses.
fn py_error(err: &Error, name: Option<&str>, policy: &MessagePolicy) -> PyErr {
    let text = match name {
        Some(name) => format!("{name}: {err:#}"),
        None => format!("{err:#}"),
    };
    let text = policy.redact_str(&text);
    match err {
        Error::Rule(_) | Error::Usage(_) => PyValueError::new_err(text),
        Error::Read(e) | Error::Write(e) => match e.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, text)),
            None => PyOSError::new_err(text),
        },
        _ => RedactError::new_err(text),
    }
}

/// A token found: where it is, which rule found it, PostHog's mask of it
/// and a short fingerprint, never the token itself. The fields are those of
/// a `"finding"` line of `phx-redact --check --json`.
#[pyclass(frozen, get_all, module = "phx_redact")]
#[derive(Clone, Debug, PartialEq, Eq)]
struct Finding {
    /// The input's name as given (through the message policy), or None for
    /// a stream given no name.
    path: Option<String>,
    /// 1-based line of the token's first byte.
    line: u64,
    /// 1-based byte column of the token's first byte.
    column: u64,
    /// Byte offset of the token in the (decompressed) stream.
    offset: u64,
    /// The token's length in bytes.
    length: u64,
    /// The rule that found it (`phx`, ..., `pattern-1`, ..., or `capped`).
    rule: String,
    /// PostHog's mask of the token (`phx_...abcd`).
    mask: String,
    /// Its short fingerprint (keyed with `PHX_REDACT_FINGERPRINT_KEY` when
    /// that is set, as the CLI's).
    fingerprint: String,
}

#[pymethods]
impl Finding {
    /// The finding as `phx-redact --check --json` prints it: a dict with
    /// `type` (`"finding"`), `path`, `line`, `column`, `offset`, `length`,
    /// `rule`, `mask` and `fingerprint`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("type", "finding")?;
        dict.set_item("path", &self.path)?;
        dict.set_item("line", self.line)?;
        dict.set_item("column", self.column)?;
        dict.set_item("offset", self.offset)?;
        dict.set_item("length", self.length)?;
        dict.set_item("rule", &self.rule)?;
        dict.set_item("mask", &self.mask)?;
        dict.set_item("fingerprint", &self.fingerprint)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let path = self.path.as_ref().map_or("None".to_string(), |p| format!("{p:?}"));
        format!(
            "Finding(path={path}, line={}, column={}, rule={:?}, mask={:?}, fingerprint={:?})",
            self.line, self.column, self.rule, self.mask, self.fingerprint
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Finding>().is_ok_and(|o| *o.get() == *self)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.path, self.offset, self.length, &self.rule, &self.fingerprint).hash(&mut h);
        h.finish()
    }
}

/// Turns engine findings into [`Finding`]s, named as `--check --json`
/// names them.
struct Recorder {
    rules: Arc<RuleSet>,
    /// The input's name through the policy; `None` for an unnamed stream.
    name: Option<String>,
    rule_names: Vec<String>,
    findings: Vec<Finding>,
}

impl Recorder {
    fn new(rules: &Arc<RuleSet>, name: Option<&str>) -> Recorder {
        let policy = MessagePolicy::new(rules);
        Recorder {
            rules: Arc::clone(rules),
            name: name.map(|n| policy.redact_str(n)),
            rule_names: rule_names(rules, &policy),
            findings: Vec::new(),
        }
    }

    fn add(&mut self, found: &[EngineFinding]) {
        let name = self.name.as_deref().unwrap_or("");
        for f in found {
            let json = JsonFinding::new(name, f, &self.rules, &self.rule_names);
            self.findings.push(Finding {
                path: self.name.clone(),
                line: json.line,
                column: json.column,
                offset: json.offset,
                length: json.length,
                rule: json.rule.to_string(),
                mask: json.mask,
                fingerprint: json.fingerprint,
            });
        }
    }
}

/// Outputs at least this long are copied into their bytes object with the
/// GIL released.
const DETACHED_COPY: usize = 64 * 1024;

/// `data` as a new bytes object. A large one is copied with the GIL
/// released: the copy, and the page faults of the fresh buffer it fills,
/// would otherwise serialise threads that each redact a large buffer.
fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if data.len() < DETACHED_COPY {
        return Ok(PyBytes::new(py, data));
    }
    filled_bytes(py, data.len(), |dest| dest.copy_from_slice(data))
}

/// A new bytes object of `len` bytes, written by `fill` with the GIL
/// released: the one copy of a large output, straight into its object.
fn filled_bytes<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl FnOnce(&mut [u8]) + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("output too large"))?;
    // SAFETY: PyBytes_FromStringAndSize(NULL, len) returns a new bytes
    // object (or NULL with an exception set) whose `len` bytes are to be
    // written before it is shared. Until this function returns it, `bytes`
    // is its only reference, so no other thread can reach it while the GIL
    // is released, and its buffer lives as long as `bytes`.
    unsafe {
        let ptr = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        let bytes = Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked::<PyBytes>();
        let buffer = pyo3::ffi::PyBytes_AsString(ptr).cast::<u8>();
        let dest = std::slice::from_raw_parts_mut(buffer, len);
        if len < DETACHED_COPY {
            fill(dest);
        } else {
            py.detach(|| {
                advise_huge_pages(dest.as_mut_ptr(), dest.len());
                fill(dest);
            });
        }
        Ok(bytes)
    }
}

/// Outputs at least this long ask the kernel for huge pages.
const HUGE_OUTPUT: usize = 8 << 20;

/// Asks the kernel to back the fresh buffer `dest` with huge pages where
/// it can (transparent huge pages, in their `madvise` mode too): a large
/// output is otherwise written at the speed of its page faults, one per
/// 4 KiB, which costs more than the engine's whole scan of the input. Only
/// the 2 MiB-aligned interior of the `len` bytes at `dest` is advised; the
/// advice changes no content.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn advise_huge_pages(dest: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    if len >= HUGE_OUTPUT {
        const HUGE: usize = 2 << 20;
        let start = (dest as usize).next_multiple_of(HUGE);
        let end = (dest as usize + len) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the `len` bytes at `dest`,
            // memory this process owns; MADV_HUGEPAGE is advice and changes no byte (an error,
            // where huge pages are off, changes nothing either).
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
}

/// The engine's output for one input, kept as pieces: runs of the input
/// itself, by position, and the bytes written from elsewhere (markers, the
/// held-back tail), in one side buffer. Its length is known before any of
/// it is copied, so the output is copied once, into an object of its exact
/// size; a large input is not copied into a growing buffer first.
struct Pieces<'a> {
    input: &'a [u8],
    /// In output order: `(true, range)` is `input[range]`, `(false,
    /// range)` is `other[range]`.
    runs: Vec<(bool, std::ops::Range<usize>)>,
    other: Vec<u8>,
    len: usize,
}

impl<'a> Pieces<'a> {
    /// Pieces of an output whose unchanged runs are taken from `input`.
    fn new(input: &'a [u8]) -> Pieces<'a> {
        Pieces { input, runs: Vec::new(), other: Vec::new(), len: 0 }
    }

    /// `input` redacted with `rules`, as [`phx_redact::redact`] gives it.
    /// The second value is the number of tokens redacted: none means the
    /// output is the input (the engine changes tokens only).
    fn redact(rules: &Arc<RuleSet>, input: &'a [u8]) -> (Pieces<'a>, u64) {
        let mut pieces = Pieces::new(input);
        let mut engine = Engine::new(Arc::clone(rules));
        // Writing into pieces cannot fail.
        let _ = engine.feed(input, &mut pieces).and_then(|()| engine.finish(&mut pieces));
        (pieces, engine.stats().total_tokens())
    }

    /// The output, in a new vector of its exact size.
    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        advise_huge_pages(out.as_mut_ptr(), out.capacity());
        for (from_input, range) in &self.runs {
            out.extend_from_slice(self.piece(*from_input, range));
        }
        out
    }

    fn piece(&self, from_input: bool, range: &std::ops::Range<usize>) -> &[u8] {
        if from_input { &self.input[range.clone()] } else { &self.other[range.clone()] }
    }

    /// Copies the output into `dest`, which is [`Pieces::len`] bytes long.
    fn copy_to(&self, dest: &mut [u8]) {
        let mut at = 0;
        for (from_input, range) in &self.runs {
            let src = self.piece(*from_input, range);
            dest[at..at + src.len()].copy_from_slice(src);
            at += src.len();
        }
        debug_assert_eq!(at, dest.len());
    }
}

impl Write for Pieces<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.len += buf.len();
        // The engine writes the bytes it passes as slices of the buffer it
        // was fed: those are kept by position. Addresses are compared only.
        let (start, base) = (buf.as_ptr() as usize, self.input.as_ptr() as usize);
        let (from_input, range) = if start >= base && start + buf.len() <= base + self.input.len() {
            (true, start - base..start - base + buf.len())
        } else {
            self.other.extend_from_slice(buf);
            (false, self.other.len() - buf.len()..self.other.len())
        };
        match self.runs.last_mut() {
            Some((last_kind, last)) if *last_kind == from_input && last.end == range.start => {
                last.end = range.end;
            }
            _ => self.runs.push((from_input, range)),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `data`'s bytes when it is bytes-like: bytes (not copied), or any object
/// with the buffer protocol (bytearray, memoryview, array, mmap, ...),
/// copied once in C order. `None` for anything else (str included).
fn bytes_like(data: &Bound<'_, PyAny>) -> PyResult<Option<PyBackedBytes>> {
    if data.is_instance_of::<PyString>() {
        return Ok(None);
    }
    if let Ok(bytes) = data.extract::<PyBackedBytes>() {
        return Ok(Some(bytes));
    }
    // The limited API has no buffer access before 3.11: a memoryview's
    // tobytes() makes the copy.
    let view = match PyMemoryView::from(data) {
        Ok(view) => view,
        Err(err) if err.is_instance_of::<PyTypeError>(data.py()) => return Ok(None),
        Err(err) => return Err(err),
    };
    let bytes = view.call_method0("tobytes")?.cast_into::<PyBytes>()?;
    // Released now, not at collection: an mmap with an export open
    // cannot be closed or resized.
    view.call_method0("release")?;
    Ok(Some(bytes.into()))
}

/// Redacts ``data`` and returns the same type: bytes for bytes, str for str.
///
/// Every secret key becomes a marker and every other byte is kept, as
/// ``phx-redact`` does to the same text with the same options. The rules
/// of the last 32 option sets stay compiled, so a call per log line does
/// not compile them again.
///
/// Args:
///     data: bytes, or any bytes-like object (bytearray, memoryview,
///         array, mmap: its bytes, copied once), which gives bytes; or str
///         (redacted as UTF-8; lone surrogates are kept, and a character
///         that a custom pattern cuts in two becomes U+FFFD).
///     include_public: also redact public project keys (``phc_``), as
///         ``--include-public``.
///     patterns: extra regexes to redact, as ``--pattern`` (the regex
///         crate's syntax, over bytes); their rules are named
///         ``pattern-1``, ``pattern-2``, ...
///     marker: what a token becomes, as ``--marker``: a preset
///         (``default``, ``posthog``, ``fingerprint``, ``same-length``) or a
///         template with ``{prefix}``, ``{rule}``, ``{mask}``, ``{last4}``,
///         ``{fingerprint}``, ``{stars}``, ``{len}``.
///
/// Returns:
///     The redacted data: str for str, bytes otherwise.
///
/// Raises:
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern.
///     TypeError: ``data`` is neither bytes-like nor str.
#[pyfunction]
#[pyo3(
    signature = (data, *, include_public = false, patterns = Vec::new(), marker = "default"),
    text_signature = "(data, *, include_public=False, patterns=(), marker='default')"
)]
fn redact<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    include_public: bool,
    patterns: Vec<String>,
    marker: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let rules = rules_for(py, include_public, &patterns, marker)?;
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return redact_bytes(&rules, bytes.as_bytes(), data);
    }
    let Ok(text) = data.cast::<PyString>() else {
        let Some(bytes) = bytes_like(data)? else {
            let kind = data.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "redact() takes bytes, a bytes-like object or str, not {kind}"
            )));
        };
        return redact_bytes(&rules, &bytes, data);
    };
    match Utf8::of(text)? {
        Some(utf8) => {
            let input = utf8.as_bytes();
            let (pieces, tokens) = detach_if(py, input.len(), || Pieces::redact(&rules, input));
            if tokens == 0 && text.is_exact_instance_of::<PyString>() {
                return Ok(data.clone());
            }
            let out = detach_if(py, pieces.len, || pieces.to_vec());
            // Valid unless a custom rule matched part of a character: the
            // rest of it is then replaced, as with errors="replace".
            decode_utf8(py, &out, c"replace")
        }
        // Lone surrogates (a file name decoded with surrogateescape): kept
        // through the UTF-8 round trip that Python itself allows.
        None => {
            let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
            let input = encoded.cast::<PyBytes>()?.as_bytes();
            let out = py.detach(|| phx_redact::redact(&rules, input));
            decode_utf8(py, &out, c"surrogatepass").or_else(|_| decode_utf8(py, &out, c"replace"))
        }
    }
}

/// `input` (the bytes of `data`) redacted, as bytes: `data` itself when it
/// is a bytes object with nothing to redact (immutable, so sharing it is
/// safe), else a new one, the output copied into it once.
fn redact_bytes<'py>(
    rules: &Arc<RuleSet>,
    input: &[u8],
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    let (pieces, tokens) = detach_if(py, input.len(), || Pieces::redact(rules, input));
    if tokens == 0 && data.is_exact_instance_of::<PyBytes>() {
        return Ok(data.clone());
    }
    Ok(filled_bytes(py, pieces.len, |dest| pieces.copy_to(dest))?.into_any())
}

/// `f()`, with the GIL released when `len` (the bytes it goes over) is
/// large enough for that to pay: below, releasing and taking the GIL back
/// costs more than a short text's redaction.
fn detach_if<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len < DETACHED_COPY { f() } else { py.detach(f) }
}

/// `utf8` decoded as a new str, with the error handler `errors`.
fn decode_utf8<'py>(
    py: Python<'py>,
    utf8: &[u8],
    errors: &std::ffi::CStr,
) -> PyResult<Bound<'py, PyAny>> {
    let len = pyo3::ffi::Py_ssize_t::try_from(utf8.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("output too large"))?;
    // SAFETY: the pointer and length describe `utf8`, alive for the call;
    // the result is a new reference or NULL with an exception set.
    unsafe {
        let ptr = pyo3::ffi::PyUnicode_DecodeUTF8(utf8.as_ptr().cast(), len, errors.as_ptr());
        Bound::from_owned_ptr_or_err(py, ptr)
    }
}

unsafe extern "C" {
    // In the stable ABI from Python 3.10 (pyo3 declares it only when built
    // for 3.10 and later; the wheel is built for 3.9): called only there.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}

/// A str's UTF-8: borrowed from the str itself from Python 3.10 (an ASCII
/// str is its own UTF-8, any other caches it), so a large text is not
/// copied to be scanned; a new bytes object on 3.9.
enum Utf8<'a, 'py> {
    Borrowed(&'a [u8]),
    Encoded(Bound<'py, PyBytes>),
}

impl<'a, 'py> Utf8<'a, 'py> {
    /// `text`'s UTF-8, or None when it holds lone surrogates, which UTF-8
    /// cannot encode.
    fn of(text: &'a Bound<'py, PyString>) -> PyResult<Option<Utf8<'a, 'py>>> {
        static BORROWABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let py = text.py();
        if !*BORROWABLE.get_or_init(|| py.version_info() >= (3, 10)) {
            // SAFETY: a new reference, or NULL with an exception set.
            let encoded = unsafe {
                Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyUnicode_AsUTF8String(text.as_ptr()))
            };
            return match encoded {
                Ok(bytes) => Ok(Some(Utf8::Encoded(bytes.cast_into::<PyBytes>()?))),
                Err(err) if err.is_instance_of::<pyo3::exceptions::PyUnicodeEncodeError>(py) => {
                    Ok(None)
                }
                Err(err) => Err(err),
            };
        }
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `text` is a str; the buffer returned belongs to it and
        // lives, unchanged, as long as it does (the borrow of `text`), or
        // is NULL with an exception set.
        let ptr = unsafe { PyUnicode_AsUTF8AndSize(text.as_ptr(), &mut size) };
        if ptr.is_null() {
            let err = PyErr::fetch(py);
            if err.is_instance_of::<pyo3::exceptions::PyUnicodeEncodeError>(py) {
                return Ok(None);
            }
            return Err(err);
        }
        let len = usize::try_from(size).unwrap_or(0);
        // SAFETY: as above: `len` bytes at `ptr`, alive as long as `text`.
        Ok(Some(Utf8::Borrowed(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })))
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Utf8::Borrowed(bytes) => bytes,
            Utf8::Encoded(bytes) => bytes.as_bytes(),
        }
    }
}

/// The rules these options compile to: (name, regex) pairs in priority
/// order, the regexes the engine runs (as ``phx-redact --list-rules``).
///
/// Args:
///     include_public: also redact public project keys (``phc_``), as
///         ``--include-public``.
///     patterns: extra regexes to redact, as ``--pattern`` (the regex
///         crate's syntax, over bytes); their rules are named
///         ``pattern-1``, ``pattern-2``, ...
///
/// Raises:
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern.
#[pyfunction]
#[pyo3(
    signature = (*, include_public = false, patterns = Vec::new()),
    text_signature = "(*, include_public=False, patterns=())"
)]
fn rules(
    py: Python<'_>,
    include_public: bool,
    patterns: Vec<String>,
) -> PyResult<Vec<(String, String)>> {
    let rules = rules_for(py, include_public, &patterns, "default")?;
    Ok(rules.rules().iter().map(|r| (r.name.clone(), r.pattern.clone())).collect())
}

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
///     marker: what a token becomes, as ``--marker``: a preset
///         (``default``, ``posthog``, ``fingerprint``, ``same-length``) or a
///         template with ``{prefix}``, ``{rule}``, ``{mask}``, ``{last4}``,
///         ``{fingerprint}``, ``{stars}``, ``{len}``.
///
/// Raises:
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern.
#[pyclass(frozen, module = "phx_redact")]
struct Redactor {
    stream: Mutex<Stream>,
}

/// A [`Redactor`]'s state, behind its lock.
struct Stream {
    engine: Engine,
    recorder: Recorder,
    finished: bool,
}

impl Redactor {
    /// Runs `f` on the stream, holding its lock: waited for, and held,
    /// with the GIL released, so that a thread holding the lock can always
    /// take the GIL back (a thread waiting with the GIL would deadlock it).
    fn with_stream<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Stream) -> T + Send) -> T {
        py.detach(|| f(&mut self.stream.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}

#[pymethods]
impl Redactor {
    #[new]
    #[pyo3(
        signature = (*, path = None, include_public = false, patterns = Vec::new(), marker = "default"),
        text_signature = "(*, path=None, include_public=False, patterns=(), marker='default')"
    )]
    fn new(
        py: Python<'_>,
        path: Option<String>,
        include_public: bool,
        patterns: Vec<String>,
        marker: &str,
    ) -> PyResult<Redactor> {
        let rules = rules_for(py, include_public, &patterns, marker)?;
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
    fn feed<'py>(
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
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
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
    fn findings(&self, py: Python<'_>, clear: bool) -> Vec<Finding> {
        self.with_stream(py, |stream| {
            if clear {
                std::mem::take(&mut stream.recorder.findings)
            } else {
                stream.recorder.findings.clone()
            }
        })
    }
}

/// What a scrub did, as a dict.
fn outcome_dict<'py>(py: Python<'py>, outcome: &Outcome) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("bytes", outcome.bytes)?;
    dict.set_item("stored_bytes", outcome.stored_bytes)?;
    dict.set_item("tokens", outcome.tokens)?;
    dict.set_item("format", outcome.format.name())?;
    dict.set_item("written", outcome.written)?;
    Ok(dict)
}

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
///         what is wrong and where, and never quotes the pattern.
///         Also when ``dst`` is ``src``.
#[pyfunction]
#[pyo3(
    signature = (src, dst, *, include_public = false, patterns = Vec::new(), marker = "default"),
    text_signature = "(src, dst, *, include_public=False, patterns=(), marker='default')"
)]
fn redact_file<'py>(
    py: Python<'py>,
    src: PathBuf,
    dst: PathBuf,
    include_public: bool,
    patterns: Vec<String>,
    marker: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = rules_for(py, include_public, &patterns, marker)?;
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
    let result = py.detach(|| scrub::scrub_file(&src, file_name, &dest, &rules, Levels::default()));
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
///
/// Returns:
///     The findings, in file order.
///
/// Raises:
///     RedactError: corrupt or truncated compressed data, or a format
///         phx-redact cannot read.
///     OSError: the file cannot be read.
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern.
#[pyfunction]
#[pyo3(
    signature = (path, *, include_public = false, patterns = Vec::new()),
    text_signature = "(path, *, include_public=False, patterns=())"
)]
fn check(
    py: Python<'_>,
    path: PathBuf,
    include_public: bool,
    patterns: Vec<String>,
) -> PyResult<Vec<Finding>> {
    let rules = rules_for(py, include_public, &patterns, "default")?;
    let input = Input::Path(path);
    let name = input.display().to_string();
    let mut recorder = Recorder::new(&rules, Some(&name));
    let result = py.detach(|| {
        let mut engine = Engine::new(Arc::clone(&rules)).record_findings();
        let mut buf = vec![0; CHUNK];
        let result = filter::inspect_input(&mut engine, &input, &mut buf, |engine| {
            recorder.add(&engine.take_findings());
            false
        });
        recorder.add(&engine.take_findings());
        result
    });
    match result {
        Ok(()) => Ok(recorder.findings),
        Err(err) => Err(py_error(&err, Some(&name), &MessagePolicy::new(&rules))),
    }
}

/// Waits until the descriptor of the file object `stream` is ready for
/// `event` (`"POLLIN"`, `"POLLOUT"`), through Python's `select.poll`: it
/// lets the GIL go while it waits and runs signal handlers (Ctrl-C raises
/// KeyboardInterrupt) as any Python call does. A stream with no `fileno()`
/// cannot be waited on: a BlockingIOError says so (nothing is dropped).
fn wait_ready(stream: &Bound<'_, PyAny>, event: &str) -> PyResult<()> {
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
struct PyReader {
    reader: Py<PyAny>,
    /// Bytes a `read(n)` returned beyond `n`.
    extra: Vec<u8>,
    error: Option<PyErr>,
}

impl PyReader {
    fn new(reader: Py<PyAny>) -> PyReader {
        PyReader { reader, extra: Vec::new(), error: None }
    }

    fn fail(&mut self, err: PyErr) -> io::Error {
        self.error = Some(err);
        io::Error::other("the Python reader raised an exception")
    }

    /// The next `read(n)`. On a non-blocking stream with nothing yet
    /// (`None`, or BlockingIOError), waits until it is readable and reads
    /// again.
    fn read_chunk(&self, n: usize) -> PyResult<Vec<u8>> {
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
struct PyWriter {
    writer: Py<PyAny>,
    /// Whether the writer is an `io.RawIOBase`, whose `write` returns None
    /// when it took nothing (a non-blocking descriptor that is full); any
    /// other writer that returns None took everything.
    raw: bool,
    error: Option<PyErr>,
}

impl PyWriter {
    fn new(py: Python<'_>, writer: Py<PyAny>) -> PyResult<PyWriter> {
        let raw_base = py.import("io")?.getattr("RawIOBase")?;
        let raw = writer.bind(py).is_instance(&raw_base)?;
        Ok(PyWriter { writer, raw, error: None })
    }

    fn write_all_py(&self, buf: &[u8]) -> PyResult<()> {
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
    fn flush_py(&self) -> PyResult<()> {
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

    fn fail(&mut self, err: PyErr) -> io::Error {
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
fn spool(reader: &mut PyReader) -> Result<fs::File, Error> {
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
///         what is wrong and where, and never quotes the pattern.
///     BlockingIOError: a non-blocking reader or writer is not ready and
///         has no ``fileno()`` to wait on.
///     Whatever ``reader.read``, ``writer.write`` or ``writer.flush``
///         raises, as it is.
#[pyfunction]
#[pyo3(
    signature = (reader, writer, *, include_public = false, patterns = Vec::new(), marker = "default"),
    text_signature = "(reader, writer, *, include_public=False, patterns=(), marker='default')"
)]
fn redact_stream<'py>(
    py: Python<'py>,
    reader: Py<PyAny>,
    writer: Py<PyAny>,
    include_public: bool,
    patterns: Vec<String>,
    marker: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let rules = rules_for(py, include_public, &patterns, marker)?;
    let mut reader = PyReader::new(reader);
    let mut writer = PyWriter::new(py, writer)?;
    let result = py.detach(|| {
        let mut file = spool(&mut reader)?;
        let mut out = BufWriter::with_capacity(CHUNK, &mut writer);
        let outcome = scrub::scrub_stored(&mut file, &mut out, &rules, Levels::default())?;
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
///
/// Returns:
///     The findings, in stream order.
///
/// Raises:
///     RedactError: as :func:`check`.
///     ValueError: a pattern or the marker is refused; the message says
///         what is wrong and where, and never quotes the pattern.
///     Whatever ``reader.read`` raises, as it is.
#[pyfunction]
#[pyo3(
    signature = (reader, *, path = None, include_public = false, patterns = Vec::new()),
    text_signature = "(reader, *, path=None, include_public=False, patterns=())"
)]
fn check_stream(
    py: Python<'_>,
    reader: Py<PyAny>,
    path: Option<String>,
    include_public: bool,
    patterns: Vec<String>,
) -> PyResult<Vec<Finding>> {
    let rules = rules_for(py, include_public, &patterns, "default")?;
    let mut reader = PyReader::new(reader);
    let mut recorder = Recorder::new(&rules, path.as_deref());
    let result = py.detach(|| {
        let mut engine = Engine::new(Arc::clone(&rules)).record_findings();
        let mut buf = vec![0; CHUNK];
        let result = filter::inspect_stream(&mut engine, &mut reader, &mut buf, |engine| {
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
        Ok(()) => Ok(recorder.findings),
        Err(err) => Err(py_error(&err, path.as_deref(), &MessagePolicy::new(&rules))),
    }
}

/// The native part of `phx_redact`; import `phx_redact` instead.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(redact, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    m.add_function(wrap_pyfunction!(redact_file, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(redact_stream, m)?)?;
    m.add_function(wrap_pyfunction!(check_stream, m)?)?;
    m.add_class::<Redactor>()?;
    m.add_class::<Finding>()?;
    m.add_class::<record::RecordScan>()?;
    m.add("RedactError", m.py().get_type::<RedactError>())?;
    m.add("RULESET_VERSION", phx_redact::rules::RULESET_VERSION)?;
    Ok(())
}
