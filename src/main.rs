//! The `phx-redact` binary: everything it does is in the library
//! (`phx_redact::cli`); this file only holds what must run before Rust's
//! runtime starts.

use std::{
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
};

fn main() -> ExitCode {
    phx_redact::cli::main(STDOUT_CLOSED_AT_START.load(Ordering::Relaxed))
}

/// Whether descriptor 1 was closed when the process started (`>&-`). Rust's
/// runtime puts /dev/null in place of a closed standard descriptor before
/// `main`, so by then a closed stdout looks like a discarded one; this is
/// read earlier, from an `.init_array` constructor, which the loader runs
/// before the runtime's start-up code.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static PROBE_STDOUT: extern "C" fn() = {
    extern "C" fn probe() {
        // SAFETY: F_GETFD only reads the flags of descriptor 1 (or fails
        // with EBADF); it touches no memory of ours.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
        }
    }
    probe
};
