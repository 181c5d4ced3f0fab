//! The command line's entry point: parse, validate, run the job the
//! arguments name, and turn the outcome into an exit status. A reader that
//! went away (`| head`) ends the run quietly; every other error is printed
//! once, through the message policy, as `phx-redact: PATH: message`.

use std::{
    io::{self, BufWriter, Write},
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
};

use anyhow::Context;
use clap::{CommandFactory, Parser};

use crate::{
    app::MessagePolicy,
    cli::{
        Config, exit_codes,
        jobs::{
            CheckFlags, batch_run, check_run, diff_check_run, filter_run, follow_run, rsyslog_run,
        },
        messages::{early_policy, policy, report, set_policy},
    },
};

/// Runs `phx-redact` with the process's arguments, and returns its exit
/// status. `stdout_closed_at_start`: whether descriptor 1 was closed
/// before Rust's runtime started, which only the binary can see.
#[doc(hidden)]
pub fn main(stdout_closed_at_start: bool) -> ExitCode {
    STDOUT_CLOSED_AT_START.store(stdout_closed_at_start, Ordering::Relaxed);
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
    if let Some(policy) = early_policy() {
        set_policy(policy);
    }
    let args = match crate::cli::Args::try_parse() {
        Ok(args) => args,
        Err(err) => return Ok(argument_error(&err)),
    };
    let config = args.into_config()?;
    if let Some(rules) = config.rules() {
        set_policy(MessagePolicy::new(rules));
    }
    let writes_stdout = match &config {
        Config::Batch { .. } => false,
        Config::Check { quiet, .. } => !quiet,
        _ => true,
    };
    if writes_stdout {
        stdout_is_writable().context("<stdout>")?;
    }
    match config {
        Config::Completions { .. }
        | Config::Man
        | Config::Sample { .. }
        | Config::ListRules { .. } => {
            print_text(config).map(|()| ExitCode::from(exit_codes::SUCCESS))
        }
        Config::Filter { paths, walk, rules, stats, threads, format } => {
            filter_run(&paths, walk, &rules, stats, (threads, format))
        }
        Config::Check { paths, rules, json, diff: true, quiet, .. } => {
            diff_check_run(&paths, &rules, json, quiet)
        }
        Config::Check {
            paths,
            walk,
            rules,
            json,
            sarif,
            threads,
            quiet,
            keys_out,
            format,
            plan,
            ..
        } => check_run(
            &paths,
            walk,
            &rules,
            CheckFlags { json, sarif, threads, quiet, format, plan },
            keys_out.as_deref(),
        ),
        Config::Follow { paths, rules, options } => follow_run(&paths, &rules, &options),
        Config::Rsyslog { rules, interface } => rsyslog_run(&rules, interface),
        Config::Batch { paths, walk, rules, options, keys_out } => {
            batch_run(&paths, walk, &rules, &options, keys_out.as_deref())
        }
    }
}

/// The runs that print a text and read nothing: completions, the man page,
/// a sample log, the rules.
fn print_text(config: Config) -> anyhow::Result<()> {
    match config {
        Config::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer
            // fails (a full or closed output).
            let mut script = Vec::new();
            let mut command = crate::cli::Args::command();
            clap_complete::generate(shell, &mut command, "phx-redact", &mut script);
            write_stdout(&script).context("<stdout>")
        }
        Config::Man => write_stdout(&crate::cli::man::page()?).context("<stdout>"),
        Config::Sample { lines, seed, one_in } => {
            // Streamed: a count too large to hold runs until the reader
            // stops reading.
            let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            crate::app::sample::write_log(seed, lines, one_in, &mut out)
                .and_then(|()| out.flush())
                .context("<stdout>")
        }
        Config::ListRules { rules } => {
            let text = policy().redact_str(&rules.describe());
            write_stdout(text.as_bytes()).context("<stdout>")
        }
        _ => unreachable!("print_text is called for the runs that print a text"),
    }
}

/// Prints an argument error, or the help or version clap answers with,
/// through the policy: an argument can be a key (`--threads phx_...`). The
/// run's rules are not known yet, so the built-in rules apply. The exit
/// status is clap's: 2 for a usage error, 0 for `--help` and `--version`.
fn argument_error(err: &clap::Error) -> ExitCode {
    if !err.use_stderr()
        && let Err(e) = stdout_is_writable()
    {
        report(&format!("<stdout>: {e}"));
        return ExitCode::from(exit_codes::ERROR);
    }
    let text = policy().redact_str(&err.render().to_string());
    if err.use_stderr() {
        let _ = io::stderr().lock().write_all(text.as_bytes());
    } else {
        // `--help` or `--version` into a full output is an error; into a
        // reader that went away (`--help | head -1`), not.
        match write_stdout(text.as_bytes()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                report(&format!("<stdout>: {e}"));
                return ExitCode::from(exit_codes::ERROR);
            }
            _ => {}
        }
    }
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(exit_codes::ERROR))
}

/// Writes `bytes` to standard output and flushes it, so that a failure is
/// seen here rather than lost when the process exits.
fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Whether descriptor 1 was closed when the process started (`>&-`), as
/// the binary's probe saw it before Rust's runtime put /dev/null in its
/// place (see `src/main.rs`).
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Whether standard output can take what the run writes. A closed stdout
/// (`>&-`) would swallow the output into the runtime's /dev/null, and
/// Rust's stdout handle takes a write to a read-only descriptor (EBADF) as
/// done: either way the output would vanish and the run exit 0.
/// `>/dev/null` (or `<>/dev/null`) discards the output on purpose and
/// still works.
fn stdout_is_writable() -> io::Result<()> {
    if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
        return Err(io::Error::other(
            "standard output is closed; redirect it to /dev/null to discard the output",
        ));
    }
    // SAFETY: F_GETFL only reads the flags of descriptor 1, which the
    // runtime keeps open.
    let flags = unsafe { libc::fcntl(1, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(io::Error::other("standard output is open for reading only"));
    }
    Ok(())
}

/// A reader that went away (`| head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<crate::app::Error>().is_some_and(crate::app::Error::is_broken_pipe)
            || cause
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
