//! `--revoke`: what will be sent where, said before anything is sent, a
//! confirmation on a terminal (unless `--yes`), then each host's answer
//! about each key, on standard error.

use std::io::{self, BufRead, Write};

use super::{messages::report, verify_args::VerifyPlan};
use crate::app::verify::{RevokeReport, Target, revoke};

/// Revokes `targets` as `plan` says, and returns how many revocations got
/// no answer (a failure, for the exit status). An `Err` when the user
/// said no.
pub(super) fn revoke_found(targets: &[Target], plan: &VerifyPlan) -> anyhow::Result<usize> {
    if targets.is_empty() {
        report("--revoke: no secret key found, nothing sent");
        return Ok(0);
    }
    say_what_will_be_sent(targets, plan);
    if !plan.yes && !confirmed()? {
        anyhow::bail!("--revoke: not confirmed, nothing sent");
    }
    let mut failures = 0;
    let hosts = &plan.options.hosts;
    revoke(targets, hosts, plan.options.timeout, |r: RevokeReport| {
        failures += usize::from(!r.answer.is_answered());
        report(&format!(
            "revoke {} (fingerprint {}) at {}: {}",
            r.mask, r.fingerprint, r.host, r.answer
        ));
    });
    Ok(failures)
}

/// Lists the keys (by mask) and the hosts, and what revoking does.
fn say_what_will_be_sent(targets: &[Target], plan: &VerifyPlan) {
    let hosts: Vec<&str> = plan.options.hosts.iter().map(|h| h.name()).collect();
    let plural = if targets.len() == 1 { "" } else { "s" };
    report(&format!(
        "--revoke: {} key{plural} to send to POST /api/revoke_leaked_key at {}:",
        targets.len(),
        hosts.join(", ")
    ));
    for target in targets {
        report(&format!("  {} (fingerprint {})", target.mask, target.fingerprint));
    }
    report(
        "PostHog revokes each key it issued at once (it stops working) and emails its owner; \
         requests are paced under 10 a minute per host.",
    );
}

/// Asks on the terminal; true for `y` or `yes`.
fn confirmed() -> anyhow::Result<bool> {
    eprint!("Revoke them? [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
