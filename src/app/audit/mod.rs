//! The audit mode: find tokens without rewriting anything, say where each
//! one is, and list the distinct keys that leaked, so that they can be
//! rotated.
//!
//! A finding shows PostHog's mask of a token (`phx_...abcd`) and a short
//! fingerprint, never the token. Findings stream out as they are found, in
//! input order, however many threads read the inputs: memory holds the
//! findings of one read per input in flight and one entry per distinct key
//! (at most [`MAX_KEYS`] of them, each naming at most [`MAX_FILES`]
//! inputs), never all findings. The list of keys is
//! [`crate::app::audit::keys`]'s, which a scrub prints too.
//!
//! Every name, rule name and message printed passes through the
//! [`MessagePolicy`] of the rules.

pub mod diff;
pub mod keys;

use std::{
    fs,
    io::{self, Write},
    mem,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
};

use serde::Serialize;

use crate::app::Error;
use crate::{
    Finding, Redactor, RuleSet,
    app::audit::keys::{Found, Keys, rule_name, write_keys},
    app::filter::{self, Input, READ_SIZE},
    app::policy::{MessagePolicy, PrintedName},
};

pub use crate::app::audit::keys::KeyList;

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

/// What a worker tells the printer.
enum Message {
    /// Formatted findings of input `.0`, and their keys.
    Text(usize, Vec<u8>, Vec<Found>),
    /// Input `.0` is done: its name, why it failed if it did, and the
    /// tokens it counted without recording them.
    Done(usize, PrintedName, Option<Error>, u64),
}

/// What the printers need to name things: the rules' names and the
/// messages, through the policy.
pub(crate) struct Names<'a> {
    pub(crate) rules: &'a Arc<RuleSet>,
    pub(crate) policy: &'a MessagePolicy,
    /// Each rule's name, redacted: a rules file names its rules.
    pub(crate) rule_names: &'a [String],
    pub(crate) json: bool,
    pub(crate) verdict_only: bool,
    /// Whether findings are formatted for the output, or only tallied
    /// (the audit before a scrub).
    pub(crate) print_findings: bool,
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
    let (unrecorded, failures) = (checked.unrecorded, checked.failures);
    Outcome { keys, unrecorded, failures, output_error: out.error.map(Error::Write) }
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
    let options = CheckOptions { json: false, threads, verdict_only: false };
    let checked = check_inputs(inputs, rules, options, false, &mut out, on_error);
    let text = checked.keys.list(rules, &checked.rule_names, &checked.names, false);
    let json = checked.keys.list(rules, &checked.rule_names, &checked.names, true);
    (text, json)
}

/// What reading the inputs of a check left: the keys tallied, the names.
struct Checked {
    keys: Keys,
    names: Vec<PrintedName>,
    rule_names: Vec<String>,
    unrecorded: u64,
    failures: usize,
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
    };
    let mut keys = Keys::default();
    let mut names = vec![PrintedName::default(); inputs.len()];
    let mut failures = 0;
    let mut unrecorded = 0;
    let workers =
        options.threads.clamp(1, inputs.len().clamp(1, crate::app::scrub::batch::MAX_THREADS));
    let next_input = AtomicUsize::new(0);
    let failed = out.failed;
    // One worker leaves cores for reading: ahead on a thread of its own,
    // or, when only the verdict is wanted, a big file in segments on every
    // thread asked for. Findings are not gathered in segments: each
    // thread's segment in flight would hold a megabyte of them on a dense
    // log, past the memory the README promises.
    let segment_threads = if options.verdict_only { options.threads.max(1) } else { 1 };
    let lone = (workers == 1).then_some(segment_threads);
    std::thread::scope(|scope| {
        // Bounded, so that a slow output slows the readers down rather than
        // piling findings up in memory.
        let (tx, rx) = mpsc::sync_channel::<Message>(4 * workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next_input, names_of) = (&next_input, &names_of);
            scope.spawn(move || {
                // One read buffer per worker, not one zeroed per input: a
                // tree of small files paid a sixth of its time for those.
                let mut buf = vec![0; READ_SIZE];
                loop {
                    let i = next_input.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len()
                        || !check_input(i, &inputs[i], names_of, &tx, failed, lone, &mut buf)
                    {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Print in input order: the lowest unfinished input streams, later
        // ones wait in `pending` until their turn.
        type Pending = (Vec<(Vec<u8>, Vec<Found>)>, Option<Option<Error>>);
        let mut pending: Vec<Pending> = inputs.iter().map(|_| (Vec::new(), None)).collect();
        let mut next = 0;
        for message in rx {
            match message {
                Message::Text(i, text, found) if i == next => {
                    keys.add(&found, i);
                    // Flushed at once: a live stream (`tail -f | phx-redact
                    // --check`) shows each finding as it is read.
                    out.write(|out| out.write_all(&text).and_then(|()| out.flush()));
                }
                Message::Text(i, text, found) => pending[i].0.push((text, found)),
                Message::Done(i, name, error, counted) => {
                    unrecorded += counted;
                    names[i] = name;
                    pending[i].1 = Some(error);
                }
            }
            while let Some(error) = pending.get_mut(next).and_then(|(_, done)| done.take()) {
                if let Some(error) = &error {
                    failures += 1;
                    if options.json {
                        out.write(|out| write_json_error(out, &names[next].json, error, &policy));
                    }
                    out.write(|out| out.flush());
                    on_error(next, &names[next].text, error);
                }
                next += 1;
                if let Some((texts, _)) = pending.get_mut(next) {
                    for (text, found) in std::mem::take(texts) {
                        keys.add(&found, next);
                        out.write(|out| out.write_all(&text));
                    }
                }
            }
        }
    });
    Checked { keys, names, rule_names, unrecorded, failures }
}

/// The output of a check. Once a write fails (the reader has gone, the disk
/// is full), nothing more is written, but the check goes on: its verdict
/// must cover every input.
struct Output<'a, W: ?Sized> {
    out: &'a mut W,
    error: Option<io::Error>,
    /// Set with `error`, for the workers.
    failed: &'a AtomicBool,
}

impl<W: Write + ?Sized> Output<'_, W> {
    fn write(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.error.is_none() {
            self.error = write(self.out).err();
            self.failed.store(self.error.is_some(), Ordering::Relaxed);
        }
    }
}

/// The findings text a regular file's worker gathers before it sends them.
const BATCH: usize = 256 * 1024;

/// Checks input `index`, sending its findings after each read (or, for a
/// regular file, each [`BATCH`]). Returns
/// false when the printer has gone.
fn check_input(
    index: usize,
    input: &Input,
    names_of: &Names<'_>,
    tx: &mpsc::SyncSender<Message>,
    output_failed: &AtomicBool,
    // One worker leaves cores for reading (`Some(threads)`); more keep them
    // all busy.
    lone: Option<usize>,
    buf: &mut [u8],
) -> bool {
    let rules = names_of.rules;
    let endless = matches!(input, Input::Stdin);
    // A regular file's findings go to the printer in batches, which keeps
    // the hand-overs between threads rare; a stream's (standard input, a
    // FIFO) after each read, so that `tail -f | phx-redact --check` shows
    // them as they come.
    let batched = matches!(input, Input::Path(p) if fs::metadata(p).is_ok_and(|m| m.is_file()));
    let name = names_of.policy.printed_name(input.name_bytes());
    let mut redactor = Redactor::new(Arc::clone(rules));
    if !names_of.verdict_only {
        redactor = redactor.record_findings();
    }
    let mut gone = false;
    let (mut text, mut found) = (Vec::new(), Vec::new());
    // Returns true to stop reading.
    let mut send = |redactor: &mut Redactor, last: bool| {
        if endless && output_failed.load(Ordering::Relaxed) {
            return true;
        }
        for finding in &redactor.take_findings() {
            if names_of.print_findings {
                // Writing to a Vec cannot fail.
                let _ = write_finding(&mut text, &name, finding, names_of);
            }
            found.push(Found { hash: finding.fingerprint, rule: finding.rule, mask: finding.mask });
        }
        let small = text.len() < BATCH && found.len() < BATCH / 64;
        if found.is_empty() || (batched && !last && small) {
            return false;
        }
        let message = Message::Text(index, mem::take(&mut text), mem::take(&mut found));
        gone = tx.send(message).is_err();
        gone
    };
    let after_read = |r: &mut Redactor| send(r, false);
    let error = match lone {
        Some(threads) => filter::inspect_input_on(&mut redactor, input, buf, threads, after_read),
        None => filter::inspect_input_here(&mut redactor, input, buf, after_read),
    }
    .err();
    send(&mut redactor, true);
    let counted = match names_of.verdict_only {
        true => redactor.stats().total_tokens(),
        false => 0,
    };
    !gone && tx.send(Message::Done(index, name, error, counted)).is_ok()
}

/// One finding as a JSON line: what `--check --json` prints for it, and
/// what the Python module's findings hold.
#[derive(Debug, Serialize)]
pub struct JsonFinding<'a> {
    /// Always `finding`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The input's name, through the message policy.
    pub path: &'a str,
    /// The name's exact bytes in base64, when they are not UTF-8 (`path`
    /// then shows U+FFFD for the bytes that are not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<&'a str>,
    /// 1-based line of the token's first byte.
    pub line: u64,
    /// 1-based byte column of the token's first byte.
    pub column: u64,
    /// Byte offset of the token in the (decompressed) stream.
    pub offset: u64,
    /// The token's length in bytes.
    pub length: u64,
    /// The rule's name, through the message policy, or `capped`.
    pub rule: &'a str,
    /// PostHog's mask of the token (`phx_...abcd`).
    pub mask: String,
    /// The token's short fingerprint.
    pub fingerprint: String,
    /// Where the token is when not in the content: a compressed file's
    /// header field or skippable frame (`gzip header FNAME`), within which
    /// `line`, `column` and `offset` count. Absent for the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<&'static str>,
}

impl<'a> JsonFinding<'a> {
    /// The record of finding `f` in the input named `path`, under `rules`,
    /// whose names as printed are `rule_names` (see [`rule_names`]).
    pub fn new(
        path: &'a str,
        f: &Finding,
        rules: &RuleSet,
        rule_names: &'a [String],
    ) -> JsonFinding<'a> {
        JsonFinding {
            kind: "finding",
            path,
            path_base64: None,
            line: f.line,
            column: f.column,
            offset: f.offset,
            length: f.len,
            rule: rule_name(rule_names, f.rule),
            mask: f.mask.to_str().into_owned(),
            fingerprint: rules.fingerprints.short(&f.fingerprint),
            place: f.place,
        }
    }
}

/// Each rule's name as findings show it: through the message policy, for a
/// rules file names its rules.
pub fn rule_names(rules: &RuleSet, policy: &MessagePolicy) -> Vec<String> {
    rules.rules().iter().map(|rule| policy.redact_str(&rule.name)).collect()
}

/// An input that could not be read to its end, as a JSON line.
#[derive(Serialize)]
struct JsonError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'a str,
    message: String,
}

pub(crate) fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    name: &PrintedName,
    f: &Finding,
    names_of: &Names<'_>,
) -> io::Result<()> {
    let rule = rule_name(names_of.rule_names, f.rule);
    if !names_of.json {
        let name = &name.text;
        return match f.place {
            // Not in the content: the field is the place, its line none.
            Some(place) => writeln!(out, "{name}:{place}: {rule}: {}", f.mask),
            None => writeln!(out, "{name}:{}:{}: {rule}: {}", f.line, f.column, f.mask),
        };
    }
    let mut line = JsonFinding::new(&name.json, f, names_of.rules, names_of.rule_names);
    line.path_base64 = name.json_base64.as_deref();
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

pub(crate) fn write_json_error<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    error: &Error,
    policy: &MessagePolicy,
) -> io::Result<()> {
    let line =
        JsonError { kind: "error", path: name, message: policy.redact_str(&format!("{error:#}")) };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}
