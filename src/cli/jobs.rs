//! One function per job the command line runs: each drives the
//! application's entry point, prints what it found through the message
//! policy, and says which exit status the run ends with.

use std::{
    cell::Cell,
    io::{self, BufWriter, IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, atomic::AtomicBool},
    time::Instant,
};

use anyhow::Context;

use crate::{
    RuleSet,
    app::{
        InputFormat, MessagePolicy, Scanner,
        audit::{self, KeyList, diff, keys},
        filter::{self, Input, stdio},
        follow,
        inputs::FileId,
        malformed_notice, rsyslog,
        scrub::{
            Dest, batch,
            walk::{self, Skipped},
        },
    },
    cli::{
        exit_codes,
        messages::{report, report_line},
    },
};

/// Redacts the inputs to standard output, in order (`how`: the threads
/// for a big file's segments, and whether the inputs are records).
pub(super) fn filter_run(
    paths: &[PathBuf],
    walk: walk::WalkOptions,
    rules: &Arc<RuleSet>,
    stats: bool,
    how: (usize, InputFormat),
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (inputs, mut failures, _) = expand_inputs(paths, walk, Audit::No);
    // Each read's output (its clean spans and markers) goes out in one
    // write, straight to descriptor 1: stdout's line buffering would split
    // it, and a buffer that fills mid-read would too.
    let mut out = stdio::PerRead::new(stdio::RawStdout::new(), 2 * filter::READ_SIZE);
    stdio::widen_stdio_pipes();
    let failed = Cell::new(0);
    let output = FileId::of_stdout();
    let on_error = |input: &Input, err: &crate::app::Error| {
        failed.set(failed.get() + 1);
        report(&format!("{}: {err:#}", input.display()));
    };
    let (threads, format) = how;
    let mut scanner = Scanner::new(format, rules, false);
    let result = match &mut scanner {
        Scanner::Plain(redactor) => {
            filter::redact_inputs(redactor, &inputs, threads, &mut out, output, on_error)
        }
        records => filter::redact_records(records, &inputs, &mut out, output, on_error),
    };
    report_malformed(scanner.malformed(), scanner.format());
    failures += match result {
        Ok(count) => count,
        // The reader went away (`| head`): quietly, but an input
        // that failed before still fails the run.
        Err(e) if e.is_broken_pipe() => {
            return Ok(exit_codes::for_failures(failures + failed.get()));
        }
        Err(e) => return Err(e).context("<stdout>"),
    };
    if stats {
        report(&filter::stats_line(&scanner.stats(), rules, started.elapsed()));
    }
    Ok(exit_codes::for_failures(failures))
}

/// Says how many lines were not records of the format read (they went
/// through as plain text, redacted).
pub(super) fn report_malformed(count: u64, format: InputFormat) {
    if let Some(notice) = malformed_notice(count, format) {
        report(&notice);
    }
}

/// How `--check` prints.
pub(super) struct CheckFlags {
    pub(super) json: bool,
    pub(super) sarif: Option<crate::app::SarifOptions>,
    pub(super) threads: usize,
    pub(super) quiet: bool,
    pub(super) format: InputFormat,
    /// `--verify` and `--revoke`.
    pub(super) plan: Option<super::verify_args::VerifyPlan>,
}

/// Audits the inputs: where each token is, and the keys to rotate (also
/// into `keys_out`).
pub(super) fn check_run(
    paths: &[PathBuf],
    walk: walk::WalkOptions,
    rules: &Arc<RuleSet>,
    flags: CheckFlags,
    keys_out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (inputs, mut failures, passed_over) = expand_inputs(paths, walk, Audit::Yes);
    if let Some(path) = keys_out {
        let files = inputs.iter().filter_map(|i| match i {
            Input::Path(p) => Some(p.as_path()),
            Input::Stdin => None,
        });
        keys_out_is_no_input(path, files)?;
    }
    let CheckFlags { json, mut sarif, threads, quiet, format, plan } = flags;
    if let Some(sarif) = &mut sarif {
        // Inputs a walk passed over fail the invocation too.
        sarif.passed_over = passed_over.into_iter().map(|s| (s.path, s.reason)).collect();
    }
    let mut out: Box<dyn Write> = match quiet {
        true => Box::new(io::sink()),
        false => Box::new(BufWriter::new(io::stdout().lock())),
    };
    // Quiet, only the exit status tells: tokens are counted, not recorded
    // (unless the keys are to be written).
    let verdict_only = quiet && keys_out.is_none() && plan.is_none();
    let options = audit::CheckOptions { json, sarif, threads, verdict_only, format };
    let verify = plan.as_ref().filter(|p| p.verify).map(|p| &p.options);
    let outcome = audit::check_with(&inputs, rules, options, verify, &mut out, |name, err| {
        report(&format!("{name}: {err:#}"));
    });
    drop(out);
    report_malformed(outcome.malformed, format);
    failures += outcome.failures;
    failures += output_failures(outcome.output_error.as_ref());
    if inputs.is_empty() && failures == 0 {
        // An empty set of inputs is not a clean bill.
        report("nothing to check: no files found");
        failures = 1;
    }
    if let Some(path) = keys_out
        && let Err(err) = keys::write_keys_file(path, &outcome.keys)
    {
        report(&format!("--keys-out {}: {err}", path.display()));
        failures += 1;
    }
    if !quiet && !outcome.found() && !inputs.is_empty() {
        say_no_keys(failures);
    }
    if let Some(plan) = plan.as_ref().filter(|p| p.revoke) {
        failures += super::verify_run::revoke_found(&outcome.targets, plan)?;
    }
    let found = match plan.as_ref().is_some_and(|p| p.fail_on_live) {
        // A key no region could say anything about may be live.
        true => outcome.statuses.any_may_be_live(),
        false => outcome.found(),
    };
    Ok(exit_codes::for_check(failures, usize::from(found)))
}

/// Audits unified diffs: only the lines they add (`--check --diff`).
pub(super) fn diff_check_run(
    paths: &[PathBuf],
    rules: &Arc<RuleSet>,
    json: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let mut out: Box<dyn Write> = match quiet {
        true => Box::new(io::sink()),
        false => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let policy = MessagePolicy::new(rules);
    let rule_names = audit::rule_names(rules, &policy);
    let mut diff = diff::DiffCheck::new(rules, &policy, &rule_names, json, &mut out);
    let on_error = |name: &str, err: &crate::app::Error| report(&format!("{name}: {err:#}"));
    for path in paths {
        if filter::is_stdin(path) {
            diff.check(b"<stdin>", io::stdin().lock(), on_error);
            continue;
        }
        let name = path.as_os_str().as_encoded_bytes();
        match std::fs::File::open(path) {
            Ok(file) => diff.check(name, io::BufReader::with_capacity(1 << 16, file), on_error),
            Err(e) => diff.fail(name, &crate::app::Error::Read(e), on_error),
        }
    }
    let outcome = diff.finish();
    let failures = outcome.failures + output_failures(outcome.output_error.as_ref());
    Ok(exit_codes::for_check(failures, usize::from(outcome.found())))
}

/// An audit's output error, said, as a failure; a reader that went away
/// (`| head -1`) is none: the verdict still stands on what was found.
fn output_failures(error: Option<&crate::app::Error>) -> usize {
    match error {
        Some(err) if !err.is_broken_pipe() => {
            report(&format!("<stdout>: {err:#}"));
            1
        }
        _ => 0,
    }
}

/// Refuses a `--keys-out` file that is one of the inputs: writing the list
/// over it would lose the log (and a scrub would then find it changed).
fn keys_out_is_no_input<'a>(
    keys_out: &Path,
    mut inputs: impl Iterator<Item = &'a Path>,
) -> anyhow::Result<()> {
    let Some(id) = FileId::of_path(keys_out) else { return Ok(()) };
    if inputs.any(|p| FileId::of_path(p) == Some(id)) {
        anyhow::bail!(crate::app::Error::Usage(format!(
            "--keys-out {} is one of the inputs; nothing was written. Write the keys outside \
             the files being read",
            keys_out.display()
        )));
    }
    Ok(())
}

/// Says on a terminal that a run found no key; a script reading standard
/// error gets what it always got.
fn say_no_keys(failures: usize) {
    if io::stderr().is_terminal() {
        match failures {
            0 => report_line("no keys found"),
            _ => report_line("no keys found in the files that could be read"),
        }
    }
}

/// Follows the files through rotation until SIGTERM or SIGINT.
pub(super) fn follow_run(
    paths: &[PathBuf],
    rules: &Arc<RuleSet>,
    options: &follow::FollowOptions,
) -> anyhow::Result<ExitCode> {
    // SIGTERM and SIGINT end the loop after a last read and flush. A
    // second one ends the process at once: the first cannot end a
    // write that a stalled reader blocks, or the open of a FIFO
    // that has no writer yet.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let status = i32::from(exit_codes::ERROR);
        signal_hook::flag::register_conditional_shutdown(signal, status, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    // A followed file that is the output would be read back without end.
    if let Some(output) = FileId::of_stdout() {
        for path in paths {
            let input = Input::Path(path.clone());
            output.refuse_as_input(&input).with_context(|| path.display().to_string())?;
        }
    }
    let notice = |path: &Path, message: &str| report(&format!("{}: {message}", path.display()));
    let followed = match (&options.folder, paths) {
        (Some(_), [root]) => follow::follow_folder(root, rules, options, &stop, notice),
        _ => {
            let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            follow::follow(paths, rules, options, &mut out, &stop, notice)
        }
    };
    match followed {
        // Names the state file already (one in use by another follower).
        Err(err @ crate::app::Error::Usage(_)) => return Err(err.into()),
        result => result.context("--follow")?,
    }
    Ok(ExitCode::from(exit_codes::SUCCESS))
}

/// Scrubs files in place or into a mirror, in parallel.
pub(super) fn batch_run(
    paths: &[PathBuf],
    walk: walk::WalkOptions,
    rules: &Arc<RuleSet>,
    options: &batch::BatchOptions,
    keys_out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    // SIGINT, SIGTERM and SIGHUP remove the temporary files in flight.
    crate::app::atomic::remove_temps_on_signals().context("signal handlers")?;
    let (files, skipped) = walk::expand(paths, walk);
    if let Some(path) = keys_out {
        keys_out_is_no_input(path, files.iter().map(|f| f.path.as_path()))?;
    }
    let mut failures = match options.dest {
        // A mirror that lacks a file is not the tree's copy.
        Dest::Mirror { .. } => report_passed_over(&skipped, "not mirrored"),
        Dest::InPlace => report_skipped(&skipped),
    };
    let quiet = !options.progress;
    // The list is on disk before any file changes, or nothing changes.
    let listed = |list: &KeyList| match keys_out {
        Some(path) => keys::write_keys_file(path, list).map_err(|err| {
            crate::app::Error::Usage(format!(
                "--keys-out {}: {err}; nothing was scrubbed",
                path.display()
            ))
        }),
        None => Ok(()),
    };
    let summary = batch::run(&files, rules, options, listed, |path, err| {
        report(&format!("{}: {err:#}", path.display()));
    })?;
    failures += summary.failed as usize;
    if !quiet {
        report_line(&format!("{summary}"));
    }
    // The keys to rotate come last, on stderr with the summary (a scrub's
    // standard output stays empty), even with -q: they are what to do next.
    print_keys(&summary.keys);
    if !quiet && summary.keys.is_empty() && !files.is_empty() {
        say_no_keys(failures);
    }
    if files.is_empty() && failures == 0 {
        report("no files to scrub");
        failures = 1;
    }
    Ok(exit_codes::for_failures(failures))
}

/// Prints the keys to rotate on stderr, as `--check` prints them.
fn print_keys(list: &KeyList) {
    let mut text = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = keys::write_keys(&mut text, list, false);
    // Names in it are escaped already; a line at a time, each through the
    // policy, as every message.
    for line in String::from_utf8_lossy(&text).lines() {
        report_line(line);
    }
}

/// Whether inputs are listed for an audit, where an entry passed over (a
/// link not followed, our own leftover) was not checked, and so fails the
/// run rather than let it look clean.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audit {
    Yes,
    No,
}

/// The inputs that `paths` name (`-` is standard input, folders are walked
/// as `walk` says), how many of them failed to be listed, and, for an
/// audit, those it passed over.
fn expand_inputs(
    paths: &[PathBuf],
    walk: walk::WalkOptions,
    audit: Audit,
) -> (Vec<Input>, usize, Vec<Skipped>) {
    let mut failures = 0;
    let mut inputs = Vec::new();
    let mut passed_over = Vec::new();
    for path in paths {
        if filter::is_stdin(path) {
            inputs.push(Input::Stdin);
            continue;
        }
        let (found, skipped) = walk::expand(std::slice::from_ref(path), walk);
        failures += match audit {
            Audit::Yes => report_passed_over(&skipped, "not checked"),
            Audit::No => report_skipped(&skipped),
        };
        if audit == Audit::Yes {
            passed_over.extend(skipped);
        }
        inputs.extend(found.into_iter().map(|f| Input::Path(f.path)));
    }
    (inputs, failures, passed_over)
}

/// Reports what a walk passed over where each one is a failure: an audit
/// did not check it ("not checked"), a mirror lacks it ("not mirrored").
fn report_passed_over(skipped: &[Skipped], what: &str) -> usize {
    for s in skipped {
        report(&format!("{}: {what}: {}", s.path.display(), s.reason));
    }
    skipped.len()
}

/// Reports what a walk passed over; returns how many count as failures.
fn report_skipped(skipped: &[Skipped]) -> usize {
    for s in skipped {
        report(&format!(
            "{}: {}{}",
            s.path.display(),
            if s.failed { "" } else { "skipped: " },
            s.reason
        ));
    }
    skipped.iter().filter(|s| s.failed).count()
}

/// Answers rsyslog's `mmexternal` until standard input ends, then says on
/// standard error what could not be answered as asked (never before: the
/// module reads standard error as replies). 0 at the end of standard input.
pub(super) fn rsyslog_run(
    rules: &Arc<RuleSet>,
    interface: rsyslog::Interface,
) -> anyhow::Result<ExitCode> {
    let outcome = rsyslog::serve(rules, interface, io::stdin().lock(), io::stdout().lock())
        .context("--rsyslog")?;
    if outcome.unparsable > 0 {
        report(&format!(
            "--rsyslog: {} of {} lines were not rsyslog's JSON message: those without a key \
             were answered {{}}, the {} with a key had their msg replaced by the line, \
             redacted; is the action's interface.input \"fulljson\"?",
            outcome.unparsable, outcome.messages, outcome.unparsable_redacted
        ));
    }
    if outcome.too_long > 0 {
        report(&format!(
            "--rsyslog: {} messages were over {} bytes: their msg was replaced by a notice",
            outcome.too_long,
            rsyslog::MAX_MESSAGE
        ));
    }
    Ok(ExitCode::from(exit_codes::SUCCESS))
}
