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

use std::{fmt, io, path::PathBuf};

pub use file::{Dest, scrub_file};
pub(crate) use file_kind::kind_name;
pub use passes::{Outcome, scrub_stored};

/// Why a file was left as it was rather than scrubbed. Each message says
/// what to do instead.
#[derive(Debug)]
#[non_exhaustive]
pub enum Refusal {
    /// A FIFO, a device, a socket: only regular files are rewritten, and
    /// opening some of them would block or have side effects.
    NotRegular {
        /// What it is, for the user.
        kind: &'static str,
    },
    /// In place, a file with other names (hard links): renaming over one
    /// name would leave the secret in the others.
    HardLinks {
        /// How many names other than this one.
        others: u64,
        /// The file, as resolved.
        path: PathBuf,
        /// The mount point to search for the other names.
        mount: PathBuf,
    },
    /// In place, a file that a process holds open for writing (a live log):
    /// after the rename, what it writes would go to the deleted original.
    OpenForWriting {
        /// The writers found (process id, command), where visible.
        writers: Vec<(u32, String)>,
    },
    /// In place, a process opened the file for writing while it was being
    /// scrubbed (the read lease on it broke).
    OpenedForWriting,
    /// The rewritten copy cannot be given what the original has (an
    /// extended attribute, an ACL, setuid/setgid bits).
    Metadata {
        /// What could not be kept.
        what: String,
        /// Why.
        source: io::Error,
    },
    /// A symbolic link below a mirror's root, where a folder of the mirror
    /// goes: writing through it would write outside the mirror (into the
    /// inputs, say).
    LinkInMirror {
        /// The link.
        path: PathBuf,
    },
    /// In place, a file whose size `stat` does not tell (a pseudo-file in
    /// /proc or /sys): whether it changed while read cannot be known.
    SizeUnknown {
        /// The size `stat` gave.
        stat: u64,
        /// The bytes read.
        read: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotRegular { kind } => write!(
                f,
                "not a regular file: {kind}; left as it was (only regular files are scrubbed; \
                 read a stream with --check or through standard input)"
            ),
            Refusal::HardLinks { others, path, mount } => {
                let names =
                    if *others == 1 { "name (hard link) holds" } else { "names (hard links) hold" };
                write!(
                    f,
                    "{others} other {names} this file, and a rewrite of one name would leave the \
                     secret under the others; left as it was. Find them with `find {} -xdev -samefile {}`, \
                     then remove the extra names, or scrub one and link the others to it again",
                    mount.display(),
                    path.display()
                )
            }
            Refusal::OpenForWriting { writers } => {
                write!(f, "is open for writing by another process")?;
                if !writers.is_empty() {
                    let list: Vec<String> =
                        writers.iter().map(|(pid, name)| format!("{pid} {name}")).collect();
                    write!(f, " (PID {})", list.join(", "))?;
                }
                write!(
                    f,
                    " (a live log?): what it writes after a rewrite would be lost, so it was left \
                     as it was; scrub it once rotated, or pipe the writer through phx-redact"
                )
            }
            Refusal::OpenedForWriting => write!(
                f,
                "opened for writing while being scrubbed (an active log?); left as it was, run \
                 again once it is idle"
            ),
            Refusal::Metadata { what, source } => write!(
                f,
                "the rewritten copy cannot keep the original's {what} ({source}); left as it was"
            ),
            Refusal::LinkInMirror { path } => write!(
                f,
                "{} is a symbolic link inside --output-dir: nothing is written through it; \
                 remove the link, or choose another folder",
                path.display()
            ),
            Refusal::SizeUnknown { stat, read } => write!(
                f,
                "its size says {stat} bytes but {read} were read (a pseudo-file, as in /proc or \
                 /sys?): whether it changed cannot be told, so it is not rewritten in place; left \
                 as it was (use --output-dir)"
            ),
        }
    }
}
