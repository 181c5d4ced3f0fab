//! `phx_redact._native`: the phx-redact engine for Python (PyO3).
//!
//! The Python package `phx_redact` re-exports what is here; its docstrings
//! are the user's documentation. Nothing here is a second implementation:
//! the rules are built from the same options as the command line's
//! ([`RuleOptions`]), `redact_file` is the
//! mirror scrub of `--output-dir`, `check` is the audit of `--check`, and
//! the streams go through the same passes. `verify=` asks PostHog with
//! the CLI's client and cache (`--check --verify`).
//!
//! The GIL is released while the engine, the decoders and the encoders
//! run. The stream functions take it back only to call the Python
//! reader's `read` and the writer's `write`, once per 256 KiB.

mod bytes_out;
mod errors;
mod files;
mod findings;
mod outcome;
mod record;
mod redactor;
mod rules;
mod streams;
mod text;
mod verify;

use pyo3::prelude::*;

/// The native part of `phx_redact`; import `phx_redact` instead.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(text::redact, m)?)?;
    m.add_function(wrap_pyfunction!(rules::rules, m)?)?;
    m.add_function(wrap_pyfunction!(files::redact_file, m)?)?;
    m.add_function(wrap_pyfunction!(files::check, m)?)?;
    m.add_function(wrap_pyfunction!(streams::redact_stream, m)?)?;
    m.add_function(wrap_pyfunction!(streams::check_stream, m)?)?;
    m.add_class::<redactor::Redactor>()?;
    m.add_class::<findings::Finding>()?;
    m.add_class::<record::RecordScan>()?;
    m.add_class::<verify::Verifier>()?;
    m.add("RedactError", m.py().get_type::<errors::RedactError>())?;
    m.add("RULESET_VERSION", phx_redact::rules::RULESET_VERSION)?;
    Ok(())
}
