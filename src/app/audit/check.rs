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
    app::audit::keys::{KeyList, write_keys_with},
    app::audit::printer::{Names, rule_names},
    app::audit::sarif::{self, MAX_NOTIFICATIONS, Results, Tail},
    app::audit::sarif_uri::SarifOptions,
    app::audit::verify::{Cache, Statuses, Target, VerifyOptions},
    app::audit::worker::{self, Message},
    app::filter::Input,
    app::inputs::MAX_THREADS,
    app::policy::MessagePolicy,
};

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// JSON lines rather than text.
    pub json: bool,
    /// A SARIF log rather than text or JSON lines.
    pub sarif: Option<SarifOptions>,
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
    /// Each verified key's status, by fingerprint (`--verify`; empty
    /// otherwise).
    pub statuses: Statuses,
    /// The keys whose rules carried them (see
    /// [`RuleSet::capture_tokens`]), each once: what `--verify` asked
    /// about and `--revoke` sends.
    pub targets: Vec<Target>,
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
    on_error: impl FnMut(&str, &Error),
) -> Outcome {
    check_with(inputs, rules, options, None, out, on_error)
}

/// As [`check`], and, when `verify` is given, asks PostHog whether each
/// key its rules carried (see [`RuleSet::capture_tokens`]) is live, once
/// per key and host, before the list of keys, which then shows each
/// key's status.
pub fn check_with<W: Write + ?Sized>(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    options: CheckOptions,
    verify: Option<&VerifyOptions>,
    out: &mut W,
    mut on_error: impl FnMut(&str, &Error),
) -> Outcome {
    let failed = AtomicBool::new(false);
    let mut out = Output { out, error: None, failed: &failed };
    let policy = MessagePolicy::new(rules);
    let sarif = options.sarif.as_ref();
    let results = sarif.map(|s| start_sarif(&mut out, rules, s, &policy));
    let mut notes = sarif.map_or_else(Vec::new, |s| passed_over_notes(s, &policy));
    let checked =
        check_inputs(inputs, rules, &options, true, results, &mut out, |i, name, error| {
            on_error(name, error);
            if let Some(s) = sarif
                && notes.len() < MAX_NOTIFICATIONS
            {
                let uri = s.uri_of(inputs[i].name_bytes(), &policy);
                let message = policy.redact_str(&format!("{name}: {error:#}"));
                notes.push(sarif::notification(&uri, &message));
            }
        });
    let keys = checked.keys.list(rules, &checked.rule_names, &checked.names, options.json);
    let targets = checked.keys.targets(rules);
    let statuses = match verify {
        Some(verify) => Cache::default().verify(&targets, verify).clone(),
        None => Statuses::default(),
    };
    match (sarif, &checked.results) {
        (Some(s), Some(results)) => {
            let mut failures = checked.failures + s.passed_over.len();
            if inputs.is_empty() && failures == 0 {
                // No input is no clean bill: the run fails (exit 2).
                notes.push(sarif::message("nothing to check: no files found"));
                failures = 1;
            }
            let statuses = verify.map(|_| &statuses);
            let tail = Tail { results, notifications: &notes, failures, statuses };
            out.write(|out| sarif::write_tail(out, &tail));
        }
        _ => out.write(|out| write_keys_with(out, &keys, options.json, &statuses)),
    }
    let (unrecorded, failures, malformed) =
        (checked.unrecorded, checked.failures, checked.malformed);
    let output_error = out.error.map(Error::Write);
    Outcome { keys, unrecorded, failures, malformed, output_error, statuses, targets }
}

/// A notification for each input a walk passed over (at most
/// [`MAX_NOTIFICATIONS`]), said as standard error said it.
fn passed_over_notes(options: &SarifOptions, policy: &MessagePolicy) -> Vec<serde_json::Value> {
    use std::os::unix::ffi::OsStrExt;
    let passed_over = options.passed_over.iter().take(MAX_NOTIFICATIONS);
    passed_over
        .map(|(path, reason)| {
            let name = path.as_os_str().as_bytes();
            let message = format!("{}: not checked: {reason}", policy.printed_name(name).text);
            sarif::notification(&options.uri_of(name, policy), &policy.redact_str(&message))
        })
        .collect()
}

/// Writes the head of a SARIF log, and returns what admits its results.
fn start_sarif<W: Write + ?Sized>(
    out: &mut Output<'_, W>,
    rules: &RuleSet,
    options: &SarifOptions,
    policy: &MessagePolicy,
) -> Results {
    let mut head = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = sarif::write_head(&mut head, &rule_names(rules, policy), &options.root_uri(policy));
    out.write(|out| out.write_all(&head));
    Results::new(options.max_results, options.max_gzipped, &head)
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
    let options = CheckOptions {
        json: false,
        sarif: None,
        threads,
        verdict_only: false,
        format: InputFormat::Plain,
    };
    let checked = check_inputs(inputs, rules, &options, false, None, &mut out, on_error);
    let text = checked.keys.list(rules, &checked.rule_names, &checked.names, false);
    let json = checked.keys.list(rules, &checked.rule_names, &checked.names, true);
    (text, json)
}

/// Reads `inputs`, writes their findings to `out` (when `print_findings`)
/// in input order, and tallies their keys.
fn check_inputs<W: Write + ?Sized>(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    options: &CheckOptions,
    print_findings: bool,
    results: Option<Results>,
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
        sarif: options.sarif.as_ref(),
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
    let mut printer = InOrder::new(out, inputs.len(), &policy, options.json, results);
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
