//! One file's added lines, scanned as one stream ([`FileScan`]), with
//! where each run of them is in the new file and in the diff, to place
//! its findings; and what the parser reports them to ([`Report`]).

use std::{collections::VecDeque, sync::Arc};

use crate::{Finding, Redactor, RuleSet, app::policy::PrintedName};

/// What the parser reports to: the findings of a file's added lines and of
/// the names the diff adds. [`DiffCheck`](super::DiffCheck) prints them.
pub(super) trait Report {
    /// The rules a file's added lines are scanned under.
    fn rules(&self) -> &Arc<RuleSet>;

    /// `name` as messages print it.
    fn printed_name(&self, name: &[u8]) -> PrintedName;

    /// Prints the findings `file`'s redactor has, placed on the new side.
    fn report(&mut self, file: &mut FileScan);

    /// Scans the name of a file the diff adds: a key there is committed
    /// too.
    fn report_name(&mut self, name: &[u8]);
}

/// A run of added lines that follow one another both in the diff and in
/// the new file: where it starts in the stream of added lines, in the new
/// file and in the diff.
#[derive(Clone, Copy, Debug)]
pub(super) struct Run {
    pub(super) stream_offset: u64,
    pub(super) stream_line: u64,
    pub(super) new_line: u64,
    pub(super) diff_offset: u64,
}

/// The added lines of one file, scanned as one stream.
pub(super) struct FileScan {
    pub(super) name: PrintedName,
    pub(super) redactor: Redactor,
    /// The runs a finding still to come may start in; older ones are
    /// dropped, so that a long diff holds a few.
    pub(super) runs: VecDeque<Run>,
    /// Bytes fed so far, and the line of the stream the next added line is.
    pub(super) fed: u64,
    pub(super) stream_line: u64,
    /// The new-side line of the last added line fed, and whether the diff
    /// line just before this one was it.
    pub(super) last_new_line: u64,
    pub(super) adjacent: bool,
    /// Its index among the names of files with findings, once it has one.
    pub(super) index: Option<usize>,
    /// The first bytes of its new content, while they are gathered to
    /// tell its format, and the new-side line that continues them.
    pub(super) head: Option<(Vec<u8>, u64)>,
    /// Whether its format was told (or cannot be: its first line is not
    /// in the diff).
    pub(super) told: bool,
}

impl FileScan {
    /// The scan of the added lines of the file printed as `name`.
    pub(super) fn new(name: PrintedName, rules: Arc<RuleSet>) -> FileScan {
        FileScan {
            name,
            redactor: Redactor::new(rules).record_findings(),
            runs: VecDeque::new(),
            fed: 0,
            stream_line: 1,
            last_new_line: 0,
            adjacent: false,
            index: None,
            head: None,
            told: false,
        }
    }

    /// Moves `f` from the stream of added lines to the new file: its line
    /// there, and its byte offset in the diff.
    pub(super) fn place(&self, f: &mut Finding) {
        let run = self.runs.iter().rev().find(|r| r.stream_line <= f.line).or(self.runs.front());
        if let Some(run) = run {
            let lines = f.line.saturating_sub(run.stream_line);
            // One `+` before each line of the run.
            f.offset = run.diff_offset + f.offset.saturating_sub(run.stream_offset) + lines;
            f.line = run.new_line + lines;
        }
    }

    /// Drops the runs no finding to come can start in: before the first
    /// byte the redactor has not written yet.
    pub(super) fn prune(&mut self) {
        let earliest = self.fed - self.redactor.unwritten();
        while self.runs.len() > 1 && self.runs[1].stream_offset <= earliest {
            self.runs.pop_front();
        }
    }
}
