//! The audit mode: find tokens without rewriting anything, say where each
//! one is, and list the distinct keys that leaked, so that they can be
//! rotated.
//!
//! A finding shows PostHog's mask of a token (`phx_...abcd`) and a short
//! fingerprint, never the token. Findings stream out as they are found, in
//! input order, however many threads read the inputs: memory holds the
//! findings of one read per input in flight and one entry per distinct key
//! (at most [`MAX_KEYS`] of them, each naming at most [`MAX_FILES`]
//! inputs), never all findings.
//!
//! Every name, rule name and message printed passes through the
//! [`MessagePolicy`] of the rules.

use std::{
    collections::HashMap,
    fs,
    hash::{BuildHasherDefault, Hasher},
    io::{self, Write},
    mem,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
};

use serde::Serialize;

use crate::{
    Error, Finding, Redactor, RuleSet,
    app::filter::{self, Input, READ_SIZE},
    app::policy::{MessagePolicy, PrintedName},
    engine::marker::Mask,
    engine::rules::CAPPED,
};

/// The most distinct keys listed. Findings of further keys are counted, not
/// kept: a stream of ever new keys must not grow the memory without bound.
pub const MAX_KEYS: usize = 10_000;

/// The most inputs listed for one key; further inputs are counted.
pub const MAX_FILES: usize = 100;

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

/// One distinct key found, for the list of keys to rotate.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Key {
    /// The rule that found it.
    pub rule: String,
    /// PostHog's mask of it.
    pub mask: String,
    /// Its short fingerprint.
    pub fingerprint: String,
    /// How many times it was found.
    pub count: u64,
    /// The inputs it was found in, in order, at most [`MAX_FILES`].
    pub files: Vec<String>,
    /// How many more inputs it was found in.
    pub more_files: u64,
}

/// What a check found, once every finding has been written.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The distinct keys, in the order they were first found, at most
    /// [`MAX_KEYS`]. Two findings are the same key when their whole hashes
    /// are equal.
    pub keys: Vec<Key>,
    /// Findings of keys beyond the first [`MAX_KEYS`], which are not listed.
    pub unlisted: u64,
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
        !self.keys.is_empty() || self.unlisted > 0 || self.unrecorded > 0
    }
}

/// A key as the printer tallies it: the rule by index, the files by input
/// index, names and hex only at the end.
struct Tally {
    hash: [u8; 32],
    rule: Option<usize>,
    mask: Mask,
    count: u64,
    files: Vec<usize>,
    /// The last input it was found in, listed or not.
    last_input: usize,
    more_files: u64,
}

/// The distinct keys, by whole hash, in the order first found.
#[derive(Default)]
pub(crate) struct Keys {
    tallies: Vec<Tally>,
    index: HashMap<[u8; 32], usize, BuildHasherDefault<HashPrefix>>,
    /// Findings of keys that did not fit in the list.
    pub(crate) unlisted: u64,
}

impl Keys {
    pub(crate) fn add(&mut self, found: &[Found], input: usize) {
        for f in found {
            let i = match self.index.get(&f.hash) {
                Some(&i) => i,
                None if self.tallies.len() < MAX_KEYS => {
                    self.tallies.push(Tally {
                        hash: f.hash,
                        rule: f.rule,
                        mask: f.mask,
                        count: 0,
                        files: Vec::new(),
                        last_input: usize::MAX,
                        more_files: 0,
                    });
                    self.index.insert(f.hash, self.tallies.len() - 1);
                    self.tallies.len() - 1
                }
                None => {
                    self.unlisted += 1;
                    continue;
                }
            };
            let tally = &mut self.tallies[i];
            tally.count += 1;
            if tally.last_input != input {
                tally.last_input = input;
                if tally.files.len() < MAX_FILES {
                    tally.files.push(input);
                } else {
                    tally.more_files += 1;
                }
            }
        }
    }

    pub(crate) fn into_keys(
        self,
        rules: &RuleSet,
        rule_names: &[String],
        names: &[PrintedName],
        json: bool,
    ) -> Vec<Key> {
        self.tallies
            .into_iter()
            .map(|t| Key {
                rule: rule_name(rule_names, t.rule).to_string(),
                mask: t.mask.to_string(),
                fingerprint: rules.fingerprints.short(&t.hash),
                count: t.count,
                files: t
                    .files
                    .iter()
                    .map(|&i| if json { &names[i].json } else { &names[i].text }.clone())
                    .collect(),
                more_files: t.more_files,
            })
            .collect()
    }
}

/// Hashes a BLAKE3 output by its first 8 bytes, which are already uniform:
/// SipHash over 32 bytes for every finding would cost more than the rest.
#[derive(Default)]
struct HashPrefix(u64);

impl Hasher for HashPrefix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, &b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(b) << (8 * i);
        }
    }
}

/// A finding, as much as the key list needs of it.
pub(crate) struct Found {
    pub(crate) hash: [u8; 32],
    pub(crate) rule: Option<usize>,
    pub(crate) mask: Mask,
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
    let policy = MessagePolicy::new(rules);
    let rule_names = rule_names(rules, &policy);
    let names_of = Names {
        rules,
        policy: &policy,
        rule_names: &rule_names,
        json: options.json,
        verdict_only: options.verdict_only,
    };
    let mut keys = Keys::default();
    let mut names = vec![PrintedName::default(); inputs.len()];
    let mut failures = 0;
    let mut unrecorded = 0;
    let workers = options.threads.clamp(1, inputs.len().clamp(1, crate::app::batch::MAX_THREADS));
    let next_input = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // One worker leaves cores for reading: ahead on a thread of its own,
    // or, when only the verdict is wanted, a big file in segments on every
    // thread asked for. Findings are not gathered in segments: each
    // thread's segment in flight would hold a megabyte of them on a dense
    // log, past the memory the README promises.
    let segment_threads = if options.verdict_only { options.threads.max(1) } else { 1 };
    let lone = (workers == 1).then_some(segment_threads);
    let mut out = Output { out, error: None, failed: &failed };
    std::thread::scope(|scope| {
        // Bounded, so that a slow output slows the readers down rather than
        // piling findings up in memory.
        let (tx, rx) = mpsc::sync_channel::<Message>(4 * workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next_input, names_of, failed) = (&next_input, &names_of, &failed);
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
                    on_error(&names[next].text, error);
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
    let unlisted = keys.unlisted;
    let keys = keys.into_keys(rules, &rule_names, &names, options.json);
    out.write(|out| write_keys(out, &keys, unlisted, options.json));
    Outcome { keys, unlisted, unrecorded, failures, output_error: out.error.map(Error::Write) }
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
            // Writing to a Vec cannot fail.
            let _ = write_finding(&mut text, &name, finding, names_of);
            found.push(Found { hash: finding.fingerprint, rule: finding.rule, mask: finding.mask });
        }
        if found.is_empty() || (batched && !last && text.len() < BATCH) {
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

fn rule_name(rule_names: &[String], rule: Option<usize>) -> &str {
    rule.map_or(CAPPED, |i| rule_names[i].as_str())
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

/// Findings of keys beyond the list, as a JSON line after the keys.
#[derive(Serialize)]
struct JsonUnlisted {
    #[serde(rename = "type")]
    kind: &'static str,
    findings: u64,
    listed_keys: usize,
}

/// One key as a JSON line.
#[derive(Serialize)]
struct JsonKey<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    key: &'a Key,
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

/// Writes the list of keys to rotate, after the findings; `unlisted`
/// findings were of keys beyond the list.
pub(crate) fn write_keys<W: Write + ?Sized>(
    out: &mut W,
    keys: &[Key],
    unlisted: u64,
    json: bool,
) -> io::Result<()> {
    if json {
        for key in keys {
            serde_json::to_writer(&mut *out, &JsonKey { kind: "key", key })?;
            out.write_all(b"\n")?;
        }
        if unlisted > 0 {
            let line = JsonUnlisted { kind: "unlisted", findings: unlisted, listed_keys: MAX_KEYS };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        return out.flush();
    }
    if !keys.is_empty() {
        let findings: u64 = keys.iter().map(|k| k.count).sum::<u64>() + unlisted;
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let distinct = if unlisted > 0 {
            format!("more than {MAX_KEYS} distinct keys to rotate; the first {MAX_KEYS}")
        } else {
            format!("{} distinct key{} to rotate", keys.len(), plural(keys.len() as u64))
        };
        writeln!(out, "\n{findings} finding{}, {distinct}:", plural(findings))?;
        for key in keys {
            let more = match key.more_files {
                0 => String::new(),
                n => format!(" and {n} more input{}", plural(n)),
            };
            writeln!(
                out,
                "  {}  {}  fingerprint {}  {} time{}  in {}{more}",
                key.rule,
                key.mask,
                key.fingerprint,
                key.count,
                plural(key.count),
                key.files.join(", "),
            )?;
        }
        if unlisted > 0 {
            writeln!(
                out,
                "  and {unlisted} more finding{} of keys not listed (the list stops at {MAX_KEYS} keys)",
                plural(unlisted)
            )?;
        }
    }
    out.flush()
}
