//! Docker's `json-file` log format: one JSON object a line,
//! `{"log":"…","stream":"stdout","time":"…"}`, where a `log` that does not
//! end in a newline is a partial record (the line goes on in the stream's
//! next record). Only the `log` value is ever rewritten: the bytes around
//! it stay as they are.

use std::{borrow::Cow, ops::Range};

use serde::Deserialize;
use serde_json::value::RawValue;

/// One json-file record: where its `log` value lies in the line, and what
/// it says.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record<'a> {
    /// The `log` value as written, quotes and escapes included: `line[value]`.
    pub(super) value: Range<usize>,
    /// The stream's name (`stdout`, `stderr`; empty when none is given).
    pub(super) stream: Cow<'a, str>,
    /// The `log` string, its escapes decoded.
    pub(super) log: String,
}

impl Record<'_> {
    /// Whether the line goes on in the stream's next record.
    pub(super) fn partial(&self) -> bool {
        !self.log.ends_with('\n')
    }
}

#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow)]
    log: &'a RawValue,
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
}

/// Parses `line` (with or without its newline) as a json-file record;
/// `None` when it is not one (not UTF-8, not a JSON object, no `log`
/// string, or one of its fields twice).
pub(super) fn parse(line: &[u8]) -> Option<Record<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let fields: Fields<'_> = serde_json::from_str(text).ok()?;
    let raw = fields.log.get();
    let log: String = serde_json::from_str(raw).ok()?;
    // The raw value borrows from the line: its place is its address's.
    let start = raw.as_ptr() as usize - text.as_ptr() as usize;
    let stream = fields.stream.unwrap_or_default();
    Some(Record { value: start..start + raw.len(), stream, log })
}

/// `line` with its `log` value (at `value`) replaced by `piece`, encoded
/// as a JSON string. A piece that is not UTF-8 (a custom rule's match cut
/// inside a character) has the broken bytes replaced by U+FFFD.
pub(super) fn with_log(line: &[u8], value: &Range<usize>, piece: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&line[..value.start]);
    let piece = String::from_utf8_lossy(piece);
    // Writing a string to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &piece);
    out.extend_from_slice(&line[value.end..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_value_is_found_and_decoded() {
        let line =
            br#"{"log":"caf\u00e9 \"q\" a\/b\n","stream":"stderr","time":"2024-01-02T03:04:05Z"}"#;
        let record = parse(line).unwrap();
        assert_eq!(record.log, "caf\u{e9} \"q\" a/b\n");
        assert_eq!(record.stream, "stderr");
        assert!(!record.partial());
        assert_eq!(&line[record.value.clone()], br#""caf\u00e9 \"q\" a\/b\n""#);
        let mut out = Vec::new();
        with_log(line, &record.value, b"x\"y", &mut out);
        assert_eq!(out, br#"{"log":"x\"y","stream":"stderr","time":"2024-01-02T03:04:05Z"}"#);
    }

    #[test]
    fn what_is_not_a_record_is_refused() {
        for line in [
            &b"plain\n"[..],
            br#"{"log":"a""#,
            br#"{"log":1,"stream":"stdout"}"#,
            br#"{"log":"a","log":"b"}"#,
            b"{\"log\":\"\xff\"}",
        ] {
            assert_eq!(parse(line), None, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
