//! The parser of a unified diff: it reads the diff in pieces, feeds each
//! file's added lines to its scan, counts each hunk's lines, and gathers
//! the lines outside hunks, which [`headers`](super::headers) reads.

use std::{
    io::{self, BufRead},
    mem,
};

use crate::app::Error;
use crate::{
    app::audit::diff::hunk::Hunk,
    app::audit::diff::scan::{FileScan, Report, Run},
    app::formats::{Format, SNIFF_MAX},
};

/// The longest header line read (a file name in `+++ b/NAME`); a longer
/// one that matters is an error.
pub const HEADER_CAP: usize = 64 * 1024;

/// Where the parser is within a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum At {
    /// At the start of a line.
    Start,
    /// In an added line, fed to the file's redactor.
    Added,
    /// In a line whose bytes do not matter.
    Skip,
    /// In a header line, gathered (up to [`HEADER_CAP`]).
    Header,
}

/// Which part of the input the lines outside hunks are in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Zone {
    /// Before any diff line: a preamble.
    #[default]
    Start,
    /// The mail or log text around a patch (`git format-patch`, `git log
    /// -p`): a message, a diffstat, a signature.
    Mail,
    /// Among a diff's files: a line that looks like a hunk's is an error.
    Diff,
}

/// What the line before was, for the lines that must follow one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Prev {
    #[default]
    Other,
    /// A hunk's line (`+`, `-`, ` `).
    HunkLine,
    /// An old-side header (`--- `).
    OldName,
}

/// What the headers of the file being read say.
#[derive(Debug, Default)]
pub(super) struct Block {
    /// `diff --git`: git's extended headers say what is added.
    pub(super) git: bool,
    /// The name in `diff --git a/NAME b/NAME`, when both are the same.
    pub(super) git_name: Option<Vec<u8>>,
    /// The name in `+++ NAME`.
    pub(super) new_name: Option<Vec<u8>>,
    /// `deleted file mode` or `+++ /dev/null`.
    pub(super) deleted: bool,
    /// `--- /dev/null`.
    pub(super) old_null: bool,
    /// A hunk was read.
    pub(super) hunks: bool,
    /// The last name scanned as added, not scanned twice.
    pub(super) scanned: Option<Vec<u8>>,
}

#[derive(Default)]
pub(super) struct Parser {
    pub(super) zone: Zone,
    pub(super) prev: Prev,
    pub(super) block: Block,
    /// The line being read belongs to the first bytes of its file.
    pub(super) gather: bool,
    pub(super) at: Option<At>,
    pub(super) header: Vec<u8>,
    pub(super) header_cut: bool,
    pub(super) hunk: Option<Hunk>,
    pub(super) file: Option<FileScan>,
    /// A `diff`, `---` or `+++` line was seen: this is a diff.
    pub(super) is_diff: bool,
    /// Any byte was read.
    pub(super) any: bool,
    /// Bytes of the diff read so far.
    pub(super) offset: u64,
    /// Files whose added bytes the diff does not show.
    pub(super) refusals: Vec<String>,
}

impl Parser {
    pub(super) fn run<R: Report>(
        &mut self,
        mut reader: impl BufRead,
        check: &mut R,
    ) -> Result<(), Error> {
        loop {
            let chunk = match reader.fill_buf() {
                Ok([]) => return Ok(()),
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Read(e)),
            };
            self.any = true;
            let len = chunk.len();
            self.bytes(chunk, check)?;
            reader.consume(len);
        }
    }

    /// Takes the next piece of the diff.
    fn bytes<R: Report>(&mut self, mut chunk: &[u8], check: &mut R) -> Result<(), Error> {
        while !chunk.is_empty() {
            let at = self.at.unwrap_or(At::Start);
            if at == At::Start {
                let first = chunk[0];
                let next = self.line_starts(first)?;
                self.at = Some(next);
                // A hunk line's first byte (`+`, `-`, ` `) is not content;
                // an empty line ends at it.
                if next != At::Header && first != b'\n' {
                    chunk = &chunk[1..];
                    self.offset += 1;
                }
                continue;
            }
            let end = memchr::memchr(b'\n', chunk);
            let piece = &chunk[..end.map_or(chunk.len(), |i| i + 1)];
            match at {
                At::Added => {
                    let file = self.file.as_mut().expect("an added line has a file");
                    file.redactor.feed(piece, &mut io::sink()).map_err(Error::Write)?;
                    file.fed += piece.len() as u64;
                    self.gather_piece(piece);
                }
                At::Skip => self.gather_piece(piece),
                At::Header => {
                    let room = HEADER_CAP.saturating_sub(self.header.len());
                    self.header_cut |= piece.len() > room;
                    self.header.extend_from_slice(&piece[..piece.len().min(room)]);
                }
                At::Start => {}
            }
            self.offset += piece.len() as u64;
            chunk = &chunk[piece.len()..];
            if end.is_some() {
                self.line_ends(check)?;
            }
        }
        Ok(())
    }

    /// Decides what a line is from its first byte.
    fn line_starts(&mut self, first: u8) -> Result<At, Error> {
        self.gather = false;
        let Some(hunk) = &mut self.hunk else {
            return Ok(At::Header);
        };
        let (old, new) = match first {
            b'+' => (0, 1),
            b'-' => (1, 0),
            // Some tools strip the space of an empty context line.
            b' ' | b'\n' => (1, 1),
            // Told from the whole line: see `marker_line`.
            b'\\' => return Ok(At::Header),
            other => {
                return Err(Error::Diff(format!(
                    "not a unified diff: a hunk line starts with {:?} (byte {}); is the diff \
                     coloured (git diff --no-color)?",
                    char::from(other),
                    self.offset
                )));
            }
        };
        if hunk.old_left < old || hunk.new_left < new {
            return Err(Error::Diff(format!(
                "not a unified diff: a hunk holds more lines than its header says (byte {})",
                self.offset
            )));
        }
        hunk.old_left -= old;
        hunk.new_left -= new;
        let new_line = hunk.new_line;
        hunk.new_line += new;
        if let Some((_, next)) = self.file.as_mut().and_then(|f| f.head.as_mut()) {
            // The lines of a hunk follow one another in the new file.
            if new == 1 {
                self.gather = true;
                *next += 1;
            }
        }
        if first != b'+' {
            return Ok(At::Skip);
        }
        let Some(file) = &mut self.file else {
            return Err(Error::Diff(format!(
                "not a unified diff: added lines with no `+++` header before them (byte {})",
                self.offset
            )));
        };
        if !(file.adjacent && file.last_new_line + 1 == new_line) {
            file.runs.push_back(Run {
                stream_offset: file.fed,
                stream_line: file.stream_line,
                new_line,
                diff_offset: self.offset + 1,
            });
        }
        file.last_new_line = new_line;
        file.adjacent = true;
        Ok(At::Added)
    }

    /// After a hunk line: whether the hunk is over.
    pub(super) fn after_hunk_line(&mut self) {
        if self.hunk.is_some_and(|h| h.old_left == 0 && h.new_left == 0) {
            self.hunk = None;
        }
    }

    /// At the end of a line (its newline taken).
    fn line_ends<R: Report>(&mut self, check: &mut R) -> Result<(), Error> {
        let at = self.at.replace(At::Start);
        match at {
            Some(At::Added) => {
                let file = self.file.as_mut().expect("an added line has a file");
                file.stream_line += 1;
                check.report(file);
                file.prune();
                self.after_hunk_line();
                self.prev = Prev::HunkLine;
                self.head_full();
            }
            Some(At::Skip) => {
                if let Some(file) = &mut self.file {
                    file.adjacent = false;
                }
                self.after_hunk_line();
                self.prev = Prev::HunkLine;
                self.head_full();
            }
            Some(At::Header) => {
                let line = mem::take(&mut self.header);
                let cut = mem::replace(&mut self.header_cut, false);
                let prev = mem::take(&mut self.prev);
                self.header_line(&line, cut, prev, check)?;
            }
            Some(At::Start) | None => {}
        }
        Ok(())
    }

    /// A line outside any hunk (or a hunk's `\` line), `prev` the kind of
    /// the line before it.
    /// Keeps a piece of a line of the new content's first bytes.
    fn gather_piece(&mut self, piece: &[u8]) {
        if !self.gather {
            return;
        }
        if let Some((head, _)) = self.file.as_mut().and_then(|f| f.head.as_mut()) {
            let room = SNIFF_MAX.saturating_sub(head.len());
            head.extend_from_slice(&piece[..piece.len().min(room)]);
        }
    }

    /// Tells the format once enough first bytes are in.
    fn head_full(&mut self) {
        let full = self
            .file
            .as_ref()
            .and_then(|f| f.head.as_ref())
            .is_some_and(|h| h.0.len() >= SNIFF_MAX);
        if full {
            self.tell_format();
        }
    }

    /// Tells the format of the file's new content from its first bytes: a
    /// compressed file, or UTF-16 text, added as lines would look clean
    /// whatever it holds.
    pub(super) fn tell_format(&mut self) {
        let Some(file) = self.file.as_mut() else { return };
        let Some((head, _)) = file.head.take() else { return };
        file.told = true;
        let format = Format::detect(&head);
        if format != Format::Plain {
            let name = &file.name.text;
            self.refusals.push(format!(
                "{name} adds {} content, which --diff cannot see into: check the file itself \
                 with phx-redact --check {name}",
                format.name()
            ));
        }
    }

    /// Ends the current file's stream and reports what it still held.
    pub(super) fn end_file<R: Report>(&mut self, check: &mut R) -> Result<(), Error> {
        self.tell_format();
        if let Some(mut file) = self.file.take() {
            file.redactor.finish(&mut io::sink()).map_err(Error::Write)?;
            check.report(&mut file);
        }
        Ok(())
    }

    /// At the end of the input.
    pub(super) fn end<R: Report>(&mut self, check: &mut R) -> Result<(), Error> {
        // A last line with no newline.
        if matches!(self.at, Some(At::Added | At::Skip | At::Header)) {
            self.line_ends(check)?;
        }
        self.end_file(check)?;
        if self.hunk.is_some() {
            return Err(Error::Diff(
                "the diff ends inside a hunk: cut short, so not all of it was checked".into(),
            ));
        }
        if self.any && !self.is_diff {
            return Err(Error::Diff(
                "not a unified diff (no diff, --- or +++ line); --diff reads the output of \
                 git diff or diff -u"
                    .into(),
            ));
        }
        Ok(())
    }
}
