//! The logging filter's fast path (`phx_redact.logging`): a log record
//! with no key, or with keys in its message only, is rendered, scanned and
//! redacted in one native call.
//!
//! Most records hold no key, and most of their fields are the same
//! objects from record to record (the field names, the logger's name, the
//! level's, the thread's, the code's file and function: strs Python keeps
//! per logger, level, thread and call site). A field already found clean
//! is not scanned again while it is the same object (see [`Seen`]): only
//! the message and what varies are, and each of those goes first through
//! the rules' own prefilter ([`RuleSet::may_hold_token`]), which turns away a
//! text where no token can begin without running the engine.

use std::{
    io,
    sync::{Arc, Mutex, PoisonError},
};

use phx_redact::{Redactor as Engine, RuleSet};
use pyo3::{
    Borrowed,
    exceptions::PyTypeError,
    ffi, intern,
    prelude::*,
    types::{PyDict, PyString, PyTuple},
};

mod seen;

use self::seen::Seen;
use crate::{
    rules::{Choice, rules_for},
    text::{Utf8, redact},
};

/// What the scan of a record's fields found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing to redact.
    Clean,
    /// A token in the message, and nothing anywhere else.
    InMessage,
    /// A token elsewhere, or a value the scan cannot judge: the filter's
    /// walk over every field decides.
    Walk,
}

/// What a [`RecordScan`] keeps from call to call: a new engine's buffers
/// cost more than a record's scan.
struct Scratch {
    engine: Engine,
    seen: Seen,
    /// The strs of this record to remember, with their places, once it is
    /// found clean.
    fresh: Vec<(usize, Py<PyString>)>,
}

/// The logging filter's native half. `filter(record)` does the whole
/// work for a record whose only key, if any, is in its message: renders
/// the message (``record.getMessage()``), redacts it, stores it in
/// ``record.msg`` with ``record.args`` cleared, and checks every other
/// name and value of the record. Any other record (an exception to
/// format, a message that does not render, a key in another field, a
/// value this cannot judge) goes to ``slow(record)``, the filter's walk
/// over every field.
#[pyclass(frozen, module = "phx_redact._native", name = "_RecordScan")]
pub(crate) struct RecordScan {
    /// The options of ``phx_redact.redact`` for a message with a key, so
    /// that it reads as the walk would have redacted it.
    choice: Choice,
    marker: String,
    /// Taken with the GIL held, which the scan never lets go of (it runs
    /// no Python code); never held while Python code runs.
    scratch: Mutex<Scratch>,
    /// The filter's full path, for the records the fast one leaves.
    slow: Option<Py<PyAny>>,
    /// `logging.LogRecord`: a record of exactly that class renders its
    /// message as `msg % args` (a subclass may render it otherwise, and is
    /// asked).
    log_record: Py<PyAny>,
}

#[pymethods]
impl RecordScan {
    #[new]
    #[pyo3(
        signature = (*, include_public = false, patterns = Vec::new(), posthog_hosts = Vec::new(),
                     marker = "default".to_string(), slow = None),
        text_signature = "(*, include_public=False, patterns=(), posthog_hosts=(), \
                          marker='default', slow=None)"
    )]
    fn new(
        py: Python<'_>,
        include_public: bool,
        patterns: Vec<String>,
        posthog_hosts: Vec<String>,
        marker: String,
        slow: Option<Py<PyAny>>,
    ) -> PyResult<RecordScan> {
        let choice = Choice::new(include_public, patterns, posthog_hosts);
        // The marker is checked now: a bad one fails at configuration.
        rules_for(py, &choice, &marker)?;
        let rules = rules_for(py, &choice, "default")?;
        let scratch = Scratch { engine: Engine::new(rules), seen: Seen::new(), fresh: Vec::new() };
        let log_record = py.import("logging")?.getattr("LogRecord")?.unbind();
        Ok(RecordScan { choice, marker, scratch: Mutex::new(scratch), slow, log_record })
    }

    /// The filter: the fast path, else ``slow(record)``. Returns True (the
    /// record is kept).
    fn filter(&self, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        // Without its slow path, a record with a key would pass as it is.
        let Some(slow) = &self.slow else {
            return Err(PyTypeError::new_err("_RecordScan.filter() needs slow="));
        };
        if !self.fast_filter(record)? {
            slow.call1(record.py(), (record,))?;
        }
        Ok(true)
    }

    /// True when a name or a value of `fields` (a record's `__dict__`)
    /// holds a token, or is a value this cannot judge: anything but a
    /// str, an int, a float, None or an empty tuple (the filter then
    /// walks every field itself). False: nothing in the record to redact.
    fn needs_redaction(&self, fields: &Bound<'_, PyDict>) -> PyResult<bool> {
        Ok(self.verdict(fields, None)? != Verdict::Clean)
    }
}

impl RecordScan {
    /// Renders `record`'s message as the filter does, and redacts it when
    /// it is the only field with a key; true when that was all the record
    /// needed. False leaves the record (maybe rendered already, which the
    /// slow path does again to the same result) to the slow path.
    fn fast_filter(&self, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = record.py();
        let Ok(fields) = record.getattr(intern!(py, "__dict__"))?.cast_into::<PyDict>() else {
            return Ok(false);
        };
        if let Some(exc_info) = fields.get_item(intern!(py, "exc_info"))?
            && !exc_info.is_none()
            && exc_info.is_truthy()?
        {
            return Ok(false);
        }
        let (Some(msg), Some(args)) =
            (fields.get_item(intern!(py, "msg"))?, fields.get_item(intern!(py, "args"))?)
        else {
            return Ok(false);
        };
        let Some(message) = self.render(record, &msg, &args)? else { return Ok(false) };
        if !message.is(&msg) {
            fields.set_item(intern!(py, "msg"), &message)?;
        }
        if !args.is(PyTuple::empty(py)) {
            fields.set_item(intern!(py, "args"), PyTuple::empty(py))?;
        }
        match self.verdict(&fields, Some(&message))? {
            Verdict::Clean => Ok(true),
            Verdict::Walk => Ok(false),
            Verdict::InMessage => {
                // As the walk's `redact(record.msg, ...)` would (the
                // engine may release the GIL on a long message: no lock
                // is held here).
                let Choice { include_public, patterns, posthog_hosts } = self.choice.clone();
                let Ok(clean) =
                    redact(py, &message, include_public, patterns, posthog_hosts, &self.marker)
                else {
                    return Ok(false);
                };
                fields.set_item(intern!(py, "msg"), clean)?;
                Ok(true)
            }
        }
    }

    /// `record.getMessage()`, or None when it raises or gives something
    /// else than a str: the slow path describes such a message.
    fn render<'py>(
        &self,
        record: &Bound<'py, PyAny>,
        msg: &Bound<'py, PyAny>,
        args: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = record.py();
        // LogRecord.getMessage() is `str(msg)`, then `% args` when the
        // arguments are truthy: for a record of exactly that class, a
        // message of exactly str and arguments of exactly tuple or dict,
        // that is the message itself or `msg % args` (the method's frame
        // costs more than most messages' formatting).
        if record.get_type().is(self.log_record.bind(py)) && msg.is_exact_instance_of::<PyString>()
        {
            let count = if let Ok(args) = args.cast_exact::<PyTuple>() {
                Some(args.len())
            } else if let Ok(args) = args.cast_exact::<PyDict>() {
                Some(args.len())
            } else {
                None
            };
            match count {
                Some(0) => return Ok(Some(msg.clone())),
                Some(_) => {
                    // SAFETY: two live objects; the result is a new
                    // reference, or NULL with an exception set (dropped
                    // here: the slow path renders the message again).
                    let rendered = unsafe {
                        Bound::from_owned_ptr_or_err(
                            py,
                            ffi::PyUnicode_Format(msg.as_ptr(), args.as_ptr()),
                        )
                    };
                    return Ok(rendered.ok().filter(|m| m.is_exact_instance_of::<PyString>()));
                }
                None => {}
            }
        }
        let Ok(rendered) = record.call_method0(intern!(py, "getMessage")) else {
            return Ok(None);
        };
        Ok(rendered.is_exact_instance_of::<PyString>().then_some(rendered))
    }

    /// The scan of `fields`, `message` being the value of their `msg`
    /// (None: no field is told apart). The strs it found clean are
    /// remembered unless it hands the record to the walk.
    fn verdict(
        &self,
        fields: &Bound<'_, PyDict>,
        message: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Verdict> {
        let mut scratch = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        let scratch = &mut *scratch;
        scratch.fresh.clear();
        let verdict = scan(scratch, fields, message);
        if matches!(verdict, Ok(Verdict::Clean | Verdict::InMessage)) {
            for (place, text) in scratch.fresh.drain(..) {
                scratch.seen.insert(fields.py(), place, text);
            }
        }
        scratch.fresh.clear();
        verdict
    }
}

/// The names and values of `fields`, each str among them scanned unless
/// [`Seen`] knows it clean.
fn scan(
    scratch: &mut Scratch,
    fields: &Bound<'_, PyDict>,
    message: Option<&Bound<'_, PyAny>>,
) -> PyResult<Verdict> {
    let Scratch { engine, seen, fresh } = scratch;
    let py = fields.py();
    let msg_name = intern!(py, "msg").as_ptr();
    let mut in_message = false;
    let (mut pos, mut name, mut value) = (0, std::ptr::null_mut(), std::ptr::null_mut());
    let mut place = 0;
    // The dict is walked with PyDict_Next and its entries' types told by
    // address: pyo3's iterator and type checks cost more than the scan of
    // a record's few hundred bytes.
    // SAFETY: with the GIL held, PyDict_Next gives borrowed references
    // that stay valid while the dict is unchanged; nothing in the loop
    // runs Python code that could change it.
    while unsafe { ffi::PyDict_Next(fields.as_ptr(), &mut pos, &mut name, &mut value) } != 0 {
        for (field, at) in [(name, place), (value, place + 1)] {
            // Known by its place first: that compare touches no object,
            // and a record's objects are most of the scan's cache misses.
            if seen.at_place(at, field) {
                continue;
            }
            match scanned_kind(field) {
                Kind::Inert => {}
                Kind::Other => return Ok(Verdict::Walk),
                Kind::Text if seen.knows(py, at, field) => {}
                Kind::Text => match judge(engine, py, field, message)? {
                    Judged::Clean { keep: true } => {
                        // SAFETY: `field` is a live str (above).
                        let text = unsafe { Borrowed::from_ptr(py, field) };
                        // SAFETY: its type is exactly str (scanned_kind).
                        let text = unsafe { text.cast_unchecked::<PyString>() };
                        fresh.push((at, text.to_owned().unbind()));
                    }
                    Judged::Clean { keep: false } => {}
                    // The message, as `msg` (the only key `msg`: a dict's
                    // keys are distinct).
                    Judged::Token
                        if at == place + 1
                            && name == msg_name
                            && message.is_some_and(|m| m.as_ptr() == field) =>
                    {
                        in_message = true;
                    }
                    Judged::Token | Judged::Unknown => return Ok(Verdict::Walk),
                },
            }
        }
        place += 2;
    }
    Ok(if in_message { Verdict::InMessage } else { Verdict::Clean })
}

/// What [`scan`] learns of one str field.
enum Judged {
    /// No token; `keep`: worth remembering as clean (see [`Seen`]).
    Clean { keep: bool },
    /// A token.
    Token,
    /// Lone surrogates: left to the walk.
    Unknown,
}

/// Scans the str `field`. A str something else holds too (a logger's, a
/// thread's, a code object's name) comes back in the next records, and is
/// worth remembering clean; one only the record holds (a rendered message,
/// which the caller holds too) does not.
#[inline(always)]
fn judge(
    engine: &mut Engine,
    py: Python<'_>,
    field: *mut ffi::PyObject,
    message: Option<&Bound<'_, PyAny>>,
) -> PyResult<Judged> {
    let own = if message.is_some_and(|m| m.as_ptr() == field) { 2 } else { 1 };
    // SAFETY: `field` is a live object (the caller's dict holds it).
    let shared = unsafe { ffi::Py_REFCNT(field) } > own;
    // SAFETY: `field` is a live object, its type exactly str; borrowed
    // while the dict is unchanged.
    let text = unsafe { Borrowed::from_ptr(py, field).cast_unchecked::<PyString>() };
    Ok(match holds_token(engine, &text)? {
        Some(false) => Judged::Clean { keep: shared && Seen::keeps(&text) },
        Some(true) => Judged::Token,
        None => Judged::Unknown,
    })
}

/// Whether `text` holds a token of the engine's rules; None when it holds
/// lone surrogates (left to the walk).
fn holds_token(engine: &mut Engine, text: &Bound<'_, PyString>) -> PyResult<Option<bool>> {
    let Some(utf8) = Utf8::of(text)? else { return Ok(None) };
    let bytes = utf8.as_bytes();
    let rules: &Arc<RuleSet> = engine.rules();
    if !rules.may_hold_token(bytes) {
        return Ok(Some(false));
    }
    let before = engine.stats().total_tokens();
    // Into a sink, which cannot fail.
    let _ = engine.feed(bytes, &mut io::sink()).and_then(|()| engine.finish(&mut io::sink()));
    Ok(Some(engine.stats().total_tokens() > before))
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
