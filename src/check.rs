//! The audit mode: find tokens without rewriting anything, say where each
//! one is, and list the distinct keys that leaked, so that they can be
//! rotated.
//!
//! A finding shows PostHog's mask of a token (`phx_...abcd`) and a short
//! fingerprint, never the token. Findings stream out as they are found, in
//! input order, however many threads read the inputs: memory holds the
//! findings of one read per input in flight and one entry per distinct key,
//! never all findings.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    io::{self, Write},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
};

use serde::Serialize;

use crate::{
    Error, Finding, Redactor, RuleSet,
    filter::{self, Input, READ_SIZE},
    marker::Mask,
    rules::CAPPED,
};

/// How to check.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// JSON lines rather than text.
    pub json: bool,
    /// Inputs read at once.
    pub threads: usize,
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
    /// The inputs it was found in, in order.
    pub files: Vec<String>,
}

/// What a check found, once every finding has been written.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The distinct keys, in the order they were first found. Two findings
    /// are the same key when their whole hashes are equal.
    pub keys: Vec<Key>,
    /// How many inputs could not be read to their end.
    pub failures: usize,
}

/// A key as the printer tallies it: the rule by index, the files by input
/// index, names and hex only at the end.
struct Tally {
    hash: [u8; 32],
    rule: Option<usize>,
    mask: Mask,
    count: u64,
    files: Vec<usize>,
}

/// The distinct keys, by whole hash, in the order first found.
#[derive(Default)]
struct Keys {
    tallies: Vec<Tally>,
    index: HashMap<[u8; 32], usize, BuildHasherDefault<HashPrefix>>,
}

impl Keys {
    fn add(&mut self, found: &[Found], input: usize) {
        for f in found {
            let i = *self.index.entry(f.hash).or_insert_with(|| {
                let tally =
                    Tally { hash: f.hash, rule: f.rule, mask: f.mask, count: 0, files: Vec::new() };
                self.tallies.push(tally);
                self.tallies.len() - 1
            });
            let tally = &mut self.tallies[i];
            tally.count += 1;
            if tally.files.last() != Some(&input) {
                tally.files.push(input);
            }
        }
    }

    fn into_keys(self, rules: &RuleSet, names: &[String]) -> Vec<Key> {
        self.tallies
            .into_iter()
            .map(|t| Key {
                rule: rule_name(rules, t.rule).to_string(),
                mask: t.mask.to_string(),
                fingerprint: rules.fingerprints.short(&t.hash),
                count: t.count,
                files: t.files.iter().map(|&i| names[i].clone()).collect(),
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
struct Found {
    hash: [u8; 32],
    rule: Option<usize>,
    mask: Mask,
}

/// What a worker tells the printer.
enum Message {
    /// Formatted findings of input `.0`, and their keys.
    Text(usize, Vec<u8>, Vec<Found>),
    /// Input `.0` is done: its name, and why it failed if it did.
    Done(usize, String, Option<Error>),
}

/// Checks `inputs`, writing each finding to `out` as `PATH:LINE:COLUMN:
/// RULE: MASK` (or a JSON line), in input order, then the list of keys to
/// rotate. An input that fails is passed to `on_error` (by its redacted
/// name) when its turn comes, and the others are still checked.
///
/// # Errors
///
/// [`Error::Write`] when `out` fails, which ends the check.
pub fn check<W: Write + ?Sized>(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    options: CheckOptions,
    out: &mut W,
    mut on_error: impl FnMut(&str, &Error),
) -> Result<Outcome, Error> {
    let mut keys = Keys::default();
    let mut names = vec![String::new(); inputs.len()];
    let mut failures = 0;
    let workers = options.threads.clamp(1, inputs.len().clamp(1, crate::batch::MAX_THREADS));
    let next_input = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        // Bounded, so that a slow output slows the readers down rather than
        // piling findings up in memory.
        let (tx, rx) = mpsc::sync_channel::<Message>(4 * workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let next_input = &next_input;
            scope.spawn(move || {
                loop {
                    let i = next_input.fetch_add(1, Ordering::Relaxed);
                    if i >= inputs.len() || !check_input(i, &inputs[i], rules, options.json, &tx) {
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
        let mut print = |message: Message| -> io::Result<()> {
            match message {
                Message::Text(i, text, found) if i == next => {
                    // Flushed at once: a live stream (`tail -f | phx-redact
                    // --check`) shows each finding as it is read.
                    out.write_all(&text)?;
                    out.flush()?;
                    keys.add(&found, i);
                }
                Message::Text(i, text, found) => pending[i].0.push((text, found)),
                Message::Done(i, name, error) => {
                    names[i] = name;
                    pending[i].1 = Some(error);
                }
            }
            while let Some(error) = pending.get_mut(next).and_then(|(_, done)| done.take()) {
                if let Some(error) = &error {
                    failures += 1;
                    if options.json {
                        write_json_error(out, &names[next], error, rules)?;
                    }
                    out.flush()?;
                    on_error(&names[next], error);
                }
                next += 1;
                if let Some((texts, _)) = pending.get_mut(next) {
                    for (text, found) in std::mem::take(texts) {
                        out.write_all(&text)?;
                        keys.add(&found, next);
                    }
                }
            }
            Ok(())
        };
        // On a write error, dropping `rx` stops the workers at their next
        // send.
        rx.into_iter().try_for_each(&mut print).map_err(Error::Write)
    })?;
    let keys = keys.into_keys(rules, &names);
    write_keys(out, &keys, options.json).map_err(Error::Write)?;
    Ok(Outcome { keys, failures })
}

/// Checks input `index`, sending its findings after each read. Returns
/// false when the printer has gone.
fn check_input(
    index: usize,
    input: &Input,
    rules: &Arc<RuleSet>,
    json: bool,
    tx: &mpsc::SyncSender<Message>,
) -> bool {
    let name =
        String::from_utf8_lossy(&rules.redact(input.display().to_string().as_bytes())).into_owned();
    let mut redactor = Redactor::new(Arc::clone(rules)).record_findings();
    let mut buf = vec![0; READ_SIZE];
    let mut gone = false;
    let mut send = |redactor: &mut Redactor| {
        let findings = redactor.take_findings();
        if findings.is_empty() {
            return false;
        }
        let mut text = Vec::with_capacity(findings.len() * (name.len() + 40));
        for finding in &findings {
            // Writing to a Vec cannot fail.
            let _ = write_finding(&mut text, &name, finding, rules, json);
        }
        let found = findings
            .iter()
            .map(|f| Found { hash: f.fingerprint, rule: f.rule, mask: f.mask })
            .collect();
        gone = tx.send(Message::Text(index, text, found)).is_err();
        gone
    };
    let error = filter::inspect_input(&mut redactor, input, &mut buf, &mut send).err();
    send(&mut redactor);
    !gone && tx.send(Message::Done(index, name, error)).is_ok()
}

fn rule_name(rules: &RuleSet, rule: Option<usize>) -> &str {
    rule.map_or(CAPPED, |i| rules.rules()[i].name.as_str())
}

/// One finding as a JSON line.
#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'a str,
    line: u64,
    column: u64,
    offset: u64,
    length: u64,
    rule: &'a str,
    mask: &'a str,
    fingerprint: String,
}

/// An input that could not be read to its end, as a JSON line.
#[derive(Serialize)]
struct JsonError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'a str,
    message: String,
}

/// One key as a JSON line.
#[derive(Serialize)]
struct JsonKey<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    key: &'a Key,
}

fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    f: &Finding,
    rules: &RuleSet,
    json: bool,
) -> io::Result<()> {
    let rule = rule_name(rules, f.rule);
    if !json {
        return writeln!(out, "{name}:{}:{}: {rule}: {}", f.line, f.column, f.mask);
    }
    let line = JsonFinding {
        kind: "finding",
        path: name,
        line: f.line,
        column: f.column,
        offset: f.offset,
        length: f.len,
        rule,
        mask: &f.mask.to_str(),
        fingerprint: rules.fingerprints.short(&f.fingerprint),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

fn write_json_error<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    error: &Error,
    rules: &Arc<RuleSet>,
) -> io::Result<()> {
    let message = rules.redact(format!("{error:#}").as_bytes());
    let line = JsonError {
        kind: "error",
        path: name,
        message: String::from_utf8_lossy(&message).into_owned(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// Writes the list of keys to rotate, after the findings.
fn write_keys<W: Write + ?Sized>(out: &mut W, keys: &[Key], json: bool) -> io::Result<()> {
    if json {
        for key in keys {
            serde_json::to_writer(&mut *out, &JsonKey { kind: "key", key })?;
            out.write_all(b"\n")?;
        }
        return out.flush();
    }
    if !keys.is_empty() {
        let findings: u64 = keys.iter().map(|k| k.count).sum();
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        writeln!(
            out,
            "\n{findings} finding{}, {} distinct key{} to rotate:",
            plural(findings),
            keys.len(),
            plural(keys.len() as u64),
        )?;
        for key in keys {
            writeln!(
                out,
                "  {}  {}  fingerprint {}  {} time{}  in {}",
                key.rule,
                key.mask,
                key.fingerprint,
                key.count,
                plural(key.count),
                key.files.join(", "),
            )?;
        }
    }
    out.flush()
}
