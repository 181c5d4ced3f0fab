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
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            from_start: false,
            state: None,
            rotate_wait: ROTATE_WAIT,
            refuse_links: false,
            findings: None,
            format: InputFormat::Plain,
        }
    }
}
