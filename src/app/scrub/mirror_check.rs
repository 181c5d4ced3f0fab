//! What a mirror (`--output-dir`) must not do, checked before anything is
//! written: write two files to one path, write over an input, or write
//! through a symbolic link below its root.

use std::{
    collections::{HashMap, HashSet},
    fs,
    path::{Path, PathBuf},
};

use crate::app::Error;
use crate::app::scrub::walk::Found;

/// Refuses a mirror that would lose data, before anything is written: two
/// files bound for the same path (`a/app.log` and `b/app.log`), a mirror
/// in an input folder (or that folder itself), an output path that is
/// an input, or a symbolic link where a folder of the mirror goes (which
/// could lead anywhere, the inputs included). Paths are compared resolved,
/// so that `./x` and `x`, or a link and its target, are the same. (The
/// writes themselves follow no link below the root either, in case one is
/// made during the run.)
pub(super) fn check_mirror(files: &[Found], rels: &[PathBuf], root: &Path) -> Result<(), Error> {
    let root = resolve_lenient(root);
    no_links_below(&root, rels)?;
    let mut folders: Vec<&PathBuf> = files.iter().filter_map(|f| f.under.as_ref()).collect();
    folders.dedup();
    for folder in folders {
        if fs::canonicalize(folder).is_ok_and(|f| root.starts_with(f)) {
            return Err(Error::Usage(format!(
                "--output-dir {} is the input folder {} or inside it: its files would be \
                 written over; nothing was written. Choose a folder outside the inputs",
                root.display(),
                folder.display()
            )));
        }
    }
    let inputs: HashMap<PathBuf, &Found> =
        files.iter().filter_map(|f| Some((fs::canonicalize(&f.path).ok()?, f))).collect();
    let mut targets: HashMap<PathBuf, &Found> = HashMap::with_capacity(files.len());
    for (file, rel) in files.iter().zip(rels) {
        let target = root.join(rel);
        if let Some(input) = inputs.get(&target) {
            return Err(Error::Usage(format!(
                "--output-dir: the scrubbed copy of {} would be written over the input {}; \
                 nothing was written. Choose a folder outside the inputs",
                file.path.display(),
                input.path.display()
            )));
        }
        if let Some(first) = targets.insert(target.clone(), file) {
            return Err(Error::Usage(format!(
                "--output-dir: {} and {} would both be written to {}; nothing was written. \
                 Mirror them into separate folders, one run each",
                first.path.display(),
                file.path.display(),
                target.display()
            )));
        }
    }
    Ok(())
}

/// Refuses a symbolic link below `root` on the way to any of `rels`'
/// folders.
fn no_links_below(root: &Path, rels: &[PathBuf]) -> Result<(), Error> {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for rel in rels {
        let mut path = root.to_path_buf();
        for part in rel.parent().into_iter().flat_map(Path::components) {
            path.push(part);
            if !seen.insert(path.clone()) {
                continue;
            }
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::Usage(format!(
                        "--output-dir: {} is a symbolic link inside the mirror, and nothing is \
                         written through one; nothing was written. Remove the link, or choose \
                         another folder",
                        path.display()
                    )));
                }
                Ok(_) => {}
                // Not there yet: nothing below it is either.
                Err(_) => break,
            }
        }
    }
    Ok(())
}

/// `path` with its existing part resolved (links, `..`), and the rest, not
/// yet created, appended as it is.
fn resolve_lenient(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for existing in path.ancestors() {
        if let Ok(resolved) = fs::canonicalize(existing) {
            let rest = path.strip_prefix(existing).expect("an ancestor is a prefix");
            return resolved.join(rest);
        }
    }
    path
}
