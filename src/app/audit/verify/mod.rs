//! Is a leaked key live, and revoke it (`--check --verify`, `--revoke`):
//! PostHog's API, asked about each distinct key the audit found.
//!
//! - [`hosts`]: the hosts a key may go to (PostHog's two regions, or those
//!   named), HTTPS only.
//! - `client`: the HTTP calls (ureq, rustls), no redirect followed.
//! - [`status`]: each region's answer and the key's status over all.
//! - [`cache`]: one status per key fingerprint, each key asked once per
//!   region, a few at a time.
//! - [`revoke`]: the revoke endpoint, paced (`pacing`).
//!
//! A key travels only in an `Authorization` header or a JSON body, never in
//! a URL; a message names the host and the status, never the request.

pub mod cache;
mod client;
pub mod hosts;
mod pacing;
pub mod revoke;
pub mod status;

use std::time::Duration;

use crate::Secret;

pub use cache::{Cache, Statuses};
pub use hosts::Host;
pub use pacing::REVOKE_INTERVAL;
pub use revoke::{RevokeAnswer, RevokeReport, revoke};
pub use status::Status;

/// The rules whose keys PostHog can verify and revoke: its secret keys
/// (not `phc`, public by design, nor a custom rule's).
pub const VERIFIABLE: &[&str] = &["phx", "phs", "pha", "phr", "posthog-legacy"];

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

/// A key to ask about: its fingerprint and mask, as the key list shows
/// them, and the key itself (whose `Debug` shows only its length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its short fingerprint, as the key list shows it.
    pub fingerprint: String,
    /// PostHog's mask of it.
    pub mask: String,
    pub(crate) secret: Secret,
}
