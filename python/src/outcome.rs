//! What a scrub did (`redact_file`, `redact_stream`), as the dict Python
//! gets.

use phx_redact::app::ScrubOutcome as Outcome;
use pyo3::{prelude::*, types::PyDict};

/// What a scrub did, as a dict.
pub(crate) fn outcome_dict<'py>(
    py: Python<'py>,
    outcome: &Outcome,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("bytes", outcome.bytes)?;
    dict.set_item("stored_bytes", outcome.stored_bytes)?;
    dict.set_item("tokens", outcome.tokens)?;
    dict.set_item("format", outcome.format.name())?;
    dict.set_item("written", outcome.written)?;
    Ok(dict)
}
