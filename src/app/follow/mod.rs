//! Follow mode: `tail -F` with redaction, for a sidecar beside an
//! application that logs to a file.
//!
//! Each followed file is read from where it was left, redacted, and written
//! out a whole line at a time, so that lines from several files never mix.
//! Rotation is noticed by the path naming a new file (rename and recreate,
//! or delete and recreate) or by the file shrinking or no longer starting
//! with the same first KiB (copytruncate: a follower held up by a slow
//! reader may look again only once the file has grown past where it was
//! read to; its size then says nothing). inotify
//! (through `notify`) wakes the loop at once; where it is not available, the
//! loop polls every [`POLL`].
//!
//! # Rotation
//!
//! A writer does not move to the new file the moment the old one is
//! renamed: it reopens when it is told (logrotate's `postrotate`), a moment
//! later, and goes on writing to the renamed file until then. So the old
//! file stays open, and is read side by side with the new one, until it has
//! been quiet (nothing new in it) for [`FollowOptions::rotate_wait`]; then
//! its last unfinished line goes out and it is closed. (Fluent Bit's
//! `Rotate_Wait`; GNU `tail -F` drops those lines.) Lines of one file keep
//! their order; lines of the old and the new file may interleave.
//!
//! # Truncation
//!
//! The first KiB of each open file, and the last bytes read before the
//! offset (`TAIL_LEN` bytes), are checked after every read and at its end:
//! bytes read once the file was truncated and written again are not used,
//! as they start in the middle of a line (a key's body without its
//! prefix). The file is read again from its start, and what it held of its
//! old content (an unfinished line, lines a custom rule held) is dropped,
//! never written cut short. The rest of the old content is read from a
//! copy beside it that starts with the same KiB (copytruncate's
//! `app.log.1`); with no copy left (compressed at once), what was not read
//! is said, from which byte.
//!
//! # Sharing and links
//!
//! A state file is one follower's: `STATE.lock` beside it is locked
//! (`flock`) for the run, and a second follower on it exits 2 at once.
//! With [`FollowOptions::refuse_links`], a followed path that is a
//! symbolic link or a hard link is not opened (O_NOFOLLOW), said once, and
//! waited out until a regular file is back.
//!
//! # Fairness and stopping
//!
//! The loop reads at most [`BATCH`] bytes of each open file per round, then
//! writes, flushes, saves the state and looks at the stop flag. A file that
//! grows faster than it can be read therefore neither holds up the other
//! files nor a SIGTERM: each round takes milliseconds.
//!
//! # Resuming without loss or repeats
//!
//! Only whole lines are written while following. With `--state`, the state
//! file records, for each path, the file's identity and the offset to
//! resume from, and the same for renamed files still being read. That
//! offset is exact: it is just past the last byte whose redaction has been
//! written, which is the end of a whole line, or, when a line longer than
//! [`LINE_CAP`] went out in pieces, the end of the last piece. It never
//! passes bytes the redactor still holds (a custom rule such as
//! `BEGIN[^#]*END` may hold several lines until it knows whether they
//! match): those are read again by the next run. It is rewritten
//! atomically (a temporary file renamed over it) after every round that
//! wrote something, once the output is flushed; so a restart after a
//! SIGTERM repeats and loses nothing, and after a SIGKILL it loses nothing
//! and repeats at most the last round: at most [`BATCH`] bytes of each
//! file, and the line they end in. (The redaction of a line never depends
//! on what lies beyond its newline: no default token holds a newline.) A
//! restart also finds a file renamed while nothing followed it, by its
//! identity, in the same folder, and reads the rest of it first. Without
//! `--state`, shutdown writes everything read.
//!
//! A file's identity is its device and inode and a BLAKE3 fingerprint of
//! its first KiB ([`HEAD_LEN`] bytes; all of it, if it was shorter), as
//! Vector and Filebeat keep: a file deleted and made again while nothing
//! held it open often gets the old inode back, and must be read from its
//! start, not from the old file's offset. (A state file without the
//! fingerprint, from an older version, is trusted on the inode alone.)
//!
//! A state file that cannot be used (empty, cut short, not JSON, not a
//! state) does not keep the sidecar from starting, which under Kubernetes
//! would be a crash loop: it is reported on stderr (never its content),
//! renamed to `STATE.corrupt-SECONDS`, and each file is followed as on a
//! first start: from its end, or its start with `--from-start`.
//!
//! The state file does not hold the followed paths, which may hold a key
//! (`/logs/phx_.../app.log`): each is matched by a BLAKE3 hash of the path,
//! and shown redacted for a person reading the file.

use std::{
    collections::HashMap,
    fs::{self, File},
    io::{self, Seek, SeekFrom, Write},
    mem,
    os::unix::{
        ffi::OsStrExt,
        fs::{FileExt, MetadataExt, OpenOptionsExt},
    },
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

use crate::app::Error;
use crate::{
    Redactor, RuleSet, app::atomic::temp_in, app::filter::READ_SIZE, app::inputs::FileId,
    app::policy::MessagePolicy, io::read_retrying,
};

/// The longest wait between two looks at the files when no event comes.
pub const POLL: Duration = Duration::from_millis(100);

/// Bytes read from one file, at most, per round of the loop: what bounds
/// the time to honour a stop, the wait of the other files, and what a
/// restart after a kill may repeat.
pub const BATCH: usize = 4 * READ_SIZE;

/// How long a rotated file is kept open after its last write, by default.
pub const ROTATE_WAIT: Duration = Duration::from_secs(5);

/// At shutdown without a state, how long to wait, at most, for the end of
/// a line that a writer is in the middle of, so that only whole lines go
/// out.
const LINE_END_WAIT: Duration = Duration::from_millis(300);

/// Redacted bytes of one unfinished line kept back, at most; beyond this a
/// line goes out in pieces rather than growing memory.
pub const LINE_CAP: usize = 64 * 1024;

/// Bytes the redactor may hold while a chunk is still fed to it a line at
/// a time (see [`Reader::consume`]): more than any default token, little
/// enough that rescanning them for each line costs little.
const LINE_HOLD: u64 = 4096;

/// How to follow.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Read what the files already hold, instead of starting at their end.
    pub from_start: bool,
    /// Where to keep (and find) the positions to resume from.
    pub state: Option<PathBuf>,
    /// How long a rotated file must be quiet before it is closed.
    pub rotate_wait: Duration,
    /// Open no followed path that is a symbolic link or a hard link: a
    /// sidecar that can read more than the application must not be made
    /// to ship a file swapped in for the log.
    pub refuse_links: bool,
    /// Where each finding goes, as a JSON line (`-`: standard error).
    pub findings: Option<PathBuf>,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            from_start: false,
            state: None,
            rotate_wait: ROTATE_WAIT,
            refuse_links: false,
            findings: None,
        }
    }
}

/// Checks, before anything is read, that the state can be saved beside
/// `state`: a temporary file is made in its folder and removed.
///
/// # Errors
///
/// [`Error::Usage`] naming the folder when it is missing or not writable,
/// or when `state` is a folder itself.
pub fn check_state_folder(state: &Path) -> Result<(), Error> {
    if state.is_dir() {
        return Err(Error::Usage(format!(
            "--state {}: is a folder; name a file (it is made if missing)",
            state.display()
        )));
    }
    let folder = folder_of(state);
    let problem = match fs::metadata(&folder) {
        Err(e) => Some(e.to_string()),
        Ok(meta) if !meta.is_dir() => Some("not a folder".to_string()),
        // The kind only: tempfile's message adds the random name it tried.
        Ok(_) => temp_in(&folder).err().map(|e| io::Error::from(e.kind()).to_string()),
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::Usage(format!(
            "--state {}: cannot write in {}: {problem}; the folder must exist and be writable",
            state.display(),
            folder.display()
        ))),
    }
}

/// A file's device and inode: a rotated file has new ones. A file deleted
/// and made again while nothing held it open may get the old inode back,
/// so a restart also compares the file's first bytes ([`Head`]).
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

/// Bytes at the start of a file that its fingerprint covers, at most: what,
/// beside its inode, tells it from a file that got the inode after it was
/// deleted.
pub const HEAD_LEN: u64 = 1024;

/// A fingerprint of a file's first bytes (as Vector and Filebeat keep):
/// what tells a file from another that got its inode after it was deleted.
/// A file shorter than [`HEAD_LEN`] when it was saved is compared on the
/// bytes it had then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    /// Bytes covered: the file's length then, up to [`HEAD_LEN`].
    len: u64,
    /// BLAKE3 of those bytes, in hex.
    blake3: String,
}

impl Head {
    /// The first `len` bytes of `file` (at most [`HEAD_LEN`]), read without
    /// moving its position; `None` if it has fewer.
    fn of(file: &File, len: u64) -> Option<Head> {
        let mut buf = vec![0; len.min(HEAD_LEN) as usize];
        file.read_exact_at(&mut buf, 0).ok()?;
        Some(Head::over(&buf))
    }

    fn over(bytes: &[u8]) -> Head {
        Head { len: bytes.len() as u64, blake3: blake3::hash(bytes).to_hex().to_string() }
    }

    /// Whether `file` starts as the file this was taken of. Without a head
    /// (a state file of an older version), the identity alone decides.
    fn matches(head: Option<&Head>, file: &File) -> bool {
        head.is_none_or(|head| Head::of(file, head.len).as_ref() == Some(head))
    }
}

/// What the state file holds for one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    /// BLAKE3 of the path's bytes, in hex: what a restart matches on.
    /// (Absent in state files of older versions, which kept the path.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_hash: Option<String>,
    /// The path, redacted: for a person reading the file.
    path: String,
    /// The file the path named.
    identity: Identity,
    /// Its first bytes. (Absent in state files of older versions.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<Head>,
    /// Where to resume: just past the last byte whose redaction was written
    /// (the end of a whole line, or of a piece of a long one).
    offset: u64,
    /// Renamed files still being read, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rotated: Vec<RotatedPosition>,
}

/// Where a renamed file was left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct RotatedPosition {
    identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<Head>,
    offset: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    files: Vec<Position>,
}

/// `path` as the state file shows it: through the one message policy.
fn shown_path(path: &Path, policy: &MessagePolicy) -> String {
    String::from_utf8_lossy(&policy.redact(path.as_os_str().as_bytes())).into_owned()
}

fn path_hash(path: &Path) -> String {
    blake3::hash(path.as_os_str().as_bytes()).to_hex().to_string()
}

/// How a batch of reads ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Batch {
    /// At the budget: more is waiting.
    Budget,
    /// At the end of the file.
    End,
    /// The file no longer starts as it did: truncated (and maybe written
    /// again past where it was read to). Nothing of the last read was used.
    Truncated,
}

/// One open file being read.
struct Reader {
    file: File,
    identity: Identity,
    /// Its first bytes, once known; kept once they are [`HEAD_LEN`] long.
    head: Option<Head>,
    /// Bytes of the file read so far.
    offset: u64,
    /// Offset just past the last newline read.
    line_end: u64,
    /// Where a restart resumes: just past the last byte whose redaction
    /// has been written. Never past bytes the redactor still holds (a
    /// custom rule may hold lines), never short of a piece written.
    committed: u64,
    redactor: Redactor,
    /// Redacted bytes not yet written: the unfinished line, and lines the
    /// redactor has not let go of as a whole yet.
    line: Vec<u8>,
    /// When something was last read from it.
    last_data: Instant,
    /// The last bytes read (up to [`TAIL_LEN`]), which end at `offset`.
    tail: Vec<u8>,
}

/// How many of the last bytes read are checked, with the first KiB, before
/// a read is used: a file truncated and written again with the same first
/// KiB (a banner, lines without timestamps) is told by what now stands
/// just before the offset.
const TAIL_LEN: usize = 256;

/// One followed path: the file it names, and files it named before that
/// are still read until quiet.
struct Tail {
    path: PathBuf,
    /// See [`Position::path_hash`].
    hash: String,
    /// See [`Position::path`].
    shown: String,
    current: Option<Reader>,
    rotated: Vec<Reader>,
    /// The path is gone (or holds what is not read) and this has been
    /// said.
    reported_missing: bool,
    /// Why the path is not read, as last said: said again only when it
    /// changes (a link, then a hard link).
    said: Option<String>,
    /// See [`FollowOptions::refuse_links`].
    refuse_links: bool,
    /// Findings are recorded (`--findings`).
    record: bool,
    /// Findings of readers closed or restarted since the last drain.
    found: Vec<crate::Finding>,
}

/// Follows `paths` until `stop` is set, writing redacted whole lines to
/// `out`. Notices (a file gone, back, rotated, truncated) go to `notice`.
///
/// # Errors
///
/// [`Error::Write`] when the output fails or the state cannot be saved;
/// [`Error::Read`] when the state file cannot be read.
pub fn follow<W: Write>(
    paths: &[PathBuf],
    rules: &Arc<RuleSet>,
    options: &FollowOptions,
    out: &mut W,
    stop: &AtomicBool,
    mut notice: impl FnMut(&Path, &str),
) -> Result<(), Error> {
    // Held until the followers stops: a second one on the same state would
    // overwrite this one's positions with its own, and the next start of
    // either would find its files gone from the state.
    let _lock = options.state.as_deref().map(lock_state).transpose()?;
    let saved = match &options.state {
        Some(state) => load_state(state, &mut notice)?,
        None => HashMap::new(),
    };
    let policy = MessagePolicy::new(rules);
    let mut tails: Vec<Tail> = paths
        .iter()
        .map(|path| Tail {
            path: path.clone(),
            hash: path_hash(path),
            shown: shown_path(path, &policy),
            current: None,
            rotated: Vec::new(),
            reported_missing: false,
            said: None,
            refuse_links: options.refuse_links,
            record: options.findings.is_some(),
            found: Vec::new(),
        })
        .collect();
    let mut findings = Findings::open(options.findings.as_deref(), rules)?;
    for tail in &mut tails {
        let saved = saved.get(&tail.hash);
        tail.open_initial(saved, options.from_start, rules, &mut notice);
    }

    // inotify on the folders, so that creation, renames and writes wake the
    // loop; without it (no inotify, too many watches) the timeout polls.
    let (tx, rx) = mpsc::channel();
    let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        let _ = tx.send(());
    });
    let _watcher = watcher.ok().and_then(|mut w| {
        let mut folders: Vec<PathBuf> = paths.iter().map(|p| folder_of(p)).collect();
        folders.sort();
        folders.dedup();
        folders.iter().all(|f| w.watch(f, RecursiveMode::NonRecursive).is_ok()).then_some(w)
    });

    let mut buf = vec![0; READ_SIZE];
    let mut last_saved = None;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let mut more = false;
        for tail in &mut tails {
            more |= tail.poll(&mut buf, out, rules, options.rotate_wait, &mut notice)?;
        }
        out.flush().map_err(Error::Write)?;
        if let Some(findings) = &mut findings {
            tails.iter_mut().try_for_each(|tail| findings.drain(tail))?;
        }
        if let Some(state) = &options.state {
            // After every round that moved, once its lines are flushed: a
            // kill repeats at most this round. (The first save also tells
            // a watcher that the files are open.)
            let now = positions(&mut tails);
            if stopping || last_saved.as_ref() != Some(&now) {
                save_state(state, &now, stopping)?;
                last_saved = Some(now);
            }
        }
        if stopping {
            break;
        }
        if more {
            // A file has more than a batch waiting: next round at once.
            while rx.try_recv().is_ok() {}
            continue;
        }
        // Events come in bursts; one wake-up serves them all.
        if rx.recv_timeout(POLL).is_ok() {
            while rx.try_recv().is_ok() {}
        }
    }
    if options.state.is_none() {
        // No next run will pick up an unfinished line: write it now, read
        // to its end if a batch stopped in its middle.
        let deadline = Instant::now() + LINE_END_WAIT;
        for tail in &mut tails {
            for reader in tail.rotated.iter_mut().chain(&mut tail.current) {
                reader.read_to_line_end(&mut buf, out, deadline)?;
                reader.end_file(out)?;
            }
            if let Some(findings) = &mut findings {
                findings.drain(tail)?;
            }
        }
        out.flush().map_err(Error::Write)?;
    }
    Ok(())
}

impl Tail {
    /// The followed file's name, which its copies start with.
    fn stem(&self) -> &std::ffi::OsStr {
        self.path.file_name().unwrap_or_default()
    }

    /// Opens the file at start-up: where the state says, else at its end
    /// (or start); and renamed files the state says are owed.
    fn open_initial(
        &mut self,
        saved: Option<&Position>,
        from_start: bool,
        rules: &Arc<RuleSet>,
        notice: &mut impl FnMut(&Path, &str),
    ) {
        let opened = open_regular(&self.path, self.refuse_links).and_then(|file| {
            let meta = file.metadata().ok()?;
            Some((file, Identity::of(&meta), meta.len()))
        });
        let mut owed: Vec<(Identity, Option<&Head>, u64)> = saved
            .map(|p| p.rotated.iter().map(|r| (r.identity, r.head.as_ref(), r.offset)).collect())
            .unwrap_or_default();
        let offset = match (saved, &opened) {
            // The same file as when the last run stopped, not shrunk.
            (Some(p), Some((file, identity, len)))
                if p.identity == *identity && Head::matches(p.head.as_ref(), file) =>
            {
                if p.offset <= *len { p.offset } else { 0 }
            }
            // Another file since the last run (maybe with the old one's
            // inode): all of it is new, and the rest of the last one is
            // owed (renamed while we were stopped).
            (Some(p), _) => {
                owed.push((p.identity, p.head.as_ref(), p.offset));
                0
            }
            (None, _) if from_start => 0,
            (None, Some((_, _, len))) => *len,
            (None, None) => 0,
        };
        if !owed.is_empty() {
            let folder = folder_of(&self.path);
            let mut found =
                find_by_identity(&folder, &owed, self.refuse_links).into_iter().peekable();
            let mut open: Vec<Identity> = opened.iter().map(|(_, id, _)| *id).collect();
            for (identity, head, offset) in &owed {
                let reader = match found.next_if(|(_, id, _)| id == identity) {
                    Some((file, identity, offset)) => {
                        Reader::new(file, identity, offset, rules, self.record)
                    }
                    // Not by its inode: truncated (copytruncate) while no
                    // run was reading it? Its copy starts as it did.
                    None => self.owed_copy(&folder, *head, *offset, &open, rules, notice),
                };
                open.extend(reader.as_ref().map(|r| r.identity));
                self.rotated.extend(reader);
            }
        }
        match opened {
            Some((file, identity, _)) => {
                self.current = Reader::new(file, identity, offset, rules, self.record)
            }
            None => {
                let why = path_metadata(&self.path, self.refuse_links)
                    .ok()
                    .and_then(|meta| not_followed(&meta, self.refuse_links));
                let why = why.unwrap_or_else(|| "does not exist (yet); waiting for it".into());
                notice(&self.path, &why);
                self.reported_missing = true;
                self.said = Some(why);
            }
        }
    }

    /// The reader of a copy (copytruncate's) of a file the last run was
    /// reading, from `offset`, where it is no more by its inode; or, with
    /// none, that lines were not read, said. Never lose lines silently.
    fn owed_copy(
        &self,
        folder: &Path,
        head: Option<&Head>,
        offset: u64,
        open: &[Identity],
        rules: &Arc<RuleSet>,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Option<Reader> {
        let copy = head
            .filter(|head| head.len > 0)
            .and_then(|head| find_copy(folder, self.stem(), head, offset, open, self.refuse_links));
        let Some((file, identity, name)) = copy else {
            notice(
                &self.path,
                &format!(
                    "the file it was when the last run stopped is not in its folder any more \
                     (compressed, moved or truncated while phx-redact was stopped): lines \
                     written to it after byte {offset}, if any, were not read"
                ),
            );
            return None;
        };
        notice(
            &self.path,
            &format!(
                "was truncated while phx-redact was stopped; reading the rest of its old \
                 content, from byte {offset}, in {}, a copy of it",
                name.display()
            ),
        );
        Reader::new(file, identity, offset, rules, self.record)
    }

    /// Reads a batch of what is new in each open file, follows the path to
    /// a new file if it was rotated, and closes rotated files once quiet.
    /// Returns whether a file has more waiting than a batch.
    fn poll<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
        rules: &Arc<RuleSet>,
        rotate_wait: Duration,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<bool, Error> {
        let mut more = false;
        // The renamed files first: what is in them was mostly written
        // before what is in the new one.
        for i in 0..self.rotated.len() {
            let batch = self.rotated[i].read_batch(buf, out)?;
            more |= self.after_batch(Some(i), batch, notice);
        }
        let mut i = 0;
        while i < self.rotated.len() {
            if self.rotated[i].last_data.elapsed() >= rotate_wait {
                let mut reader = self.rotated.remove(i);
                reader.end_file(out)?;
                self.found.extend(reader.redactor.take_findings());
            } else {
                i += 1;
            }
        }
        if let Some(reader) = &mut self.current {
            let batch = reader.read_batch(buf, out)?;
            more |= self.after_batch(None, batch, notice);
        }
        let meta = match path_metadata(&self.path, self.refuse_links) {
            Ok(meta) => meta,
            Err(_) => {
                if !self.reported_missing {
                    notice(&self.path, "has gone; waiting for it to come back");
                    self.reported_missing = true;
                }
                return Ok(more);
            }
        };
        let had_file = self.current.is_some() || !self.rotated.is_empty();
        match &mut self.current {
            Some(reader) if reader.identity == Identity::of(&meta) => {
                if self.reported_missing {
                    notice(&self.path, "is back");
                }
                self.reported_missing = false;
                self.said = None;
                if meta.len() < reader.offset {
                    more |= self.after_batch(None, Batch::Truncated, notice);
                }
            }
            _ => {
                // A new file at the path (or the first one).
                let Some(file) = open_regular(&self.path, self.refuse_links) else {
                    if let Some(why) = not_followed(&meta, self.refuse_links)
                        && self.said.as_ref() != Some(&why)
                    {
                        notice(&self.path, &why);
                        self.reported_missing = true;
                        self.said = Some(why);
                    }
                    return Ok(more);
                };
                let Ok(meta) = file.metadata() else { return Ok(more) };
                let Some(mut reader) =
                    Reader::new(file, Identity::of(&meta), 0, rules, self.record)
                else {
                    return Ok(more);
                };
                if let Some(mut old) = self.current.take() {
                    notice(
                        &self.path,
                        &format!(
                            "{}; reading the new file, and the old one until it has been quiet \
                             for {:?}",
                            if self.reported_missing { "is back as a new file" } else { "rotated" },
                            rotate_wait
                        ),
                    );
                    old.last_data = Instant::now();
                    self.rotated.push(old);
                } else if self.reported_missing && had_file {
                    notice(&self.path, "is back");
                }
                self.reported_missing = false;
                self.said = None;
                let batch = reader.read_batch(buf, out)?;
                self.current = Some(reader);
                more |= self.after_batch(None, batch, notice);
            }
        }
        Ok(more)
    }

    /// Acts on how a batch of the current file (`None`) or of a rotated one
    /// ended: a truncated file is read again from its start, and the rest
    /// of its old content from a copy if there is one. Returns whether more
    /// is waiting.
    fn after_batch(
        &mut self,
        rotated: Option<usize>,
        batch: Batch,
        notice: &mut impl FnMut(&Path, &str),
    ) -> bool {
        if batch != Batch::Truncated {
            return batch == Batch::Budget;
        }
        let open: Vec<Identity> =
            self.current.iter().chain(&self.rotated).map(|r| r.identity).collect();
        let folder = folder_of(&self.path);
        let reader = match rotated {
            Some(i) => &mut self.rotated[i],
            None => self.current.as_mut().expect("a batch of the current file"),
        };
        // What it found of the old content was read: it stays found.
        let found = reader.redactor.take_findings();
        let stem = self.path.file_name().unwrap_or_default();
        let (copy, message) = reader.restart(&folder, stem, &open, self.refuse_links);
        self.found.extend(found);
        notice(&self.path, &message);
        self.rotated.extend(copy);
        true
    }
}

impl Reader {
    fn new(
        mut file: File,
        identity: Identity,
        offset: u64,
        rules: &Arc<RuleSet>,
        record: bool,
    ) -> Option<Reader> {
        file.seek(SeekFrom::Start(offset)).ok()?;
        let redactor = Redactor::new(Arc::clone(rules));
        Some(Reader {
            file,
            identity,
            head: None,
            offset,
            line_end: offset,
            committed: offset,
            redactor: if record { redactor.record_findings() } else { redactor },
            line: Vec::new(),
            last_data: Instant::now(),
            tail: Vec::new(),
        })
    }

    /// Reads the file again from its start: it was truncated, and maybe
    /// written again. What was held of its old content (an unfinished
    /// line, lines a custom rule held) is dropped, never written cut short
    /// (a key cut there would go out partly in the clear): the old content
    /// from [`Reader::committed`] on is read from a copy of the file beside
    /// it (copytruncate's), if there is one. Returns that copy's reader,
    /// and what to say.
    fn restart(
        &mut self,
        folder: &Path,
        stem: &std::ffi::OsStr,
        open: &[Identity],
        refuse_links: bool,
    ) -> (Option<Reader>, String) {
        let (from, read_to) = (self.committed, self.offset);
        let rules = Arc::clone(self.redactor.rules());
        let record = self.redactor.records_findings();
        let copy = self
            .head
            .take()
            .filter(|head| head.len > 0)
            .and_then(|head| find_copy(folder, stem, &head, from, open, refuse_links))
            .and_then(|(file, identity, name)| {
                Some((Reader::new(file, identity, from, &rules, record)?, name))
            });
        if self.file.seek(SeekFrom::Start(0)).is_ok() {
            self.offset = 0;
        }
        self.line_end = self.offset;
        self.committed = self.offset;
        let redactor = Redactor::new(rules);
        self.redactor = if record { redactor.record_findings() } else { redactor };
        self.line.clear();
        self.tail.clear();
        self.last_data = Instant::now();
        let message = match &copy {
            Some((_, name)) => format!(
                "was truncated; reading its old content from byte {from} on in {}, a copy \
                 of it, and the file again from its start",
                name.display()
            ),
            None => {
                let held = if read_to > from {
                    format!(
                        " (bytes {from} to {read_to}, an unfinished line, were read but not written)"
                    )
                } else {
                    String::new()
                };
                format!(
                    "was truncated; lines of its old content after byte {from}, if it had any, \
                     were not read{held}: no copy of it is in its folder (compressed or moved \
                     already); reading it again from its start"
                )
            }
        };
        (copy.map(|(reader, _)| reader), message)
    }

    /// Whether the file still starts as it did: a file truncated and
    /// written again past where it was read to (copytruncate while a slow
    /// reader held up the writes) does not, whatever its size says. The
    /// fingerprint grows with the file up to [`HEAD_LEN`], checked on the
    /// bytes it had, in one read.
    fn unchanged(&mut self) -> bool {
        let mut buf = [0; HEAD_LEN as usize];
        let mut n = 0;
        while n < buf.len() {
            match self.file.read_at(&mut buf[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Gone from under us: the path is looked at next.
                Err(_) => return true,
            }
        }
        let known = self.head.as_ref().map_or(0, |head| head.len as usize);
        if n < known || self.head.as_ref().is_some_and(|head| Head::over(&buf[..known]) != *head) {
            return false;
        }
        if n > known || self.head.is_none() {
            self.head = Some(Head::over(&buf[..n]));
        }
        self.tail_unchanged()
    }

    /// Whether the bytes just before the offset are still the last bytes
    /// read.
    fn tail_unchanged(&self) -> bool {
        let mut buf = [0; TAIL_LEN];
        let buf = &mut buf[..self.tail.len()];
        let Some(at) = self.offset.checked_sub(self.tail.len() as u64) else { return false };
        let mut n = 0;
        while n < buf.len() {
            match self.file.read_at(&mut buf[n..], at + n as u64) {
                Ok(0) => return false,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        *buf == *self.tail
    }

    /// Reads up to [`BATCH`] bytes, writing whole lines.
    fn read_batch<W: Write>(&mut self, buf: &mut [u8], out: &mut W) -> Result<Batch, Error> {
        self.read_upto(BATCH, buf, out)
    }

    /// Reads on, a little at a time, to the end of the line the last batch
    /// stopped in, or [`LINE_CAP`] bytes on. At the end of the file with
    /// the line unfinished, and the file written to within
    /// [`LINE_END_WAIT`], the writer is most likely in the middle of that
    /// line: its end is waited for, until `deadline`.
    fn read_to_line_end<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
        deadline: Instant,
    ) -> Result<(), Error> {
        let start = self.offset;
        while self.line_end != self.offset && self.offset - start < LINE_CAP as u64 {
            let want = buf.len().min(4096);
            let n = match read_retrying(&mut self.file, &mut buf[..want]) {
                Ok(0) => {
                    if Instant::now() >= deadline || self.last_data.elapsed() >= LINE_END_WAIT {
                        break;
                    }
                    // No event says a write is done; a short wait is the way.
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                Ok(n) => n,
                Err(_) => break,
            };
            if !self.unchanged() {
                // What was read may be the new content's: not written.
                break;
            }
            // Up to the newline only: what follows is the next line, which
            // would go out cut short.
            let take = memchr::memchr(b'\n', &buf[..n]).map_or(n, |i| i + 1);
            self.consume(&buf[..take], out)?;
        }
        Ok(())
    }

    /// Reads up to `budget` bytes, writing whole lines.
    ///
    /// The file's first bytes are checked after each read, and at its end:
    /// a read that a blocked write held up may come after the file was
    /// truncated and written again past this offset, and then it is in
    /// the middle of a line of the new content (a key's body without its
    /// prefix). Bytes read before a check that fails are not used.
    fn read_upto<W: Write>(
        &mut self,
        mut budget: usize,
        buf: &mut [u8],
        out: &mut W,
    ) -> Result<Batch, Error> {
        while budget > 0 {
            let want = buf.len().min(budget);
            let n = match read_retrying(&mut self.file, &mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                // A read error on a followed file (it went away under us) is
                // like its end: the path is looked at again next time.
                Err(_) => return Ok(Batch::End),
            };
            if !self.unchanged() {
                return Ok(Batch::Truncated);
            }
            budget -= n;
            self.consume(&buf[..n], out)?;
        }
        if budget > 0 {
            // At the end: cut to nothing, or to less than was read?
            return Ok(if self.unchanged() { Batch::End } else { Batch::Truncated });
        }
        Ok(Batch::Budget)
    }

    /// Redacts `chunk`, the next bytes of the file, writing whole lines.
    ///
    /// What goes out always ends where the redactor has written all it was
    /// fed, so that [`Reader::committed`] is exact: a restart from there
    /// neither repeats what went out nor skips what the redactor held.
    fn consume<W: Write>(&mut self, chunk: &[u8], out: &mut W) -> Result<(), Error> {
        self.last_data = Instant::now();
        let keep = chunk.len().min(TAIL_LEN);
        let drop = (self.tail.len() + keep).saturating_sub(TAIL_LEN);
        self.tail.drain(..drop);
        self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        // Fed a line at a time: after a newline that leaves nothing
        // unwritten in the redactor (always, with rules that match no
        // newline), the redacted bytes end a whole line, and a restart
        // can resume just past that newline. Once the redactor holds more
        // than [`LINE_HOLD`] (a custom rule spanning lines), the lines left
        // go in one call: each call rescans what is held, and a line at a
        // time would make a long hold cost its square.
        let mut whole: Option<(u64, usize)> = None;
        let mut rest = chunk;
        while !rest.is_empty() {
            let take = match memchr::memchr(b'\n', rest) {
                None => rest.len(),
                Some(i) if self.redactor.unwritten() <= LINE_HOLD => i + 1,
                Some(_) => memchr::memrchr(b'\n', rest).map_or(rest.len(), |i| i + 1),
            };
            let (piece, after) = rest.split_at(take);
            self.redactor.feed(piece, &mut self.line).map_err(Error::Write)?;
            self.offset += piece.len() as u64;
            if piece.ends_with(b"\n") && self.redactor.unwritten() == 0 {
                whole = Some((self.offset, self.line.len()));
            }
            rest = after;
        }
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            self.line_end = self.offset - (chunk.len() - i - 1) as u64;
        }
        if let Some((at, len)) = whole {
            out.write_all(&self.line[..len]).map_err(Error::Write)?;
            self.line.drain(..len);
            self.committed = at;
        }
        // Past the cap, an unfinished line (or lines a custom rule holds)
        // goes out as far as the redactor has decided; a restart goes on
        // from the first byte it has not.
        if self.line.len() > LINE_CAP {
            out.write_all(&self.line).map_err(Error::Write)?;
            self.line.clear();
            self.committed = self.offset - self.redactor.unwritten();
        }
        Ok(())
    }

    /// The file's first bytes, read again until there are [`HEAD_LEN`] of
    /// them (a short file still grows).
    fn head(&mut self) -> Option<Head> {
        if self.head.as_ref().is_none_or(|h| h.len < HEAD_LEN) {
            // A change is acted on by the next read; till then the head
            // of the content read so far is the one to keep.
            self.unchanged();
        }
        self.head.clone()
    }

    /// Ends the file's stream: its unfinished line goes out as it is.
    fn end_file<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        self.redactor.finish(&mut self.line).map_err(Error::Write)?;
        out.write_all(&self.line).map_err(Error::Write)?;
        self.line.clear();
        self.line_end = self.offset;
        self.committed = self.offset;
        Ok(())
    }
}

/// Where `--findings` writes: each finding as a JSON line, as `--check
/// --json` writes it.
struct Findings {
    out: Box<dyn Write>,
    rules: Arc<RuleSet>,
    policy: MessagePolicy,
    rule_names: Vec<String>,
}

impl Findings {
    /// Opens `path` to append to (`-`: standard error), if findings are
    /// asked for.
    fn open(path: Option<&Path>, rules: &Arc<RuleSet>) -> Result<Option<Findings>, Error> {
        let Some(path) = path else { return Ok(None) };
        let out: Box<dyn Write> = if path.as_os_str() == "-" {
            Box::new(io::stderr())
        } else {
            let file = fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(path)
                .map_err(Error::Write)?;
            Box::new(file)
        };
        let policy = MessagePolicy::new(rules);
        let rule_names = crate::app::audit::rule_names(rules, &policy);
        Ok(Some(Findings { out, rules: Arc::clone(rules), policy, rule_names }))
    }

    /// Writes what `tail`'s readers found since the last drain, in one
    /// write (lines of two followers on one file never mix).
    fn drain(&mut self, tail: &mut Tail) -> Result<(), Error> {
        let mut found = mem::take(&mut tail.found);
        for reader in tail.rotated.iter_mut().chain(&mut tail.current) {
            found.extend(reader.redactor.take_findings());
        }
        if found.is_empty() {
            return Ok(());
        }
        let name = self.policy.printed_name(tail.path.as_os_str().as_bytes());
        let mut text = Vec::new();
        for f in &found {
            let mut line =
                crate::app::audit::JsonFinding::new(&name.json, f, &self.rules, &self.rule_names);
            line.path_base64 = name.json_base64.as_deref();
            serde_json::to_writer(&mut text, &line).map_err(|e| Error::Write(e.into()))?;
            text.push(b'\n');
        }
        self.out.write_all(&text).and_then(|()| self.out.flush()).map_err(Error::Write)
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Opens `path` if it is a regular file. Whatever else a rotation (or a
/// hostile user) leaves at a followed path is taken as no file yet: a FIFO
/// would block the open until a writer came, and SIGTERM with it, and a
/// device never ends. With `refuse_links`, a symbolic link is not opened
/// (O_NOFOLLOW: no race between a look and the open), nor a file with more
/// than one name (a hard link to a file the writer could not read).
fn open_regular(path: &Path, refuse_links: bool) -> Option<File> {
    let nofollow = if refuse_links { libc::O_NOFOLLOW } else { 0 };
    let file =
        File::options().read(true).custom_flags(libc::O_NONBLOCK | nofollow).open(path).ok()?;
    // O_NONBLOCK changes nothing for a regular file's reads.
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    if refuse_links {
        // The count of names is read after the open, and a second name can
        // go between the open and that read (the hard link to a file the
        // writer could not read, removed at once): the path must still
        // name the file opened, and both must have one name.
        let at_path = fs::symlink_metadata(path).ok()?;
        let same = at_path.dev() == meta.dev() && at_path.ino() == meta.ino();
        if !same || meta.nlink() > 1 || at_path.nlink() > 1 {
            return None;
        }
    }
    Some(file)
}

/// Why the thing at a followed path (as `lstat` sees it, with
/// `refuse_links`) is not read, if it is not; said once, until a file is
/// back.
fn not_followed(meta: &fs::Metadata, refuse_links: bool) -> Option<String> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        Some("is a symbolic link; not read (--refuse-links); waiting for a regular file".into())
    } else if !kind.is_file() {
        let kind = crate::app::scrub::kind_name(kind);
        Some(format!("is a {kind}, not a log file; waiting for one"))
    } else if refuse_links && meta.nlink() > 1 {
        Some(format!(
            "has {} names (hard links); not read (--refuse-links); waiting for a file of its own",
            meta.nlink()
        ))
    } else {
        None
    }
}

/// The metadata of a followed path: of the link itself with
/// `refuse_links`, which never reads through one.
fn path_metadata(path: &Path, refuse_links: bool) -> io::Result<fs::Metadata> {
    if refuse_links { fs::symlink_metadata(path) } else { fs::metadata(path) }
}

/// A copy of a truncated file beside it (copytruncate's `app.log.1`): a
/// regular file of its folder named after it (`stem` and `.`, `-` or `_`:
/// `app.log.1`, `app.log-20261205`), none of those in `open` nor the
/// output (a follower writing into the log's folder would otherwise read
/// its own output back as the copy, without end), that starts with `head`
/// and holds at least `from` bytes. Returns it with its name (the first in
/// name order, if several).
fn find_copy(
    folder: &Path,
    stem: &std::ffi::OsStr,
    head: &Head,
    from: u64,
    open: &[Identity],
    refuse_links: bool,
) -> Option<(File, Identity, PathBuf)> {
    use std::os::unix::ffi::OsStrExt;
    let stem = stem.as_bytes();
    let named_after = |name: &std::ffi::OsStr| {
        let name = name.as_bytes();
        name.len() > stem.len()
            && name.starts_with(stem)
            && matches!(name[stem.len()], b'.' | b'-' | b'_')
    };
    let output = FileId::of_stdout();
    let mut names: Vec<PathBuf> = fs::read_dir(folder)
        .ok()?
        .flatten()
        .filter(|e| named_after(&e.file_name()))
        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() >= from))
        .filter(|e| output.is_none() || FileId::of_path(&e.path()) != output)
        .filter(|e| e.metadata().is_ok_and(|m| !open.contains(&Identity::of(&m))))
        .map(|e| e.path())
        .collect();
    names.sort();
    names.into_iter().find_map(|path| {
        let file = open_regular(&path, refuse_links)?;
        let meta = file.metadata().ok()?;
        let identity = Identity::of(&meta);
        (!open.contains(&identity) && meta.len() >= from && Head::matches(Some(head), &file))
            .then_some((file, identity, path))
    })
}

/// Opens the files in `folder` that have the identities and first bytes
/// in `owed` (files renamed in place, as logrotate does without `olddir`),
/// with the offsets they go with, in the order of `owed`. A file shorter
/// than its offset (truncated, or another file) is passed over.
fn find_by_identity(
    folder: &Path,
    owed: &[(Identity, Option<&Head>, u64)],
    refuse_links: bool,
) -> Vec<(File, Identity, u64)> {
    let Ok(entries) = fs::read_dir(folder) else { return Vec::new() };
    let mut found: Vec<(usize, File, Identity, u64)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let identity = Identity::of(&meta);
        let Some(i) = owed.iter().position(|(id, ..)| *id == identity) else { continue };
        let (_, head, offset) = owed[i];
        if !meta.is_file() || meta.len() < offset {
            continue;
        }
        // The identity again from the open file: the name may have moved on.
        if let Some(file) = open_regular(&entry.path(), refuse_links)
            && file.metadata().is_ok_and(|m| Identity::of(&m) == identity)
            && Head::matches(head, &file)
        {
            found.push((i, file, identity, offset));
        }
    }
    found.sort_by_key(|(i, ..)| *i);
    found.into_iter().map(|(_, file, identity, offset)| (file, identity, offset)).collect()
}

/// Reads the state file. One that cannot be used (empty, cut short, not
/// JSON, not a state) must not keep the sidecar from starting, or a
/// restarting pod would fail forever: it is reported, renamed aside for a
/// person to look at, and the files are followed as on a first start
/// (from their end, or their start with `--from-start`).
///
/// # Errors
///
/// [`Error::Read`] when the file is there but cannot be read.
fn load_state(
    path: &Path,
    notice: &mut impl FnMut(&Path, &str),
) -> Result<HashMap<String, Position>, Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::Read(e)),
    };
    let state: State = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            // Never serde's own message: it quotes the content, which may
            // hold anything (a key in a path).
            let at = format!("line {}, column {}", e.line(), e.column());
            let problem = if bytes.iter().all(u8::is_ascii_whitespace) {
                "it is empty".to_string()
            } else if e.is_eof() {
                format!("it is cut short at {at} (truncated JSON)")
            } else if e.is_data() {
                format!("it is JSON but not a state file (at {at})")
            } else {
                format!("it is not JSON (at {at})")
            };
            let moved = match set_aside(path) {
                Ok(aside) => format!("moved it to {}", aside.display()),
                Err(e) => format!(
                    "could not move it aside ({}); it will be replaced",
                    io::Error::from(e.kind())
                ),
            };
            notice(
                path,
                &format!(
                    "not a usable state file: {problem}; {moved}; following each file as on a \
                     first start (from its end, or its start with --from-start)"
                ),
            );
            return Ok(HashMap::new());
        }
    };
    Ok(state
        .files
        .into_iter()
        .map(|p| {
            // Older state files kept the path itself.
            let hash = p.path_hash.clone().unwrap_or_else(|| path_hash(Path::new(&p.path)));
            (hash, p)
        })
        .collect())
}

/// Takes the lock on the state file `state`: an advisory lock (`flock`)
/// on `STATE.lock` beside it, which holds the pid of its holder. Not on
/// the state file itself, which each save replaces (a new inode, that a
/// second follower could lock at the same time).
///
/// # Errors
///
/// [`Error::Usage`] naming the state when another follower holds it;
/// [`Error::Write`] when the lock file cannot be made or locked.
pub fn lock_state(state: &Path) -> Result<File, Error> {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    let mut lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(PathBuf::from(name))
        .map_err(Error::Write)?;
    match lock.try_lock() {
        Ok(()) => {
            // For the message of the next follower refused, and a person.
            lock.set_len(0).map_err(Error::Write)?;
            lock.write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(Error::Write)?;
            Ok(lock)
        }
        Err(fs::TryLockError::WouldBlock) => {
            let holder = io::read_to_string(&lock).unwrap_or_default();
            let holder = match holder.trim().parse::<u32>() {
                Ok(pid) => format!(" (pid {pid})"),
                Err(_) => String::new(),
            };
            Err(Error::Usage(format!(
                "{}: in use by another phx-redact --follow{holder}; each follower needs a \
                 state file of its own",
                state.display()
            )))
        }
        Err(fs::TryLockError::Error(e)) => Err(Error::Write(e)),
    }
}

/// Renames a bad state file to `STATE.corrupt-SECONDS` (since the epoch),
/// `-1`, `-2`... on if that is taken; returns the new name.
fn set_aside(path: &Path) -> io::Result<PathBuf> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{now}"));
    let mut aside = PathBuf::from(&name);
    let mut n = 0;
    while aside.symlink_metadata().is_ok() {
        n += 1;
        let mut next = name.clone();
        next.push(format!("-{n}"));
        aside = PathBuf::from(next);
    }
    fs::rename(path, &aside)?;
    Ok(aside)
}

/// What the state file is to hold now.
fn positions(tails: &mut [Tail]) -> Vec<Position> {
    tails
        .iter_mut()
        .filter_map(|t| {
            let current_identity = t.current.as_ref().or(t.rotated.last())?.identity;
            let rotated = t
                .rotated
                .iter_mut()
                .filter(|r| r.identity != current_identity)
                .map(|r| RotatedPosition {
                    identity: r.identity,
                    head: r.head(),
                    offset: r.committed,
                })
                .collect();
            let current = t.current.as_mut().or(t.rotated.last_mut())?;
            Some(Position {
                path_hash: Some(t.hash.clone()),
                path: t.shown.clone(),
                identity: current.identity,
                head: current.head(),
                offset: current.committed,
                rotated,
            })
        })
        .collect()
}

/// Writes the state atomically (a temporary file renamed over it); synced
/// when `durable`, at shutdown.
fn save_state(path: &Path, files: &[Position], durable: bool) -> Result<(), Error> {
    let files = files.to_vec();
    let text = serde_json::to_vec_pretty(&State { files }).expect("the state serialises");
    let mut temp = temp_in(&folder_of(path)).map_err(Error::Write)?;
    temp.write_all(&text).map_err(Error::Write)?;
    if durable {
        temp.as_file().sync_all().map_err(Error::Write)?;
    }
    temp.persist(path).map_err(|e| Error::Write(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    #[test]
    fn unwritten_bytes_of_a_custom_rule_spanning_lines_are_never_passed() {
        let rules = Arc::new(RuleSet::new(vec![Rule::custom("b", "BEGIN[^#]*END")]).unwrap());
        let mut redactor = Redactor::new(rules);
        let mut out = Vec::new();
        redactor.feed(b"before\n", &mut out).unwrap();
        assert_eq!(redactor.unwritten(), 0);
        redactor.feed(b"BEGIN one\n", &mut out).unwrap();
        redactor.feed(b"two END\n", &mut out).unwrap();
        // Matched, but the token may go on to a later END: still unwritten.
        assert_eq!(out, b"before\n");
        assert_eq!(redactor.unwritten(), "BEGIN one\ntwo END\n".len() as u64);
        redactor.feed(b"#\n", &mut out).unwrap();
        assert_eq!(redactor.unwritten(), 0);
    }

    #[test]
    fn a_head_matches_the_same_first_bytes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "short").unwrap();
        assert_eq!(Head::of(&File::open(&path).unwrap(), 6), None, "fewer bytes than asked");
        let head = Head::of(&File::open(&path).unwrap(), 5).unwrap();
        fs::write(&path, "short, and grown since").unwrap();
        assert!(Head::matches(Some(&head), &File::open(&path).unwrap()));
        fs::write(&path, "other").unwrap();
        assert!(!Head::matches(Some(&head), &File::open(&path).unwrap()));
        fs::write(&path, "sho").unwrap();
        assert!(!Head::matches(Some(&head), &File::open(&path).unwrap()), "shorter");
        assert!(Head::matches(None, &File::open(&path).unwrap()), "unknown: trusted");
    }
}
