//! Follow mode with the real binary: appends, rotations, signals, restarts.
//! Every wait is on an observable condition (a line out, a notice, a file),
//! with a deadline only to fail instead of hanging.

use std::{
    fs::{self, File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ExitStatus},
    sync::mpsc::{self, Receiver},
    thread,
    time::{Duration, Instant},
};

use phx_redact::sample::{Era, KeyGen};

use crate::common::{cmd, oracle};

const DEADLINE: Duration = Duration::from_secs(20);

struct Follower {
    child: Child,
    lines: Receiver<String>,
    notices: Receiver<String>,
}

impl Follower {
    fn start(args: &[&Path]) -> Follower {
        let mut child = cmd().arg("--follow").args(args).spawn().unwrap();
        Follower {
            lines: lines_of(child.stdout.take().unwrap()),
            notices: lines_of(child.stderr.take().unwrap()),
            child,
        }
    }

    /// The next `n` lines of output.
    fn lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.lines
                    .recv_timeout(DEADLINE)
                    .unwrap_or_else(|_| panic!("line {i} of {n} never came"))
            })
            .collect()
    }

    /// Waits for a notice on stderr that contains `text`.
    fn notice(&self, text: &str) -> String {
        loop {
            let notice = self
                .notices
                .recv_timeout(DEADLINE)
                .unwrap_or_else(|_| panic!("no notice {text:?}"));
            if notice.contains(text) {
                return notice;
            }
        }
    }

    /// SIGTERM, then the exit status and any lines still to come.
    fn stop(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) }, 0);
        let status = self.child.wait().unwrap();
        (status, self.lines.iter().collect(), self.notices.iter().collect())
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Line `i` of a test log: one in three holds a key.
fn line(keys: &mut KeyGen, i: usize) -> String {
    if i % 3 == 0 {
        format!("line {i} token={}\n", keys.secret())
    } else {
        format!("line {i} plain\n")
    }
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// What the lines must look like once redacted, without their newlines.
fn redacted(text: &str) -> Vec<String> {
    String::from_utf8(oracle(text.as_bytes(), false)).unwrap().lines().map(String::from).collect()
}

fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        thread::yield_now();
    }
}

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
fn rotation_by_rename_copytruncate_and_recreate_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut keys = KeyGen::new(51);
    let mut batch =
        |range: std::ops::Range<usize>| range.map(|i| line(&mut keys, i)).collect::<String>();
    let first = batch(0..10);
    fs::write(&log, &first).unwrap();
    let follower = Follower::start(&[&log, Path::new("--from-start")]);
    assert_eq!(follower.lines(10), redacted(&first));

    // logrotate's default: rename, then the application makes a new file.
    let last_of_old = batch(10..12);
    append(&log, &last_of_old);
    fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    let new_file = batch(12..20);
    append(&log, &new_file);
    assert_eq!(follower.lines(10), redacted(&(last_of_old + &new_file)));

    // copytruncate: the file is copied, then cut to nothing, and goes on.
    fs::copy(&log, dir.path().join("app.log.2")).unwrap();
    File::options().write(true).open(&log).unwrap().set_len(0).unwrap();
    follower.notice("was truncated");
    let after_truncate = batch(20..30);
    append(&log, &after_truncate);
    assert_eq!(follower.lines(10), redacted(&after_truncate));

    // Deleted, and made again later.
    fs::remove_file(&log).unwrap();
    follower.notice("has gone");
    let recreated = batch(30..40);
    append(&log, &recreated);
    assert_eq!(follower.lines(10), redacted(&recreated));

    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "nothing repeated: {rest:?}");
}

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
