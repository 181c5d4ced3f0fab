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
//! [`HEADER_CAP`](parser::HEADER_CAP) bytes. A file whose added bytes the diff does not show (a
//! binary file: `Binary files ... differ`, `GIT binary patch`; a file
//! whose content, from its first byte, is compressed or UTF-16: see
//! [`Format::detect`](crate::app::formats::Format::detect); a new file `diff -r` names in an `Only in` line), a
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

mod diff_check;
mod headers;
mod hunk;
mod names;
mod parser;
mod scan;

pub use diff_check::DiffCheck;
