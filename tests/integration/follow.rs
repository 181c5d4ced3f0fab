//! Follow mode with the real binary: appends, rotations, signals, restarts.
//! Every wait is on an observable condition (a line out, a notice, a file),
//! with a deadline only to fail instead of hanging.

use std::{
    fs::{self, File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{self, Receiver},
    },
    thread,
    time::{Duration, Instant},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{cmd, holds_a_token, oracle, run, tool};

const DEADLINE: Duration = Duration::from_secs(20);

/// A child process that is killed if the test ends before it does.
struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killer {
    /// Waits up to `limit` for the process to end, calling `meanwhile`
    /// between looks.
    fn wait_for(&mut self, limit: Duration, mut meanwhile: impl FnMut()) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            meanwhile();
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

struct Follower {
    child: Killer,
    lines: Receiver<String>,
    notices: Receiver<String>,
    /// Lines out so far, counted as the pipe is read.
    received: Arc<AtomicU64>,
}

impl Follower {
    fn start(args: &[&Path]) -> Follower {
        let mut child = cmd().arg("--follow").args(args).spawn().unwrap();
        let received = Arc::new(AtomicU64::new(0));
        Follower {
            lines: counted_lines_of(child.stdout.take().unwrap(), Some(Arc::clone(&received))),
            notices: lines_of(child.stderr.take().unwrap()),
            child: Killer(child),
            received,
        }
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.pid() as i32, signal) }, 0);
    }

    /// Waits up to `limit` for the process to end (after a signal),
    /// passing the lines that come out meanwhile to `each`.
    fn exit_within(&mut self, limit: Duration, mut each: impl FnMut(String)) -> ExitStatus {
        let lines = &self.lines;
        let status = self.child.wait_for(limit, || lines.try_iter().for_each(&mut each));
        let status = status.unwrap_or_else(|| panic!("still running {limit:?} after the signal"));
        // The rest of the pipe, to its end.
        self.lines.iter().for_each(each);
        status
    }

    /// The paths of the files the process holds open.
    fn open_files(&self) -> Vec<PathBuf> {
        let Ok(fds) = fs::read_dir(format!("/proc/{}/fd", self.pid())) else { return Vec::new() };
        fds.filter_map(|fd| fs::read_link(fd.ok()?.path()).ok()).collect()
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
        self.signal(libc::SIGTERM);
        let mut rest = Vec::new();
        let status = self.exit_within(DEADLINE, |line| rest.push(line));
        (status, rest, self.notices.iter().collect())
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    counted_lines_of(stream, None)
}

fn counted_lines_of(
    stream: impl std::io::Read + Send + 'static,
    count: Option<Arc<AtomicU64>>,
) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            if let Some(count) = &count {
                count.fetch_add(1, Ordering::Relaxed);
            }
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for `condition`, failing with `what` after the deadline.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A writer faster than the follower: numbered lines, each holding `key`,
/// kept [`Flood::AHEAD`] lines ahead of what the follower has put out (so
/// that the follower never reaches the end), until stopped.
struct Flood {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Flood {
    const AHEAD: u64 = 1_000_000;
    const CHUNK: u64 = 20_000;

    fn start(path: &Path, name: &'static str, key: &str, received: &Arc<AtomicU64>) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, written, received) =
                (Arc::clone(&stop), Arc::clone(&written), Arc::clone(received));
            let mut file = OpenOptions::new().append(true).create(true).open(path).unwrap();
            let key = key.to_string();
            thread::spawn(move || {
                // Lines of one length: a chunk is a template whose numbers
                // are rewritten in place, faster than any follower.
                let len = flood_line(name, 0, &key).len();
                let mut chunk =
                    flood_line(name, 0, &key).repeat(Flood::CHUNK as usize).into_bytes();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    if n >= received.load(Ordering::Relaxed) + Flood::AHEAD {
                        // Pacing, not synchronisation: far enough ahead.
                        thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    for (j, line) in chunk.chunks_mut(len).enumerate() {
                        let digits = &mut line[name.len() + 1..name.len() + 10];
                        let mut i = n + j as u64;
                        for d in digits.iter_mut().rev() {
                            *d = b'0' + (i % 10) as u8;
                            i /= 10;
                        }
                    }
                    file.write_all(&chunk).unwrap();
                    n += Flood::CHUNK;
                    written.store(n, Ordering::Relaxed);
                }
            })
        };
        Flood { stop, written, thread: Some(thread) }
    }

    /// Stops the writer; returns how many lines it wrote.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        self.written.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn flood_line(name: &str, i: u64, key: &str) -> String {
    format!("{name} {i:09} token={key}\n")
}

/// Checks that lines come out as `name 0`, `name 1`, ... redacted, each
/// whole and once.
struct Sequence {
    name: &'static str,
    /// What the rest of each line must be once redacted.
    redacted_tail: String,
    next: u64,
}

impl Sequence {
    fn new(name: &'static str, key: &str) -> Sequence {
        let tail = String::from_utf8(oracle(format!(" token={key}").as_bytes(), false)).unwrap();
        assert!(!tail.contains(key));
        Sequence { name, redacted_tail: tail, next: 0 }
    }

    fn expected(&self, i: u64) -> String {
        format!("{} {i:09}{}", self.name, self.redacted_tail)
    }

    fn take(&mut self, line: &str) {
        if line != self.expected(self.next) {
            let shown =
                if holds_a_token(line.as_bytes()) { "(a line holding a key)" } else { line };
            panic!("expected line {} of {}, got {shown:?}", self.next, self.name);
        }
        self.next += 1;
    }

    /// The number of a line of this sequence.
    fn number(&self, line: &str) -> u64 {
        let rest = line.strip_prefix(self.name).and_then(|l| l.strip_prefix(' ')).unwrap();
        rest[..9].parse().unwrap()
    }
}

/// Line `i` of a test log: one in three holds a key.
fn line(keys: &mut KeyGen, i: usize) -> String {
    if i.is_multiple_of(3) {
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

/// A writer that logs numbered lines (each holding `$KEY`) to `$1`, a line
/// about every millisecond, through an fd it keeps open; on SIGUSR1 (sent
/// by logrotate's postrotate) it reopens `$1`, writes 200 more lines there
/// and ends. Like most daemons, it goes on writing to the renamed file
/// until the signal is handled. (Not SIGHUP, the usual one: a shell cannot
/// trap a signal ignored when it started, and a run under `nohup` ignores
/// SIGHUP; the writer then never reopened and the test timed out.)
const ROTATING_WRITER: &str = r#"
exec 3>>"$1"
hup=0; after=-1; i=0
trap 'hup=1' USR1
echo ready
while [ "$after" -lt 200 ]; do
    if [ "$hup" = 1 ]; then hup=0; exec 3>>"$1"; after=0; fi
    printf 'line %06d token=%s\n' "$i" "$KEY" >&3
    i=$((i + 1))
    if [ "$after" -ge 0 ]; then after=$((after + 1)); fi
    sleep 0.001
done
"#;

/// Rotates `app.log` with the real logrotate while a writer keeps writing,
/// `create` (logrotate makes the new file; the writer reopens later) or
/// `nocreate` (rename only; the writer makes the new file when it reopens).
fn rotate_with_logrotate(create: bool) {
    let Some(logrotate) = tool("logrotate", "logrotate") else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().canonicalize().unwrap();
    let (log, rotated, go) =
        (dir_path.join("app.log"), dir_path.join("app.log.1"), dir_path.join("go"));
    File::create(&log).unwrap();
    let key = KeyGen::new(70).key("phx", Era::Current);
    let mut writer = Killer(
        Command::new("sh")
            .args(["-c", ROTATING_WRITER, "sh"])
            .arg(&log)
            .env("KEY", &key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The trap is set once it says so.
    let mut ready = String::new();
    BufReader::new(writer.0.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    let follower = Follower::start(&[
        &log,
        Path::new("--from-start"),
        Path::new("--rotate-wait"),
        Path::new("2"),
    ]);
    let mut seen = follower.lines(20);

    // With `create`, the signal waits for the test's go-ahead, so that the
    // writer is seen writing to the renamed file after the follower has
    // moved to the new one. (Bounded, so that a failed test ends.)
    let wait_for_go = if create {
        format!(
            "n=0; while [ ! -e '{}' ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n + 1)); done\n        ",
            go.display()
        )
    } else {
        String::new()
    };
    let conf = dir_path.join("logrotate.conf");
    fs::write(
        &conf,
        format!(
            "{} {{\n    {}\n    rotate 3\n    missingok\n    postrotate\n        {wait_for_go}kill -USR1 {}\n    endscript\n}}\n",
            log.display(),
            if create { "create" } else { "nocreate" },
            writer.0.id(),
        ),
    )
    .unwrap();
    let mut rotator = Killer(
        Command::new(logrotate)
            .arg("-f")
            .arg("-s")
            .arg(dir_path.join("logrotate.status"))
            .arg(&conf)
            .spawn()
            .unwrap(),
    );
    if create {
        // Once the old file has its new name, an open file named app.log
        // is the new one.
        wait_until("the follower opens the new file", || {
            rotated.exists() && follower.open_files().contains(&log)
        });
        // The writer still writes to the renamed file only.
        seen.extend(follower.lines(20));
        File::create(&go).unwrap();
    }
    let status = rotator.wait_for(DEADLINE, || {}).expect("logrotate ends");
    assert!(status.success(), "logrotate: {status}");
    let status = writer.wait_for(DEADLINE, || {}).expect("the writer ends");
    assert!(status.success(), "writer: {status}");

    let (old, new) = (fs::read_to_string(&rotated).unwrap(), fs::read_to_string(&log).unwrap());
    assert_eq!(new.lines().count(), 200);
    let expected_old = redacted(&old);
    let expected_new = redacted(&new);
    let total = expected_old.len() + expected_new.len();
    seen.extend(follower.lines(total - seen.len()));

    // Every line once, redacted, each file's lines in their order (the two
    // files are read side by side for a while, so they may interleave).
    let (from_old, from_new): (Vec<String>, Vec<String>) =
        seen.iter().cloned().partition(|l| expected_old.binary_search(l).is_ok());
    assert_eq!(from_old.len(), expected_old.len(), "lines of the old file lost or repeated");
    assert_eq!(from_old, expected_old);
    assert_eq!(from_new, expected_new);
    assert!(!seen.iter().any(|l| holds_a_token(l.as_bytes())));

    // Quiet for the grace period: the old file is closed.
    wait_until("the old file is closed", || !follower.open_files().contains(&rotated));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "nothing repeated: {} more lines", rest.len());
}

#[test]
fn logrotate_create_lines_written_to_the_renamed_file_after_the_switch_arrive_once() {
    rotate_with_logrotate(true);
}

#[test]
fn logrotate_rename_without_create_loses_and_repeats_nothing() {
    rotate_with_logrotate(false);
}

#[test]
fn a_rotation_while_stopped_the_rest_of_the_old_file_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let mut keys = KeyGen::new(54);
    let first: String = (0..5).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &first).unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(5), redacted(&first));
    assert!(follower.stop().0.success());

    // While nothing follows: written, rotated (renamed), a new file begun.
    let rest_of_old: String = (5..8).map(|i| line(&mut keys, i)).collect();
    append(&log, &rest_of_old);
    fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    let new: String = (8..12).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &new).unwrap();

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(7), redacted(&(rest_of_old + &new)));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
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

/// Starts a writer flooding `log` with numbered lines (name "a", holding
/// `key`) and takes the first `lines` of them from `follower`, in order.
fn flood_and_follow(follower: &Follower, log: &Path, key: &str, lines: usize) -> (Flood, Sequence) {
    let flood = Flood::start(log, "a", key, &follower.received);
    let mut sequence = Sequence::new("a", key);
    for line in follower.lines(lines) {
        sequence.take(&line);
    }
    (flood, sequence)
}

/// What the state may be behind by after a SIGKILL: one batch (1 MiB per
/// file, as `--help` says) and the line it ends in.
const BATCH: u64 = 1024 * 1024;

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
fn state_in_a_folder_that_cannot_be_written_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, "a line\n").unwrap();
    let not_a_folder = dir.path().join("a-file");
    fs::write(&not_a_folder, "").unwrap();
    let mut folders = vec![dir.path().join("missing"), not_a_folder];
    // Permissions do not stop root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let read_only = dir.path().join("read-only");
        fs::create_dir(&read_only).unwrap();
        let mut permissions = fs::metadata(&read_only).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
        fs::set_permissions(&read_only, permissions).unwrap();
        folders.push(read_only);
    }
    for folder in folders {
        let state = folder.join("state.json");
        let mut follower =
            Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
        let mut out = Vec::new();
        let status = follower.exit_within(DEADLINE, |line| out.push(line));
        assert_eq!(status.code(), Some(2), "{}", folder.display());
        assert!(out.is_empty(), "{out:?}");
        let notices: Vec<String> = follower.notices.iter().collect();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("--state"), "{notices:?}");
        assert!(notices[0].contains(&format!("{}:", folder.display())), "{notices:?}");
    }
    // The state named as a folder.
    let mut follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), dir.path()]);
    let mut out = Vec::new();
    assert_eq!(follower.exit_within(DEADLINE, |line| out.push(line)).code(), Some(2));
    assert!(out.is_empty(), "{out:?}");
    let notices: Vec<String> = follower.notices.iter().collect();
    assert!(notices[0].contains("is a folder"), "{notices:?}");
}

#[test]
fn a_key_in_a_followed_path_stays_out_of_the_state_file_and_the_notices() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyGen::new(63).key("phx", Era::Current);
    let folder = dir.path().join(format!("tenant-{key}"));
    fs::create_dir(&folder).unwrap();
    let (log, missing, state) =
        (folder.join("app.log"), folder.join("later.log"), dir.path().join("state.json"));
    fs::write(&log, "one\ntwo\n").unwrap();
    let follower =
        Follower::start(&[&log, &missing, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(2), ["one", "two"]);
    let (status, _, notices) = follower.stop();
    assert!(status.success());
    assert!(notices.iter().any(|n| n.contains("later.log")), "{notices:?}");
    assert!(!notices.iter().any(|n| holds_a_token(n.as_bytes())), "a key in a notice");
    let saved = fs::read(&state).unwrap();
    assert!(!holds_a_token(&saved), "a key in the state file");

    // The state still serves: the next run resumes where this one stopped.
    // (With rules of one's own only, the path is kept out all the same.)
    append(&log, "three\n");
    let follower = Follower::start(&[
        &log,
        Path::new("--rule=none"),
        Path::new("--pattern=one"),
        Path::new("--state"),
        &state,
    ]);
    assert_eq!(follower.lines(1), ["three"]);
    let (status, _, _) = follower.stop();
    assert!(status.success());
    assert!(!holds_a_token(&fs::read(&state).unwrap()), "a key in the state file");
    append(&log, "four\n");
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(1), ["four"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_state_file_of_the_previous_format_still_resumes() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "shown before\nnew since\n").unwrap();
    let meta = fs::metadata(&log).unwrap();
    // As versions before hashed paths wrote it: the path itself.
    let old = serde_json::json!({"files": [{
        "path": log,
        "identity": {"dev": meta.dev(), "ino": meta.ino()},
        "offset": "shown before\n".len(),
    }]});
    fs::write(&state, old.to_string()).unwrap();
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(1), ["new since"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
    let saved = fs::read_to_string(&state).unwrap();
    assert!(saved.contains("path_hash"), "rewritten in the new format: {saved}");
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

/// (dev, inode) of a file.
fn identity_of(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).unwrap();
    (meta.dev(), meta.ino())
}

#[test]
fn a_file_deleted_and_made_again_while_stopped_with_the_same_inode_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "old one\nold two\n").unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(2), ["old one", "old two"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
    let old = identity_of(&log);

    fs::remove_file(&log).unwrap();
    let new = "new first line\nnew second line\nnew third line\n";
    fs::write(&log, new).unwrap();
    let (dev, ino) = identity_of(&log);
    if (dev, ino) != old {
        // The filesystem did not reuse the inode this time: make the state
        // say what it would have said if it had (same device and inode, the
        // old file's offset and first bytes).
        eprintln!("inode not reused; the state is made to name the new one");
        let mut saved: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
        saved["files"][0]["identity"]["dev"] = dev.into();
        saved["files"][0]["identity"]["ino"] = ino.into();
        fs::write(&state, saved.to_string()).unwrap();
    }

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(3), redacted(new), "the new file from its start");
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
}

/// A state file that cannot be used: reported without its content, kept
/// aside, and the files followed from their end as without a state.
fn a_bad_state_file_is_set_aside(content: &[u8], problem: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "already there, not shown\n").unwrap();
    fs::write(&state, content).unwrap();
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    let notice = follower.notice("state.json");
    assert!(notice.contains(problem), "{notice}");
    assert!(notice.contains("state.json.corrupt-"), "says where it went: {notice}");
    assert!(!holds_a_token(notice.as_bytes()), "the content in a notice: {notice}");
    assert!(!notice.contains("not-for-eyes"), "the content in a notice: {notice}");
    let aside: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(&aside[0]).unwrap(), content, "kept as it was");

    // From the end of each file, as a first start.
    wait_for_file(&state); // saved anew once the files are open
    append(&log, "new line\n");
    assert_eq!(follower.lines(1), ["new line"]);
    let (status, rest, notices) = follower.stop();
    assert!(status.success(), "{notices:?}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(!notices.iter().any(|n| holds_a_token(n.as_bytes())), "{notices:?}");
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved["files"].is_array(), "a good state again: {saved}");
}

#[test]
fn an_empty_state_file_is_set_aside_and_following_starts() {
    a_bad_state_file_is_set_aside(b"", "empty");
}

#[test]
fn a_truncated_state_file_is_set_aside_and_following_starts() {
    let key = KeyGen::new(61).secret();
    let cut = format!("{{\"files\": [{{\"path\": \"{key} not-for-eyes");
    a_bad_state_file_is_set_aside(cut.as_bytes(), "cut short");
}

#[test]
fn a_state_file_of_garbage_is_set_aside_and_following_starts() {
    let key = KeyGen::new(62).secret();
    let mut garbage = format!("{key} not-for-eyes \u{1}\u{2}").into_bytes();
    garbage.extend_from_slice(&[0xff, 0xfe, 0, 7]);
    a_bad_state_file_is_set_aside(&garbage, "not JSON");
}

#[test]
fn a_state_file_of_the_wrong_shape_is_set_aside_and_following_starts() {
    let key = KeyGen::new(63).secret();
    let wrong = serde_json::json!({"files": [{"path": key, "identity": "not-for-eyes"}]});
    a_bad_state_file_is_set_aside(wrong.to_string().as_bytes(), "not a state file");
}

#[test]
fn a_file_rotated_out_of_reach_while_stopped_is_said_not_lost_silently() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let old = dir.path().join("old");
    fs::create_dir(&old).unwrap();
    let mut keys = KeyGen::new(56);
    let first: String = (0..5).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &first).unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(5), redacted(&first));
    assert!(follower.stop().0.success());

    // While nothing follows: written, then moved to another folder
    // (logrotate's olddir), which the next run cannot search.
    append(&log, &line(&mut keys, 5));
    fs::rename(&log, old.join("app.log.1")).unwrap();
    let new: String = (6..8).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &new).unwrap();

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(2), redacted(&new));
    let notice = follower.notice("not in its folder any more");
    assert!(notice.contains("were not read"), "{notice}");
    assert!(follower.stop().0.success());
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
fn a_second_follower_on_the_same_state_is_refused_and_the_first_keeps_its_positions() {
    let dir = tempfile::tempdir().unwrap();
    let (log, other, state) =
        (dir.path().join("app.log"), dir.path().join("other.log"), dir.path().join("state.json"));
    File::create(&log).unwrap();
    File::create(&other).unwrap();
    let first = Follower::start(&[&log, Path::new("--state"), &state]);
    wait_for_file(&state);
    // Saves that replace the state file: the lock must outlive them.
    for i in 0..3 {
        append(&log, &format!("before {i}\n"));
        assert_eq!(first.lines(1), [format!("before {i}")]);
    }
    let mut second =
        Killer(cmd().arg("--follow").arg(&other).arg("--state").arg(&state).spawn().unwrap());
    let status = second.wait_for(DEADLINE, || {}).expect("the second follower runs on");
    assert_eq!(status.code(), Some(2), "{status}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(
        err.trim_end(),
        format!(
            "phx-redact: {}: in use by another phx-redact --follow (pid {}); each follower \
             needs a state file of its own",
            state.display(),
            first.pid()
        )
    );
    let (status, ..) = first.stop();
    assert!(status.success());

    // Written while nothing followed: the restart finds its position.
    let text: String = (0..100).map(|i| format!("while down {i}\n")).collect();
    append(&log, &text);
    let restarted = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(restarted.lines(100), text.lines().collect::<Vec<_>>());
    assert!(restarted.stop().0.success());
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

/// `--state` naming a followed log (or the output) would set the log aside
/// as a state file it cannot read, then follow its own saves without end:
/// refused before anything is read or written, the log as it was.
#[test]
fn a_state_file_that_is_a_followed_log_or_the_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, "a line\n").unwrap();
    let out = crate::common::cmd()
        .args(["--follow".as_ref(), "--from-start".as_ref(), "--state".as_ref(), log.as_os_str()])
        .arg(&log)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("app.log itself; give the state a file of its own"), "{err}");
    assert_eq!(fs::read_to_string(&log).unwrap(), "a line\n");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing set aside");

    let state = dir.path().join("out.json");
    fs::write(&state, "").unwrap();
    let output = File::options().append(true).open(&state).unwrap();
    let out = crate::common::cmd()
        .args(["--follow".as_ref(), "--state".as_ref(), state.as_os_str(), log.as_os_str()])
        .stdout(output)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("<stdout> itself"), "{err}");
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
