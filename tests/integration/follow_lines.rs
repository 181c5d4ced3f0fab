//! Follow mode with the real binary: appended lines out, redacted and
//! whole, from one file or several, a missing file waited for, and the
//! findings side channel.

use std::{
    fs::{self, File},
    path::Path,
    sync::atomic::Ordering,
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::follow_harness::{
    DEADLINE, Follower, append, flood_and_follow, line, redacted, wait_for_file, wait_until,
};

#[test]
fn appended_lines_come_out_redacted_each_before_the_next_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "already there, not shown\n").unwrap();
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    wait_for_file(&state); // written once the files are open: ready
    let mut keys = KeyGen::new(50);
    for i in 0..5 {
        let text = line(&mut keys, i * 3);
        append(&log, &text);
        assert_eq!(follower.lines(1), redacted(&text));
    }
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_file_that_is_missing_is_reported_once_and_followed_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let (missing, present) = (dir.path().join("later.log"), dir.path().join("now.log"));
    File::create(&present).unwrap();
    // Files are opened in order: once the notice about the second is out,
    // the first is open at its end.
    let follower = Follower::start(&[&present, &missing]);
    follower.notice("later.log: does not exist (yet)");
    // Many rounds of the loop pass while lines go through the other file.
    for i in 0..5 {
        append(&present, &format!("round {i}\n"));
        assert_eq!(follower.lines(1), [format!("round {i}")]);
    }
    let key = KeyGen::new(53).key("phs", Era::Current);
    append(&missing, &format!("hello {key}\n"));
    assert_eq!(follower.lines(1), ["hello phs_[REDACTED]"]);
    let (status, _, notices) = follower.stop();
    assert!(status.success());
    assert!(!notices.iter().any(|n| n.contains("later.log")), "reported only once: {notices:?}");
}

#[test]
fn lines_of_several_files_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    File::create(&a).unwrap();
    File::create(&b).unwrap();
    let follower = Follower::start(&[&a, &b, Path::new("--from-start")]);
    let mut expected = Vec::new();
    for i in 0..200 {
        let (la, lb) =
            (format!("file a line {i}{}\n", " a".repeat(i)), format!("file b line {i}\n"));
        // Each line reaches its file in two writes, the other file's in
        // between.
        append(&a, &la[..la.len() / 2]);
        append(&b, &lb[..lb.len() / 2]);
        append(&a, &la[la.len() / 2..]);
        append(&b, &lb[lb.len() / 2..]);
        expected
            .extend([la.trim_end_matches('\n').to_string(), lb.trim_end_matches('\n').to_string()]);
    }
    let mut seen = follower.lines(expected.len());
    seen.sort();
    expected.sort();
    let mixed: Vec<&String> = seen.iter().filter(|l| expected.binary_search(l).is_err()).collect();
    assert!(mixed.is_empty(), "lines not whole: {mixed:?}");
    assert_eq!(seen, expected, "every line once");
    assert!(follower.stop().0.success());
}

#[test]
fn a_busy_file_does_not_starve_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    File::create(&a).unwrap();
    File::create(&b).unwrap();
    let key = KeyGen::new(62).key("phs", Era::Current);
    let follower = Follower::start(&[&a, &b, Path::new("--from-start")]);
    let (flood, mut sequence) = flood_and_follow(&follower, &a, &key, 20_000);
    // Lines of a already through the pipe when b's line is written.
    let before = follower.received.load(Ordering::Relaxed);
    append(&b, &format!("b says {key}\n"));
    loop {
        let line = follower.lines(1).remove(0);
        if line == "b says phs_[REDACTED]" {
            break;
        }
        sequence.take(&line);
    }
    // Measured in lines, not time: b waited for a round or two of a (a
    // batch is about 14,000 of these lines), not for a to be read to its
    // end, which the writer keeps a million lines away.
    let waited = sequence.next - before;
    assert!(waited < 200_000, "b's line waited for {waited} lines of a");
    // a was still being written (and read) all along.
    assert!(flood.written.load(Ordering::Relaxed) > sequence.next);
    flood.stop();
    let mut follower = follower;
    follower.signal(libc::SIGTERM);
    let status = follower.exit_within(DEADLINE, |line| sequence.take(&line));
    assert!(status.success());
}

#[test]
fn findings_go_to_a_side_channel_as_check_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let name_key = format!("phs_{}", "n".repeat(40));
    let folder = dir.path().join(&name_key);
    fs::create_dir(&folder).unwrap();
    let (log, state, found) =
        (folder.join("app.log"), dir.path().join("state.json"), dir.path().join("found.jsonl"));
    fs::write(&log, "before\n").unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--state"), &state, Path::new("--findings"), &found]);
    wait_for_file(&state);
    let key = format!("phx_{}", "k".repeat(40));
    append(&log, &format!("one\ntwo {key}\n"));
    assert_eq!(follower.lines(2), ["one".to_string(), "two phx_[REDACTED]".to_string()]);
    let mut text = String::new();
    wait_until("a finding in the side channel", || {
        text = fs::read_to_string(&found).unwrap_or_default();
        text.ends_with('\n')
    });
    let (status, _, _) = follower.stop();
    assert!(status.success());
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(r#"{"type":"finding","path":""#), "{text}");
    assert!(text.contains("phs_[REDACTED]/app.log"), "{text}");
    // Lines count from where this run began reading: its end, "one" is 1.
    assert!(text.contains(r#""line":2,"column":5,"#), "{text}");
    assert!(text.contains(r#""rule":"phx","mask":"phx_...kkkk""#), "{text}");
    assert!(!text.contains(&key) && !text.contains(&name_key), "{text}");
}
