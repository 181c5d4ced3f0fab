//! The process's exit statuses, in one place.

use std::process::ExitCode;

/// Every input was redacted and written (or, in filter mode, the reader
/// went away early: `| head` has what it asked for). `--check`: no token.
pub const SUCCESS: u8 = 0;
/// `--check` found a token (and nothing failed), whether or not its reader
/// stayed to the end (`--check | head -1`).
pub const FOUND: u8 = 1;
/// Some input or the output failed; the other inputs were still processed.
/// A standard output that is closed (`>&-`) or not writable is a failure
/// too, found before any input is read. With `--check`, an error wins over
/// a finding: a failure must never look like "nothing found", nor a
/// finding like a failure.
pub const ERROR: u8 = 2;
// A scrub (`--in-place`, `--output-dir`) ended by SIGINT, SIGTERM or SIGHUP
// removes its temporary files and exits 128 + the signal's number (130,
// 143, 129), as a shell reports a process a signal ended: see
// `app::atomic::remove_temps_on_signals`.

/// The exit code for a check that had `failures` failed inputs and found
/// `found` tokens.
pub fn for_check(failures: usize, found: usize) -> ExitCode {
    ExitCode::from(match (failures, found) {
        (0, 0) => SUCCESS,
        (0, _) => FOUND,
        _ => ERROR,
    })
}

/// The exit code for a run that had `failures` failed inputs.
pub fn for_failures(failures: usize) -> ExitCode {
    ExitCode::from(if failures == 0 { SUCCESS } else { ERROR })
}
