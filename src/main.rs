use std::{
    io::{self, BufWriter, Write},
    process::ExitCode,
    sync::{Arc, OnceLock},
};

use anyhow::Context;
use clap::Parser;
use phx_redact::{Redactor, RuleSet, cli::Config, exit_codes, filter};

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
    let config = phx_redact::cli::Args::parse().into_config()?;
    // Our own buffer, flushed after each read; stdout's line buffering would
    // cost a syscall per line.
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    match config {
        Config::Sample { lines, seed, one_in } => {
            out.write_all(&phx_redact::sample::log(seed, lines, one_in))?;
            out.flush()?;
            Ok(ExitCode::from(exit_codes::SUCCESS))
        }
        Config::Filter { inputs, rules } => {
            let mut redactor = Redactor::new(rules);
            let failures = filter::redact_inputs(&mut redactor, &inputs, &mut out, |input, err| {
                report(&format!("{}: {err:#}", input.display()));
            })
            .context("<stdout>")?;
            Ok(exit_codes::for_failures(failures))
        }
    }
}

/// Prints an error on stderr, redacted too: a file name or a message can
/// hold a secret as well as a log line can.
fn report(message: &str) {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    let rules = RULES.get_or_init(|| Arc::new(RuleSet::default_rules(true)));
    let message = rules.redact(message.as_bytes());
    eprintln!("phx-redact: {}", String::from_utf8_lossy(&message));
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
