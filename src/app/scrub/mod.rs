//! Scrubbing one file: in place, atomically, or into a mirror folder.
//!
//! The original is never opened for writing. The redacted content goes to a
//! temporary file beside its destination (mode 0600, named
//! `.phx-redact-*.tmp`), which gets the original's permissions, owner,
//! group and times, is synced, and only then renamed over the destination;
//! the folder is synced after. A failure at any point, a kill included,
//! leaves the original as it was. SIGINT, SIGTERM and SIGHUP remove the
//! temporary files in flight ([`crate::app::atomic`]); a run killed
//! otherwise (SIGKILL, a crash) can leave one, which the next run reports
//! (see `walk`).
//!
//! - `file`: one file scrubbed, in place or into a mirror; `passes`: its
//!   two passes (find, then redact and store again); `lease`: the watch
//!   on a file rewritten in place; `metadata`: what its copy keeps.
//! - [`batch`]: many files in parallel; [`walk`]: which files.
//!
//! A file's folder is opened once, before the file is read (following the
//! path as given), and the file is then opened, checked and replaced
//! through that descriptor alone, never through a link at its name: a
//! folder on its path swapped for a link during the scrub cannot move the
//! write out of the folder the file was read from. A mirror's folders are
//! opened one level at a time below its root, never through a symbolic
//! link: a link there is refused. A file is copied as it
//! was read, not as `stat` sized it (a pseudo-file in /proc says 0 bytes).
//!
//! What cannot be scrubbed without losing something is refused and left
//! as it was, with a message that says what to do ([`Refusal`]): a FIFO or
//! a device; in place, a file with other names (hard links), which a
//! rename would leave holding the secret, and a file a process has open
//! for writing (a live log), whose next lines would go to the deleted
//! original; a file whose owner, group, mode bits, extended attributes or
//! ACLs the new copy cannot be given; and a file whose size `stat` does
//! not tell, whose change while read could not be seen.

pub mod batch;
mod file;
mod file_kind;
mod lease;
mod metadata;
mod mirror_check;
mod passes;
pub mod walk;

pub use crate::app::refusal::Refusal;
pub use file::{Dest, scrub_file};
pub(crate) use file_kind::kind_name;
pub use passes::{Outcome, scrub_stored};
