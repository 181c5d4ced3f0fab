//! Scrubbing many files in parallel (rayon), with a progress bar and a
//! summary.

use std::{
    collections::HashMap,
    fmt, fs,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::{
    Error, RuleSet,
    compress::Levels,
    scrub::{self, Dest},
    walk::Found,
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

/// The most worker threads a batch or a check runs, whatever `-j` asks:
/// past this, threads only queue for the same disks and cost memory.
pub const MAX_THREADS: usize = 128;

/// Scrubs `files` on `options.threads` threads (no more than there are
/// files, nor than [`MAX_THREADS`]). Each failure is passed to `on_error`
/// as it happens; the other files are still done.
///
/// # Errors
///
/// [`Error::Usage`] before anything is written, when a mirror would write
/// two files to one path, or over an input; otherwise only when the thread
/// pool cannot be built.
pub fn run(
    files: &[Found],
    rules: &Arc<RuleSet>,
    options: &BatchOptions,
    on_error: impl Fn(&Path, &Error) + Sync,
) -> Result<Summary, Error> {
    if let Dest::Mirror { root } = &options.dest {
        check_mirror(files, root)?;
    }
    let total: u64 = files.iter().filter_map(|f| f.path.metadata().ok()).map(|m| m.len()).sum();
    let bar = progress_bar(total, files.len(), options.progress);
    let counts = Counts::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.min(files.len()).clamp(1, MAX_THREADS))
        .build()
        .map_err(|e| Error::Read(std::io::Error::other(e)))?;
    pool.install(|| {
        files.par_iter().for_each(|found| {
            let result =
                scrub::scrub_file(&found.path, &found.rel, &options.dest, rules, options.levels);
            match result {
                Ok(outcome) => {
                    counts.add(&outcome);
                    bar.inc(outcome.stored_bytes);
                }
                Err(e) => {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                    bar.suspend(|| on_error(&found.path, &e));
                }
            }
            let done =
                counts.scanned.load(Ordering::Relaxed) + counts.failed.load(Ordering::Relaxed);
            bar.set_message(format!("{done}/{} files", files.len()));
        });
    });
    bar.finish_and_clear();
    Ok(counts.summary())
}

/// Refuses a mirror that would lose data, before anything is written: two
/// files bound for the same path (`a/app.log` and `b/app.log`), a mirror
/// in an input folder (or that folder itself), or an output path that is
/// an input. Paths are compared resolved, so that `./x` and `x`, or a link
/// and its target, are the same.
fn check_mirror(files: &[Found], root: &Path) -> Result<(), Error> {
    let root = resolve_lenient(root);
    let mut folders: Vec<&PathBuf> = files.iter().filter_map(|f| f.under.as_ref()).collect();
    folders.dedup();
    for folder in folders {
        if fs::canonicalize(folder).is_ok_and(|f| root.starts_with(f)) {
            return Err(Error::Usage(format!(
                "--output-dir {} is the input folder {} or inside it: its files would be \
                 written over; nothing was written. Choose a folder outside the inputs",
                root.display(),
                folder.display()
            )));
        }
    }
    let inputs: HashMap<PathBuf, &Found> =
        files.iter().filter_map(|f| Some((fs::canonicalize(&f.path).ok()?, f))).collect();
    let mut targets: HashMap<PathBuf, &Found> = HashMap::with_capacity(files.len());
    for file in files {
        let target = root.join(&file.rel);
        if let Some(input) = inputs.get(&target) {
            return Err(Error::Usage(format!(
                "--output-dir: the scrubbed copy of {} would be written over the input {}; \
                 nothing was written. Choose a folder outside the inputs",
                file.path.display(),
                input.path.display()
            )));
        }
        if let Some(first) = targets.insert(target.clone(), file) {
            return Err(Error::Usage(format!(
                "--output-dir: {} and {} would both be written to {}; nothing was written. \
                 Mirror them into separate folders, one run each",
                first.path.display(),
                file.path.display(),
                target.display()
            )));
        }
    }
    Ok(())
}

/// `path` with its existing part resolved (links, `..`), and the rest, not
/// yet created, appended as it is.
fn resolve_lenient(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for existing in path.ancestors() {
        if let Ok(resolved) = fs::canonicalize(existing) {
            let rest = path.strip_prefix(existing).expect("an ancestor is a prefix");
            return resolved.join(rest);
        }
    }
    path
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
    scanned: AtomicU64,
    changed: AtomicU64,
    tokens: AtomicU64,
    bytes: AtomicU64,
    failed: AtomicU64,
}

impl Counts {
    fn add(&self, outcome: &scrub::Outcome) {
        self.scanned.fetch_add(1, Ordering::Relaxed);
        self.changed.fetch_add(u64::from(outcome.written && outcome.tokens > 0), Ordering::Relaxed);
        self.tokens.fetch_add(outcome.tokens, Ordering::Relaxed);
        self.bytes.fetch_add(outcome.bytes, Ordering::Relaxed);
    }

    fn summary(&self) -> Summary {
        Summary {
            scanned: self.scanned.load(Ordering::Relaxed),
            changed: self.changed.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}
