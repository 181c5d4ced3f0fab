//! Follow mode with the real binary: copytruncate, while a slow reader
//! holds the follower up, while it is stopped, and with the output in the
//! log's folder; the rest of the old content comes from the copy, or what
//! was not read is said.

use std::{
    fs::{self, File},
    path::Path,
    time::Instant,
};

use crate::common::{cmd, holds_a_token};
use crate::follow_harness::{
    BATCH, DEADLINE, Follower, Killer, append, lines_of, redacted, wait_until,
};

/// Where the follower `pid` reads `log`: the position of its descriptor.
fn read_position(pid: u32, log: &Path) -> Option<u64> {
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let fd = fds.flatten().find(|fd| fs::read_link(fd.path()).is_ok_and(|l| l == log))?;
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?));
    info.ok()?.lines().find_map(|l| l.strip_prefix("pos:")?.trim().parse().ok())
}

/// Whether process `pid` is blocked writing to a pipe (its reader stopped).
fn blocked_in_write(pid: u32) -> bool {
    let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let syscall = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    wchan.contains("pipe_write") || syscall.starts_with("1 ")
}

/// Line `i` of a generation of a log, every one holding a key whose body
/// is `K`, its number, then x's: a body without its prefix shows as x's.
fn key_line(generation: &str, i: usize) -> String {
    format!("{generation} {i:09} token=phx_K{i:08}{}\n", "x".repeat(39))
}

/// Where a key's body starts in a [`key_line`].
const KEY_BODY_AT: usize = "old 000000000 token=phx_".len();

/// copytruncate while the follower is blocked writing to a reader that
/// stopped reading, then the file written again past where it was read
/// to, with a key's body at that offset. Returns the output, the notices
/// and the old and the new content.
fn copytruncate_under_backpressure(
    keep_copy: bool,
    banner: &str,
) -> (Vec<String>, Vec<String>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (log, copy) = (dir.path().join("app.log"), dir.path().join("app.log.1"));
    let old: String = std::iter::once(banner.to_string())
        .chain((0..20_000).map(|i| key_line("old", i)))
        .collect();
    fs::write(&log, &old).unwrap();
    let child = cmd().args(["--follow", "--from-start"]).arg(&log).spawn().unwrap();
    let mut child = Killer(child);
    let pid = child.0.id();
    let notices = lines_of(child.0.stderr.take().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    // Nobody reads: the follower fills the pipe and blocks in write.
    wait_until("the follower blocks writing", || blocked_in_write(pid));
    let stale = read_position(pid, &log).unwrap();
    assert!(stale < old.len() as u64 / 2, "blocked at {stale} of {}", old.len());

    fs::copy(&log, &copy).unwrap();
    File::options().write(true).open(&log).unwrap().set_len(0).unwrap();
    if !keep_copy {
        fs::remove_file(&copy).unwrap();
    }
    // A first line of a length that puts the stale offset 20 bytes into
    // a key's body.
    let len = key_line("new", 0).len();
    let mut pad = (stale as usize - banner.len() + len - (KEY_BODY_AT + 20) % len) % len;
    if pad < 2 {
        pad += len;
    }
    let new: String = std::iter::once(banner.to_string())
        .chain(std::iter::once(format!("{}\n", "p".repeat(pad - 1))))
        .chain((0..20_000).map(|i| key_line("new", i)))
        .collect();
    assert!(new.len() as u64 > stale + BATCH, "{stale}");
    append(&log, &new);

    let lines = lines_of(stdout);
    let last = redacted(&key_line("new", 19_999)).pop().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while seen.last() != Some(&last) {
        let left = deadline.saturating_duration_since(Instant::now());
        seen.push(lines.recv_timeout(left).expect("the last new line never came"));
    }
    // SAFETY: kill(2) with a pid this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let status = child.wait_for(DEADLINE, || seen.extend(lines.try_iter())).unwrap();
    assert!(status.success(), "{status}");
    seen.extend(lines.iter());
    (seen, notices.iter().collect(), old, new)
}

/// Every line of `seen` is a whole line of `old` or `new`, redacted: no
/// line spliced from two, none starting inside one (a key's body without
/// its prefix), no body in the clear.
fn assert_whole_redacted_lines(seen: &[String], old: &str, new: &str) {
    let mut whole = redacted(old);
    whole.extend(redacted(new));
    whole.sort();
    for line in seen {
        assert!(!line.contains(&"x".repeat(20)), "a key's body in the clear: {line:?}");
        assert!(!holds_a_token(line.as_bytes()), "a key in the clear");
        assert!(whole.binary_search(line).is_ok(), "not a whole line of the input: {line:?}");
    }
}

#[test]
fn copytruncate_while_a_slow_reader_blocks_the_follower_reads_the_rest_from_the_copy() {
    let (seen, notices, old, new) = copytruncate_under_backpressure(true, "");
    assert_whole_redacted_lines(&seen, &old, &new);
    // The copy and the new content are read side by side, each in order.
    let (of_old, of_new): (Vec<String>, Vec<String>) =
        seen.into_iter().partition(|l| l.starts_with("old "));
    assert_eq!(of_old.len(), 20_000, "every old line once: {notices:?}");
    assert_eq!(of_old, redacted(&old));
    assert_eq!(of_new, redacted(&new));
    assert!(
        notices.iter().any(|n| n.contains("was truncated") && n.contains("app.log.1, a copy")),
        "{notices:?}"
    );
}

#[test]
fn copytruncate_while_a_slow_reader_blocks_the_follower_without_a_copy_says_what_was_lost() {
    let (seen, notices, old, new) = copytruncate_under_backpressure(false, "");
    assert_whole_redacted_lines(&seen, &old, &new);
    let new_lines = redacted(&new);
    assert!(seen.ends_with(&new_lines), "the new content, all of it, from its start");
    let notice = notices.iter().find(|n| n.contains("was truncated")).expect("said");
    let shipped_old = seen.len() - new_lines.len();
    let end_of_shipped = old.lines().take(shipped_old).map(|l| l.len() + 1).sum::<usize>();
    assert!(
        notice.contains(&format!("after byte {end_of_shipped}")) && notice.contains("not read"),
        "{notice}"
    );
}

/// The same, when the new content starts with the same first KiB as the
/// old (a 2 KiB banner): told by the bytes just before the offset.
#[test]
fn copytruncate_under_backpressure_is_told_even_when_the_first_kib_is_the_same() {
    let banner: String =
        (0..60).map(|i| format!("banner line {i:02}: the service is starting up\n")).collect();
    assert!(banner.len() > 2048);
    let (seen, notices, old, new) = copytruncate_under_backpressure(true, &banner);
    assert_whole_redacted_lines(&seen, &old, &new);
    let of_old = seen.iter().filter(|l| l.starts_with("old ")).count();
    assert_eq!(of_old, 20_000, "every old line once: {notices:?}");
    assert!(notices.iter().any(|n| n.contains("was truncated")), "{notices:?}");
}

#[test]
fn copytruncate_while_stopped_the_rest_of_the_old_content_comes_from_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let first: String = (0..50).map(|i| key_line("old", i)).collect();
    fs::write(&log, &first).unwrap();
    let args = [&log, Path::new("--from-start"), Path::new("--state"), &state];
    let follower = Follower::start(&args);
    assert_eq!(follower.lines(50), redacted(&first));
    assert!(follower.stop().0.success());

    // While stopped: more lines, then copytruncate, then new lines.
    let rest: String = (50..80).map(|i| key_line("old", i)).collect();
    append(&log, &rest);
    fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    File::options().write(true).open(&log).unwrap().set_len(0).unwrap();
    let new: String = (0..100).map(|i| key_line("new", i)).collect();
    append(&log, &new);

    let follower = Follower::start(&args);
    let mut expected = redacted(&rest);
    expected.extend(redacted(&new));
    let mut seen = follower.lines(expected.len());
    let (status, more, notices) = follower.stop();
    assert!(status.success());
    seen.extend(more);
    assert_whole_redacted_lines(&seen, &(first + &rest), &new);
    let (of_old, of_new): (Vec<String>, Vec<String>) =
        seen.into_iter().partition(|l| l.starts_with("old "));
    assert_eq!(of_old, redacted(&rest), "the rest of the old content, once: {notices:?}");
    assert_eq!(of_new, redacted(&new));
}

/// A follower writing its output into the log's own folder: after a
/// copytruncate, that output starts as the log did, and was taken for the
/// log's copy, so the follower read its own output back without end. A
/// copy is now named after the log (`app.log.1`, `app.log-DATE`), and never
/// the output.
#[test]
fn the_output_in_the_logs_folder_is_never_taken_for_its_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (log, out) = (dir.path().join("app.log"), dir.path().join("app.log.redacted"));
    fs::write(&log, "one\ntwo\n").unwrap();
    let mut child = Killer(
        cmd()
            .args(["--follow", "--from-start"])
            .arg(&log)
            .stdout(File::create(&out).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    wait_until("the first lines", || fs::read_to_string(&out).unwrap() == "one\ntwo\n");
    append(&log, "three\n");
    wait_until("the third line", || fs::read_to_string(&out).unwrap().ends_with("three\n"));
    File::options().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, "four\n");
    wait_until("the fourth line", || fs::read_to_string(&out).unwrap().contains("four\n"));
    // SAFETY: kill(2) with a pid this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let status = child.wait_for(DEADLINE, || {}).unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "one\ntwo\nthree\nfour\n");
}
