//! The JSON printer: one finding, or one input that failed, as a JSON line
//! (`--check --json`). The same record is what the Python module's
//! findings hold and what `--follow --json` prints.
//!
//! The list of keys that follows the findings prints from
//! [`keys`](super::keys), for text and JSON alike.

use std::io::{self, Write};

use serde::Serialize;

use crate::app::Error;
use crate::{
    Finding, RuleSet,
    app::audit::keys::rule_name,
    app::policy::{MessagePolicy, PrintedName},
};

/// One finding as a JSON line: what `--check --json` prints for it, and
/// what the Python module's findings hold.
#[derive(Debug, Serialize)]
pub struct JsonFinding<'a> {
    /// Always `finding`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The input's name, through the message policy.
    pub path: &'a str,
    /// The name's exact bytes in base64, when they are not UTF-8 (`path`
    /// then shows U+FFFD for the bytes that are not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_base64: Option<&'a str>,
    /// 1-based line of the token's first byte.
    pub line: u64,
    /// 1-based byte column of the token's first byte.
    pub column: u64,
    /// Byte offset of the token in the (decompressed) stream.
    pub offset: u64,
    /// The token's length in bytes.
    pub length: u64,
    /// The rule's name, through the message policy, or `capped`.
    pub rule: &'a str,
    /// PostHog's mask of the token (`phx_...abcd`).
    pub mask: String,
    /// The token's short fingerprint.
    pub fingerprint: String,
    /// Where the token is when not in the content: a compressed file's
    /// header field or skippable frame (`gzip header FNAME`), within which
    /// `line`, `column` and `offset` count. Absent for the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<&'static str>,
}

impl<'a> JsonFinding<'a> {
    /// The record of finding `f` in the input named `path`, under `rules`,
    /// whose names as printed are `rule_names` (see
    /// [`rule_names`](super::printer::rule_names)).
    pub fn new(
        path: &'a str,
        f: &Finding,
        rules: &RuleSet,
        rule_names: &'a [String],
    ) -> JsonFinding<'a> {
        JsonFinding {
            kind: "finding",
            path,
            path_base64: None,
            line: f.line,
            column: f.column,
            offset: f.offset,
            length: f.len,
            rule: rule_name(rule_names, f.rule),
            mask: f.mask.to_str().into_owned(),
            fingerprint: rules.fingerprints.short(&f.fingerprint),
            place: f.place,
        }
    }
}

/// An input that could not be read to its end, as a JSON line.
#[derive(Serialize)]
struct JsonError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'a str,
    message: String,
}

/// Writes finding `f` of the input printed as `name` as a JSON line.
pub(crate) fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    name: &PrintedName,
    f: &Finding,
    rules: &RuleSet,
    rule_names: &[String],
) -> io::Result<()> {
    let mut line = JsonFinding::new(&name.json, f, rules, rule_names);
    line.path_base64 = name.json_base64.as_deref();
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// Writes the failure of the input printed as `name` as a JSON line, its
/// message through `policy`.
pub(crate) fn write_error<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    error: &Error,
    policy: &MessagePolicy,
) -> io::Result<()> {
    let line =
        JsonError { kind: "error", path: name, message: policy.redact_str(&format!("{error:#}")) };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}
