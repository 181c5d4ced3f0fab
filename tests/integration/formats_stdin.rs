//! Compressed data on standard input: `--check -` decodes it, however
//! short the first read; the filter passes it on byte for byte and fails
//! loudly, for it could not redact it.

use std::{
    io::Write,
    os::fd::AsRawFd,
    process::Output,
    time::{Duration, Instant},
};

use phx_redact::testing::sample;

use crate::common::cmd;
use crate::formats_tools::{TOOLS, XZ, stderr, unreadable};

/// Bytes waiting in the pipe `fd` (either end): FIONREAD.
fn pipe_pending(fd: &impl AsRawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid.
    assert_eq!(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) }, 0);
    n as usize
}

/// `--check -` with `stored` on stdin, its first byte delivered alone (the
/// rest only once phx-redact has read it), so that the first read is short.
fn check_stdin_split(stored: &[u8]) -> Output {
    let mut child = cmd().args(["--check", "-"]).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&stored[..1]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while pipe_pending(&stdin) > 0 {
        assert!(Instant::now() < deadline, "phx-redact never read its stdin");
        std::thread::yield_now();
    }
    let rest = stored[1..].to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&rest);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn check_of_stdin_decodes_a_compressed_stream_even_from_a_short_first_read() {
    let log = sample::log(97, 500, 5);
    for tool in TOOLS {
        let Some(stored) = tool.compress(&log) else { continue };
        let out = check_stdin_split(&stored);
        assert_eq!(out.status.code(), Some(1), "{}: {}", tool.format, stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("<stdin>:"), "{}", tool.format);
    }
    let key = format!("phx_{}", "Qw3rTy7u9I".repeat(4));
    let out = check_stdin_split(&unreadable(b"PK\x03\x04", &key));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("<stdin>: zip data"), "{}", stderr(&out));
}

#[test]
fn the_filter_passes_compressed_stdin_byte_for_byte_and_fails_loudly() {
    let log = sample::log(98, 200, 5);
    let Some(stored) = XZ.compress(&log) else { return };
    // Read as bytes, or as a container runtime's records.
    for format in [&[][..], &["--input-format", "cri"], &["--input-format", "docker-json"]] {
        let (code, out, err) = crate::common::run(format, &stored);
        assert_eq!(out, stored, "{format:?}");
        // Passed on, but never as if it had been redacted.
        assert_eq!(code, 2, "{format:?}: {err}");
        let says = "<stdin>: xz data: passed on byte for byte, NOT redacted";
        assert!(err.contains(says), "{format:?}: {err}");
        // Plain text after a compressed-looking first byte is still plain.
        let (code, out, _) = crate::common::run(format, b"\x1fnot gzip\n");
        assert_eq!((code, out.as_slice()), (0, &b"\x1fnot gzip\n"[..]), "{format:?}");
    }
    let (_, _, err) = crate::common::run(&[], b"\x1fnot gzip\n");
    assert_eq!(err, "");
}
