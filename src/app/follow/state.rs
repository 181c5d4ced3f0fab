//! The state file: for each followed path, the file it named and the offset
//! to resume from (and the same for renamed files still being read), saved
//! atomically after every round that moved, read back at start-up, set
//! aside when it cannot be used, and locked for one follower (as Vector's
//! checkpointer keeps positions). Paths are kept as hashes, shown redacted.

use std::{
    collections::HashMap,
    fs::{self, File},
    io::{self, Write},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::identity::{Head, Identity};
use super::paths::folder_of;
use crate::app::Error;
use crate::app::atomic::temp_in;
use crate::app::policy::MessagePolicy;

/// Checks, before anything is read, that the state can be saved beside
/// `state`: a temporary file is made in its folder and removed.
///
/// # Errors
///
/// [`Error::Usage`] naming the folder when it is missing or not writable,
/// or when `state` is a folder itself.
pub fn check_state_folder(state: &Path) -> Result<(), Error> {
    if state.is_dir() {
        return Err(Error::Usage(format!(
            "--state {}: is a folder; name a file (it is made if missing)",
            state.display()
        )));
    }
    let folder = folder_of(state);
    let problem = match fs::metadata(&folder) {
        Err(e) => Some(e.to_string()),
        Ok(meta) if !meta.is_dir() => Some("not a folder".to_string()),
        // The kind only: tempfile's message adds the random name it tried.
        Ok(_) => temp_in(&folder).err().map(|e| io::Error::from(e.kind()).to_string()),
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::Usage(format!(
            "--state {}: cannot write in {}: {problem}; the folder must exist and be writable",
            state.display(),
            folder.display()
        ))),
    }
}

/// What the state file holds for one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    /// BLAKE3 of the path's bytes, in hex: what a restart matches on.
    /// (Absent in state files of older versions, which kept the path.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) path_hash: Option<String>,
    /// The path, redacted: for a person reading the file.
    pub(super) path: String,
    /// The file the path named.
    pub(super) identity: Identity,
    /// Its first bytes. (Absent in state files of older versions.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) head: Option<Head>,
    /// Where to resume: just past the last byte whose redaction was written
    /// (the end of a whole line, or of a piece of a long one).
    pub(super) offset: u64,
    /// Renamed files still being read, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) rotated: Vec<RotatedPosition>,
}

/// Where a renamed file was left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RotatedPosition {
    pub(super) identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) head: Option<Head>,
    pub(super) offset: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    files: Vec<Position>,
}

/// `path` as the state file shows it: through the one message policy.
pub(super) fn shown_path(path: &Path, policy: &MessagePolicy) -> String {
    String::from_utf8_lossy(&policy.redact(path.as_os_str().as_bytes())).into_owned()
}

pub(super) fn path_hash(path: &Path) -> String {
    blake3::hash(path.as_os_str().as_bytes()).to_hex().to_string()
}

/// Reads the state file. One that cannot be used (empty, cut short, not
/// JSON, not a state) must not keep the sidecar from starting, or a
/// restarting pod would fail forever: it is reported, renamed aside for a
/// person to look at, and the files are followed as on a first start
/// (from their end, or their start with `--from-start`).
///
/// # Errors
///
/// [`Error::Read`] when the file is there but cannot be read.
pub(super) fn load_state(
    path: &Path,
    notice: &mut impl FnMut(&Path, &str),
) -> Result<HashMap<String, Position>, Error> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::Read(e)),
    };
    let state: State = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            // Never serde's own message: it quotes the content, which may
            // hold anything (a key in a path).
            let at = format!("line {}, column {}", e.line(), e.column());
            let problem = if bytes.iter().all(u8::is_ascii_whitespace) {
                "it is empty".to_string()
            } else if e.is_eof() {
                format!("it is cut short at {at} (truncated JSON)")
            } else if e.is_data() {
                format!("it is JSON but not a state file (at {at})")
            } else {
                format!("it is not JSON (at {at})")
            };
            let moved = match set_aside(path) {
                Ok(aside) => format!("moved it to {}", aside.display()),
                Err(e) => format!(
                    "could not move it aside ({}); it will be replaced",
                    io::Error::from(e.kind())
                ),
            };
            notice(
                path,
                &format!(
                    "not a usable state file: {problem}; {moved}; following each file as on a \
                     first start (from its end, or its start with --from-start)"
                ),
            );
            return Ok(HashMap::new());
        }
    };
    Ok(state
        .files
        .into_iter()
        .map(|p| {
            // Older state files kept the path itself.
            let hash = p.path_hash.clone().unwrap_or_else(|| path_hash(Path::new(&p.path)));
            (hash, p)
        })
        .collect())
}

/// Takes the lock on the state file `state`: an advisory lock (`flock`)
/// on `STATE.lock` beside it, which holds the pid of its holder. Not on
/// the state file itself, which each save replaces (a new inode, that a
/// second follower could lock at the same time).
///
/// # Errors
///
/// [`Error::Usage`] naming the state when another follower holds it;
/// [`Error::Write`] when the lock file cannot be made or locked.
pub fn lock_state(state: &Path) -> Result<File, Error> {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    let mut lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(PathBuf::from(name))
        .map_err(Error::Write)?;
    match lock.try_lock() {
        Ok(()) => {
            // For the message of the next follower refused, and a person.
            lock.set_len(0).map_err(Error::Write)?;
            lock.write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(Error::Write)?;
            Ok(lock)
        }
        Err(fs::TryLockError::WouldBlock) => {
            let holder = io::read_to_string(&lock).unwrap_or_default();
            let holder = match holder.trim().parse::<u32>() {
                Ok(pid) => format!(" (pid {pid})"),
                Err(_) => String::new(),
            };
            Err(Error::Usage(format!(
                "{}: in use by another phx-redact --follow{holder}; each follower needs a \
                 state file of its own",
                state.display()
            )))
        }
        Err(fs::TryLockError::Error(e)) => Err(Error::Write(e)),
    }
}

/// Renames a bad state file to `STATE.corrupt-SECONDS` (since the epoch),
/// `-1`, `-2`... on if that is taken; returns the new name.
fn set_aside(path: &Path) -> io::Result<PathBuf> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{now}"));
    let mut aside = PathBuf::from(&name);
    let mut n = 0;
    while aside.symlink_metadata().is_ok() {
        n += 1;
        let mut next = name.clone();
        next.push(format!("-{n}"));
        aside = PathBuf::from(next);
    }
    fs::rename(path, &aside)?;
    Ok(aside)
}

/// Writes the state atomically (a temporary file renamed over it); synced
/// when `durable`, at shutdown.
pub(super) fn save_state(path: &Path, files: &[Position], durable: bool) -> Result<(), Error> {
    let files = files.to_vec();
    let text = serde_json::to_vec_pretty(&State { files }).expect("the state serialises");
    let mut temp = temp_in(&folder_of(path)).map_err(Error::Write)?;
    temp.write_all(&text).map_err(Error::Write)?;
    if durable {
        temp.as_file().sync_all().map_err(Error::Write)?;
    }
    temp.persist(path).map_err(|e| Error::Write(e.error))?;
    Ok(())
}
