//! Follow mode: `tail -F` with redaction, for a sidecar beside an
//! application that logs to a file.
//!
//! Each followed file is read from where it was left, redacted, and written
//! out a whole line at a time, so that lines from several files never mix.
//! Rotation is noticed by the path naming a new file (rename and recreate,
//! or delete and recreate) or by the file shrinking or no longer starting
//! with the same first KiB (copytruncate: a follower held up by a slow
//! reader may look again only once the file has grown past where it was
//! read to; its size then says nothing). inotify
//! (through `notify`) wakes the loop at once; where it is not available, the
//! loop polls every [`POLL`].
//!
//! # Rotation
//!
//! A writer does not move to the new file the moment the old one is
//! renamed: it reopens when it is told (logrotate's `postrotate`), a moment
//! later, and goes on writing to the renamed file until then. So the old
//! file stays open, and is read side by side with the new one, until it has
//! been quiet (nothing new in it) for [`FollowOptions::rotate_wait`]; then
//! its last unfinished line goes out and it is closed. (Fluent Bit's
//! `Rotate_Wait`; GNU `tail -F` drops those lines.) Lines of one file keep
//! their order; lines of the old and the new file may interleave.
//!
//! # Truncation
//!
//! The first KiB of each open file, and the last bytes read before the
//! offset (`TAIL_LEN` bytes), are checked after every read and at its end:
//! bytes read once the file was truncated and written again are not used,
//! as they start in the middle of a line (a key's body without its
//! prefix). The file is read again from its start, and what it held of its
//! old content (an unfinished line, lines a custom rule held) is dropped,
//! never written cut short. The rest of the old content is read from a
//! copy beside it that starts with the same KiB (copytruncate's
//! `app.log.1`); with no copy left (compressed at once), what was not read
//! is said, from which byte.
//!
//! # Sharing and links
//!
//! A state file is one follower's: `STATE.lock` beside it is locked
//! (`flock`) for the run, and a second follower on it exits 2 at once.
//! With [`FollowOptions::refuse_links`], a followed path that is a
//! symbolic link or a hard link is not opened (O_NOFOLLOW), said once, and
//! waited out until a regular file is back.
//!
//! # Fairness and stopping
//!
//! The loop reads at most [`BATCH`] bytes of each open file per round, then
//! writes, flushes, saves the state and looks at the stop flag. A file that
//! grows faster than it can be read therefore neither holds up the other
//! files nor a SIGTERM: each round takes milliseconds.
//!
//! # Resuming without loss or repeats
//!
//! Only whole lines are written while following. With `--state`, the state
//! file records, for each path, the file's identity and the offset to
//! resume from, and the same for renamed files still being read. That
//! offset is exact: it is just past the last byte whose redaction has been
//! written, which is the end of a whole line, or, when a line longer than
//! [`LINE_CAP`] went out in pieces, the end of the last piece. It never
//! passes bytes the redactor still holds (a custom rule such as
//! `BEGIN[^#]*END` may hold several lines until it knows whether they
//! match): those are read again by the next run. It is rewritten
//! atomically (a temporary file renamed over it) after every round that
//! wrote something, once the output is flushed; so a restart after a
//! SIGTERM repeats and loses nothing, and after a SIGKILL it loses nothing
//! and repeats at most the last round: at most [`BATCH`] bytes of each
//! file, and the line they end in. (The redaction of a line never depends
//! on what lies beyond its newline: no default token holds a newline.) A
//! restart also finds a file renamed while nothing followed it, by its
//! identity, in the same folder, and reads the rest of it first. Without
//! `--state`, shutdown writes everything read.
//!
//! A file's identity is its device and inode and a BLAKE3 fingerprint of
//! its first KiB ([`HEAD_LEN`] bytes; all of it, if it was shorter), as
//! Vector and Filebeat keep: a file deleted and made again while nothing
//! held it open often gets the old inode back, and must be read from its
//! start, not from the old file's offset. (A state file without the
//! fingerprint, from an older version, is trusted on the inode alone.)
//!
//! A state file that cannot be used (empty, cut short, not JSON, not a
//! state) does not keep the sidecar from starting, which under Kubernetes
//! would be a crash loop: it is reported on stderr (never its content),
//! renamed to `STATE.corrupt-SECONDS`, and each file is followed as on a
//! first start: from its end, or its start with `--from-start`.
//!
//! The state file does not hold the followed paths, which may hold a key
//! (`/logs/phx_.../app.log`): each is matched by a BLAKE3 hash of the path,
//! and shown redacted for a person reading the file.
//!
//! # Where each part is
//!
//! - [`follower`]: the entry point and the loop, round by round.
//! - [`tail`]: one followed path, its current and rotated files, and how
//!   rotation is noticed; [`resume`]: its start-up from the state.
//! - [`reader`]: one open file, read a batch at a time into whole redacted
//!   lines; [`truncation`]: how a truncated file is told.
//! - [`identity`]: what a file is (inode and first KiB); [`paths`]: what a
//!   path names, opened safely; [`rotation`]: where a rotated file's rest
//!   is found.
//! - [`state`]: the state file and its lock; [`findings`]: the side
//!   channel; [`options`]: how to follow.
//! - [`folder`]: a folder followed into a mirror (a node's
//!   `/var/log/pods`): each file below it a path as above, with its own
//!   copy, the files made later picked up, those gone finished; [`tree`]:
//!   the files below it, found without following a link.
//!
//! [`POLL`]: follower::POLL
//! [`BATCH`]: reader::BATCH
//! [`LINE_CAP`]: reader::LINE_CAP
//! [`HEAD_LEN`]: identity::HEAD_LEN

mod findings;
mod folder;
mod follower;
mod identity;
mod options;
mod paths;
mod reader;
mod resume;
mod rotation;
mod state;
mod tail;
mod tree;
mod truncation;

pub use folder::follow_folder;
pub use follower::follow;
pub use options::{FolderOptions, FollowOptions, MAX_FILES, ROTATE_WAIT};
pub use state::check_state_folder;
