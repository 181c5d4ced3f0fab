use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, OnceLock, atomic::AtomicBool},
    time::Instant,
};

use anyhow::Context;
use clap::Parser;
use phx_redact::{
    Redactor, RuleSet, batch, check,
    cli::Config,
    exit_codes,
    filter::{self, Input},
    follow,
    walk::{self, Skipped},
};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::from(exit_codes::SUCCESS),
        Err(err) => {
            report(&format!("{err:#}"));
            ExitCode::from(exit_codes::ERROR)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    match phx_redact::cli::Args::parse().into_config()? {
        Config::Sample { lines, seed, one_in } => {
            let mut out = io::stdout().lock();
            out.write_all(&phx_redact::sample::log(seed, lines, one_in))?;
            out.flush()?;
            Ok(ExitCode::from(exit_codes::SUCCESS))
        }
        Config::ListRules { rules } => {
            io::stdout().write_all(rules.describe().as_bytes())?;
            Ok(ExitCode::from(exit_codes::SUCCESS))
        }
        Config::Filter { paths, walk, rules, stats } => {
            let started = Instant::now();
            let (inputs, mut failures) = expand_inputs(&paths, walk);
            // Our own buffer, flushed after each read; stdout's line
            // buffering would cost a syscall per line.
            let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            let mut redactor = Redactor::new(Arc::clone(&rules));
            failures += filter::redact_inputs(&mut redactor, &inputs, &mut out, |input, err| {
                report(&format!("{}: {err:#}", input.display()));
            })
            .context("<stdout>")?;
            if stats {
                report(&filter::stats_line(redactor.stats(), &rules, started.elapsed()));
            }
            Ok(exit_codes::for_failures(failures))
        }
        Config::Check { paths, walk, rules, json, threads } => {
            let (inputs, mut failures) = expand_inputs(&paths, walk);
            let mut out = BufWriter::new(io::stdout().lock());
            let options = check::CheckOptions { json, threads };
            let outcome = check::check(&inputs, &rules, options, &mut out, |name, err| {
                report(&format!("{name}: {err:#}"));
            })
            .context("<stdout>")?;
            failures += outcome.failures;
            if inputs.is_empty() && failures == 0 {
                // An empty set of inputs is not a clean bill.
                report("nothing to check: no files found");
                failures = 1;
            }
            Ok(exit_codes::for_check(failures, outcome.keys.len()))
        }
        Config::Follow { paths, rules, options } => {
            // SIGTERM and SIGINT end the loop after a last read and flush.
            let stop = Arc::new(AtomicBool::new(false));
            for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                signal_hook::flag::register(signal, Arc::clone(&stop))?;
            }
            let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            follow::follow(&paths, &rules, &options, &mut out, &stop, |path, message| {
                report(&format!("{}: {message}", path.display()));
            })
            .context("--follow")?;
            Ok(ExitCode::from(exit_codes::SUCCESS))
        }
        Config::Batch { paths, walk, rules, options } => {
            let (files, skipped) = walk::expand(&paths, walk);
            let mut failures = report_skipped(&skipped);
            let quiet = !options.progress;
            let summary = batch::run(&files, &rules, &options, |path, err| {
                report(&format!("{}: {err:#}", path.display()));
            })?;
            failures += summary.failed as usize;
            if !quiet {
                report_line(&format!("{summary}"));
            }
            if files.is_empty() && failures == 0 {
                report("no files to scrub");
                failures = 1;
            }
            Ok(exit_codes::for_failures(failures))
        }
    }
}

/// The inputs that `paths` name (`-` is standard input, folders are walked
/// as `walk` says), and how many of them failed to be listed.
fn expand_inputs(paths: &[PathBuf], walk: walk::WalkOptions) -> (Vec<Input>, usize) {
    let mut failures = 0;
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let (found, skipped) = walk::expand(std::slice::from_ref(path), walk);
        failures += report_skipped(&skipped);
        inputs.extend(found.into_iter().map(|f| Input::Path(f.path)));
    }
    (inputs, failures)
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

/// Prints an error on stderr, redacted too: a file name or a message can
/// hold a secret as well as a log line can.
fn report(message: &str) {
    report_line(&format!("phx-redact: {message}"));
}

fn report_line(line: &str) {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    let rules = RULES.get_or_init(|| Arc::new(RuleSet::default_rules(true)));
    let line = rules.redact(line.as_bytes());
    eprintln!("{}", String::from_utf8_lossy(&line));
}

/// A reader that went away (`| head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<phx_redact::Error>().is_some_and(phx_redact::Error::is_broken_pipe)
            || cause
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
