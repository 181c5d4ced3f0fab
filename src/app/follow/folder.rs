//! Following a folder (a node's `/var/log/pods`): every file below it whose
//! name matches an include pattern is followed as a single path is, each
//! into its own copy at the same path below the output folder, and the
//! files that appear later (a new pod's) are picked up and read from their
//! start. A file whose path is gone (its pod deleted) is read to its end,
//! once quiet for the rotate wait, then closed and dropped from the state.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fs::{self, File},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver},
    },
    time::{Duration, Instant},
};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher, event::ModifyKind};

use super::findings::Findings;
use super::follower::POLL;
use super::options::{DEFAULT_INCLUDE, FolderOptions, FollowOptions};
use super::reader::{LINE_END_WAIT, Scan};
use super::state::{Position, load_state, lock_state, save_state};
use super::tail::Tail;
use super::tree::files_below;
use crate::RuleSet;
use crate::app::Error;
use crate::app::atomic::{Beneath, Folder};
use crate::app::policy::MessagePolicy;
use crate::io::READ_SIZE;

/// The longest time between two walks of the folder: new files are found
/// at once through inotify, and by this walk where it is not available.
pub const RESCAN: Duration = Duration::from_secs(1);

/// The buffer of each copy: small, as a node may follow hundreds of files
/// (each round flushes it anyway).
const COPY_BUFFER: usize = 16 * 1024;

/// The mode of a mirror copy made: the runtime's logs are 0640.
const MIRROR_MODE: u32 = 0o640;

/// Follows every file below `root` that `options.folder` includes, until
/// `stop` is set, each into its copy below the output folder. Notices go
/// to `notice`.
///
/// # Errors
///
/// [`Error::Usage`] without `options.folder`, or when the state is held by
/// another follower; [`Error::Write`] when a copy or the state cannot be
/// written; [`Error::Read`] when the state cannot be read.
pub fn follow_folder(
    root: &Path,
    rules: &Arc<RuleSet>,
    options: &FollowOptions,
    stop: &AtomicBool,
    mut notice: impl FnMut(&Path, &str),
) -> Result<(), Error> {
    let Some(folder) = &options.folder else {
        return Err(Error::Usage("following a folder needs an output folder".into()));
    };
    raise_open_files_limit();
    // See `follow`: a state is one follower's.
    let _lock = options.state.as_deref().map(lock_state).transpose()?;
    let mut follower = FolderFollower::start(root, folder, rules, options, &mut notice)?;
    let (_watcher, wake) = watch_tree(root);
    let mut scanned = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let more = follower.round(stopping, &mut notice)?;
        if stopping {
            break;
        }
        let mut rescan = scanned.elapsed() >= RESCAN;
        if !more && let Ok(names_changed) = wake.recv_timeout(POLL) {
            rescan |= names_changed;
        }
        // Events come in bursts; one wake-up serves them all.
        while let Ok(names_changed) = wake.try_recv() {
            rescan |= names_changed;
        }
        if rescan {
            follower.scan(false, &mut notice);
            scanned = Instant::now();
        }
    }
    if options.state.is_none() {
        follower.finish_lines()?;
    }
    Ok(())
}

/// inotify on the whole tree (new folders are watched as they come): a
/// wake-up says whether names changed (a file made, removed or renamed),
/// which calls for a walk, or only content. Without inotify, the loop's
/// timeout polls and [`RESCAN`] walks.
fn watch_tree(root: &Path) -> (Option<RecommendedWatcher>, Receiver<bool>) {
    let (tx, rx) = mpsc::channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let names_changed = event.map_or(true, |e| {
            matches!(
                e.kind,
                EventKind::Create(_)
                    | EventKind::Remove(_)
                    | EventKind::Modify(ModifyKind::Name(_))
                    | EventKind::Any
                    | EventKind::Other
            )
        });
        let _ = tx.send(names_changed);
    });
    let watcher =
        watcher.ok().and_then(|mut w| w.watch(root, RecursiveMode::Recursive).ok().map(|()| w));
    (watcher, rx)
}

/// One followed file and its copy.
struct Followed {
    tail: Tail,
    out: BufWriter<File>,
    /// The copy's path below the output folder (redacted): for messages,
    /// and so that two files never share one copy.
    mirror: PathBuf,
}

/// What the loop holds from round to round.
struct FolderFollower<'a> {
    root: PathBuf,
    folder: &'a FolderOptions,
    include: Vec<String>,
    /// The output folder, held open: copies are made below it without
    /// following a link.
    out_root: Folder,
    rules: &'a Arc<RuleSet>,
    options: &'a FollowOptions,
    policy: MessagePolicy,
    record: Scan,
    /// Positions the state held for files not open yet.
    saved: HashMap<String, Position>,
    /// The state was there at start: see [`FolderFollower::scan`].
    resuming: bool,
    files: BTreeMap<PathBuf, Followed>,
    mirrors: HashSet<PathBuf>,
    /// Files not followed (their copy could not be made), said once; kept
    /// while they are there.
    refused: HashSet<PathBuf>,
    /// That files wait for a place (`--max-files`) has been said.
    waiting_said: bool,
    findings: Option<Findings>,
    buf: Vec<u8>,
    last_saved: Option<Vec<Position>>,
}

impl<'a> FolderFollower<'a> {
    /// Reads the state, makes the output folder, and opens the files there
    /// are now where the state says (or at their end, or start).
    fn start(
        root: &Path,
        folder: &'a FolderOptions,
        rules: &'a Arc<RuleSet>,
        options: &'a FollowOptions,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<FolderFollower<'a>, Error> {
        let saved = match &options.state {
            Some(state) => load_state(state, notice)?,
            None => HashMap::new(),
        };
        // A state there (and usable: one that is not was set aside) means
        // a run before this one: a file it does not hold was made since,
        // and is read from its start like any new file.
        let resuming = options.state.as_deref().is_some_and(Path::is_file);
        fs::create_dir_all(&folder.output_dir).map_err(Error::Write)?;
        let out_root = Folder::open(&folder.output_dir).map_err(Error::Write)?;
        let include = if folder.include.is_empty() {
            vec![DEFAULT_INCLUDE.to_string()]
        } else {
            folder.include.clone()
        };
        let mut follower = FolderFollower {
            root: root.to_path_buf(),
            folder,
            include,
            out_root,
            rules,
            options,
            policy: MessagePolicy::new(rules),
            record: Scan { format: options.format, findings: options.findings.is_some() },
            saved,
            resuming,
            files: BTreeMap::new(),
            mirrors: HashSet::new(),
            refused: HashSet::new(),
            waiting_said: false,
            findings: Findings::open(options.findings.as_deref(), rules)?,
            buf: vec![0; READ_SIZE],
            last_saved: None,
        };
        follower.scan(true, notice);
        Ok(follower)
    }

    /// Walks the folder and follows the files not followed yet, as many as
    /// `--max-files` lets. Those there at `first` start where the state
    /// says, else at their end (their start with `--from-start`, or when
    /// a state was there: they were made since the last run); those found
    /// later are new, and read from their start.
    fn scan(&mut self, first: bool, notice: &mut impl FnMut(&Path, &str)) {
        let found = files_below(&self.root, &self.include);
        self.refused.retain(|p| found.binary_search(p).is_ok());
        let mut waiting = 0;
        for path in found {
            if self.files.contains_key(&path) || self.refused.contains(&path) {
                continue;
            }
            if self.files.len() >= self.folder.max_files {
                waiting += 1;
                continue;
            }
            self.add(path, first, notice);
        }
        if waiting > 0 && !self.waiting_said {
            let max = self.folder.max_files;
            notice(
                &self.root,
                &format!(
                    "{max} files are followed already (--max-files {max}): {waiting} more wait, \
                     and are read from their start once others are finished"
                ),
            );
        }
        self.waiting_said = waiting > 0;
    }

    /// Follows `path`, into its copy; a file whose copy cannot be made is
    /// said and passed over while it is there.
    fn add(&mut self, path: PathBuf, first: bool, notice: &mut impl FnMut(&Path, &str)) {
        // Opened before its copy is made: a copy there says the file is
        // open (and where it was opened from is decided).
        // Links are never followed below the folder: a link planted in a
        // pod's folder must not lead out of it.
        let mut tail = Tail::new(&path, &self.policy, true, self.record);
        let saved = self.saved.remove(&tail.hash);
        let from_start = !first || self.options.from_start || self.resuming;
        tail.open_initial(saved.as_ref(), from_start, self.rules, notice);
        let rel = path.strip_prefix(&self.root).unwrap_or(&path);
        let mirror = self.policy.redact_path(rel);
        let out = if self.mirrors.contains(&mirror) {
            Err("another followed file's name, redacted, is the same".to_string())
        } else {
            open_copy(&self.out_root, &mirror)
        };
        let out = match out {
            Ok(out) => out,
            Err(why) => {
                let shown = mirror.display();
                notice(
                    &path,
                    &format!("not followed: no copy at {shown} below --output-dir: {why}"),
                );
                self.refused.insert(path);
                return;
            }
        };
        self.mirrors.insert(mirror.clone());
        let out = BufWriter::with_capacity(COPY_BUFFER, out);
        self.files.insert(path, Followed { tail, out, mirror });
    }

    /// One round: a batch of each file into its copy, the files gone and
    /// quiet finished, the copies flushed, the findings drained, the state
    /// saved if it moved (always when `stopping`). Returns whether a file
    /// has more than a batch waiting.
    fn round(
        &mut self,
        stopping: bool,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<bool, Error> {
        let wait = self.options.rotate_wait;
        let mut more = false;
        let (mut done, mut linked) = (Vec::new(), Vec::new());
        for (path, f) in &mut self.files {
            // Looked at before the path is: a folder on it swapped for a
            // link would lead the next open out of the folder.
            if !folders_are_real(&self.root, path) {
                linked.push(path.clone());
                continue;
            }
            let polled = f.tail.poll(&mut self.buf, &mut f.out, self.rules, wait, notice);
            more |= polled.map_err(|e| at_copy(e, &f.mirror))?;
            if gone_and_quiet(&f.tail, wait) {
                done.push(path.clone());
            }
        }
        for path in linked {
            let followed = self.files.remove(&path).expect("followed");
            notice(&path, "a folder on its path is now a symbolic link: not read through it");
            self.finish(followed, notice)?;
        }
        for path in done {
            let followed = self.files.remove(&path).expect("followed");
            self.finish(followed, notice)?;
        }
        for f in self.files.values_mut() {
            f.out.flush().map_err(|e| at_copy(Error::Write(e), &f.mirror))?;
        }
        if let Some(findings) = &mut self.findings {
            self.files.values_mut().try_for_each(|f| findings.drain(&mut f.tail))?;
        }
        if let Some(state) = &self.options.state {
            let now: Vec<Position> =
                self.files.values_mut().filter_map(|f| f.tail.position()).collect();
            if stopping || self.last_saved.as_ref() != Some(&now) {
                save_state(state, &now, stopping)?;
                self.last_saved = Some(now);
            }
        }
        Ok(more)
    }

    /// A file gone and read to its end: its last unfinished line written,
    /// its copy flushed, and both closed.
    fn finish(
        &mut self,
        mut f: Followed,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<(), Error> {
        for reader in f.tail.rotated.iter_mut().chain(&mut f.tail.current) {
            reader.end_file(&mut f.out).map_err(|e| at_copy(e, &f.mirror))?;
        }
        f.out.flush().map_err(|e| at_copy(Error::Write(e), &f.mirror))?;
        if let Some(findings) = &mut self.findings {
            findings.drain(&mut f.tail)?;
        }
        self.mirrors.remove(&f.mirror);
        notice(&f.tail.path, "finished: read to its end, and closed");
        Ok(())
    }

    /// At a stop without a state: each file's unfinished line is written
    /// now, read to its end if a batch stopped in its middle.
    fn finish_lines(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + LINE_END_WAIT;
        for f in self.files.values_mut() {
            for reader in f.tail.rotated.iter_mut().chain(&mut f.tail.current) {
                let done = reader.read_to_line_end(&mut self.buf, &mut f.out, deadline);
                done.and_then(|()| reader.end_file(&mut f.out))
                    .map_err(|e| at_copy(e, &f.mirror))?;
            }
            f.out.flush().map_err(|e| at_copy(Error::Write(e), &f.mirror))?;
            if let Some(findings) = &mut self.findings {
                findings.drain(&mut f.tail)?;
            }
        }
        Ok(())
    }
}

/// Raises the soft limit on open files to the hard one: a node's
/// follower holds two or three per file, up to `--max-files`, and the
/// common soft limit (1024) is below what the default cap may need.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write the one struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Whether a followed file is done with: its path is gone (or holds what
/// is not read), no renamed file of it is still read, and it has been
/// quiet for `wait` (the rotate wait: a writer may still be writing in it,
/// or kubelet's rotation may be about to make the path again).
fn gone_and_quiet(tail: &Tail, wait: Duration) -> bool {
    tail.reported_missing
        && tail.rotated.is_empty()
        && tail.current.as_ref().is_none_or(|r| r.last_data.elapsed() >= wait)
}

/// Whether each folder from `root` down to `path`'s is a folder, not a
/// link (one that is gone is for the path's follower to see gone).
fn folders_are_real(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else { return false };
    let mut at = root.to_path_buf();
    for part in rel.parent().into_iter().flat_map(Path::components) {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if !meta.is_dir() => return false,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    true
}

/// Opens (makes) the copy at `rel` below `root`, without following a link.
fn open_copy(root: &Folder, rel: &Path) -> Result<File, String> {
    let name = rel.file_name().ok_or_else(|| "not a file name".to_string())?;
    let folder = match root.open_beneath(rel.parent().unwrap_or(Path::new(""))) {
        Ok(folder) => folder,
        Err(Beneath::Link(_)) => return Err("a symbolic link is in its way".into()),
        Err(Beneath::Io(e)) => return Err(io::Error::from(e.kind()).to_string()),
    };
    folder.open_append(name, MIRROR_MODE).map_err(|e| match e.kind() {
        io::ErrorKind::Other => e.to_string(),
        kind => io::Error::from(kind).to_string(),
    })
}

/// A failure to write a copy, naming the copy (redacted).
fn at_copy(error: Error, mirror: &Path) -> Error {
    match error {
        Error::Write(e) => Error::Write(io::Error::new(
            e.kind(),
            format!("{} below --output-dir: {e}", mirror.display()),
        )),
        other => other,
    }
}
