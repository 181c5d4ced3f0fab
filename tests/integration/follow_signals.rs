//! Follow mode with the real binary: SIGTERM and SIGKILL, and the restart
//! after them, loses and repeats nothing (lines a custom rule holds and
//! pieces of a long line included).

use std::{
    fs::{self, File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{holds_a_token, run};
use crate::follow_harness::{
    BATCH, DEADLINE, Follower, Killer, append, flood_and_follow, flood_line, line, redacted,
    wait_for_file, wait_until,
};

#[test]
fn sigterm_in_a_burst_then_a_restart_with_state_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    File::create(&log).unwrap();
    let mut keys = KeyGen::new(52);
    let all: Vec<String> = (0..3000).map(|i| line(&mut keys, i)).collect();

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    wait_for_file(&state);
    let writer = {
        let (log, all) = (log.clone(), all.clone());
        thread::spawn(move || {
            let mut file = OpenOptions::new().append(true).open(&log).unwrap();
            for text in &all {
                file.write_all(text.as_bytes()).unwrap();
            }
        })
    };
    let mut seen = follower.lines(100);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    seen.extend(rest);
    writer.join().unwrap();
    // A line cut short by the burst must not be shipped as two.
    append(&log, "an unfinished ");

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    append(&log, "line, finished after the restart\n");
    let remaining = all.len() + 1 - seen.len();
    seen.extend(follower.lines(remaining));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");

    let mut expected = redacted(&all.concat());
    expected.push("an unfinished line, finished after the restart".into());
    assert_eq!(seen, expected);
}

#[test]
fn sigterm_is_honoured_promptly_with_a_writer_faster_than_us_and_a_restart_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let key = KeyGen::new(60).key("phx", Era::Current);
    File::create(&log).unwrap();
    let mut follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    let (flood, mut sequence) = flood_and_follow(&follower, &log, &key, 20_000);

    follower.signal(libc::SIGTERM);
    let sent = Instant::now();
    // Bounded at 10 s so that a follower that never stops fails the test.
    let status = follower.exit_within(Duration::from_secs(10), |line| sequence.take(&line));
    let took = sent.elapsed();
    let written = flood.stop();
    assert!(status.success(), "{status}");
    // The requirement is under a second; the bound leaves room for a
    // loaded machine.
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    assert!(sequence.next < written, "the writer was ahead all along");

    // The rest, from where the state says, each line once.
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    while sequence.next < written {
        sequence.take(&follower.lines(1)[0]);
    }
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{} lines repeated", rest.len());
}

#[test]
fn sigterm_without_state_stops_promptly_on_a_whole_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let key = KeyGen::new(64).key("pha", Era::Current);
    File::create(&log).unwrap();
    let mut follower = Follower::start(&[&log, Path::new("--from-start")]);
    let (flood, mut sequence) = flood_and_follow(&follower, &log, &key, 20_000);
    follower.signal(libc::SIGTERM);
    // Each line whole: a batch that stopped mid-line is read to its end.
    let status = follower.exit_within(Duration::from_secs(10), |line| sequence.take(&line));
    assert!(status.success(), "{status}");
    assert!(sequence.next < flood.stop(), "the writer was ahead all along");
}

#[test]
fn sigkill_mid_stream_then_a_restart_loses_nothing_and_repeats_at_most_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let key = KeyGen::new(61).key("phx", Era::Current);
    File::create(&log).unwrap();
    let mut follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    let (flood, mut sequence) = flood_and_follow(&follower, &log, &key, 50_000);
    follower.signal(libc::SIGKILL);
    let mut cut = None;
    follower.exit_within(DEADLINE, |line| {
        assert!(cut.is_none(), "only the last line may be cut short");
        if line == sequence.expected(sequence.next) {
            sequence.take(&line);
        } else {
            // Killed in the middle of a write.
            assert!(sequence.expected(sequence.next).starts_with(&line), "{line:?}");
            cut = Some(line);
        }
    });
    let written = flood.stop();
    let shown = sequence.next;

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    let first = follower.lines(1).remove(0);
    let resumed = sequence.number(&first);
    assert!(resumed <= shown, "lines {shown}..{resumed} lost");
    let line_len = flood_line("a", 0, &key).len() as u64;
    let repeated = (shown - resumed) * line_len;
    assert!(repeated <= BATCH + line_len, "{repeated} bytes repeated, more than a batch");
    sequence.next = resumed;
    sequence.take(&first);
    while sequence.next < written {
        sequence.take(&follower.lines(1)[0]);
    }
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{} lines repeated", rest.len());
}

/// Whether signal `signal` is still pending for process `pid`, not yet
/// handled.
fn signal_pending(pid: u32, signal: i32) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter_map(|l| l.strip_prefix("SigPnd:").or_else(|| l.strip_prefix("ShdPnd:")))
        .filter_map(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .any(|mask| mask & (1 << (signal - 1)) != 0)
}

#[test]
fn a_second_sigterm_ends_a_follower_that_a_stalled_reader_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, phx_redact::testing::sample::log(65, 200_000, 10)).unwrap();
    // Its output is a pipe nobody reads: the first write past the pipe's
    // size blocks for good, and with it the first signal's orderly stop.
    let child = Command::new(crate::common::bin())
        .args(["--follow", "--from-start"])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Killer(child);
    let pid = child.0.id();
    // A first line out: it runs, with its signal handlers in place. Then
    // nothing more is read.
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    out.read_line(&mut String::new()).unwrap();
    let signal = |child: &Killer| {
        // SAFETY: kill(2) with a pid this test spawned and has not reaped.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
        // Two signals sent at once can merge into one: wait until this one
        // was handled before the next.
        wait_until("SIGTERM handled", || !signal_pending(child.0.id(), libc::SIGTERM));
    };
    signal(&child);
    signal(&child);
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after a second SIGTERM");
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(2), "{status}");
    drop(out);
}

/// The filter over the whole file with the same arguments: what the lines
/// of every run together must be.
fn filtered(args: &[&str], whole: &[u8]) -> Vec<u8> {
    let (status, out, err) = run(args, whole);
    assert_eq!(status, 0, "{err}");
    out
}

#[test]
fn lines_a_custom_rule_holds_at_sigterm_are_read_again_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let pattern = "BEGIN[^#]*END";
    let args = [&log, Path::new("--pattern"), Path::new(pattern), Path::new("--state"), &state];
    File::create(&log).unwrap();
    let follower = Follower::start(&args);
    wait_for_file(&state);
    // A BEGIN that is not decided yet: the lines after it are held back.
    append(&log, "before\nBEGIN hidden-one\nhidden-two\n");
    let mut seen = follower.lines(1);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    seen.extend(rest);
    assert_eq!(seen, ["before"], "the held lines wait for the next run");

    append(&log, "END tail#\nafter\n");
    let follower = Follower::start(&args);
    seen.extend(follower.lines(2));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");

    let whole = fs::read(&log).unwrap();
    let expected = filtered(&["--pattern", pattern], &whole);
    assert_eq!(seen.join("\n") + "\n", String::from_utf8(expected).unwrap());
    assert!(!seen.iter().any(|l| l.contains("hidden")), "{seen:?}");
}

/// The offset the state file holds for its first file.
fn saved_offset(state: &Path) -> Option<u64> {
    let saved: serde_json::Value = serde_json::from_str(&fs::read_to_string(state).ok()?).ok()?;
    saved["files"][0]["offset"].as_u64()
}

#[test]
fn after_a_sigkill_the_saved_offset_never_passes_lines_a_custom_rule_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let pattern = "BEGIN[^#]*END";
    let args = [&log, Path::new("--pattern"), Path::new(pattern), Path::new("--state"), &state];
    File::create(&log).unwrap();
    let mut follower = Follower::start(&args);
    wait_for_file(&state);
    append(&log, "before\nBEGIN hidden-one\nhidden-two\n");
    let mut seen = follower.lines(1);
    wait_until("the state moves", || saved_offset(&state).is_some_and(|o| o > 0));
    assert_eq!(saved_offset(&state), Some("before\n".len() as u64), "not past the BEGIN");
    follower.signal(libc::SIGKILL);
    follower.exit_within(DEADLINE, |line| seen.push(line));

    append(&log, "END tail#\nafter\n");
    let follower = Follower::start(&args);
    seen.extend(follower.lines(2));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
    let expected = filtered(&["--pattern", pattern], &fs::read(&log).unwrap());
    assert_eq!(seen.join("\n") + "\n", String::from_utf8(expected).unwrap());
}

#[test]
fn pieces_of_a_long_unfinished_line_written_before_sigterm_are_not_shipped_again() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let mut keys = KeyGen::new(60);
    // Over 64 KiB once redacted, with no newline: it goes out in pieces.
    let mut long = String::new();
    while long.len() < 200 * 1024 {
        long.push_str(&format!("word {} ", keys.secret()));
    }
    fs::write(&log, &long).unwrap();
    let args = [&log, Path::new("--from-start"), Path::new("--state"), &state];
    let follower = Follower::start(&args);
    wait_for_file(&state);
    let (status, first, _) = follower.stop();
    assert!(status.success());
    assert_eq!(first.len(), 1, "one piece, unfinished");

    append(&log, "the end\n");
    let follower = Follower::start(&args);
    let second = follower.lines(1);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");

    let joined = first[0].clone() + &second[0];
    assert!(!holds_a_token(joined.as_bytes()), "a key in clear");
    assert_eq!(vec![joined], redacted(&(long + "the end\n")), "no piece lost or repeated");
}
