//! The lines of a diff outside its hunks, as the [`Parser`] reads them:
//! `diff`, `---`, `+++` and `@@` headers, git's extended headers, the
//! lines that say a file's content is not shown, and the mail text around
//! a patch.

use std::sync::Arc;

use crate::app::Error;
use crate::app::audit::diff::hunk::parse_hunk;
use crate::app::audit::diff::names::{git_name, new_name, unquote};
use crate::app::audit::diff::parser::{Block, HEADER_CAP, Parser, Prev, Zone};
use crate::app::audit::diff::scan::{FileScan, Report};

impl Parser {
    /// A line outside any hunk (or a hunk's `\` line), `prev` the kind of
    /// the line before it.
    pub(super) fn header_line<R: Report>(
        &mut self,
        line: &[u8],
        cut: bool,
        prev: Prev,
        check: &mut R,
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
        self.diff_line(line, prev, check)
    }

    /// A line outside any hunk that is not mail text: a `diff`, `---`,
    /// `+++` or `@@` header, or another.
    fn diff_line<R: Report>(
        &mut self,
        line: &[u8],
        prev: Prev,
        check: &mut R,
    ) -> Result<(), Error> {
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
    fn new_file<R: Report>(&mut self, field: &[u8], check: &mut R) -> Result<(), Error> {
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
        self.file = Some(FileScan::new(check.printed_name(&name), Arc::clone(check.rules())));
        Ok(())
    }

    /// An `@@ ` line: a hunk starts.
    fn hunk_header<R: Report>(&mut self, line: &[u8], check: &mut R) -> Result<(), Error> {
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
    fn other_line<R: Report>(&mut self, line: &[u8], check: &mut R) -> Result<(), Error> {
        let shown = || check.printed_name(line).text;
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
    fn added_name<R: Report>(&mut self, name: &[u8], check: &mut R) {
        if self.block.scanned.as_deref() != Some(name) {
            check.report_name(name);
            self.block.scanned = Some(name.to_vec());
        }
    }
}

/// Whether `line` starts the mail or log text around a patch: `From
/// <hash> ` (`git format-patch`) or `commit <hash>` (`git log -p`).
pub(super) fn is_mail_start(line: &[u8]) -> bool {
    let hash = |rest: &[u8], min: usize| {
        let n = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        n >= min && matches!(rest.get(n), None | Some(b' '))
    };
    line.strip_prefix(b"From ").is_some_and(|rest| hash(rest, 40) && rest.len() > 40)
        || line.strip_prefix(b"commit ").is_some_and(|rest| hash(rest, 40))
}

#[cfg(test)]
mod tests {
    use crate::app::audit::diff::headers::is_mail_start;

    #[test]
    fn mail_text_starts_at_a_commit_hash() {
        let hash = "0123456789abcdef0123456789abcdef01234567";
        assert!(is_mail_start(format!("From {hash} Mon Sep 17 00:00:00 2001").as_bytes()));
        assert!(is_mail_start(format!("commit {hash} (HEAD -> main)").as_bytes()));
        assert!(!is_mail_start(b"From someone"));
        assert!(!is_mail_start(b"commit 0123"));
    }
}
