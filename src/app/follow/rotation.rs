//! Where the rest of a rotated file is found in its folder: a file renamed
//! while nothing followed it, by its identity, and the copy copytruncate
//! leaves beside a truncated file, by its first bytes.

use std::{
    ffi::OsStr,
    fs::{self, File},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use super::identity::{Head, Identity};
use super::paths::open_regular;
use crate::app::inputs::FileId;

/// A copy of a truncated file beside it (copytruncate's `app.log.1`): a
/// regular file of its folder named after it (`stem` and `.`, `-` or `_`:
/// `app.log.1`, `app.log-20261205`), none of those in `open` nor the
/// output (a follower writing into the log's folder would otherwise read
/// its own output back as the copy, without end), that starts with `head`
/// and holds at least `from` bytes. Returns it with its name (the first in
/// name order, if several).
pub(super) fn find_copy(
    folder: &Path,
    stem: &OsStr,
    head: &Head,
    from: u64,
    open: &[Identity],
    refuse_links: bool,
) -> Option<(File, Identity, PathBuf)> {
    let stem = stem.as_bytes();
    let named_after = |name: &OsStr| {
        let name = name.as_bytes();
        name.len() > stem.len()
            && name.starts_with(stem)
            && matches!(name[stem.len()], b'.' | b'-' | b'_')
    };
    let output = FileId::of_stdout();
    let mut names: Vec<PathBuf> = fs::read_dir(folder)
        .ok()?
        .flatten()
        .filter(|e| named_after(&e.file_name()))
        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() >= from))
        .filter(|e| output.is_none() || FileId::of_path(&e.path()) != output)
        .filter(|e| e.metadata().is_ok_and(|m| !open.contains(&Identity::of(&m))))
        .map(|e| e.path())
        .collect();
    names.sort();
    names.into_iter().find_map(|path| {
        let file = open_regular(&path, refuse_links)?;
        let meta = file.metadata().ok()?;
        let identity = Identity::of(&meta);
        (!open.contains(&identity) && meta.len() >= from && Head::matches(Some(head), &file))
            .then_some((file, identity, path))
    })
}

/// Opens the files in `folder` that have the identities and first bytes
/// in `owed` (files renamed in place, as logrotate does without `olddir`),
/// with the offsets they go with, in the order of `owed`. A file shorter
/// than its offset (truncated, or another file) is passed over.
pub(super) fn find_by_identity(
    folder: &Path,
    owed: &[(Identity, Option<&Head>, u64)],
    refuse_links: bool,
) -> Vec<(File, Identity, u64)> {
    let Ok(entries) = fs::read_dir(folder) else { return Vec::new() };
    let mut found: Vec<(usize, File, Identity, u64)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let identity = Identity::of(&meta);
        let Some(i) = owed.iter().position(|(id, ..)| *id == identity) else { continue };
        let (_, head, offset) = owed[i];
        if !meta.is_file() || meta.len() < offset {
            continue;
        }
        // The identity again from the open file: the name may have moved on.
        if let Some(file) = open_regular(&entry.path(), refuse_links)
            && file.metadata().is_ok_and(|m| Identity::of(&m) == identity)
            && Head::matches(head, &file)
        {
            found.push((i, file, identity, offset));
        }
    }
    found.sort_by_key(|(i, ..)| *i);
    found.into_iter().map(|(_, file, identity, offset)| (file, identity, offset)).collect()
}
