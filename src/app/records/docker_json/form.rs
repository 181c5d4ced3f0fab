//! Docker's own form of a json-file line, `{"log":"…","stream":"…",
//! "time":"…"}` with its fields in that order and nothing between them:
//! read without a JSON parser, for the lines of a log Docker wrote (any
//! other line is parsed as JSON by the module above).

use std::ops::Range;

use super::ascii::{decode_printable, printable_len};
use super::escapes::decode_to_quote;

/// How Docker starts a record's line: its `log` value first.
pub(super) const LOG_FIRST: &[u8] = br#"{"log":""#;

/// A line of exactly the form Docker writes, `{"log":"…","stream":
/// "stdout"|"stderr","time":"…"}` (and maybe its newline), whose `log`
/// has no escape but a full record's final `\n`: its stream, where its
/// `log`'s text ends (at that `\n` or its closing quote), and whether
/// the record is full. Such a line is a record [`parse`](super::parse) reads with that
/// stream, and with that text (and the newline) as its `log`: the text
/// holds no control byte, and is UTF-8. `None` for any other line, which
/// may still be a record.
pub(super) fn plain(line: &[u8]) -> Option<(&'static str, usize, bool)> {
    let body = line.strip_prefix(LOG_FIRST)?;
    let text_end = memchr::memchr2(b'"', b'\\', body)?;
    let (stream, full) = after_text(body, text_end)?;
    text_fair(&body[..text_end]).then_some((stream, LOG_FIRST.len() + text_end, full))
}

/// A line of [`plain`]'s form whose `log`'s text is printable ASCII, as
/// [`plain_record`] finds it.
pub(in crate::app::records) struct PlainRecord {
    /// The line's length, its newline included.
    pub(in crate::app::records) len: usize,
    pub(in crate::app::records) stream: &'static [u8],
    /// Where its `log`'s text is in the line.
    pub(in crate::app::records) text: Range<usize>,
    pub(in crate::app::records) full: bool,
    /// Whether the text holds a byte `b` with `b | 0x20` the `mark` asked
    /// for (always, when none is).
    pub(in crate::app::records) marked: bool,
}

/// A record's line of [`plain`]'s form at the start of `input`, which may
/// go on past its newline, whose `log`'s text is printable ASCII, as
/// [`plain_line`] reads that line; and whether its text holds a byte `b`
/// with `b | 0x20 == mark` (the first byte of a name a rule looks for on
/// a line, in either case). Found in one pass over the text, which the
/// line's end is found after: this runs over every byte of a json-file
/// log. `None` for any other input, which may still start with such a
/// line (its text not ASCII, say).
pub(in crate::app::records) fn plain_record(input: &[u8], mark: Option<u8>) -> Option<PlainRecord> {
    let body = input.strip_prefix(LOG_FIRST)?;
    let (text_end, marked) = printable_len(body, mark.unwrap_or(0));
    if !matches!(body.get(text_end), Some(b'"' | b'\\')) {
        return None;
    }
    // The text holds no newline: the line's is the first after it.
    let body_len = text_end + memchr::memchr(b'\n', &body[text_end..])? + 1;
    let (stream, full) = after_text(&body[..body_len], text_end)?;
    let text = LOG_FIRST.len()..LOG_FIRST.len() + text_end;
    let marked = marked || mark.is_none();
    Some(PlainRecord {
        len: LOG_FIRST.len() + body_len,
        stream: stream.as_bytes(),
        text,
        full,
        marked,
    })
}

/// The stream of a line of Docker's form and whether its record is full,
/// from `body`, the line past [`LOG_FIRST`], whose `log`'s text ends at
/// `text_end` (at a quote or backslash).
fn after_text(body: &[u8], text_end: usize) -> Option<(&'static str, bool)> {
    let rest = &body[text_end..];
    let (full, rest) = match rest.strip_prefix(br#"\n"#) {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    Some((after_log(rest)?, full))
}

/// The stream of a line of Docker's form, from `rest`, what follows its
/// `log`'s text (from the closing quote on): `None` if it is not of that
/// form.
fn after_log(rest: &[u8]) -> Option<&'static str> {
    let rest = rest.strip_prefix(br#"","stream":""#)?;
    let (stream, rest) = match rest.split_at_checked(6)? {
        (b"stdout", rest) => ("stdout", rest),
        (b"stderr", rest) => ("stderr", rest),
        _ => return None,
    };
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    let time = rest.strip_prefix(br#"","time":""#)?.strip_suffix(b"\"}")?;
    // Without a branch a byte: this runs once a record.
    let graphic = |b: u8| b.wrapping_sub(0x21) < 0x5e && b != b'"' && b != b'\\';
    let time_plain = time.iter().fold(true, |all, &b| all & graphic(b));
    time_plain.then_some(stream)
}

/// Whether `text`, a JSON string's bytes (escapes aside), holds no
/// control byte (JSON forbids them: a raw tab is no record) and is UTF-8;
/// most logs are printable ASCII, checked in one pass of wide steps.
fn text_fair(text: &[u8]) -> bool {
    let fair = |b: u8| b >= 0x20;
    let printable = |c: &[u8]| c.iter().fold(true, |all, &b| all & fair(b) & (b < 0x80));
    text.chunks(64).all(printable)
        || (text.iter().all(|&b| fair(b)) && std::str::from_utf8(text).is_ok())
}

/// A whole line (its newline included) of [`plain`]'s form but for its
/// `log`'s escapes, each of one letter or `\u00XX` of an ASCII byte: its
/// stream, and whether the record is full, its `log` decoded onto `log`
/// (as [`parse`](super::parse) would decode it) with the full record's newline left
/// out; and whether its escapes are only `\"`, `\\`, `\/` and the last
/// `\n`. `None` for any other line (a `\n` but at the end: the content
/// would be more than one line), which may still be a record.
pub(in crate::app::records) fn escaped_line(
    line: &[u8],
    log: &mut Vec<u8>,
) -> Option<(&'static [u8], bool, bool)> {
    let body = line.strip_prefix(LOG_FIRST)?.strip_suffix(b"\n")?;
    let (end, full, simple) = decode_to_quote(body, log)?;
    let stream = after_log(&body[end..]).filter(|_| text_fair(&body[..end]))?;
    Some((stream.as_bytes(), full, simple))
}

/// A record's line of [`escaped_line`]'s form at the start of `input`,
/// which may go on past its newline, whose `log`'s text (escapes aside) is
/// printable ASCII: the line's length (its newline included), its stream,
/// and the rest as [`escaped_line`] reads that line, its `log` decoded
/// onto `log`. Found in one pass over the text, which the line's end is
/// found after. `None` for any other input, which may still start with
/// such a line (its text not ASCII, say).
pub(in crate::app::records) fn escaped_record(
    input: &[u8],
    log: &mut Vec<u8>,
) -> Option<(usize, &'static [u8], bool, bool)> {
    let body = input.strip_prefix(LOG_FIRST)?;
    let (end, full, simple) = decode_printable(body, log)?;
    let body_len = end + memchr::memchr(b'\n', &body[end..])? + 1;
    let stream = after_log(&body[end..body_len])?;
    Some((LOG_FIRST.len() + body_len, stream.as_bytes(), full, simple))
}

/// A whole line (its newline included) that is a record of [`plain`]'s
/// form: its stream, its `log`'s text (the full record's newline left
/// out) and whether the record is full.
pub(in crate::app::records) fn plain_line(
    line: &[u8],
) -> Option<(&'static [u8], Range<usize>, bool)> {
    let (stream, text_end, full) = plain(line).filter(|_| line.ends_with(b"\n"))?;
    Some((stream.as_bytes(), LOG_FIRST.len()..text_end, full))
}
