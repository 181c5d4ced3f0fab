//! How to follow: the choices the command line (and a caller of the
//! library) makes, and their defaults.

use std::{path::PathBuf, time::Duration};

use crate::app::records::InputFormat;

/// How long a rotated file is kept open after its last write, by default.
pub const ROTATE_WAIT: Duration = Duration::from_secs(5);

/// How to follow.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Read what the files already hold, instead of starting at their end.
    pub from_start: bool,
    /// Where to keep (and find) the positions to resume from.
    pub state: Option<PathBuf>,
    /// How long a rotated file must be quiet before it is closed.
    pub rotate_wait: Duration,
    /// Open no followed path that is a symbolic link or a hard link: a
    /// sidecar that can read more than the application must not be made
    /// to ship a file swapped in for the log.
    pub refuse_links: bool,
    /// Where each finding goes, as a JSON line (`-`: standard error).
    pub findings: Option<PathBuf>,
    /// How the files are written: bytes, or a runtime's records.
    pub format: InputFormat,
    /// Follow every file below a folder, each into its own mirror copy
    /// (see [`follow_folder`](super::follow_folder)), rather than the
    /// paths given, into one output.
    pub folder: Option<FolderOptions>,
}

/// How many files a folder's follower reads at once, by default.
pub const MAX_FILES: usize = 512;

/// What to follow below a folder, and where its mirror is.
#[derive(Clone, Debug)]
pub struct FolderOptions {
    /// Where each followed file's redacted stream is appended, at the
    /// same path below it (a key in a name redacted).
    pub output_dir: PathBuf,
    /// Which file names are followed (`*` and `?`); `*.log`
    /// when empty. Rotated names (`0.log.20260101-000000`, `.gz`) must
    /// not match: they are the same stream, read through the rotation.
    pub include: Vec<String>,
    /// How many files are followed at once: the others wait, said once,
    /// until one is finished.
    pub max_files: usize,
}

/// The file names a folder's follower reads when `--include` is not given.
pub const DEFAULT_INCLUDE: &str = "*.log";

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            from_start: false,
            state: None,
            rotate_wait: ROTATE_WAIT,
            refuse_links: false,
            findings: None,
            format: InputFormat::Plain,
            folder: None,
        }
    }
}
