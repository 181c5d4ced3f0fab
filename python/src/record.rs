//! The logging filter's fast path (`phx_redact.logging`): a log record
//! with no key is rendered, scanned and let through in one native call.
//!
//! Most records hold no key, and most of their fields are the same
//! objects from record to record (the logger's name, the level's, the
//! thread's, the code's file and function: strs Python keeps per logger,
//! level, thread and call site). A field already found clean is not
//! scanned again while it is the same object (see [`Seen`]): only the
//! message and what varies are.

use std::{
    io,
    sync::{LazyLock, Mutex, PoisonError},
};

use memchr::memmem;
use phx_redact::Redactor as Engine;
use pyo3::{
    exceptions::PyTypeError,
    ffi, intern,
    prelude::*,
    types::{PyDict, PyString, PyTuple},
};

use crate::{rules::rules_for, text::Utf8};

/// Slots of [`Seen`]: a power of two.
const SEEN_SLOTS: usize = 512;

/// The longest str (in UTF-8 bytes) [`Seen`] keeps: names, not messages,
/// so that what it keeps alive stays small (at most 512 × 512 bytes).
const SEEN_MAX_LEN: usize = 512;

/// Exact strs a scan found clean, each held by a strong reference: while
/// it is here, its address cannot be given to another object, and a str
/// never changes, so the same address is the same text, clean. A field
/// that changes (a thread renamed to a key, say) is another object, and
/// is scanned. Direct-mapped by address: a new entry takes its slot's
/// place, so the set stays bounded and costs no more than a lookup.
struct Seen {
    slots: Vec<Option<Py<PyString>>>,
}

impl Seen {
    fn new() -> Seen {
        Seen { slots: (0..SEEN_SLOTS).map(|_| None).collect() }
    }

    fn slot(ptr: *mut ffi::PyObject) -> usize {
        // Fibonacci hashing of the address: objects are 16-byte aligned,
        // and neighbours should not share a slot.
        let hash = ((ptr as usize as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (hash >> (64 - SEEN_SLOTS.trailing_zeros())) as usize
    }

    fn contains(&self, ptr: *mut ffi::PyObject) -> bool {
        self.slots[Seen::slot(ptr)].as_ref().is_some_and(|s| s.as_ptr() == ptr)
    }

    fn insert(&mut self, text: Py<PyString>) {
        let slot = Seen::slot(text.as_ptr());
        // The str dropped, if this was its last reference, is freed with
        // the GIL held and runs no Python code (an exact str).
        self.slots[slot] = Some(text);
    }
}

/// What a [`RecordScan`] keeps from call to call: a new engine's buffers
/// cost more than a record's scan.
struct Scratch {
    engine: Engine,
    /// The fields' text, newline-separated (built-in rules).
    text: Vec<u8>,
    seen: Seen,
    /// The strs of this record to remember once it is found clean.
    fresh: Vec<Py<PyString>>,
}

/// The logging filter's native half. `filter(record)` does the whole
/// work for a record with no key: renders its message when it has
/// arguments (``record.getMessage()``), stores it in ``record.msg`` with
/// ``record.args`` cleared, and checks every name and value of the
/// record in one pass. Any other record (an exception to format, a message
/// that does not render, a field that holds a key or is a value this
/// cannot judge) goes to ``slow(record)``, the filter's walk over every
/// field.
#[pyclass(frozen, module = "phx_redact._native", name = "_RecordScan")]
pub(crate) struct RecordScan {
    /// Whether the rules are the built-in ones only: their tokens are runs
    /// of `[A-Za-z0-9_]` after a prefix, with no anchor nor look-around,
    /// so a token can neither span a newline nor depend on where its text
    /// ends, and the fields can be scanned as one text, newline-separated.
    builtin: bool,
    /// Taken with the GIL held, which the scan never lets go of (it runs
    /// no Python code).
    scratch: Mutex<Scratch>,
    /// The filter's full path, for the records the fast one leaves.
    slow: Option<Py<PyAny>>,
    /// `logging.LogRecord`: a record of exactly that class renders a
    /// message with no arguments as the message itself (a subclass may
    /// render it otherwise, and is asked).
    log_record: Py<PyAny>,
}

#[pymethods]
impl RecordScan {
    #[new]
    #[pyo3(
        signature = (*, include_public = false, patterns = Vec::new(), slow = None),
        text_signature = "(*, include_public=False, patterns=(), slow=None)"
    )]
    fn new(
        py: Python<'_>,
        include_public: bool,
        patterns: Vec<String>,
        slow: Option<Py<PyAny>>,
    ) -> PyResult<RecordScan> {
        let rules = rules_for(py, include_public, &patterns, "default")?;
        // PostHog's rules, `ph?_` and a body, and no custom one.
        let builtin = patterns.is_empty()
            && rules.rules().iter().all(|rule| {
                rule.name.len() == 3
                    && rule.name.starts_with("ph")
                    && rule.pattern.starts_with(&format!("{}_", rule.name))
            });
        let scratch = Scratch {
            engine: Engine::new(rules),
            text: Vec::with_capacity(1024),
            seen: Seen::new(),
            fresh: Vec::new(),
        };
        let log_record = py.import("logging")?.getattr("LogRecord")?.unbind();
        Ok(RecordScan { builtin, scratch: Mutex::new(scratch), slow, log_record })
    }

    /// The filter: the fast path, else ``slow(record)``. Returns True (the
    /// record is kept).
    fn filter(&self, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        // Without its slow path, a record with a key would pass as it is.
        let Some(slow) = &self.slow else {
            return Err(PyTypeError::new_err("_RecordScan.filter() needs slow="));
        };
        if !self.clean_record(record)? {
            slow.call1(record.py(), (record,))?;
        }
        Ok(true)
    }

    /// True when a name or a value of `fields` (a record's `__dict__`)
    /// holds a token, or is a value this cannot judge: anything but a
    /// str, an int, a float, None or an empty tuple (the filter then
    /// walks every field itself). False: nothing in the record to redact.
    fn needs_redaction(&self, fields: &Bound<'_, PyDict>) -> PyResult<bool> {
        let mut scratch = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        let found = self.scan(&mut scratch, fields);
        let scratch = &mut *scratch;
        if let Ok(false) = found {
            for text in scratch.fresh.drain(..) {
                scratch.seen.insert(text);
            }
        }
        scratch.fresh.clear();
        found
    }
}

impl RecordScan {
    /// Renders `record`'s message as the filter does, and returns True
    /// when the record holds nothing to redact; False leaves the record
    /// (maybe rendered already, which the slow path does again to the
    /// same result) to the slow path.
    fn clean_record(&self, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = record.py();
        let Ok(fields) = record.getattr(intern!(py, "__dict__"))?.cast_into::<PyDict>() else {
            return Ok(false);
        };
        if let Some(exc_info) = fields.get_item(intern!(py, "exc_info"))?
            && exc_info.is_truthy()?
        {
            return Ok(false);
        }
        let (Some(msg), Some(args)) =
            (fields.get_item(intern!(py, "msg"))?, fields.get_item(intern!(py, "args"))?)
        else {
            return Ok(false);
        };
        // LogRecord.getMessage() is `str(msg)`, formatted with the
        // arguments if there are any: a str with none is the message.
        let plain = record.get_type().is(&self.log_record)
            && msg.is_exact_instance_of::<PyString>()
            && !args.is_truthy()?;
        if !plain {
            // A message that does not render is the slow path's to
            // describe (logging's own report would show the raw args).
            let Ok(rendered) = record.call_method0(intern!(py, "getMessage")) else {
                return Ok(false);
            };
            if !rendered.is_exact_instance_of::<PyString>() {
                return Ok(false);
            }
            fields.set_item(intern!(py, "msg"), rendered)?;
        }
        if !args.is(PyTuple::empty(py)) {
            fields.set_item(intern!(py, "args"), PyTuple::empty(py))?;
        }
        Ok(!self.needs_redaction(&fields)?)
    }

    /// The scan of [`RecordScan::needs_redaction`]; the strs it found
    /// clean are left in `fresh`.
    fn scan(&self, scratch: &mut Scratch, fields: &Bound<'_, PyDict>) -> PyResult<bool> {
        let Scratch { engine, text, seen, fresh } = scratch;
        text.clear();
        fresh.clear();
        let before = engine.stats().total_tokens();
        let mut holds_token = |field: &[u8]| -> bool {
            if self.builtin {
                text.extend_from_slice(field);
                text.push(b'\n');
                return false;
            }
            let _ =
                engine.feed(field, &mut io::sink()).and_then(|()| engine.finish(&mut io::sink()));
            engine.stats().total_tokens() > before
        };
        let py = fields.py();
        let (mut pos, mut name, mut value) = (0, std::ptr::null_mut(), std::ptr::null_mut());
        // The dict is walked with PyDict_Next and its entries' types told
        // by address: pyo3's iterator and type checks cost more than the
        // scan of a record's few hundred bytes.
        // SAFETY: with the GIL held, PyDict_Next gives borrowed references
        // that stay valid while the dict is unchanged; nothing in the loop
        // runs Python code that could change it.
        while unsafe { ffi::PyDict_Next(fields.as_ptr(), &mut pos, &mut name, &mut value) } != 0 {
            for field in [value, name] {
                match scanned_kind(field) {
                    Kind::Inert => {}
                    Kind::Other => return Ok(true),
                    Kind::Text if seen.contains(field) => {}
                    Kind::Text => {
                        // A str something else holds too (a logger's, a
                        // thread's, a code object's name) comes back in
                        // the next records; one only the record holds (a
                        // rendered message) does not, and is not kept.
                        // SAFETY: `field` is a live object (above).
                        let shared = unsafe { ffi::Py_REFCNT(field) } > 1;
                        // SAFETY: `field` is a live object (above), its
                        // type exactly str.
                        let text = unsafe {
                            Bound::from_borrowed_ptr(py, field).cast_into_unchecked::<PyString>()
                        };
                        let Some(utf8) = Utf8::of(&text)? else { return Ok(true) };
                        let (len, found) = (utf8.as_bytes().len(), holds_token(utf8.as_bytes()));
                        if found {
                            return Ok(true);
                        }
                        if shared && len <= SEEN_MAX_LEN {
                            fresh.push(text.unbind());
                        }
                    }
                }
            }
        }
        if self.builtin && may_hold_builtin_token(text) {
            let _ =
                engine.feed(text, &mut io::sink()).and_then(|()| engine.finish(&mut io::sink()));
        }
        Ok(engine.stats().total_tokens() > before)
    }
}

/// Whether `text` may hold a token of the built-in rules: each begins
/// with `ph`, a letter and `_` (`phx_`, `phs_`, `pha_`, `phr_`, `phc_`). A
/// record's fields rarely hold `ph`: one pass of memchr's substring search
/// answers for most, where the engine's own start costs more.
fn may_hold_builtin_token(text: &[u8]) -> bool {
    static PH: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"ph"));
    PH.find_iter(text).any(|at| text.get(at + 3) == Some(&b'_'))
}

/// What [`RecordScan`] makes of a record's field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A str (exactly): scanned.
    Text,
    /// None, an int, a float, a bool or an empty tuple (exactly): holds no
    /// key.
    Inert,
    /// Anything else: left to the filter's walk.
    Other,
}

/// The [`Kind`] of the live object `ptr`, told by its type's address
/// (subclasses are Other).
fn scanned_kind(ptr: *mut ffi::PyObject) -> Kind {
    // SAFETY: `ptr` is a live object; of the interpreter's type objects
    // only the addresses are taken.
    unsafe {
        let kind = ffi::Py_TYPE(ptr);
        if kind == &raw mut ffi::PyUnicode_Type {
            Kind::Text
        } else if ptr == ffi::Py_None()
            || kind == &raw mut ffi::PyLong_Type
            || kind == &raw mut ffi::PyFloat_Type
            || kind == &raw mut ffi::PyBool_Type
            || (kind == &raw mut ffi::PyTuple_Type && ffi::PyTuple_Size(ptr) == 0)
        {
            Kind::Inert
        } else {
            Kind::Other
        }
    }
}
