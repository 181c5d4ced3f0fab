//! Follow mode with the real binary: what is not a log file (a folder, a
//! FIFO, a device, a kernel pseudo-file, a link with `--refuse-links`) is
//! refused or waited out, never read.

use std::{
    fs,
    path::{Path, PathBuf},
};

use phx_redact::testing::sample::KeyGen;

use crate::follow_harness::{DEADLINE, Follower, append, line, redacted};

#[test]
fn following_a_folder_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, "a line\n").unwrap();
    let mut follower = Follower::start(&[&log, dir.path(), Path::new("--from-start")]);
    let mut out = Vec::new();
    let status = follower.exit_within(DEADLINE, |line| out.push(line));
    assert_eq!(status.code(), Some(2));
    assert!(out.is_empty(), "{out:?}");
    let notices: Vec<String> = follower.notices.iter().collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains(&dir.path().display().to_string()), "{notices:?}");
    assert!(notices[0].contains("is a folder"), "{notices:?}");
}

#[test]
fn following_a_fifo_or_a_device_is_refused_at_once_not_read_and_lost() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("app.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path this test owns.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // No writer: opening it would wait for ever, and what a pipe held
    // would be gone once read, with nothing to resume from.
    for special in [fifo.as_path(), Path::new("/dev/zero")] {
        let mut follower = Follower::start(&[special, Path::new("--from-start")]);
        let status = follower.exit_within(DEADLINE, |line| panic!("read {line}"));
        assert_eq!(status.code(), Some(2));
        let notices: Vec<String> = follower.notices.iter().collect();
        assert!(notices.iter().any(|n| n.contains("not a log file")), "{notices:?}");
    }
}

#[test]
fn a_fifo_put_in_a_followed_files_place_neither_blocks_nor_stops_a_first_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut keys = KeyGen::new(66);
    let first: String = (0..3).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &first).unwrap();
    let follower = Follower::start(&[&log, Path::new("--from-start")]);
    assert_eq!(follower.lines(3), redacted(&first));
    // A FIFO with no writer takes the log's name: opening it would wait
    // for a writer, and the first SIGTERM with it.
    let fifo = dir.path().join("app.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path this test owns.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    fs::rename(&fifo, &log).unwrap();
    // The follower looked at the path again, and says what is there.
    follower.notice("is a FIFO, not a log file");
    let (status, rest, _) = follower.stop();
    assert!(status.success(), "{status}");
    assert!(rest.is_empty(), "{rest:?}");
}

/// A follower of `log` with `--refuse-links`, and a file it must never
/// ship, outside the logs (what a root sidecar could read and the
/// application could not).
fn start_refusing_links(dir: &Path, log: &Path) -> (Follower, PathBuf) {
    let secret = dir.join("shadow");
    fs::write(&secret, "root-only content\n").unwrap();
    let follower = Follower::start(&[log, Path::new("--from-start"), Path::new("--refuse-links")]);
    (follower, secret)
}

#[test]
fn refuse_links_never_reads_a_link_swapped_in_for_the_log_and_follows_the_next_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, "first\n").unwrap();
    let (follower, secret) = start_refusing_links(dir.path(), &log);
    assert_eq!(follower.lines(1), ["first"]);

    fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    std::os::unix::fs::symlink(&secret, &log).unwrap();
    follower.notice("app.log: is a symbolic link; not read (--refuse-links)");
    append(&secret, "written after the swap\n");
    // A hard link is the same door where the kernel lets one be made.
    fs::remove_file(&log).unwrap();
    fs::hard_link(&secret, &log).unwrap();
    follower.notice("app.log: has 2 names (hard links); not read (--refuse-links)");

    fs::remove_file(&log).unwrap();
    fs::write(&log, "a regular file again\n").unwrap();
    follower.notice("app.log: is back as a new file");
    assert_eq!(follower.lines(1), ["a regular file again"]);
    let (status, rest, notices) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
    assert!(!notices.iter().any(|n| n.contains("symbolic")), "said once: {notices:?}");
}

#[test]
fn refuse_links_waits_out_a_link_at_start_and_by_default_a_link_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let target = dir.path().join("pod.log");
    fs::write(&target, "through the link\n").unwrap();
    std::os::unix::fs::symlink(&target, &log).unwrap();
    // Logs are often links (/var/log/containers/*.log): read by default.
    let follower = Follower::start(&[&log, Path::new("--from-start")]);
    assert_eq!(follower.lines(1), ["through the link"]);
    assert!(follower.stop().0.success());

    let (follower, _) = start_refusing_links(dir.path(), &log);
    follower.notice("app.log: is a symbolic link; not read (--refuse-links); waiting");
    fs::remove_file(&log).unwrap();
    fs::write(&log, "regular\n").unwrap();
    assert_eq!(follower.lines(1), ["regular"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "nothing through the link: {rest:?}");
}

/// A /proc or /sys file says size 0 whatever it holds: a follower would
/// take each read for a truncation and read it again without end (167,000
/// lines in two seconds). Refused at once.
#[test]
fn a_kernel_pseudo_file_is_refused_at_once_not_read_in_a_loop() {
    let out = crate::common::cmd()
        .args(["--follow", "--from-start", "/proc/self/mounts"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(err.contains("is a kernel pseudo-file"), "{err}");
}
