//! A followed path's start-up: where the state says to resume (the same
//! file, not shrunk), else its end (or start); and the renamed files, or
//! copytruncate's copies, that the state says are still owed lines.

use std::{fs::File, path::Path, sync::Arc};

use super::identity::{Head, Identity};
use super::paths::{folder_of, not_followed, open_regular, path_metadata};
use super::reader::Reader;
use super::rotation::{find_by_identity, find_copy};
use super::state::Position;
use super::tail::Tail;
use crate::RuleSet;

/// A file the last run was reading that the state says is owed: its
/// identity, its first bytes, and where to resume.
type Owed<'a> = (Identity, Option<&'a Head>, u64);

impl Tail {
    /// Opens the file at start-up: where the state says, else at its end
    /// (or start); and renamed files the state says are owed.
    pub(super) fn open_initial(
        &mut self,
        saved: Option<&Position>,
        from_start: bool,
        rules: &Arc<RuleSet>,
        notice: &mut impl FnMut(&Path, &str),
    ) {
        let opened = open_regular(&self.path, self.refuse_links).and_then(|file| {
            let meta = file.metadata().ok()?;
            Some((file, Identity::of(&meta), meta.len()))
        });
        let mut owed: Vec<Owed> = saved
            .map(|p| p.rotated.iter().map(|r| (r.identity, r.head.as_ref(), r.offset)).collect())
            .unwrap_or_default();
        let offset = start_offset(saved, opened.as_ref(), from_start, &mut owed);
        if !owed.is_empty() {
            let open: Vec<Identity> = opened.iter().map(|(_, id, _)| *id).collect();
            self.open_owed(&owed, open, rules, notice);
        }
        match opened {
            Some((file, identity, _)) => {
                self.current = Reader::new(file, identity, offset, rules, self.record)
            }
            None => {
                let why = path_metadata(&self.path, self.refuse_links)
                    .ok()
                    .and_then(|meta| not_followed(&meta, self.refuse_links));
                let why = why.unwrap_or_else(|| "does not exist (yet); waiting for it".into());
                notice(&self.path, &why);
                self.reported_missing = true;
                self.said = Some(why);
            }
        }
    }

    /// Opens the files in `owed`, in their order, as rotated files: by
    /// their identity in the path's folder, else a copy that starts as
    /// they did. `open` holds the identity of the file the path names.
    fn open_owed(
        &mut self,
        owed: &[Owed],
        mut open: Vec<Identity>,
        rules: &Arc<RuleSet>,
        notice: &mut impl FnMut(&Path, &str),
    ) {
        let folder = folder_of(&self.path);
        let mut found = find_by_identity(&folder, owed, self.refuse_links).into_iter().peekable();
        for (identity, head, offset) in owed {
            let reader = match found.next_if(|(_, id, _)| id == identity) {
                Some((file, identity, offset)) => {
                    Reader::new(file, identity, offset, rules, self.record)
                }
                // Not by its inode: truncated (copytruncate) while no
                // run was reading it? Its copy starts as it did.
                None => self.owed_copy(&folder, *head, *offset, &open, rules, notice),
            };
            open.extend(reader.as_ref().map(|r| r.identity));
            self.rotated.extend(reader);
        }
    }

    /// The reader of a copy (copytruncate's) of a file the last run was
    /// reading, from `offset`, where it is no more by its inode; or, with
    /// none, that lines were not read, said. Never lose lines silently.
    fn owed_copy(
        &self,
        folder: &Path,
        head: Option<&Head>,
        offset: u64,
        open: &[Identity],
        rules: &Arc<RuleSet>,
        notice: &mut impl FnMut(&Path, &str),
    ) -> Option<Reader> {
        let copy = head
            .filter(|head| head.len > 0)
            .and_then(|head| find_copy(folder, self.stem(), head, offset, open, self.refuse_links));
        let Some((file, identity, name)) = copy else {
            notice(
                &self.path,
                &format!(
                    "the file it was when the last run stopped is not in its folder any more \
                     (compressed, moved or truncated while phx-redact was stopped): lines \
                     written to it after byte {offset}, if any, were not read"
                ),
            );
            return None;
        };
        notice(
            &self.path,
            &format!(
                "was truncated while phx-redact was stopped; reading the rest of its old \
                 content, from byte {offset}, in {}, a copy of it",
                name.display()
            ),
        );
        Reader::new(file, identity, offset, rules, self.record)
    }
}

/// Where to read the file the path names (`opened`, with its identity and
/// length) from at start-up, by what the state `saved` of the path. A file
/// other than the one saved adds the saved one to `owed`.
fn start_offset<'a>(
    saved: Option<&'a Position>,
    opened: Option<&(File, Identity, u64)>,
    from_start: bool,
    owed: &mut Vec<Owed<'a>>,
) -> u64 {
    match (saved, opened) {
        // The same file as when the last run stopped, not shrunk.
        (Some(p), Some((file, identity, len)))
            if p.identity == *identity && Head::matches(p.head.as_ref(), file) =>
        {
            if p.offset <= *len { p.offset } else { 0 }
        }
        // Another file since the last run (maybe with the old one's
        // inode): all of it is new, and the rest of the last one is
        // owed (renamed while we were stopped).
        (Some(p), _) => {
            owed.push((p.identity, p.head.as_ref(), p.offset));
            0
        }
        (None, _) if from_start => 0,
        (None, Some((_, _, len))) => *len,
        (None, None) => 0,
    }
}
