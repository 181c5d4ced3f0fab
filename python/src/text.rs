//! `redact()`: str, bytes or any bytes-like object in, the same type out;
//! a str's UTF-8 borrowed from the str itself where CPython keeps one.

use crate::bytes_out::DETACHED_COPY;
use crate::{
    bytes_out::{Pieces, filled_bytes},
    rules::{Choice, rules_for},
};
use std::sync::Arc;

use phx_redact::RuleSet;
use pyo3::{
    exceptions::PyTypeError,
    prelude::*,
    pybacked::PyBackedBytes,
    types::{PyBytes, PyMemoryView, PyString},
};

/// `data`'s bytes when it is bytes-like: bytes (not copied), or any object
/// with the buffer protocol (bytearray, memoryview, array, mmap, ...),
/// copied once in C order. `None` for anything else (str included).
pub(crate) fn bytes_like(data: &Bound<'_, PyAny>) -> PyResult<Option<PyBackedBytes>> {
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
///     posthog_hosts: self-hosted PostHog hosts, as ``--posthog-host``: a
///         legacy personal API key sent as ``Authorization: Bearer`` counts
///         on a line naming one, as on one naming ``posthog.com``.
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
///         what is wrong and where, and never quotes the pattern; so is
///         a host of ``posthog_hosts`` that is empty, over 255 bytes or holds a line end.
///     TypeError: ``data`` is neither bytes-like nor str.
#[pyfunction]
#[pyo3(
    signature = (data, *, include_public = false, patterns = Vec::new(),
                 posthog_hosts = Vec::new(), marker = "default"),
    text_signature = "(data, *, include_public=False, patterns=(), posthog_hosts=(), \
                      marker='default')"
)]
pub(crate) fn redact<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    include_public: bool,
    patterns: Vec<String>,
    posthog_hosts: Vec<String>,
    marker: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let rules = rules_for(py, &Choice::new(include_public, patterns, posthog_hosts), marker)?;
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
pub(crate) fn redact_bytes<'py>(
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
pub(crate) fn detach_if<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len < DETACHED_COPY { f() } else { py.detach(f) }
}

/// `utf8` decoded as a new str, with the error handler `errors`.
pub(crate) fn decode_utf8<'py>(
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

/// A str's UTF-8: borrowed from the str itself from Python 3.10 (an ASCII
/// str is its own UTF-8, any other caches it), so a large text is not
/// copied to be scanned; a new bytes object on 3.9.
pub(crate) enum Utf8<'a, 'py> {
    Borrowed(&'a [u8]),
    Encoded(Bound<'py, PyBytes>),
}

impl<'a, 'py> Utf8<'a, 'py> {
    /// `text`'s UTF-8, or None when it holds lone surrogates, which UTF-8
    /// cannot encode.
    pub(crate) fn of(text: &'a Bound<'py, PyString>) -> PyResult<Option<Utf8<'a, 'py>>> {
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

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Utf8::Borrowed(bytes) => bytes,
            Utf8::Encoded(bytes) => bytes.as_bytes(),
        }
    }
}

unsafe extern "C" {
    // In the stable ABI from Python 3.10 (pyo3 declares it only when built
    // for 3.10 and later; the wheel is built for 3.9): called only there.
    pub(crate) fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}
