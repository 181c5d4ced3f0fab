//! Is a leaked key live, and revoke it (`--check --verify`, `--revoke`):
//! PostHog's API, asked about each distinct key the audit found.
//!
//! - [`hosts`]: the hosts a key may go to (PostHog's two regions, or those
//!   named), HTTPS only.
//! - `client`: the HTTP calls (ureq, rustls), no redirect followed.
//! - [`status`]: each region's answer and the key's status over all.
//! - [`cache`]: one status per key fingerprint, each key asked once per
//!   region, a few at a time.
//! - [`revoke`](mod@revoke): the revoke endpoint, paced (`pacing`).
//! - `options` and `target`: how to ask, and a key to ask about.
//!
//! A key travels only in an `Authorization` header or a JSON body, never in
//! a URL; a message names the host and the status, never the request.

pub mod cache;
mod client;
pub mod hosts;
mod options;
mod pacing;
pub mod revoke;
pub mod status;
mod target;

pub use cache::{Cache, Statuses};
pub use hosts::Host;
pub use options::{DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, VerifyOptions};
pub use pacing::REVOKE_INTERVAL;
pub use revoke::{RevokeAnswer, RevokeReport, revoke};
pub use status::Status;
pub use target::Target;

/// The rules whose keys PostHog can verify and revoke: its secret keys
/// (not `phc`, public by design, nor a custom rule's).
pub const VERIFIABLE: &[&str] =
    &["phx", "phs", "pha", "phr", "posthog-legacy", "posthog-legacy-bearer"];
