//! The application: the jobs the command line runs, each in its folder,
//! around the engine.
//!
//! - [`filter`]: a stream (stdin or files) to one output, like `cat`.
//! - [`scrub`]: archives rewritten in place or mirrored, one file or a tree.
//! - [`audit`]: `--check`, the findings and the keys to rotate.
//! - [`follow`]: a log followed through rotation, for a shipper.
//! - [`formats`]: what a file is (gzip, zstd, xz, bzip2, lz4, text) and how
//!   to read and write it.
//!
//! Beside them, what several jobs share: [`atomic`] writes, [`inputs`]
//! (file identity), the message [`policy`] and the [`sample`] log.

pub(crate) mod atomic;
pub(crate) mod audit;
mod error;
pub(crate) mod filter;
pub(crate) mod follow;
pub(crate) mod formats;
pub(crate) mod inputs;
mod options;
pub(crate) mod policy;
mod refusal;
#[doc(hidden)]
pub mod sample;
pub(crate) mod scrub;

// The application's API: one entry point per job, the options that choose
// the rules, and the types they take and give. The rest is crate-private.
/// The size the jobs read in: 256 KiB.
pub use crate::io::READ_SIZE;
pub use audit::{CheckOptions, JsonFinding, Outcome as AuditOutcome, check, rule_names};
pub use error::Error;
pub use filter::{Input, inspect_input, inspect_stream, redact_input, redact_stream};
pub use follow::{FollowOptions, follow};
pub use formats::Levels;
pub use options::RuleOptions;
pub use policy::MessagePolicy;
pub use scrub::{Dest, Outcome as ScrubOutcome, Refusal, scrub_file, scrub_stored};
