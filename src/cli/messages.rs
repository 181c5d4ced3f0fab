//! The one message printer: every line the program writes on standard
//! error goes through [`report`] or [`report_line`], redacted with one
//! policy ([`MessagePolicy`]), which the run sets once its rules are known.

use std::{
    io::{self, Write},
    sync::{PoisonError, RwLock},
};

use crate::{
    Rule,
    app::policy::{MessagePolicy, escape_controls, patterns_policy},
};

/// What every message is redacted with: the built-in rules and the custom
/// rules found on the command line until the arguments are checked, then
/// those and the rules of the run.
static POLICY: RwLock<Option<MessagePolicy>> = RwLock::new(None);

/// The policy messages are redacted with now.
pub fn policy() -> MessagePolicy {
    let policy = POLICY.read().unwrap_or_else(PoisonError::into_inner).clone();
    policy.unwrap_or_else(MessagePolicy::builtin)
}

/// Sets the policy for every message from now on.
pub fn set_policy(policy: MessagePolicy) {
    *POLICY.write().unwrap_or_else(PoisonError::into_inner) = Some(policy);
}

/// The policy for messages printed before the arguments are checked (an
/// argument error, a folder given to `--follow`): a custom rule's secret
/// can be in any argument, so the `--pattern` and `--rules-file` rules are
/// read off the raw command line, each compiled on its own so that one bad
/// rule does not drop the others.
pub fn early_policy() -> Option<MessagePolicy> {
    let mut args = std::env::args_os().skip(1);
    let mut rules = Vec::new();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy().into_owned();
        let (flag, value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        let mut value = || value.clone().or_else(|| Some(args.next()?.to_string_lossy().into()));
        match flag.as_str() {
            "--pattern" => rules.extend(value().map(|v| Rule::custom("pattern", v))),
            "--rules-file" => rules.extend(
                value()
                    .and_then(|v| crate::engine::rules::load_rules_file(v.as_ref()).ok())
                    .into_iter()
                    .flatten(),
            ),
            _ => {}
        }
    }
    patterns_policy(rules)
}

/// Prints an error on stderr, redacted too: a file name or a message can
/// hold a secret as well as a log line can.
pub fn report(message: &str) {
    report_line(&format!("phx-redact: {message}"));
}

/// Prints a line on stderr as it is (a summary), through the policy, with
/// its control characters escaped: a name formatted into it (a file's, a
/// rule's) can hold a newline that would forge a line, or an escape
/// sequence that would drive the terminal.
pub fn report_line(line: &str) {
    let line = escape_controls(&policy().redact_str(line));
    // Not `eprintln!`, which panics when stderr is a closed pipe.
    let _ = writeln!(io::stderr().lock(), "{line}");
}
