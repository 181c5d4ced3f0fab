//! The module's exception, and every engine or application error as the
//! Python exception a user expects, its message through the policy.

use phx_redact::app::{Error, MessagePolicy};
use pyo3::{
    create_exception,
    exceptions::{PyException, PyOSError, PyValueError},
    prelude::*,
};

/// `err` as the Python exception a user expects, its message through
/// `policy` (as the CLI prints it), prefixed with the input's name when
/// there is one: `ValueError` for rules, `OSError` (its subclass for the
/// errno: `FileNotFoundError`, ...) for reading and writing,
/// [`RedactError`] for an input phx-redact refuses.
pub(crate) fn py_error(err: &Error, name: Option<&str>, policy: &MessagePolicy) -> PyErr {
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

create_exception!(
    phx_redact,
    RedactError,
    PyException,
    "An input phx-redact refuses: corrupt or truncated compressed data, a \
     compressed or archive format it cannot read, or content a rewrite would \
     break (an archive, a database, binary data holding a secret). The \
     message names the input and what to do; it never holds a key."
);
