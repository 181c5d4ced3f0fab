//! Follow mode: `tail -F` with redaction, for a sidecar beside an
//! application that logs to a file.
//!
//! Each followed file is read from where it was left, redacted, and written
//! out a whole line at a time, so that lines from several files never mix.
//! Rotation is noticed by the path naming a new file (rename and recreate,
//! or delete and recreate) or by the file shrinking (copytruncate). inotify
//! (through `notify`) wakes the loop at once; where it is not available, the
//! loop polls every [`POLL`].
//!
//! # Resuming without loss or repeats
//!
//! Only whole lines are written while following. With `--state`, the state
//! file records, for each path, the file's identity and the offset just past
//! the last whole line written; on shutdown the unfinished last line is left
//! for the next run, which starts from that offset. (The redaction of a line
//! never depends on what lies beyond its newline: no default token holds a
//! newline.) Without `--state`, shutdown writes everything read.

use std::{
    collections::HashMap,
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use notify::{RecursiveMode, Watcher};
use serde::{Deserialize, Serialize};

use crate::{Error, Redactor, RuleSet, filter::READ_SIZE};

/// The longest wait between two looks at the files when no event comes.
pub const POLL: Duration = Duration::from_millis(100);

/// How often the state file is rewritten, at most, while following.
const STATE_EVERY: Duration = Duration::from_millis(200);

/// Redacted bytes of one unfinished line kept back, at most; beyond this a
/// line goes out in pieces rather than growing memory.
pub const LINE_CAP: usize = 64 * 1024;

/// How to follow.
#[derive(Clone, Debug, Default)]
pub struct FollowOptions {
    /// Read what the files already hold, instead of starting at their end.
    pub from_start: bool,
    /// Where to keep (and find) the positions to resume from.
    pub state: Option<PathBuf>,
}

/// A file's identity: a rotated file has a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    fn of(meta: &fs::Metadata) -> Identity {
        Identity { dev: meta.dev(), ino: meta.ino() }
    }
}

/// What the state file holds for one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    path: PathBuf,
    identity: Identity,
    offset: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    files: Vec<Position>,
}

/// One followed path.
struct Tail {
    path: PathBuf,
    file: Option<File>,
    identity: Option<Identity>,
    /// Bytes of the current file read so far.
    offset: u64,
    /// Offset just past the last newline read: where a restart resumes.
    committed: u64,
    redactor: Redactor,
    /// Redacted bytes of the unfinished line.
    line: Vec<u8>,
    /// The path is gone and this has been said.
    reported_missing: bool,
}

/// Follows `paths` until `stop` is set, writing redacted whole lines to
/// `out`. Notices (a file gone, back, truncated) go to `notice`.
///
/// # Errors
///
/// [`Error::Write`] when the output fails; [`Error::Read`] when the state
/// file cannot be read or written.
pub fn follow<W: Write>(
    paths: &[PathBuf],
    rules: &Arc<RuleSet>,
    options: &FollowOptions,
    out: &mut W,
    stop: &AtomicBool,
    mut notice: impl FnMut(&Path, &str),
) -> Result<(), Error> {
    let saved = match &options.state {
        Some(state) => load_state(state)?,
        None => HashMap::new(),
    };
    let mut tails: Vec<Tail> = paths
        .iter()
        .map(|path| Tail {
            path: path.clone(),
            file: None,
            identity: None,
            offset: 0,
            committed: 0,
            redactor: Redactor::new(Arc::clone(rules)),
            line: Vec::new(),
            reported_missing: false,
        })
        .collect();
    for tail in &mut tails {
        tail.open_initial(saved.get(&tail.path), options.from_start, &mut notice);
    }

    // inotify on the folders, so that creation, renames and writes wake the
    // loop; without it (no inotify, too many watches) the timeout polls.
    let (tx, rx) = mpsc::channel();
    let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        let _ = tx.send(());
    });
    let _watcher = watcher.ok().and_then(|mut w| {
        let mut folders: Vec<PathBuf> = paths.iter().map(|p| folder_of(p)).collect();
        folders.dedup();
        folders.iter().all(|f| w.watch(f, RecursiveMode::NonRecursive).is_ok()).then_some(w)
    });

    let mut buf = vec![0; READ_SIZE];
    let mut last_saved: Vec<(Option<Identity>, u64)> = Vec::new();
    let mut saved_at = None;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        for tail in &mut tails {
            tail.poll(&mut buf, out, &mut notice)?;
        }
        out.flush().map_err(Error::Write)?;
        if let Some(state) = &options.state {
            // Saved as it goes (at most every STATE_EVERY, so that a busy log
            // does not mean a rename per write), so that even a kill repeats
            // little; and always on the way out.
            let now: Vec<_> = tails.iter().map(|t| (t.identity, t.committed)).collect();
            let due = saved_at.is_none_or(|at: Instant| at.elapsed() >= STATE_EVERY);
            if stopping || (now != last_saved && due) {
                save_state(state, &tails, stopping)?;
                last_saved = now;
                saved_at = Some(Instant::now());
            }
        }
        if stopping {
            break;
        }
        // Events come in bursts; one wake-up serves them all.
        if rx.recv_timeout(POLL).is_ok() {
            while rx.try_recv().is_ok() {}
        }
    }
    if options.state.is_none() {
        // No next run will pick up an unfinished line: write it now.
        for tail in &mut tails {
            tail.end_file(out)?;
        }
        out.flush().map_err(Error::Write)?;
    }
    Ok(())
}

impl Tail {
    /// Opens the file at start-up: where the state says, else at its end
    /// (or start).
    fn open_initial(
        &mut self,
        saved: Option<&Position>,
        from_start: bool,
        notice: &mut impl FnMut(&Path, &str),
    ) {
        let Ok(file) = File::open(&self.path) else {
            notice(&self.path, "does not exist (yet); waiting for it");
            self.reported_missing = true;
            return;
        };
        let Ok(meta) = file.metadata() else { return };
        let identity = Identity::of(&meta);
        let offset = match saved {
            // The same file as when the last run stopped, not shrunk.
            Some(p) if p.identity == identity && p.offset <= meta.len() => p.offset,
            // A new file since the last run: all of it is new.
            Some(_) => 0,
            None if from_start => 0,
            None => meta.len(),
        };
        self.attach(file, identity, offset);
    }

    fn attach(&mut self, mut file: File, identity: Identity, offset: u64) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            self.file = Some(file);
            self.identity = Some(identity);
            self.offset = offset;
            self.committed = offset;
        }
    }

    /// Reads what is new, and follows the path to a new file if it was
    /// rotated.
    fn poll<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<(), Error> {
        // Drain the file we hold first: after a rename, the rest of the old
        // file comes before the new one.
        self.drain(buf, out)?;
        match fs::metadata(&self.path) {
            Err(_) => {
                if !self.reported_missing {
                    notice(&self.path, "has gone; waiting for it to come back");
                    self.reported_missing = true;
                }
            }
            Ok(meta) => {
                if self.reported_missing && self.file.is_some() {
                    notice(&self.path, "is back");
                }
                let identity = Identity::of(&meta);
                if self.identity != Some(identity) {
                    // Rotated (or first seen): finish the old file, then read
                    // the new one from its start.
                    self.end_file(out)?;
                    if let Ok(file) = File::open(&self.path) {
                        self.attach(file, identity, 0);
                        self.reported_missing = false;
                        self.drain(buf, out)?;
                    }
                } else if meta.len() < self.offset {
                    notice(&self.path, "was truncated; reading it again from the start");
                    self.end_file(out)?;
                    if let Some(file) = self.file.take() {
                        self.attach(file, identity, 0);
                    }
                    self.drain(buf, out)?;
                } else {
                    self.reported_missing = false;
                }
            }
        }
        Ok(())
    }

    /// Reads the held file to its current end, writing whole lines.
    fn drain<W: Write>(&mut self, buf: &mut [u8], out: &mut W) -> Result<(), Error> {
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        loop {
            let n = match file.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A read error on a followed file (it went away under us) is
                // like its end: the path is looked at again next time.
                Err(_) => return Ok(()),
            };
            let chunk = &buf[..n];
            self.redactor.feed(chunk, &mut self.line).map_err(Error::Write)?;
            self.offset += n as u64;
            if let Some(i) = memchr::memrchr(b'\n', chunk) {
                self.committed = self.offset - (n - i - 1) as u64;
            }
            // Whole lines go out; the unfinished one waits, up to the cap.
            let keep_from = match memchr::memrchr(b'\n', &self.line) {
                Some(i) => i + 1,
                None => 0,
            };
            let keep_from =
                if self.line.len() - keep_from > LINE_CAP { self.line.len() } else { keep_from };
            out.write_all(&self.line[..keep_from]).map_err(Error::Write)?;
            self.line.drain(..keep_from);
        }
    }

    /// Ends the current file's stream: its unfinished line goes out as it is.
    fn end_file<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        self.redactor.finish(&mut self.line).map_err(Error::Write)?;
        out.write_all(&self.line).map_err(Error::Write)?;
        self.line.clear();
        self.committed = self.offset;
        Ok(())
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn load_state(path: &Path) -> Result<HashMap<PathBuf, Position>, Error> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::Read(e)),
    };
    let state: State = serde_json::from_str(&text).map_err(|e| {
        Error::Read(io::Error::new(io::ErrorKind::InvalidData, format!("state file: {e}")))
    })?;
    Ok(state.files.into_iter().map(|p| (p.path.clone(), p)).collect())
}

/// Writes the state atomically (a temporary file renamed over it); synced
/// when `durable`, at shutdown.
fn save_state(path: &Path, tails: &[Tail], durable: bool) -> Result<(), Error> {
    let files = tails
        .iter()
        .filter_map(|t| {
            let identity = t.identity?;
            Some(Position { path: t.path.clone(), identity, offset: t.committed })
        })
        .collect();
    let text = serde_json::to_vec_pretty(&State { files }).expect("the state serialises");
    let mut temp = tempfile::Builder::new()
        .prefix(crate::scrub::TEMP_PREFIX)
        .suffix(crate::scrub::TEMP_SUFFIX)
        .tempfile_in(folder_of(path))
        .map_err(Error::Write)?;
    temp.write_all(&text).map_err(Error::Write)?;
    if durable {
        temp.as_file().sync_all().map_err(Error::Write)?;
    }
    temp.persist(path).map_err(|e| Error::Write(e.error))?;
    Ok(())
}
