//! The pace of requests to one host: PostHog's revoke endpoint takes 10 a
//! minute from one address, so revocations go out one every
//! [`REVOKE_INTERVAL`], each host on its own clock.

use std::time::{Duration, Instant};

/// Between two revocations sent to one host: under 10 a minute.
pub const REVOKE_INTERVAL: Duration = Duration::from_millis(6_500);

/// Replaces [`REVOKE_INTERVAL`], in milliseconds, for the tests only: they
/// cannot wait a minute for ten keys.
const INTERVAL_FOR_TESTS: &str = "PHX_REDACT_TEST_REVOKE_INTERVAL_MS";

/// The interval between two revocations to one host.
pub(crate) fn revoke_interval() -> Duration {
    std::env::var(INTERVAL_FOR_TESTS)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(REVOKE_INTERVAL, Duration::from_millis)
}

/// Spaces the requests to one host at least `interval` apart.
pub(crate) struct Pacer {
    interval: Duration,
    last: Option<Instant>,
}

impl Pacer {
    pub(crate) fn new(interval: Duration) -> Pacer {
        Pacer { interval, last: None }
    }

    /// Waits until the next request may go, and counts it as gone.
    pub(crate) fn wait(&mut self) {
        if let Some(last) = self.last {
            let next = last + self.interval;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        self.last = Some(Instant::now());
    }
}
