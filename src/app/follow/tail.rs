//! One followed path: the file it names now, and the files it named before
//! that are still read until quiet. Here rotation is noticed (the path
//! names another file, or the file shrank or no longer starts as it did),
//! and a path gone, or holding what is not read, is said once and waited
//! out.

use std::{
    ffi::OsStr,
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use super::identity::Identity;
use super::paths::{folder_of, not_followed, open_regular, path_metadata};
use super::reader::{Batch, Reader, Scan};
use super::state::{Position, RotatedPosition, path_hash, shown_path};
use crate::app::Error;
use crate::app::policy::MessagePolicy;
use crate::{Finding, RuleSet};

/// One followed path: the file it names, and files it named before that
/// are still read until quiet.
pub(super) struct Tail {
    pub(super) path: PathBuf,
    /// See [`Position::path_hash`].
    pub(super) hash: String,
    /// See [`Position::path`].
    shown: String,
    pub(super) current: Option<Reader>,
    pub(super) rotated: Vec<Reader>,
    /// The path is gone (or holds what is not read) and this has been
    /// said.
    pub(super) reported_missing: bool,
    /// Why the path is not read, as last said: said again only when it
    /// changes (a link, then a hard link).
    pub(super) said: Option<String>,
    /// See [`FollowOptions::refuse_links`](super::FollowOptions::refuse_links).
    pub(super) refuse_links: bool,
    /// Findings are recorded (`--findings`).
    pub(super) record: Scan,
    /// Findings of readers closed or restarted since the last drain.
    pub(super) found: Vec<Finding>,
    /// Lines that were not records of the format read, in readers closed
    /// or restarted.
    malformed: u64,
}

impl Tail {
    /// `path`, with no file open yet ([`Tail::open_initial`] opens them).
    pub(super) fn new(
        path: &Path,
        policy: &MessagePolicy,
        refuse_links: bool,
        record: Scan,
    ) -> Tail {
        Tail {
            path: path.to_path_buf(),
            hash: path_hash(path),
            shown: shown_path(path, policy),
            current: None,
            rotated: Vec::new(),
            reported_missing: false,
            said: None,
            refuse_links,
            record,
            found: Vec::new(),
            malformed: 0,
        }
    }

    /// Lines that were not records of the format read (`--input-format`),
    /// in every file read for this path so far.
    pub(super) fn malformed(&self) -> u64 {
        let open = self.rotated.iter().chain(&self.current);
        self.malformed + open.map(|r| r.redactor.malformed()).sum::<u64>()
    }

    /// The followed file's name, which its copies start with.
    pub(super) fn stem(&self) -> &OsStr {
        self.path.file_name().unwrap_or_default()
    }

    /// Reads a batch of what is new in each open file, follows the path to
    /// a new file if it was rotated, and closes rotated files once quiet.
    /// Returns whether a file has more waiting than a batch.
    pub(super) fn poll<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
        rules: &Arc<RuleSet>,
        rotate_wait: Duration,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<bool, Error> {
        let mut more = self.read_rotated(buf, out, rotate_wait, notice)?;
        if let Some(reader) = &mut self.current {
            let batch = reader.read_batch(buf, out)?;
            more |= self.after_batch(None, batch, notice);
        }
        let meta = match path_metadata(&self.path, self.refuse_links) {
            Ok(meta) => meta,
            Err(_) => {
                if !self.reported_missing {
                    notice(&self.path, "has gone; waiting for it to come back");
                    self.reported_missing = true;
                }
                return Ok(more);
            }
        };
        match &mut self.current {
            Some(reader) if reader.identity == Identity::of(&meta) => {
                let shrunk = meta.len() < reader.offset;
                more |= self.still_there(shrunk, notice);
            }
            _ => more |= self.open_new(&meta, buf, out, rules, rotate_wait, notice)?,
        }
        Ok(more)
    }

    /// Reads a batch of each renamed file, then closes those quiet for
    /// `rotate_wait`, their unfinished line written. Returns whether one
    /// has more waiting than a batch.
    fn read_rotated<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
        rotate_wait: Duration,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<bool, Error> {
        let mut more = false;
        // The renamed files first: what is in them was mostly written
        // before what is in the new one.
        for i in 0..self.rotated.len() {
            let batch = self.rotated[i].read_batch(buf, out)?;
            more |= self.after_batch(Some(i), batch, notice);
        }
        let mut i = 0;
        while i < self.rotated.len() {
            if self.rotated[i].last_data.elapsed() >= rotate_wait {
                let mut reader = self.rotated.remove(i);
                reader.end_file(out)?;
                self.found.extend(reader.redactor.take_findings());
                self.malformed += reader.redactor.malformed();
            } else {
                i += 1;
            }
        }
        Ok(more)
    }

    /// The path still names the file being read: back, if it was said to be
    /// gone, and read again from its start if it `shrunk` below the offset.
    /// Returns whether more is waiting.
    fn still_there(&mut self, shrunk: bool, notice: &mut impl FnMut(&Path, &str)) -> bool {
        if self.reported_missing {
            notice(&self.path, "is back");
        }
        self.reported_missing = false;
        self.said = None;
        shrunk && self.after_batch(None, Batch::Truncated, notice)
    }

    /// The path names a new file (or the first one), which `meta` is of:
    /// it is opened and read from its start, and the file read until now
    /// is kept, as rotated, until quiet. What is not a regular file is
    /// said, once, and not opened. Returns whether more is waiting.
    fn open_new<W: Write>(
        &mut self,
        meta: &fs::Metadata,
        buf: &mut [u8],
        out: &mut W,
        rules: &Arc<RuleSet>,
        rotate_wait: Duration,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Result<bool, Error> {
        let had_file = self.current.is_some() || !self.rotated.is_empty();
        let Some(file) = open_regular(&self.path, self.refuse_links) else {
            if let Some(why) = not_followed(meta, self.refuse_links)
                && self.said.as_ref() != Some(&why)
            {
                notice(&self.path, &why);
                self.reported_missing = true;
                self.said = Some(why);
            }
            return Ok(false);
        };
        let Ok(meta) = file.metadata() else { return Ok(false) };
        let Some(mut reader) = Reader::new(file, Identity::of(&meta), 0, rules, self.record) else {
            return Ok(false);
        };
        if let Some(mut old) = self.current.take() {
            notice(
                &self.path,
                &format!(
                    "{}; reading the new file, and the old one until it has been quiet \
                     for {:?}",
                    if self.reported_missing { "is back as a new file" } else { "rotated" },
                    rotate_wait
                ),
            );
            old.last_data = Instant::now();
            self.rotated.push(old);
        } else if self.reported_missing && had_file {
            notice(&self.path, "is back");
        }
        self.reported_missing = false;
        self.said = None;
        let batch = reader.read_batch(buf, out)?;
        self.current = Some(reader);
        Ok(self.after_batch(None, batch, notice))
    }

    /// Acts on how a batch of the current file (`None`) or of a rotated one
    /// ended: a truncated file is read again from its start, and the rest
    /// of its old content from a copy if there is one. Returns whether more
    /// is waiting.
    pub(super) fn after_batch(
        &mut self,
        rotated: Option<usize>,
        batch: Batch,
        notice: &mut impl FnMut(&Path, &str),
    ) -> bool {
        if batch != Batch::Truncated {
            return batch == Batch::Budget;
        }
        let open: Vec<Identity> =
            self.current.iter().chain(&self.rotated).map(|r| r.identity).collect();
        let folder = folder_of(&self.path);
        let reader = match rotated {
            Some(i) => &mut self.rotated[i],
            None => self.current.as_mut().expect("a batch of the current file"),
        };
        // What it found of the old content was read: it stays found.
        let found = reader.redactor.take_findings();
        self.malformed += reader.redactor.malformed();
        let stem = self.path.file_name().unwrap_or_default();
        let (copy, message) = reader.restart(&folder, stem, &open, self.refuse_links);
        self.found.extend(found);
        notice(&self.path, &message);
        self.rotated.extend(copy);
        true
    }

    /// What the state file is to hold now for this path, if it has a file
    /// open.
    pub(super) fn position(&mut self) -> Option<Position> {
        let current_identity = self.current.as_ref().or(self.rotated.last())?.identity;
        let rotated = self
            .rotated
            .iter_mut()
            .filter(|r| r.identity != current_identity)
            .map(|r| RotatedPosition { identity: r.identity, head: r.head(), offset: r.committed })
            .collect();
        let current = self.current.as_mut().or(self.rotated.last_mut())?;
        Some(Position {
            path_hash: Some(self.hash.clone()),
            path: self.shown.clone(),
            identity: current.identity,
            head: current.head(),
            offset: current.committed,
            rotated,
        })
    }
}
