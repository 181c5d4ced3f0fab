//! The files a folder's follower reads: the regular files below the folder
//! whose names match an include pattern, found without following a
//! symbolic link (to a file or to a folder: a link planted in a pod's log
//! folder must not lead the follower out of the tree).

use std::{
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use walkdir::WalkDir;

/// The regular files below `root` whose names match one of `include`, in
/// sorted order. What vanishes while it is walked (a pod gone) is passed
/// over, as is what cannot be read.
pub(super) fn files_below(root: &Path, include: &[String]) -> Vec<PathBuf> {
    WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(true)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| include.iter().any(|p| matches(p.as_bytes(), entry.file_name().as_bytes())))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Whether `name` matches the shell pattern `pattern`, where `*` stands for
/// any run of bytes and `?` for one byte (no classes: a log's name needs
/// none). Iterative, with one point to come back to: time linear in the
/// name for each star, never exponential.
pub(super) fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_log_pattern_takes_the_live_file_and_not_its_rotated_names() {
        let m = |p: &str, n: &str| matches(p.as_bytes(), n.as_bytes());
        assert!(m("*.log", "0.log"));
        assert!(m("*.log", ".log"));
        assert!(!m("*.log", "0.log.20260101-000000"));
        assert!(!m("*.log", "0.log.20260101-000000.gz"));
        assert!(m("?.log", "0.log"));
        assert!(!m("?.log", "10.log"));
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(!m("a*b*c", "aXXbYYb"));
        assert!(m("*", ""));
        assert!(!m("x", ""));
    }
}
