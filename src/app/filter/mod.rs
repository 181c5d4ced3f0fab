//! The filter: inputs (standard input or files) through a [`Redactor`] to
//! one output, like `cat`, byte for byte except for the tokens.
//!
//! What it promises: a line goes on as soon as it is read (each read is one
//! write, flushed, when the output is a pipe); memory stays bounded however
//! long the stream or its lines; what was read before an error is written
//! out, redacted, before the error is reported; compressed files are read
//! decompressed, as `zcat` reads them, but standard input is never
//! decompressed.
//!
//! - [`driver`]: one input or many, in order, and the audit's reading of
//!   them (`--check`);
//! - [`pump`]: a stream through the redactor, decompressed layer by layer;
//! - [`open`]: how an input file is opened (without waiting on a FIFO, read
//!   ahead on a thread, or in segments);
//! - [`readahead`], [`segments`], [`stdio`]: the readers behind those;
//! - [`records_input`]: inputs read as a container runtime's records.
//!
//! [`Redactor`]: crate::Redactor

pub(crate) mod driver;
pub(crate) mod open;
pub(crate) mod pump;
pub mod readahead;
pub(crate) mod records_input;
pub mod segments;
pub mod stdio;

pub use crate::app::inputs::{Input, STDIN_ARG, is_stdin};
pub use crate::io::READ_SIZE;
pub(crate) use driver::unrewritable;
pub use driver::{
    inspect_input, inspect_input_here, inspect_input_on, inspect_stream, redact_input,
    redact_inputs, stats_line,
};
pub use pump::redact_stream;
pub(crate) use pump::{holds_a_token, redact_stored};
pub use records_input::{inspect_records, redact_records};
