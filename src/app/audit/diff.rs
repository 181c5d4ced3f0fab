//! `--check --diff`: the audit of a unified diff, for a pre-commit hook.
//!
//! Only what the diff adds is scanned: the `+` lines of its hunks (never
//! the `+++` headers, which the hunk's line counts tell apart from an
//! added line that starts with `++`). Deleted and context lines never
//! count, so a commit that removes a key passes. Each file's added lines
//! are one stream, so that a custom rule can still span lines; findings
//! are placed on the new side: the file's new name, and the line number in
//! the new file, from the hunks' `@@ -a,b +c,d @@` headers.
//!
//! The diff is read in pieces, never a whole line at a time: an added line
//! of any length costs what the engine holds, and one header line at most
//! [`HEADER_CAP`] bytes. A file whose added bytes the diff does not show (a
//! binary file: `Binary files ... differ`, `GIT binary patch`; a file
//! whose content, from its first byte, is compressed or UTF-16: see
//! [`Format::detect`]; a new file `diff -r` names in an `Only in` line), a
//! hunk cut short, a line past a hunk's counts or that is not a hunk's,
//! and input that holds no diff at all are errors: never clean.
//!
//! A key in the name of a file the diff adds (created, renamed or copied
//! to) is committed too: it is a finding, placed at `name`.
//!
//! The mail parts of `git format-patch` and `git log -p` output (headers,
//! messages, diffstats, signatures) are read as text that adds nothing:
//! from a `From <hash>`, `commit <hash>` or `-- ` line to the next `diff`
//! line. Elsewhere, a line outside a hunk that looks like one of its lines
//! is an error, for its bytes would be seen by no one.

use std::{
    collections::VecDeque,
    io::{self, BufRead, Write},
    mem,
    sync::Arc,
};

use crate::app::Error;
use crate::{
    Finding, Redactor, RuleSet,
    app::audit::keys::{Found, Keys, write_keys},
    app::audit::{self, Names, Outcome},
    app::formats::{Format, SNIFF_MAX},
    app::policy::{MessagePolicy, PrintedName},
};

/// The longest header line read (a file name in `+++ b/NAME`); a longer
/// one that matters is an error.
pub const HEADER_CAP: usize = 64 * 1024;

/// Checks unified diffs, one input after another, writing each finding of
/// an added line to `out` as `--check` does, then the list of keys.
pub struct DiffCheck<'a, W: Write + ?Sized> {
    names_of: Names<'a>,
    out: &'a mut W,
    output_error: Option<io::Error>,
    keys: Keys,
    /// The names of the files with findings, by the index [`Keys`] keeps.
    names: Vec<PrintedName>,
    failures: usize,
}

impl<'a, W: Write + ?Sized> DiffCheck<'a, W> {
    /// A check under `rules` that prints through `policy` (its rules'
    /// names as `rule_names`, see [`audit::rule_names`]).
    pub fn new(
        rules: &'a Arc<RuleSet>,
        policy: &'a MessagePolicy,
        rule_names: &'a [String],
        json: bool,
        out: &'a mut W,
    ) -> Self {
        let names_of =
            Names { rules, policy, rule_names, json, verdict_only: false, print_findings: true };
        DiffCheck {
            names_of,
            out,
            output_error: None,
            keys: Keys::default(),
            names: Vec::new(),
            failures: 0,
        }
    }

    /// Checks the diff `reader` gives, named `input` in messages. An error
    /// (unreadable, not a diff, a binary file) is passed to `on_error` with
    /// the input's printed name, after the findings before it.
    pub fn check(
        &mut self,
        input: &[u8],
        reader: impl BufRead,
        mut on_error: impl FnMut(&str, &Error),
    ) {
        let mut parser = Parser::default();
        let result = parser.run(reader, self);
        let result = result.and_then(|()| parser.end(self));
        for error in parser.refusals.into_iter().map(Error::Diff).chain(result.err()) {
            self.fail(input, &error, &mut on_error);
        }
    }

    /// Counts a failure of `input` and reports it (a JSON line too, with
    /// `--json`) through `on_error`.
    pub fn fail(&mut self, input: &[u8], error: &Error, mut on_error: impl FnMut(&str, &Error)) {
        let name = self.names_of.policy.printed_name(input);
        self.failures += 1;
        if self.names_of.json {
            let policy = self.names_of.policy;
            self.write(|out| audit::write_json_error(out, &name.json, error, policy));
        }
        self.write(|out| out.flush());
        on_error(&name.text, error);
    }

    /// Writes the list of keys and says what was found.
    pub fn finish(mut self) -> Outcome {
        let json = self.names_of.json;
        let keys = self.keys.list(self.names_of.rules, self.names_of.rule_names, &self.names, json);
        self.write(|out| write_keys(out, &keys, json));
        Outcome {
            keys,
            unrecorded: 0,
            failures: self.failures,
            output_error: self.output_error.map(Error::Write),
        }
    }

    /// Once a write fails, nothing more is written; the check goes on, as
    /// `--check` does, for its verdict.
    fn write(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.output_error.is_none() {
            self.output_error = write(self.out).err();
        }
    }

    /// Prints the findings `file`'s redactor has, placed on the new side.
    fn report(&mut self, file: &mut FileScan) {
        for mut finding in file.redactor.take_findings() {
            file.place(&mut finding);
            let index = *file.index.get_or_insert_with(|| self.name_index(&file.name));
            self.print(&file.name, index, finding);
        }
    }

    /// Scans the name of a file the diff adds: a key there is committed
    /// too. Its findings are placed at `name`, within it.
    fn report_name(&mut self, name: &[u8]) {
        let mut scan = Redactor::new(Arc::clone(self.names_of.rules)).record_findings();
        // A sink cannot fail to be written.
        let _ = scan.feed(name, &mut io::sink()).and_then(|()| scan.finish(&mut io::sink()));
        let printed = self.names_of.policy.printed_name(name);
        for mut finding in scan.take_findings() {
            finding.place = Some("name");
            let index = self.name_index(&printed);
            self.print(&printed, index, finding);
        }
    }

    /// The index of `name` among the names of files with findings: the
    /// last one's again when it is the same file (its name, then its
    /// content).
    fn name_index(&mut self, name: &PrintedName) -> usize {
        if self.names.last().is_none_or(|last| last.text != name.text) {
            self.names.push(name.clone());
        }
        self.names.len() - 1
    }

    /// Prints `finding` in the file `name` and counts its key.
    fn print(&mut self, name: &PrintedName, index: usize, finding: Finding) {
        let mut text = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = audit::write_finding(&mut text, name, &finding, &self.names_of);
        self.write(|out| out.write_all(&text).and_then(|()| out.flush()));
        let found = Found { hash: finding.fingerprint, rule: finding.rule, mask: finding.mask };
        self.keys.add(&[found], index);
    }
}

/// A run of added lines that follow one another both in the diff and in
/// the new file: where it starts in the stream of added lines, in the new
/// file and in the diff.
#[derive(Clone, Copy, Debug)]
struct Run {
    stream_offset: u64,
    stream_line: u64,
    new_line: u64,
    diff_offset: u64,
}

/// The added lines of one file, scanned as one stream.
struct FileScan {
    name: PrintedName,
    redactor: Redactor,
    /// The runs a finding still to come may start in; older ones are
    /// dropped, so that a long diff holds a few.
    runs: VecDeque<Run>,
    /// Bytes fed so far, and the line of the stream the next added line is.
    fed: u64,
    stream_line: u64,
    /// The new-side line of the last added line fed, and whether the diff
    /// line just before this one was it.
    last_new_line: u64,
    adjacent: bool,
    /// Its index among the names of files with findings, once it has one.
    index: Option<usize>,
    /// The first bytes of its new content, while they are gathered to
    /// tell its format, and the new-side line that continues them.
    head: Option<(Vec<u8>, u64)>,
    /// Whether its format was told (or cannot be: its first line is not
    /// in the diff).
    told: bool,
}

impl FileScan {
    /// Moves `f` from the stream of added lines to the new file: its line
    /// there, and its byte offset in the diff.
    fn place(&self, f: &mut Finding) {
        let run = self.runs.iter().rev().find(|r| r.stream_line <= f.line).or(self.runs.front());
        if let Some(run) = run {
            let lines = f.line.saturating_sub(run.stream_line);
            // One `+` before each line of the run.
            f.offset = run.diff_offset + f.offset.saturating_sub(run.stream_offset) + lines;
            f.line = run.new_line + lines;
        }
    }

    /// Drops the runs no finding to come can start in: before the first
    /// byte the redactor has not written yet.
    fn prune(&mut self) {
        let earliest = self.fed - self.redactor.unwritten();
        while self.runs.len() > 1 && self.runs[1].stream_offset <= earliest {
            self.runs.pop_front();
        }
    }
}

/// A hunk being read: how many of its old and new lines are still to come,
/// and the new-side line of the next one.
#[derive(Clone, Copy, Debug)]
struct Hunk {
    /// `-0,0`: no old side, as `diff -N` shows a new file.
    old_empty: bool,
    old_left: u64,
    new_left: u64,
    new_line: u64,
}

/// Where the parser is within a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
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
enum Zone {
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
enum Prev {
    #[default]
    Other,
    /// A hunk's line (`+`, `-`, ` `).
    HunkLine,
    /// An old-side header (`--- `).
    OldName,
}

/// What the headers of the file being read say.
#[derive(Debug, Default)]
struct Block {
    /// `diff --git`: git's extended headers say what is added.
    git: bool,
    /// The name in `diff --git a/NAME b/NAME`, when both are the same.
    git_name: Option<Vec<u8>>,
    /// The name in `+++ NAME`.
    new_name: Option<Vec<u8>>,
    /// `deleted file mode` or `+++ /dev/null`.
    deleted: bool,
    /// `--- /dev/null`.
    old_null: bool,
    /// A hunk was read.
    hunks: bool,
    /// The last name scanned as added, not scanned twice.
    scanned: Option<Vec<u8>>,
}

#[derive(Default)]
struct Parser {
    zone: Zone,
    prev: Prev,
    block: Block,
    /// The line being read belongs to the first bytes of its file.
    gather: bool,
    at: Option<At>,
    header: Vec<u8>,
    header_cut: bool,
    hunk: Option<Hunk>,
    file: Option<FileScan>,
    /// A `diff`, `---` or `+++` line was seen: this is a diff.
    is_diff: bool,
    /// Any byte was read.
    any: bool,
    /// Bytes of the diff read so far.
    offset: u64,
    /// Files whose added bytes the diff does not show.
    refusals: Vec<String>,
}

impl Parser {
    fn run<W: Write + ?Sized>(
        &mut self,
        mut reader: impl BufRead,
        check: &mut DiffCheck<'_, W>,
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
    fn bytes<W: Write + ?Sized>(
        &mut self,
        mut chunk: &[u8],
        check: &mut DiffCheck<'_, W>,
    ) -> Result<(), Error> {
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
    fn after_hunk_line(&mut self) {
        if self.hunk.is_some_and(|h| h.old_left == 0 && h.new_left == 0) {
            self.hunk = None;
        }
    }

    /// At the end of a line (its newline taken).
    fn line_ends<W: Write + ?Sized>(&mut self, check: &mut DiffCheck<'_, W>) -> Result<(), Error> {
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
    fn header_line<W: Write + ?Sized>(
        &mut self,
        line: &[u8],
        cut: bool,
        prev: Prev,
        check: &mut DiffCheck<'_, W>,
    ) -> Result<(), Error> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"\\") {
            return self.marker_line(line, prev);
        }
        if self.zone == Zone::Mail && !line.starts_with(b"diff ") {
            // A message, a diffstat, a signature: nothing a file adds.
            return Ok(());
        }
        let matters = [
            &b"diff "[..],
            b"--- ",
            b"+++ ",
            b"@@",
            b"Binary files ",
            b"GIT binary",
            b"rename to ",
            b"copy to ",
        ];
        if cut && matters.iter().any(|m| line.starts_with(m)) {
            return Err(Error::Diff(format!(
                "a diff header line longer than {} KiB (byte {})",
                HEADER_CAP / 1024,
                self.offset
            )));
        }
        if is_mail_start(line) {
            self.end_file(check)?;
            self.zone = Zone::Mail;
        } else if line.starts_with(b"diff ") {
            self.is_diff = true;
            self.zone = Zone::Diff;
            self.end_file(check)?;
            self.block = Block::default();
            if let Some(names) = line.strip_prefix(b"diff --git ") {
                self.block.git = true;
                self.block.git_name = git_name(names);
            }
        } else if let Some(name) = line.strip_prefix(b"--- ") {
            self.is_diff = true;
            self.zone = Zone::Diff;
            self.end_file(check)?;
            if self.block.hunks {
                // The next file of a diff with no `diff` lines.
                self.block = Block::default();
            }
            self.block.old_null = name.starts_with(b"/dev/null");
            self.prev = Prev::OldName;
        } else if let Some(name) = line.strip_prefix(b"+++ ") {
            if prev != Prev::OldName {
                return Err(self.past_counts());
            }
            self.new_file(name, check)?;
        } else if line.starts_with(b"@@@") {
            return Err(Error::Diff(
                "a combined diff (@@@), which --diff does not read; check each side's diff".into(),
            ));
        } else if line.starts_with(b"@@") {
            self.hunk_header(line, check)?;
        } else {
            self.other_line(line, check)?;
        }
        Ok(())
    }

    /// A `\` line: only `\ No newline at end of file`, right after a hunk's
    /// line. Any other text would be seen by no one.
    fn marker_line(&mut self, line: &[u8], prev: Prev) -> Result<(), Error> {
        if self.zone == Zone::Mail && self.hunk.is_none() {
            return Ok(());
        }
        if prev == Prev::HunkLine && line == b"\\ No newline at end of file" {
            return Ok(());
        }
        Err(Error::Diff(format!(
            "not a unified diff: a line that starts with \\ and is not \"\\ No newline at end of \
             file\" right after a hunk's line (byte {}); a diff in another language? Run diff \
             with LC_ALL=C",
            self.offset
        )))
    }

    /// A `+++ ` line: the file whose added lines follow.
    fn new_file<W: Write + ?Sized>(
        &mut self,
        field: &[u8],
        check: &mut DiffCheck<'_, W>,
    ) -> Result<(), Error> {
        self.is_diff = true;
        self.end_file(check)?;
        let Some(name) = new_name(field) else {
            self.block.deleted = true;
            return Ok(());
        };
        if self.block.old_null {
            self.added_name(&name, check);
        }
        self.block.new_name = Some(name.clone());
        let rules = Arc::clone(check.names_of.rules);
        self.file = Some(FileScan {
            name: check.names_of.policy.printed_name(&name),
            redactor: Redactor::new(rules).record_findings(),
            runs: VecDeque::new(),
            fed: 0,
            stream_line: 1,
            last_new_line: 0,
            adjacent: false,
            index: None,
            head: None,
            told: false,
        });
        Ok(())
    }

    /// An `@@ ` line: a hunk starts.
    fn hunk_header<W: Write + ?Sized>(
        &mut self,
        line: &[u8],
        check: &mut DiffCheck<'_, W>,
    ) -> Result<(), Error> {
        let hunk = parse_hunk(line).ok_or_else(|| {
            Error::Diff(format!(
                "not a unified diff: a malformed hunk header (byte {})",
                self.offset
            ))
        })?;
        self.zone = Zone::Diff;
        // `diff -N` shows a new file as one from an empty one.
        if !self.block.git && !self.block.hunks && hunk.old_empty {
            if let Some(name) = self.block.new_name.take() {
                self.added_name(&name, check);
            }
        }
        self.block.hunks = true;
        // The new content's first bytes tell its format, as --check's do.
        let head_goes_on = self.file.as_ref().and_then(|f| f.head.as_ref()).map(|h| h.1);
        match head_goes_on {
            Some(next) if next != hunk.new_line => self.tell_format(),
            Some(_) => {}
            None => {
                if let Some(file) = self.file.as_mut().filter(|f| !f.told) {
                    if hunk.new_line <= 1 && hunk.new_left > 0 {
                        file.head = Some((Vec::new(), 1));
                    } else {
                        file.told = true;
                    }
                }
            }
        }
        self.hunk = Some(hunk);
        self.after_hunk_line();
        Ok(())
    }

    /// Any other line outside a hunk.
    fn other_line<W: Write + ?Sized>(
        &mut self,
        line: &[u8],
        check: &mut DiffCheck<'_, W>,
    ) -> Result<(), Error> {
        let shown = || check.names_of.policy.printed_name(line).text;
        if line.starts_with(b"Binary files ") || line.starts_with(b"GIT binary patch") {
            self.zone = Zone::Diff;
            // A binary file deleted adds nothing; the headers say so, not
            // the line, which ends with a name.
            if !self.block.deleted {
                self.refusals.push(format!(
                    "a binary file, whose added bytes the diff does not show, was not checked \
                     ({}); have git show them with git diff --text",
                    shown()
                ));
            }
        } else if line.starts_with(b"Only in ")
            || (line.starts_with(b"Files ") && line.ends_with(b" differ"))
            || (line.starts_with(b"File ") && memchr::memmem::find(line, b" while file ").is_some())
        {
            self.refusals.push(format!(
                "a file whose content the diff does not hold ({}); make the diff with diff -ruN, \
                 or check the files with phx-redact --check",
                shown()
            ));
        } else if line.starts_with(b"***") {
            return Err(Error::Diff(format!(
                "not a unified diff: a context diff (diff -c) line (byte {}); make it with diff -u",
                self.offset
            )));
        } else if line.starts_with(b"deleted file mode ") {
            self.block.deleted = true;
        } else if line.starts_with(b"new file mode ") {
            if let Some(name) = self.block.git_name.clone() {
                self.added_name(&name, check);
            }
        } else if let Some(name) =
            line.strip_prefix(b"rename to ").or_else(|| line.strip_prefix(b"copy to "))
        {
            let name = match name.strip_prefix(b"\"") {
                Some(quoted) => unquote(quoted),
                None => name.to_vec(),
            };
            self.added_name(&name, check);
        } else if line == b"-- " {
            // format-patch's signature: mail text follows.
            self.end_file(check)?;
            self.zone = Zone::Mail;
        } else if self.zone == Zone::Diff && matches!(line.first(), Some(b'+' | b'-' | b' ' | b'!'))
        {
            return Err(self.past_counts());
        }
        Ok(())
    }

    fn past_counts(&self) -> Error {
        Error::Diff(format!(
            "not a unified diff: a line past the hunk's counts (byte {}): the diff is cut or its \
             counts are wrong",
            self.offset
        ))
    }

    /// Scans `name`, a file's name the diff adds, once per file.
    fn added_name<W: Write + ?Sized>(&mut self, name: &[u8], check: &mut DiffCheck<'_, W>) {
        if self.block.scanned.as_deref() != Some(name) {
            check.report_name(name);
            self.block.scanned = Some(name.to_vec());
        }
    }

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
    fn tell_format(&mut self) {
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
    fn end_file<W: Write + ?Sized>(&mut self, check: &mut DiffCheck<'_, W>) -> Result<(), Error> {
        self.tell_format();
        if let Some(mut file) = self.file.take() {
            file.redactor.finish(&mut io::sink()).map_err(Error::Write)?;
            check.report(&mut file);
        }
        Ok(())
    }

    /// At the end of the input.
    fn end<W: Write + ?Sized>(&mut self, check: &mut DiffCheck<'_, W>) -> Result<(), Error> {
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

/// Whether `line` starts the mail or log text around a patch: `From
/// <hash> ` (`git format-patch`) or `commit <hash>` (`git log -p`).
fn is_mail_start(line: &[u8]) -> bool {
    let hash = |rest: &[u8], min: usize| {
        let n = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        n >= min && matches!(rest.get(n), None | Some(b' '))
    };
    line.strip_prefix(b"From ").is_some_and(|rest| hash(rest, 40) && rest.len() > 40)
        || line.strip_prefix(b"commit ").is_some_and(|rest| hash(rest, 40))
}

/// The name in `diff --git a/NAME b/NAME` when both sides are the same
/// (as for a file added), git's `a/` and `b/` dropped.
fn git_name(names: &[u8]) -> Option<Vec<u8>> {
    // The same name twice, quoted alike: the space in the middle splits.
    let mid = names.len() / 2;
    if names.len().is_multiple_of(2) || names[mid] != b' ' {
        return None;
    }
    let side = |half: &[u8], prefix: &[u8]| {
        let name = half.strip_prefix(b"\"").map_or(half.to_vec(), unquote);
        name.strip_prefix(prefix).map_or(name.clone(), <[u8]>::to_vec)
    };
    let new = side(&names[mid + 1..], b"b/");
    (side(&names[..mid], b"a/") == new).then_some(new)
}

/// The new side's name in a `+++ ` header, or `None` for `/dev/null` (a
/// file deleted). A quoted name (`"b/caf\303\251"`) is unquoted; a tab ends
/// an unquoted one (what follows is a timestamp); git's `b/` is dropped.
fn new_name(field: &[u8]) -> Option<Vec<u8>> {
    let name = match field.strip_prefix(b"\"") {
        Some(quoted) => unquote(quoted),
        None => field.split(|&b| b == b'\t').next().unwrap_or(field).to_vec(),
    };
    if name == b"/dev/null" {
        return None;
    }
    Some(name.strip_prefix(b"b/").map_or(name.clone(), <[u8]>::to_vec))
}

/// A C-quoted name's bytes, up to its closing quote: `\"`, `\\`, `\t`,
/// `\n` and octal escapes (`\303`), as git writes them.
fn unquote(quoted: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        match quoted[i] {
            b'"' => break,
            b'\\' if i + 1 < quoted.len() => {
                let next = quoted[i + 1];
                let octal = quoted
                    .get(i + 1..i + 4)
                    .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
                if let Some(digits) = octal {
                    let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                    name.push(u8::try_from(value).unwrap_or(u8::MAX));
                    i += 4;
                    continue;
                }
                name.push(match next {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'v' => 11,
                    other => other,
                });
                i += 2;
            }
            byte => {
                name.push(byte);
                i += 1;
            }
        }
    }
    name
}

/// `@@ -a[,b] +c[,d] @@ ...`: the hunk's old and new line counts (1 when
/// left out) and its first new line.
fn parse_hunk(line: &[u8]) -> Option<Hunk> {
    let text = std::str::from_utf8(line.get(3..)?).ok()?;
    let mut fields = text.split(' ');
    let old = fields.next()?.strip_prefix('-')?;
    let new = fields.next()?.strip_prefix('+')?;
    if fields.next() != Some("@@") {
        return None;
    }
    let range = |r: &str| -> Option<(u64, u64)> {
        match r.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_count) = range(old)?;
    let (new_start, new_count) = range(new)?;
    Some(Hunk {
        old_empty: old_start == 0 && old_count == 0,
        old_left: old_count,
        new_left: new_count,
        new_line: new_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_give_counts_and_the_first_new_line() {
        let h = parse_hunk(b"@@ -5,0 +6,2 @@ fn x()").unwrap();
        assert_eq!((h.old_left, h.new_left, h.new_line), (0, 2, 6));
        let h = parse_hunk(b"@@ -5 +6 @@").unwrap();
        assert_eq!((h.old_left, h.new_left, h.new_line), (1, 1, 6));
        assert!(parse_hunk(b"@@ -x +1 @@").is_none());
    }

    #[test]
    fn names_are_unquoted_and_lose_their_prefix() {
        assert_eq!(
            new_name(b"\"b/caf\\303\\251 \\\"x\\\".log\"").unwrap(),
            "café \"x\".log".as_bytes()
        );
        assert_eq!(new_name(b"b/a b.log\t").unwrap(), b"a b.log");
        assert_eq!(new_name(b"new.log\t2024-01-01 00:00:00").unwrap(), b"new.log");
        assert_eq!(new_name(b"/dev/null"), None);
    }

    #[test]
    fn git_names_are_read_when_both_sides_agree() {
        assert_eq!(git_name(b"a/x and /dev/null b/x and /dev/null").unwrap(), b"x and /dev/null");
        assert_eq!(
            git_name(b"\"a/caf\\303\\251\" \"b/caf\\303\\251\"").unwrap(),
            "café".as_bytes()
        );
        assert_eq!(git_name(b"a/x b/y"), None);
    }

    #[test]
    fn mail_text_starts_at_a_commit_hash() {
        let hash = "0123456789abcdef0123456789abcdef01234567";
        assert!(is_mail_start(format!("From {hash} Mon Sep 17 00:00:00 2001").as_bytes()));
        assert!(is_mail_start(format!("commit {hash} (HEAD -> main)").as_bytes()));
        assert!(!is_mail_start(b"From someone"));
        assert!(!is_mail_start(b"commit 0123"));
    }
}
