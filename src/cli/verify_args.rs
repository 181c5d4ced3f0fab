//! The arguments of `--check --verify` and `--revoke`, and what they
//! become ([`VerifyPlan`]), checked before any input is read.

use std::{io::IsTerminal, time::Duration};

use clap::Args;

use crate::app::Error;
use crate::app::verify::{DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, Host, VerifyOptions};

/// Whether leaked keys are live, and their revocation (PostHog's API).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// With --check: ask PostHog whether each distinct secret key found
    /// (phx_, phs_, pha_, phr_) is live, in both regions (GET
    /// /api/users/@me/, the key in the Authorization header): live, live
    /// (scoped), not live or unknown: REASON, in the key list and the JSON.
    #[arg(help_heading = "Verify and revoke", long, requires = "check", conflicts_with = "diff")]
    pub verify: bool,

    /// With --verify: the time one request may take, in seconds [default: 10].
    #[arg(
        help_heading = "Verify and revoke",
        long,
        value_name = "SECS",
        requires = "verify",
        value_parser = parse_timeout
    )]
    pub verify_timeout: Option<Duration>,

    /// With --verify: which keys fail the run (exit status 1): any key
    /// found (any, the default) or only the keys PostHog says are live
    /// (live). Errors still exit 2.
    #[arg(
        help_heading = "Verify and revoke",
        long,
        value_name = "WHAT",
        requires = "verify",
        value_parser = ["any", "live"]
    )]
    pub fail_on: Option<String>,

    /// With --verify or --revoke: the PostHog host to ask instead of the
    /// cloud regions (us.posthog.com and eu.posthog.com), for self-hosted
    /// PostHog; repeatable. https:// only.
    #[arg(help_heading = "Verify and revoke", long = "posthog-url", value_name = "URL", value_parser = Host::parse)]
    pub posthog_urls: Vec<Host>,

    /// With --check: send each distinct secret key found to PostHog's
    /// revoke endpoint in each region (POST /api/revoke_leaked_key): the
    /// key stops working and PostHog emails its owner. Asks first on a
    /// terminal; --yes to skip that.
    #[arg(help_heading = "Verify and revoke", long, requires = "check", conflicts_with = "diff")]
    pub revoke: bool,

    /// With --revoke: do not ask for confirmation (needed when standard
    /// input is not a terminal).
    #[arg(help_heading = "Verify and revoke", long, requires = "revoke")]
    pub yes: bool,
}

/// What `--verify` and `--revoke` ask for, checked.
#[derive(Clone, Debug)]
pub struct VerifyPlan {
    /// The hosts, the timeout and the calls in flight.
    pub options: VerifyOptions,
    /// Ask whether each key is live.
    pub verify: bool,
    /// Revoke each key.
    pub revoke: bool,
    /// Revoke without asking.
    pub yes: bool,
    /// Only live keys fail the run.
    pub fail_on_live: bool,
}

impl VerifyArgs {
    /// Whether the findings must carry their keys.
    pub fn wanted(&self) -> bool {
        self.verify || self.revoke
    }

    /// The plan, or `None` when neither flag is given.
    ///
    /// # Errors
    ///
    /// A usage error when `--posthog-url` goes with neither, or when
    /// `--revoke` cannot ask and was not told `--yes`.
    pub fn plan(&self) -> Result<Option<VerifyPlan>, Error> {
        if !self.wanted() {
            if !self.posthog_urls.is_empty() {
                return Err(Error::Usage("--posthog-url goes with --verify or --revoke".into()));
            }
            return Ok(None);
        }
        if self.revoke && !self.yes && !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "--revoke asks for confirmation on a terminal, and standard input is not \
                 one: add --yes to revoke without asking"
                    .into(),
            ));
        }
        let hosts = match self.posthog_urls.is_empty() {
            true => Host::cloud(),
            false => self.posthog_urls.clone(),
        };
        let timeout = self.verify_timeout.unwrap_or(DEFAULT_TIMEOUT);
        Ok(Some(VerifyPlan {
            options: VerifyOptions { hosts, timeout, concurrency: DEFAULT_CONCURRENCY },
            verify: self.verify,
            revoke: self.revoke,
            yes: self.yes,
            fail_on_live: self.fail_on.as_deref() == Some("live"),
        }))
    }
}

/// A timeout in seconds, above zero and at most an hour.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= 3600.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{text:?} is not a number of seconds between 0 and 3600"))
}
