//! How to ask PostHog: the hosts, the timeout, the calls in flight.

use std::time::Duration;

use super::hosts::Host;

/// The timeout of one call, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How to ask PostHog.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The hosts, each asked about each key: by default [`Host::cloud`].
    pub hosts: Vec<Host>,
    /// The time one call may take.
    pub timeout: Duration,
    /// Calls in flight at once.
    pub concurrency: usize,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            hosts: Host::cloud(),
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}
