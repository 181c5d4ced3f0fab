//! The process's exit statuses, in one place.

use std::process::ExitCode;

/// Every input was redacted and written (or the reader went away early).
pub const SUCCESS: u8 = 0;
/// Some input or the output failed; the other inputs were still processed.
/// (1 is kept for "secrets found" in a check mode.)
pub const ERROR: u8 = 2;

/// The exit code for a run that had `failures` failed inputs.
pub fn for_failures(failures: usize) -> ExitCode {
    ExitCode::from(if failures == 0 { SUCCESS } else { ERROR })
}
