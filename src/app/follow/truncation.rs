//! Telling that a file was truncated (copytruncate), even when it was
//! written again past where it was read to: what a reader has seen of its
//! file (the first KiB, the last bytes before its offset) is checked after
//! every read, and a file that no longer holds them is read again from its
//! start. Also what is said when that happens.

use std::{fs::File, io, os::unix::fs::FileExt, path::Path};

use super::identity::{HEAD_LEN, Head};

/// How many of the last bytes read are checked, with the first KiB, before
/// a read is used: a file truncated and written again with the same first
/// KiB (a banner, lines without timestamps) is told by what now stands
/// just before the offset.
pub(super) const TAIL_LEN: usize = 256;

/// What a reader has seen of its file's content.
#[derive(Default)]
pub(super) struct Seen {
    /// Its first bytes, once known; kept once they are [`HEAD_LEN`] long.
    pub(super) head: Option<Head>,
    /// The last bytes read (up to [`TAIL_LEN`]), which end at the reader's
    /// offset.
    tail: Vec<u8>,
}

impl Seen {
    /// Keeps the last bytes of `chunk`, just read, as the tail.
    pub(super) fn read(&mut self, chunk: &[u8]) {
        let keep = chunk.len().min(TAIL_LEN);
        let drop = (self.tail.len() + keep).saturating_sub(TAIL_LEN);
        self.tail.drain(..drop);
        self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
    }

    /// Whether `file`, read to `offset`, still starts as it did: a file
    /// truncated and written again past where it was read to (copytruncate
    /// while a slow reader held up the writes) does not, whatever its size
    /// says. The fingerprint grows with the file up to [`HEAD_LEN`],
    /// checked on the bytes it had, in one read.
    pub(super) fn unchanged(&mut self, file: &File, offset: u64) -> bool {
        let mut buf = [0; HEAD_LEN as usize];
        let mut n = 0;
        while n < buf.len() {
            match file.read_at(&mut buf[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Gone from under us: the path is looked at next.
                Err(_) => return true,
            }
        }
        let known = self.head.as_ref().map_or(0, |head| head.len as usize);
        if n < known || self.head.as_ref().is_some_and(|head| Head::over(&buf[..known]) != *head) {
            return false;
        }
        if n > known || self.head.is_none() {
            self.head = Some(Head::over(&buf[..n]));
        }
        self.tail_unchanged(file, offset)
    }

    /// Whether the bytes just before `offset` are still the last bytes
    /// read.
    fn tail_unchanged(&self, file: &File, offset: u64) -> bool {
        let mut buf = [0; TAIL_LEN];
        let buf = &mut buf[..self.tail.len()];
        let Some(at) = offset.checked_sub(self.tail.len() as u64) else { return false };
        let mut n = 0;
        while n < buf.len() {
            match file.read_at(&mut buf[n..], at + n as u64) {
                Ok(0) => return false,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        *buf == *self.tail
    }
}

/// What is said of a file found truncated after it was written out to
/// byte `from` and read to `read_to`: where the rest of its old content is
/// read from (`copy`), or, with no copy, what was not read.
pub(super) fn truncated(from: u64, read_to: u64, copy: Option<&Path>) -> String {
    match copy {
        Some(name) => format!(
            "was truncated; reading its old content from byte {from} on in {}, a copy \
             of it, and the file again from its start",
            name.display()
        ),
        None => {
            let held = if read_to > from {
                format!(
                    " (bytes {from} to {read_to}, an unfinished line, were read but not written)"
                )
            } else {
                String::new()
            };
            format!(
                "was truncated; lines of its old content after byte {from}, if it had any, \
                 were not read{held}: no copy of it is in its folder (compressed or moved \
                 already); reading it again from its start"
            )
        }
    }
}
