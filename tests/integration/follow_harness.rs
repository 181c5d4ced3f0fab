//! What the follow-mode tests share: a follower run as the real binary
//! (its output and notices read as they come), writers faster than it,
//! and checks of what comes out. Every wait is on an observable condition
//! (a line out, a notice, a file), with a deadline only to fail instead of
//! hanging.

use std::{
    fs::{self, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, ExitStatus},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{self, Receiver},
    },
    thread,
    time::{Duration, Instant},
};

use phx_redact::testing::sample::KeyGen;

use crate::common::{cmd, holds_a_token, oracle};

pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// A child process that is killed if the test ends before it does.
pub(crate) struct Killer(pub(crate) Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killer {
    /// Waits up to `limit` for the process to end, calling `meanwhile`
    /// between looks.
    pub(crate) fn wait_for(
        &mut self,
        limit: Duration,
        mut meanwhile: impl FnMut(),
    ) -> Option<ExitStatus> {
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

pub(crate) struct Follower {
    pub(crate) child: Killer,
    pub(crate) lines: Receiver<String>,
    pub(crate) notices: Receiver<String>,
    /// Lines out so far, counted as the pipe is read.
    pub(crate) received: Arc<AtomicU64>,
}

impl Follower {
    pub(crate) fn start(args: &[&Path]) -> Follower {
        let mut child = cmd().arg("--follow").args(args).spawn().unwrap();
        let received = Arc::new(AtomicU64::new(0));
        Follower {
            lines: counted_lines_of(child.stdout.take().unwrap(), Some(Arc::clone(&received))),
            notices: lines_of(child.stderr.take().unwrap()),
            child: Killer(child),
            received,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.0.id()
    }

    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.pid() as i32, signal) }, 0);
    }

    /// Waits up to `limit` for the process to end (after a signal),
    /// passing the lines that come out meanwhile to `each`.
    pub(crate) fn exit_within(
        &mut self,
        limit: Duration,
        mut each: impl FnMut(String),
    ) -> ExitStatus {
        let lines = &self.lines;
        let status = self.child.wait_for(limit, || lines.try_iter().for_each(&mut each));
        let status = status.unwrap_or_else(|| panic!("still running {limit:?} after the signal"));
        // The rest of the pipe, to its end.
        self.lines.iter().for_each(each);
        status
    }

    /// The paths of the files the process holds open.
    pub(crate) fn open_files(&self) -> Vec<PathBuf> {
        let Ok(fds) = fs::read_dir(format!("/proc/{}/fd", self.pid())) else { return Vec::new() };
        fds.filter_map(|fd| fs::read_link(fd.ok()?.path()).ok()).collect()
    }

    /// The next `n` lines of output.
    pub(crate) fn lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.lines
                    .recv_timeout(DEADLINE)
                    .unwrap_or_else(|_| panic!("line {i} of {n} never came"))
            })
            .collect()
    }

    /// Waits for a notice on stderr that contains `text`.
    pub(crate) fn notice(&self, text: &str) -> String {
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

    /// A follower of an empty `app.log` in a new folder (kept while it
    /// runs), with its `--state` there, once it has saved that (from then
    /// on it reads what is appended): the folder, the log and the follower.
    pub(crate) fn on_empty_log() -> (tempfile::TempDir, PathBuf, Follower) {
        let dir = tempfile::tempdir().unwrap();
        let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
        fs::write(&log, "").unwrap();
        let follower = Follower::start(&[&log, Path::new("--state"), &state]);
        wait_for_file(&state);
        (dir, log, follower)
    }

    /// [`Follower::stop`], which must end it well, with no line left and no
    /// notice that holds `secret`.
    pub(crate) fn stop_clean(self, secret: &str) {
        let (status, rest, notices) = self.stop();
        assert!(status.success(), "{status:?}: {notices:?}");
        assert_eq!(rest, Vec::<String>::new());
        assert!(!notices.iter().any(|n| n.contains(secret)), "{notices:?}");
    }

    /// SIGTERM, then the exit status and any lines still to come.
    pub(crate) fn stop(mut self) -> (ExitStatus, Vec<String>, Vec<String>) {
        self.signal(libc::SIGTERM);
        let mut rest = Vec::new();
        let status = self.exit_within(DEADLINE, |line| rest.push(line));
        (status, rest, self.notices.iter().collect())
    }
}

pub(crate) fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    counted_lines_of(stream, None)
}

pub(crate) fn counted_lines_of(
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
pub(crate) fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A writer faster than the follower: numbered lines, each holding `key`,
/// kept [`Flood::AHEAD`] lines ahead of what the follower has put out (so
/// that the follower never reaches the end), until stopped.
pub(crate) struct Flood {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) written: Arc<AtomicU64>,
    pub(crate) thread: Option<thread::JoinHandle<()>>,
}

impl Flood {
    pub(crate) const AHEAD: u64 = 1_000_000;
    pub(crate) const CHUNK: u64 = 20_000;

    pub(crate) fn start(
        path: &Path,
        name: &'static str,
        key: &str,
        received: &Arc<AtomicU64>,
    ) -> Flood {
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
    pub(crate) fn stop(mut self) -> u64 {
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

pub(crate) fn flood_line(name: &str, i: u64, key: &str) -> String {
    format!("{name} {i:09} token={key}\n")
}

/// Checks that lines come out as `name 0`, `name 1`, ... redacted, each
/// whole and once.
pub(crate) struct Sequence {
    pub(crate) name: &'static str,
    /// What the rest of each line must be once redacted.
    pub(crate) redacted_tail: String,
    pub(crate) next: u64,
}

impl Sequence {
    pub(crate) fn new(name: &'static str, key: &str) -> Sequence {
        let tail = String::from_utf8(oracle(format!(" token={key}").as_bytes(), false)).unwrap();
        assert!(!tail.contains(key));
        Sequence { name, redacted_tail: tail, next: 0 }
    }

    pub(crate) fn expected(&self, i: u64) -> String {
        format!("{} {i:09}{}", self.name, self.redacted_tail)
    }

    pub(crate) fn take(&mut self, line: &str) {
        if line != self.expected(self.next) {
            let shown =
                if holds_a_token(line.as_bytes()) { "(a line holding a key)" } else { line };
            panic!("expected line {} of {}, got {shown:?}", self.next, self.name);
        }
        self.next += 1;
    }

    /// The number of a line of this sequence.
    pub(crate) fn number(&self, line: &str) -> u64 {
        let rest = line.strip_prefix(self.name).and_then(|l| l.strip_prefix(' ')).unwrap();
        rest[..9].parse().unwrap()
    }
}

/// Line `i` of a test log: one in three holds a key.
pub(crate) fn line(keys: &mut KeyGen, i: usize) -> String {
    if i.is_multiple_of(3) {
        format!("line {i} token={}\n", keys.secret())
    } else {
        format!("line {i} plain\n")
    }
}

pub(crate) fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// What the lines must look like once redacted, without their newlines.
pub(crate) fn redacted(text: &str) -> Vec<String> {
    String::from_utf8(oracle(text.as_bytes(), false)).unwrap().lines().map(String::from).collect()
}

pub(crate) fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        thread::yield_now();
    }
}

/// Starts a writer flooding `log` with numbered lines (name "a", holding
/// `key`) and takes the first `lines` of them from `follower`, in order.
pub(crate) fn flood_and_follow(
    follower: &Follower,
    log: &Path,
    key: &str,
    lines: usize,
) -> (Flood, Sequence) {
    let flood = Flood::start(log, "a", key, &follower.received);
    let mut sequence = Sequence::new("a", key);
    for line in follower.lines(lines) {
        sequence.take(&line);
    }
    (flood, sequence)
}

/// What the state may be behind by after a SIGKILL: one batch (1 MiB per
/// file, as `--help` says) and the line it ends in.
pub(crate) const BATCH: u64 = 1024 * 1024;
