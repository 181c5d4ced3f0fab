//! The audit mode: find tokens without rewriting anything, say where each
//! one is, and list the distinct keys that leaked, so that they can be
//! rotated.
//!
//! A finding shows PostHog's mask of a token (`phx_...abcd`) and a short
//! fingerprint, never the token. Findings stream out as they are found, in
//! input order, however many threads read the inputs: memory holds the
//! findings of one read per input in flight and one entry per distinct key
//! (at most [`MAX_KEYS`](keys::MAX_KEYS) of them, each naming at most
//! [`MAX_FILES`](keys::MAX_FILES) inputs), never all findings. The list of
//! keys is [`crate::app::audit::keys`]'s, which a scrub prints too.
//!
//! Every name, rule name and message printed passes through the
//! [`MessagePolicy`](crate::app::policy::MessagePolicy) of the rules.
//!
//! - `check`: the check of files and streams, on worker threads
//!   (`worker`), printed in input order (`in_order`).
//! - [`diff`]: the check of a unified diff's added lines (`--diff`).
//! - [`keys`]: the keys found, tallied, and their list.
//! - [`verify`]: whether each key is live, and its revocation, asked of
//!   PostHog (`--verify`, `--revoke`).
//! - The printers, one per output format, as ripgrep's: `text`, `json`
//!   and `sarif` (with `sarif_uri`, where a result is), and what they
//!   share, `printer`.

mod check;
pub mod diff;
mod in_order;
mod json;
pub mod keys;
mod printer;
mod sarif;
mod sarif_uri;
mod text;
pub mod verify;
mod worker;

pub use check::{CheckOptions, Outcome, check, check_with, list_keys};
pub use json::JsonFinding;
pub use keys::KeyList;
pub use printer::rule_names;
pub use sarif_uri::{MAX_RESULTS as MAX_SARIF_RESULTS, SarifOptions};
