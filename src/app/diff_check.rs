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
//! binary file: `Binary files ... differ`, `GIT binary patch`), a hunk cut
//! short or a line that is not a hunk's, and input that holds no diff at
//! all are errors: never clean.

use std::{
    collections::VecDeque,
    io::{self, BufRead, Write},
    mem,
    sync::Arc,
};

use crate::{
    Error, Finding, Redactor, RuleSet,
    app::check::{self, Names, Outcome},
    app::keys::{Found, Keys, write_keys},
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
    /// names as `rule_names`, see [`check::rule_names`]).
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
            self.write(|out| check::write_json_error(out, &name.json, error, policy));
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
            let index = *file.index.get_or_insert_with(|| {
                self.names.push(file.name.clone());
                self.names.len() - 1
            });
            let mut text = Vec::new();
            // Writing to a Vec cannot fail.
            let _ = check::write_finding(&mut text, &file.name, &finding, &self.names_of);
            self.write(|out| out.write_all(&text).and_then(|()| out.flush()));
            let found = Found { hash: finding.fingerprint, rule: finding.rule, mask: finding.mask };
            self.keys.add(&[found], index);
        }
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

#[derive(Default)]
struct Parser {
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
                }
                At::Header => {
                    let room = HEADER_CAP.saturating_sub(self.header.len());
                    self.header_cut |= piece.len() > room;
                    self.header.extend_from_slice(&piece[..piece.len().min(room)]);
                }
                At::Skip | At::Start => {}
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
        let Some(hunk) = &mut self.hunk else {
            return Ok(At::Header);
        };
        let (old, new) = match first {
            b'+' => (0, 1),
            b'-' => (1, 0),
            // Some tools strip the space of an empty context line.
            b' ' | b'\n' => (1, 1),
            b'\\' => (0, 0),
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
            }
            Some(At::Skip) => {
                if let Some(file) = &mut self.file {
                    file.adjacent = false;
                }
                self.after_hunk_line();
            }
            Some(At::Header) => {
                let line = mem::take(&mut self.header);
                let cut = mem::replace(&mut self.header_cut, false);
                self.header_line(&line, cut, check)?;
            }
            Some(At::Start) | None => {}
        }
        Ok(())
    }

    /// A line outside any hunk.
    fn header_line<W: Write + ?Sized>(
        &mut self,
        line: &[u8],
        cut: bool,
        check: &mut DiffCheck<'_, W>,
    ) -> Result<(), Error> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let matters = [&b"diff "[..], b"--- ", b"+++ ", b"@@", b"Binary files ", b"GIT binary"];
        if cut && matters.iter().any(|m| line.starts_with(m)) {
            return Err(Error::Diff(format!(
                "a diff header line longer than {} KiB (byte {})",
                HEADER_CAP / 1024,
                self.offset
            )));
        }
        if line.starts_with(b"diff ") || line.starts_with(b"--- ") {
            self.is_diff = true;
            self.end_file(check)?;
        } else if let Some(name) = line.strip_prefix(b"+++ ") {
            self.is_diff = true;
            self.end_file(check)?;
            if let Some(name) = new_name(name) {
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
                });
            }
        } else if line.starts_with(b"@@@") {
            return Err(Error::Diff(
                "a combined diff (@@@), which --diff does not read; check each side's diff".into(),
            ));
        } else if line.starts_with(b"@@") {
            self.hunk = Some(parse_hunk(line).ok_or_else(|| {
                Error::Diff(format!(
                    "not a unified diff: a malformed hunk header (byte {})",
                    self.offset
                ))
            })?);
            self.after_hunk_line();
        } else if line.starts_with(b"Binary files ") || line.starts_with(b"GIT binary patch") {
            // A binary file deleted adds nothing.
            if !line.ends_with(b" and /dev/null differ") {
                let shown = check.names_of.policy.printed_name(line).text;
                self.refusals.push(format!(
                    "a binary file, whose added bytes the diff does not show, was not checked \
                     ({shown}); have git show them with git diff --text"
                ));
            }
        }
        Ok(())
    }

    /// Ends the current file's stream and reports what it still held.
    fn end_file<W: Write + ?Sized>(&mut self, check: &mut DiffCheck<'_, W>) -> Result<(), Error> {
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
    let (_, old_count) = range(old)?;
    let (new_start, new_count) = range(new)?;
    Some(Hunk { old_left: old_count, new_left: new_count, new_line: new_start })
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
}
