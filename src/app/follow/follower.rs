//! The loop (Vector's file server): each round reads a batch of every
//! followed path, writes and flushes, drains the findings and saves the
//! state, then waits for an inotify event or [`POLL`]; a stop is honoured
//! between rounds.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver},
    },
    time::{Duration, Instant},
};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::findings::Findings;
use super::options::FollowOptions;
use super::paths::folder_of;
use super::reader::{LINE_END_WAIT, Scan};
use super::state::{Position, load_state, lock_state, save_state};
use super::tail::Tail;
use crate::RuleSet;
use crate::app::Error;
use crate::app::policy::MessagePolicy;
use crate::app::records::malformed_notice;
use crate::io::READ_SIZE;

/// The longest wait between two looks at the files when no event comes.
pub const POLL: Duration = Duration::from_millis(100);

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
    let mut follower = Follower::start(paths, rules, options, &mut notice)?;
    let (_watcher, wake) = watch_folders(paths);
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let more = follower.round(out, stopping, &mut notice)?;
        if stopping {
            break;
        }
        if more {
            // A file has more than a batch waiting: next round at once.
            while wake.try_recv().is_ok() {}
            continue;
        }
        // Events come in bursts; one wake-up serves them all.
        if wake.recv_timeout(POLL).is_ok() {
            while wake.try_recv().is_ok() {}
        }
    }
    if options.state.is_none() {
        follower.finish_lines(out)?;
    }
    // Said at the end, once a path, as the filter says it: a line said
    // as it came would be said again in every round a bad file is written.
    for tail in &follower.tails {
        if let Some(message) = malformed_notice(tail.malformed(), options.format) {
            notice(&tail.path, &message);
        }
    }
    Ok(())
}

/// inotify on the folders, so that creation, renames and writes wake the
/// loop; without it (no inotify, too many watches) the timeout polls.
/// Returns the watcher, to hold for the run, and where its wake-ups come.
fn watch_folders(paths: &[PathBuf]) -> (Option<RecommendedWatcher>, Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        let _ = tx.send(());
    });
    let watcher = watcher.ok().and_then(|mut w| {
        let mut folders: Vec<PathBuf> = paths.iter().map(|p| folder_of(p)).collect();
        folders.sort();
        folders.dedup();
        folders.iter().all(|f| w.watch(f, RecursiveMode::NonRecursive).is_ok()).then_some(w)
    });
    (watcher, rx)
}

/// What the loop holds from round to round.
struct Follower<'a> {
    rules: &'a Arc<RuleSet>,
    options: &'a FollowOptions,
    tails: Vec<Tail>,
    findings: Option<Findings>,
    buf: Vec<u8>,
    /// What the state file holds: a round that moved nothing saves nothing.
    last_saved: Option<Vec<Position>>,
}

impl<'a> Follower<'a> {
    /// Reads the state, opens the findings and the files where the state
    /// says (or at their end, or start).
    fn start(
        paths: &[PathBuf],
        rules: &'a Arc<RuleSet>,
        options: &'a FollowOptions,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<Follower<'a>, Error> {
        let saved = match &options.state {
            Some(state) => load_state(state, notice)?,
            None => HashMap::new(),
        };
        let policy = MessagePolicy::new(rules);
        let record = Scan { format: options.format, findings: options.findings.is_some() };
        let mut tails: Vec<Tail> = paths
            .iter()
            .map(|path| Tail::new(path, &policy, options.refuse_links, record))
            .collect();
        let findings = Findings::open(options.findings.as_deref(), rules)?;
        for tail in &mut tails {
            let saved = saved.get(&tail.hash);
            tail.open_initial(saved, options.from_start, rules, notice);
        }
        Ok(Follower { rules, options, tails, findings, buf: vec![0; READ_SIZE], last_saved: None })
    }

    /// One round: a batch of each path, written and flushed, its findings
    /// drained, the state saved if it moved (always when `stopping`).
    /// Returns whether a file has more than a batch waiting.
    fn round<W: Write>(
        &mut self,
        out: &mut W,
        stopping: bool,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<bool, Error> {
        let mut more = false;
        for tail in &mut self.tails {
            more |= tail.poll(&mut self.buf, out, self.rules, self.options.rotate_wait, notice)?;
        }
        out.flush().map_err(Error::Write)?;
        if let Some(findings) = &mut self.findings {
            self.tails.iter_mut().try_for_each(|tail| findings.drain(tail))?;
        }
        if let Some(state) = &self.options.state {
            // After every round that moved, once its lines are flushed: a
            // kill repeats at most this round. (The first save also tells
            // a watcher that the files are open.)
            let now: Vec<Position> = self.tails.iter_mut().filter_map(Tail::position).collect();
            if stopping || self.last_saved.as_ref() != Some(&now) {
                save_state(state, &now, stopping)?;
                self.last_saved = Some(now);
            }
        }
        Ok(more)
    }

    /// At a stop without a state: no next run will pick up an unfinished
    /// line, so it is written now, read to its end if a batch stopped in
    /// its middle.
    fn finish_lines<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        let deadline = Instant::now() + LINE_END_WAIT;
        for tail in &mut self.tails {
            for reader in tail.rotated.iter_mut().chain(&mut tail.current) {
                reader.read_to_line_end(&mut self.buf, out, deadline)?;
                reader.end_file(out)?;
            }
            if let Some(findings) = &mut self.findings {
                findings.drain(tail)?;
            }
        }
        out.flush().map_err(Error::Write)
    }
}
