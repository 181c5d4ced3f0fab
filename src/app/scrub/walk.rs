//! Turning command-line paths into the list of files to scrub.
//!
//! Folders are walked only with `-r`, in a stable (sorted) order. Symbolic
//! links inside a walk are not followed unless asked for. Nothing is
//! dropped silently: every entry passed over is listed with the reason.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::app::atomic::{TEMP_PREFIX, TEMP_SUFFIX};

/// A file to scrub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its path, as given or as found in the walk.
    pub path: PathBuf,
    /// Its path below the argument it was found under (its own file name
    /// for a file named directly), for mirroring.
    pub rel: PathBuf,
    /// The folder argument it was found under; `None` for a file named
    /// directly.
    pub under: Option<PathBuf>,
}

/// An entry passed over, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry.
    pub path: PathBuf,
    /// Why, for the user.
    pub reason: String,
    /// Whether it counts as a failure (it could not be read), rather than
    /// a file the options leave out (a link, a socket).
    pub failed: bool,
}

/// How to walk.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOptions {
    /// Walk folders.
    pub recursive: bool,
    /// Follow symbolic links found in folders.
    pub follow_links: bool,
}

/// The files `args` name, and the entries passed over.
pub fn expand(args: &[PathBuf], options: WalkOptions) -> (Vec<Found>, Vec<Skipped>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for arg in args {
        let is_dir = arg.is_dir();
        if is_dir && !options.recursive {
            skipped.push(Skipped {
                path: arg.clone(),
                reason: "is a folder (use -r to scrub what is in it)".into(),
                failed: true,
            });
            continue;
        }
        if !is_dir {
            // A file named on the command line is taken as it is; errors
            // (missing, unreadable) come when it is opened.
            let rel = arg.file_name().map_or_else(|| arg.clone(), PathBuf::from);
            found.push(Found { path: arg.clone(), rel, under: None });
            continue;
        }
        walk_folder(arg, options, &mut found, &mut skipped);
    }
    (found, skipped)
}

/// Adds the files in the folder `arg` to `found`, in a stable order, and
/// the entries passed over to `skipped`.
fn walk_folder(
    arg: &Path,
    options: WalkOptions,
    found: &mut Vec<Found>,
    skipped: &mut Vec<Skipped>,
) {
    let walk = WalkDir::new(arg).follow_links(options.follow_links).sort_by_file_name();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(arg).to_path_buf();
                let reason = e.io_error().map_or_else(|| e.to_string(), ToString::to_string);
                skipped.push(Skipped { path, reason, failed: true });
                continue;
            }
        };
        let kind = entry.file_type();
        let path = entry.path();
        if kind.is_dir() {
            continue;
        }
        match passed_over(kind, path) {
            Some(reason) => skipped.push(Skipped {
                path: path.to_path_buf(),
                reason: reason.into(),
                failed: false,
            }),
            None => {
                let rel = path.strip_prefix(arg).unwrap_or(path).to_path_buf();
                found.push(Found { path: path.to_path_buf(), rel, under: Some(arg.to_path_buf()) });
            }
        }
    }
}

/// Why the entry `path` of type `kind`, found in a walk, is not scrubbed;
/// `None` when it is.
fn passed_over(kind: std::fs::FileType, path: &Path) -> Option<&'static str> {
    if kind.is_symlink() {
        Some("symbolic link, not followed (use --follow-links)")
    } else if !kind.is_file() {
        Some("not a regular file")
    } else if is_our_temp(path) {
        Some(
            "temporary file left by an interrupted phx-redact run; remove it once no run is active",
        )
    } else {
        None
    }
}

fn is_our_temp(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX))
}
