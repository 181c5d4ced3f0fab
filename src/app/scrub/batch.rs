//! Scrubbing many files in parallel (rayon), with a progress bar and a
//! summary: the keys listed first, a mirror checked
//! ([`mirror_check`](super::mirror_check)), then each file scrubbed.

use std::{
    collections::HashSet,
    fmt, fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::app::Error;
use crate::{
    RuleSet,
    app::audit,
    app::audit::keys::KeyList,
    app::filter::Input,
    app::formats::Levels,
    app::inputs::MAX_THREADS,
    app::policy::MessagePolicy,
    app::scrub::file::{Dest, Stamp, scrub_file_counted},
    app::scrub::mirror_check::check_mirror,
    app::scrub::passes::Outcome,
    app::scrub::walk::Found,
};

/// How to run a batch.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// In place or into a mirror.
    pub dest: Dest,
    /// Worker threads.
    pub threads: usize,
    /// Draw a progress bar on stderr (only where stderr is a terminal).
    pub progress: bool,
    /// Levels for recompression.
    pub levels: Levels,
}

/// What a batch did, for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read to the end.
    pub scanned: u64,
    /// Files written (in place: rewritten because they held a secret).
    pub changed: u64,
    /// Tokens redacted.
    pub tokens: u64,
    /// Bytes read, after decompression.
    pub bytes: u64,
    /// Files that failed.
    pub failed: u64,
    /// The keys found, listed before any file was written: to rotate.
    pub keys: KeyList,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} files scanned, {} changed, {} tokens redacted, {} bytes read, {} failed",
            self.scanned, self.changed, self.tokens, self.bytes, self.failed
        )
    }
}

/// Scrubs `files` on `options.threads` threads (no more than there are
/// files, nor than [`MAX_THREADS`]). Each failure is passed to `on_error`
/// as it happens; the other files are still done.
///
/// First the keys in the files are listed (as `--check` lists them), and
/// the list given to `listed` (for JSON), before any file is written: a
/// run killed at any moment has lost no key from the list. A file that
/// cannot be read then is not scrubbed; one that changed since is left as
/// it was ([`Error::Changed`]). The list, for text, is in the summary.
///
/// # Errors
///
/// [`Error::Usage`] before anything is written, when a mirror would write
/// two files to one path, or over an input; `listed`'s error, before
/// anything is written; otherwise only when the thread pool cannot be
/// built.
pub fn run(
    files: &[Found],
    rules: &Arc<RuleSet>,
    options: &BatchOptions,
    listed: impl FnOnce(&KeyList) -> Result<(), Error>,
    on_error: impl Fn(&Path, &Error) + Sync,
) -> Result<Summary, Error> {
    let rels = mirror_rels(files, &options.dest, rules)?;
    let jobs: Vec<(&Found, &Path)> = match options.dest {
        Dest::InPlace => distinct(files),
        Dest::Mirror { .. } => files.iter().zip(rels.iter().map(PathBuf::as_path)).collect(),
    };
    let audit = list_keys(&jobs, rules, options.threads, &on_error);
    listed(&audit.json)?;
    let total: u64 = jobs.iter().filter_map(|(f, _)| f.path.metadata().ok()).map(|m| m.len()).sum();
    let bar = progress_bar(total, jobs.len(), options.progress);
    // One pool of -j threads for the files and their compression both
    // (gzip blocks are spawned on it, see `GzBlocks`): no second pool, so
    // no more threads than -j, and a batch of one big file still has -j
    // threads to compress it on. zstd's workers are its own threads, given
    // the files' share of -j.
    let threads = options.threads.clamp(1, MAX_THREADS);
    let levels = Levels { threads: compression_threads(threads, jobs.len()), ..options.levels };
    let workers = Workers {
        dest: &options.dest,
        rules,
        levels,
        counts: Counts::default(),
        bar,
        files: jobs.len(),
        on_error: &on_error,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Read(std::io::Error::other(e)))?;
    pool.install(|| {
        jobs.par_iter().zip(&audit.stamps).for_each(|(&(found, rel), stamp)| {
            workers.scrub(found, rel, stamp);
        });
    });
    workers.bar.finish_and_clear();
    Ok(Summary { keys: audit.text, ..workers.counts.summary() })
}

/// Where each file's copy goes below a mirror's root (none in place),
/// checked before anything is written (see [`check_mirror`]).
fn mirror_rels(files: &[Found], dest: &Dest, rules: &Arc<RuleSet>) -> Result<Vec<PathBuf>, Error> {
    // A copy in a mirror is named through the message policy: a key in a
    // file's name must not come back in the name of its scrubbed copy.
    Ok(match dest {
        Dest::Mirror { root } => {
            let policy = MessagePolicy::new(rules);
            let rels: Vec<PathBuf> = files.iter().map(|f| policy.redact_path(&f.rel)).collect();
            check_mirror(files, &rels, root)?;
            rels
        }
        Dest::InPlace => Vec::new(),
    })
}

/// What the threads of a batch share: how to scrub, and what was done.
struct Workers<'a, E> {
    dest: &'a Dest,
    rules: &'a Arc<RuleSet>,
    levels: Levels,
    counts: Counts,
    bar: ProgressBar,
    /// How many files the batch scrubs.
    files: usize,
    on_error: &'a E,
}

impl<E: Fn(&Path, &Error) + Sync> Workers<'_, E> {
    /// Scrubs `found` (its copy at `rel` in a mirror) if its keys were
    /// listed, and counts what was done.
    fn scrub(&self, found: &Found, rel: &Path, stamp: &Listed) {
        let (counts, bar) = (&self.counts, &self.bar);
        let Listed::Stamp(stamp) = *stamp else {
            // Failed while its keys were listed, and said so then.
            if matches!(stamp, Listed::Failed) {
                counts.failed.fetch_add(1, Ordering::Relaxed);
            }
            bar.inc(found.path.metadata().map_or(0, |m| m.len()));
            return;
        };
        let mut outcome = Outcome::default();
        let result = scrub_file_counted(
            &found.path,
            rel,
            self.dest,
            self.rules,
            self.levels,
            Some(stamp),
            &mut outcome,
        );
        // A failed file's bytes were read all the same.
        counts.bytes.fetch_add(outcome.bytes, Ordering::Relaxed);
        bar.inc(outcome.stored_bytes);
        match result {
            Ok(()) => counts.add(&outcome),
            Err(e) => {
                // Read, then refused (a hard link, a change): scanned
                // all the same, as its bytes say.
                counts.scanned.fetch_add(u64::from(outcome.bytes > 0), Ordering::Relaxed);
                counts.failed.fetch_add(1, Ordering::Relaxed);
                bar.suspend(|| (self.on_error)(&found.path, &e));
            }
        }
        let done = counts.finished.fetch_add(1, Ordering::Relaxed) + 1;
        bar.set_message(format!("{done}/{} files", self.files));
    }
}

/// What listing the keys before a scrub found.
struct Audit {
    /// The list, for text and for JSON.
    text: KeyList,
    json: KeyList,
    /// Each job's file as it was listed.
    stamps: Vec<Listed>,
}

/// A file to scrub, as its keys were listed.
enum Listed {
    /// Read to the end, as it was then; [`Stamp::NOT_A_FILE`]: not a
    /// regular file, not read (opening one could block), which the scrub
    /// refuses, as it refuses one that has become a regular file since.
    Stamp(Stamp),
    /// Could not be read: not scrubbed.
    Failed,
}

/// Lists the keys in the files of `jobs`, as `--check` does, and stamps
/// each file as it was before it was read: one that changes while read, or
/// after, is then not rewritten. A file that cannot be read is reported to
/// `on_error` now.
fn list_keys(
    jobs: &[(&Found, &Path)],
    rules: &Arc<RuleSet>,
    threads: usize,
    on_error: &impl Fn(&Path, &Error),
) -> Audit {
    let metas: Vec<Option<fs::Metadata>> = jobs
        .iter()
        .map(|(f, _)| fs::metadata(&f.path).ok().filter(fs::Metadata::is_file))
        .collect();
    let read: Vec<usize> = (0..jobs.len()).filter(|&i| metas[i].is_some()).collect();
    let inputs: Vec<Input> = read.iter().map(|&i| Input::Path(jobs[i].0.path.clone())).collect();
    let mut stamps: Vec<Listed> = metas
        .iter()
        .map(|m| Listed::Stamp(m.as_ref().map_or(Stamp::NOT_A_FILE, Stamp::of)))
        .collect();
    let (text, json) = audit::list_keys(&inputs, rules, threads, |i, _, error| {
        let job = read[i];
        stamps[job] = Listed::Failed;
        on_error(&jobs[job].0.path, error);
    });
    Audit { text, json, stamps }
}

/// The threads one file's compression may use when `files` files share
/// `threads`: each file in progress holds one, and what is left over when
/// there are fewer files than threads is shared among them. Capped at the
/// cores there are, since a file keeps twice as many blocks in flight.
fn compression_threads(threads: usize, files: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (threads / files.clamp(1, threads)).clamp(1, cores.max(1))
}

/// The files to scrub in place, a file named more than once (the same
/// inode) kept once: two workers rewriting it at once would each see it
/// change under them.
fn distinct(files: &[Found]) -> Vec<(&Found, &Path)> {
    let mut seen = HashSet::with_capacity(files.len());
    files
        .iter()
        .filter(|f| f.path.metadata().map_or(true, |m| seen.insert((m.dev(), m.ino()))))
        .map(|f| (f, f.rel.as_path()))
        .collect()
}

fn progress_bar(total_bytes: u64, files: usize, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("the template is valid"),
    );
    bar.set_message(format!("0/{files} files"));
    bar
}

#[derive(Default)]
struct Counts {
    /// Files done, scrubbed or failed.
    finished: AtomicU64,
    scanned: AtomicU64,
    changed: AtomicU64,
    tokens: AtomicU64,
    bytes: AtomicU64,
    failed: AtomicU64,
}

impl Counts {
    fn add(&self, outcome: &Outcome) {
        self.scanned.fetch_add(1, Ordering::Relaxed);
        self.changed.fetch_add(u64::from(outcome.written && outcome.tokens > 0), Ordering::Relaxed);
        self.tokens.fetch_add(outcome.tokens, Ordering::Relaxed);
    }

    fn summary(&self) -> Summary {
        Summary {
            scanned: self.scanned.load(Ordering::Relaxed),
            changed: self.changed.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            keys: KeyList::default(),
        }
    }
}
