//! What a followed file is: its device and inode, and a fingerprint of its
//! first KiB. Together they tell a file from a rotated one and from a file
//! that got its inode after it was deleted (as Vector's fingerprinter and
//! Filebeat do); the state file keeps both, and the truncation checks
//! compare the fingerprint after every read.

use std::{
    fs::{self, File},
    os::unix::fs::{FileExt, MetadataExt},
};

use serde::{Deserialize, Serialize};

/// A file's device and inode: a rotated file has new ones. A file deleted
/// and made again while nothing held it open may get the old inode back,
/// so a restart also compares the file's first bytes ([`Head`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Identity {
    pub(super) dev: u64,
    pub(super) ino: u64,
}

impl Identity {
    pub(super) fn of(meta: &fs::Metadata) -> Identity {
        Identity { dev: meta.dev(), ino: meta.ino() }
    }
}

/// Bytes at the start of a file that its fingerprint covers, at most: what,
/// beside its inode, tells it from a file that got the inode after it was
/// deleted.
pub const HEAD_LEN: u64 = 1024;

/// A fingerprint of a file's first bytes (as Vector and Filebeat keep):
/// what tells a file from another that got its inode after it was deleted.
/// A file shorter than [`HEAD_LEN`] when it was saved is compared on the
/// bytes it had then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Head {
    /// Bytes covered: the file's length then, up to [`HEAD_LEN`].
    pub(super) len: u64,
    /// BLAKE3 of those bytes, in hex.
    pub(super) blake3: String,
}

impl Head {
    /// The first `len` bytes of `file` (at most [`HEAD_LEN`]), read without
    /// moving its position; `None` if it has fewer.
    pub(super) fn of(file: &File, len: u64) -> Option<Head> {
        let mut buf = vec![0; len.min(HEAD_LEN) as usize];
        file.read_exact_at(&mut buf, 0).ok()?;
        Some(Head::over(&buf))
    }

    pub(super) fn over(bytes: &[u8]) -> Head {
        Head { len: bytes.len() as u64, blake3: blake3::hash(bytes).to_hex().to_string() }
    }

    /// Whether `file` starts as the file this was taken of. Without a head
    /// (a state file of an older version), the identity alone decides.
    pub(super) fn matches(head: Option<&Head>, file: &File) -> bool {
        head.is_none_or(|head| Head::of(file, head.len).as_ref() == Some(head))
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{self, File};

    // By its full path: `super` here is the file, not the folder.
    use crate::app::follow::identity::Head;

    #[test]
    fn a_head_matches_the_same_first_bytes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "short").unwrap();
        assert_eq!(Head::of(&File::open(&path).unwrap(), 6), None, "fewer bytes than asked");
        let head = Head::of(&File::open(&path).unwrap(), 5).unwrap();
        fs::write(&path, "short, and grown since").unwrap();
        assert!(Head::matches(Some(&head), &File::open(&path).unwrap()));
        fs::write(&path, "other").unwrap();
        assert!(!Head::matches(Some(&head), &File::open(&path).unwrap()));
        fs::write(&path, "sho").unwrap();
        assert!(!Head::matches(Some(&head), &File::open(&path).unwrap()), "shorter");
        assert!(Head::matches(None, &File::open(&path).unwrap()), "unknown: trusted");
    }
}
