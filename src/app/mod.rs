//! The application: the jobs `phx-redact` runs, for a program that wants
//! them without the command line (the Python module is one). Each job has
//! one entry point; [`RuleOptions`] chooses the rules for all of them, as
//! the command line's rule flags do, and every job reports an [`Error`]
//! that never holds a key.
//!
//! - Filter a stream (standard input or files, like `cat`):
//!   [`redact_stream`] for any reader, [`redact_input`] for a named input
//!   ([`Input`]), decompressed as `zcat` would.
//! - Scrub a file: [`scrub_file`] rewrites one in place or into a mirror
//!   ([`Dest`]), atomically, in its own compression format ([`Levels`]);
//!   [`scrub_stored`] redacts stored content from a reader to a writer.
//!   Either says what it did ([`ScrubOutcome`]) or why it left the file as
//!   it was ([`Refusal`]).
//! - Audit files: [`check`] prints findings as `--check` does
//!   ([`CheckOptions`], [`AuditOutcome`]); [`inspect_input`] and
//!   [`inspect_stream`] drive a redactor that records findings over one
//!   input; [`JsonFinding`] and [`rule_names`] print them as `--check
//!   --json` does. [`check_with`] also asks PostHog whether each key is
//!   live ([`VerifyOptions`], [`VerifyStatus`]); `audit::verify` revokes.
//! - Follow logs through rotation: [`follow`] with [`FollowOptions`].
//! - Answer rsyslog's `mmexternal`, message by message: [`serve_rsyslog`]
//!   ([`RsyslogInterface`], [`RsyslogOutcome`]).
//!
//! Messages about inputs pass through a [`MessagePolicy`], which hides a
//! key in a file name as well as in a line.
//!
//! The code is one folder per job (`filter/`, `scrub/`, `audit/`,
//! `follow/`, `rsyslog/`, `formats/`, `records/`) beside what they share;
//! docs/architecture.md is the map.

pub(crate) mod atomic;
pub(crate) mod audit;
mod error;
pub(crate) mod filter;
pub(crate) mod follow;
pub(crate) mod formats;
pub(crate) mod inputs;
mod options;
pub(crate) mod policy;
pub(crate) mod records;
mod refusal;
pub(crate) mod rsyslog;
#[doc(hidden)]
pub mod sample;
pub(crate) mod scrub;

// The application's API: one entry point per job, the options that choose
// the rules, and the types they take and give. The rest is crate-private.
/// The size the jobs read in: 256 KiB.
pub use crate::io::READ_SIZE;
pub use audit::verify;
pub use audit::verify::{
    Host as PosthogHost, Status as VerifyStatus, Statuses as VerifyStatuses,
    Target as VerifyTarget, VerifyOptions,
};
pub use audit::{
    CheckOptions, JsonFinding, MAX_SARIF_RESULTS, Outcome as AuditOutcome, SarifOptions, check,
    check_with, rule_names,
};
pub use error::Error;
pub use filter::{Input, inspect_input, inspect_stream, redact_input, redact_stream};
pub use follow::{FolderOptions, FollowOptions, follow, follow_folder};
pub use formats::Levels;
pub use options::RuleOptions;
pub use policy::MessagePolicy;
pub use records::{InputFormat, Kind as RecordKind, Scanner, malformed_notice};
pub use rsyslog::{
    Interface as RsyslogInterface, Outcome as RsyslogOutcome, serve as serve_rsyslog,
};
pub use scrub::{Dest, Outcome as ScrubOutcome, Refusal, scrub_file, scrub_stored};
