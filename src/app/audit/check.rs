//! The check itself (`--check`): the inputs read on worker threads
//! ([`worker`](super::worker)), their findings printed in input order
//! ([`in_order`](super::in_order)), then the list of keys to rotate
//! ([`keys`](super::keys)). A scrub lists its keys the same way, printing
//! no finding.

use std::{
    io::{self, Write},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize},
        mpsc,
    },
};

use crate::app::Error;
use crate::app::records::InputFormat;
use crate::{
    RuleSet,
    app::audit::in_order::{Checked, InOrder, Output},
    app::audit::keys::{KeyList, write_keys},
    app::audit::printer::{Names, rule_names},
    app::audit::worker::{self, Message},
    app::filter::Input,
    app::inputs::MAX_THREADS,
    app::policy::MessagePolicy,
};

/// How to check.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// JSON lines rather than text.
    pub json: bool,
    /// Inputs read at once.
    pub threads: usize,
    /// Only the verdict is wanted (`--check -q`): tokens are counted, not
    /// recorded, so no line numbers, hashes or findings are worked out.
    pub verdict_only: bool,
    /// Bytes, or a container runtime's records (findings at the record's
    /// line).
    pub format: InputFormat,
}

/// What a check found, once every finding has been written.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The keys to rotate.
    pub keys: KeyList,
    /// Tokens counted but not recorded, in a verdict-only check.
    pub unrecorded: u64,
    /// How many inputs could not be read to their end.
    pub failures: usize,
    /// Lines that were not records of the format read (`--input-format`),
    /// in all inputs: they were checked as plain text.
    pub malformed: u64,
    /// Why the output failed, if it did. The check went on without printing
    /// (see [`check`]); a reader that went away (`| head -1`) is
    /// [`Error::is_broken_pipe`].
    pub output_error: Option<Error>,
}

impl Outcome {
    /// Whether any token was found, listed or not.
    pub fn found(&self) -> bool {
        !self.keys.is_empty() || self.unrecorded > 0
    }
}

/// Checks `inputs`, writing each finding to `out` as `PATH:LINE:COLUMN:
/// RULE: MASK` (`PATH:PLACE: RULE: MASK` for one in a compressed file's
/// header field or skippable frame; or a JSON line), in input order, then
/// the list of keys to rotate. An input that fails is passed to `on_error`
/// (by its redacted name) when its turn comes, and the others are still
/// checked.
///
/// When `out` fails, the check goes on without printing, and says why in
/// [`Outcome::output_error`]: the verdict still covers every file, so that
/// `--check | head -1` cannot look clean, nor hide an error. Standard input
/// is read no further then: it may be a stream that never ends (`tail -f`).
pub fn check<W: Write + ?Sized>(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    options: CheckOptions,
    out: &mut W,
    mut on_error: impl FnMut(&str, &Error),
) -> Outcome {
    let failed = AtomicBool::new(false);
    let mut out = Output { out, error: None, failed: &failed };
    let checked = check_inputs(inputs, rules, options, true, &mut out, |_, name, error| {
        on_error(name, error);
    });
    let keys = checked.keys.list(rules, &checked.rule_names, &checked.names, options.json);
    out.write(|out| write_keys(out, &keys, options.json));
    let (unrecorded, failures, malformed) =
        (checked.unrecorded, checked.failures, checked.malformed);
    Outcome { keys, unrecorded, failures, malformed, output_error: out.error.map(Error::Write) }
}

/// The keys in `inputs`, as a scrub lists them before it writes anything:
/// with the inputs named for text, then for JSON. An input that fails is
/// passed to `on_error`, by its index and its name, and the others are
/// still read.
pub fn list_keys(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    threads: usize,
    on_error: impl FnMut(usize, &str, &Error),
) -> (KeyList, KeyList) {
    let failed = AtomicBool::new(false);
    let mut sink = io::sink();
    let mut out = Output { out: &mut sink, error: None, failed: &failed };
    let options =
        CheckOptions { json: false, threads, verdict_only: false, format: InputFormat::Plain };
    let checked = check_inputs(inputs, rules, options, false, &mut out, on_error);
    let text = checked.keys.list(rules, &checked.rule_names, &checked.names, false);
    let json = checked.keys.list(rules, &checked.rule_names, &checked.names, true);
    (text, json)
}

/// Reads `inputs`, writes their findings to `out` (when `print_findings`)
/// in input order, and tallies their keys.
fn check_inputs<W: Write + ?Sized>(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    options: CheckOptions,
    print_findings: bool,
    out: &mut Output<'_, W>,
    mut on_error: impl FnMut(usize, &str, &Error),
) -> Checked {
    let policy = MessagePolicy::new(rules);
    let rule_names = rule_names(rules, &policy);
    let names_of = Names {
        rules,
        policy: &policy,
        rule_names: &rule_names,
        json: options.json,
        verdict_only: options.verdict_only,
        print_findings,
        format: options.format,
    };
    let workers = options.threads.clamp(1, inputs.len().clamp(1, MAX_THREADS));
    let next_input = AtomicUsize::new(0);
    let failed = out.failed;
    // One worker leaves cores for reading: ahead on a thread of its own,
    // or, when only the verdict is wanted, a big file in segments on every
    // thread asked for. Findings are not gathered in segments: each
    // thread's segment in flight would hold a megabyte of them on a dense
    // log, past the memory the README promises.
    let segment_threads = if options.verdict_only { options.threads.max(1) } else { 1 };
    let lone = (workers == 1).then_some(segment_threads);
    let mut printer = InOrder::new(out, inputs.len(), &policy, options.json);
    std::thread::scope(|scope| {
        // Bounded, so that a slow output slows the readers down rather than
        // piling findings up in memory.
        let (tx, rx) = mpsc::sync_channel::<Message>(4 * workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next_input, names_of) = (&next_input, &names_of);
            scope.spawn(move || worker::work(inputs, next_input, names_of, &tx, failed, lone));
        }
        drop(tx);
        for message in rx {
            printer.take(message, &mut on_error);
        }
    });
    printer.finish(rule_names)
}
