//! Docker's `json-file` log format: one JSON object a line,
//! `{"log":"…","stream":"stdout","time":"…"}`, where a `log` that does not
//! end in a newline is a partial record (the line goes on in the stream's
//! next record). Only the `log` value is ever rewritten: the bytes around
//! it stay as they are.

use std::{borrow::Cow, fmt, ops::Range};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

mod ascii;
mod escapes;
mod form;

use form::{LOG_FIRST, plain};
pub(super) use form::{escaped_line, escaped_record, plain_line, plain_record};

/// One json-file record: where its `log` value lies in the line, and its
/// stream; its `log`, decoded, is where [`parse`] put it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record<'a> {
    /// The `log` value as written, quotes and escapes included: `line[value]`.
    pub(super) value: Range<usize>,
    /// The stream's name (`stdout`, `stderr`; empty when none is given).
    pub(super) stream: Cow<'a, str>,
    /// Whether the line goes on in the stream's next record (its `log`
    /// does not end in a newline).
    pub(super) partial: bool,
}

/// Parses `line` (with or without its newline) as a json-file record, its
/// `log` decoded onto the end of `log` (parsed once, into a buffer kept
/// from one record to the next); `None` when it is not one (not UTF-8, not
/// a JSON object, no `log` string, or one of its fields twice), `log` then
/// as it was.
pub(super) fn parse<'a>(line: &'a [u8], log: &mut Vec<u8>) -> Option<Record<'a>> {
    if let Some((stream, text_end, full)) = plain(line) {
        // Docker's form with no escape: the text is the log as it is.
        log.extend_from_slice(&line[LOG_FIRST.len()..text_end]);
        log.extend_from_slice(if full { b"\n" } else { b"" });
        let value = LOG_FIRST.len() - 1..text_end + if full { 3 } else { 1 };
        return Some(Record { value, stream: Cow::Borrowed(stream), partial: !full });
    }
    let from = log.len();
    let record = parse_fields(line, log);
    let Some((stream, value)) = record else {
        log.truncate(from);
        return None;
    };
    let partial = !log[from..].ends_with(b"\n");
    Some(Record { value, stream, partial })
}

/// The stream and the `log` value's place, the value decoded onto `log`.
fn parse_fields<'a>(line: &'a [u8], log: &mut Vec<u8>) -> Option<(Cow<'a, str>, Range<usize>)> {
    let text = std::str::from_utf8(line).ok()?;
    // Docker's layout: the value is a string at a known place, skipped by
    // the parse (which checks it) and decoded here (serde_json would
    // decode it into a buffer of its own, grown afresh for each record).
    let docker = line.starts_with(LOG_FIRST);
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = Fields { log: (!docker).then_some(&mut *log) };
    let (seen_log, stream) = fields.deserialize(&mut de).ok()?;
    de.end().ok()?;
    if !seen_log {
        return None;
    }
    let value = match docker {
        true => LOG_FIRST.len() - 1..string_end(line, LOG_FIRST.len()),
        // Another layout: the value found by a second parse.
        false => raw_log(text)?,
    };
    if docker {
        decode(&text[value.clone()], log)?;
    }
    Some((stream.unwrap_or_default(), value))
}

/// Decodes `raw`, a JSON string the parse has checked (quotes included),
/// onto `out`: its one-letter escapes here, and a string with a `\u`
/// escape by serde_json.
fn decode(raw: &str, out: &mut Vec<u8>) -> Option<()> {
    let body = &raw.as_bytes()[1..raw.len() - 1];
    let (from, mut at) = (out.len(), 0);
    while let Some(i) = memchr::memchr(b'\\', &body[at..]) {
        out.extend_from_slice(&body[at..at + i]);
        out.push(match body[at + i + 1] {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'u' => {
                out.truncate(from);
                let text = serde_json::from_str::<String>(raw).ok()?;
                out.extend_from_slice(text.as_bytes());
                return Some(());
            }
            // `\"`, `\\`, `\/`: the character itself.
            other => other,
        });
        at += i + 2;
    }
    out.extend_from_slice(&body[at..]);
    Some(())
}

/// Where the JSON string whose contents start at `at` ends (past its
/// closing quote), in a line already parsed as JSON.
fn string_end(line: &[u8], mut at: usize) -> usize {
    while let Some(i) = memchr::memchr2(b'"', b'\\', &line[at..]) {
        match line[at + i] {
            b'"' => return at + i + 1,
            _ => at += i + 2,
        }
    }
    line.len()
}

/// The `log` value's place in `text`, a record of any layout.
fn raw_log(text: &str) -> Option<Range<usize>> {
    #[derive(Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        log: &'a RawValue,
    }
    let raw = serde_json::from_str::<Raw<'_>>(text).ok()?.log.get();
    // The raw value borrows from the line: its place is its address's.
    let start = raw.as_ptr() as usize - text.as_ptr() as usize;
    Some(start..start + raw.len())
}

/// The fields read of a record: `log` decoded onto the buffer, `stream`
/// (borrowed when it has no escapes), the others skipped; a field twice
/// is an error.
struct Fields<'b> {
    /// Where the `log` value is decoded; `None`: it is skipped (the
    /// caller decodes it).
    log: Option<&'b mut Vec<u8>>,
}

impl<'de> DeserializeSeed<'de> for Fields<'_> {
    /// Whether `log` was there, and the stream.
    type Value = (bool, Option<Cow<'de, str>>);

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = (bool, Option<Cow<'de, str>>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a json-file record")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut seen_log, mut seen_stream, mut stream) = (false, false, None);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Log if seen_log => return Err(de::Error::duplicate_field("log")),
                Key::Stream if seen_stream => return Err(de::Error::duplicate_field("stream")),
                Key::Log => {
                    match &mut self.log {
                        Some(log) => map.next_value_seed(Text(log))?,
                        None => drop(map.next_value::<IgnoredAny>()?),
                    }
                    seen_log = true;
                }
                Key::Stream => {
                    stream = map.next_value::<Option<Name<'de>>>()?.map(|n| n.0);
                    seen_stream = true;
                }
                Key::Other => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok((seen_log, stream))
    }
}

/// A record's field name.
enum Key {
    Log,
    Stream,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Key, D::Error> {
        de.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        Ok(match name {
            "log" => Key::Log,
            "stream" => Key::Stream,
            _ => Key::Other,
        })
    }
}

/// A string, decoded onto the end of a buffer.
struct Text<'b>(&'b mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for Text<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// A stream's name, borrowed from the line when it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Name<'de>, D::Error> {
        de.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Borrowed(name)))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Owned(name.to_owned())))
    }
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
        let mut log = b"before".to_vec();
        let record = parse(line, &mut log).unwrap();
        assert_eq!(log, "beforecaf\u{e9} \"q\" a/b\n".as_bytes());
        assert_eq!(record.stream, "stderr");
        assert!(!record.partial);
        assert_eq!(&line[record.value.clone()], br#""caf\u00e9 \"q\" a\/b\n""#);
        let mut out = Vec::new();
        with_log(line, &record.value, b"x\"y", &mut out);
        assert_eq!(out, br#"{"log":"x\"y","stream":"stderr","time":"2024-01-02T03:04:05Z"}"#);
    }

    /// What serde_json's derive made of a record, its `log` found by
    /// address: what [`parse`] must agree with, whatever the layout.
    fn reference(line: &[u8]) -> Option<(Range<usize>, String, String)> {
        #[derive(Deserialize)]
        struct Fields<'a> {
            #[serde(borrow)]
            log: &'a RawValue,
            #[serde(borrow, default)]
            stream: Option<Cow<'a, str>>,
        }
        let text = std::str::from_utf8(line).ok()?;
        let fields: Fields<'_> = serde_json::from_str(text).ok()?;
        let raw = fields.log.get();
        let log: String = serde_json::from_str(raw).ok()?;
        let start = raw.as_ptr() as usize - text.as_ptr() as usize;
        let stream = fields.stream.unwrap_or_default().into_owned();
        Some((start..start + raw.len(), stream, log))
    }

    /// Records of many layouts, and lines that are not records.
    fn layouts() -> Vec<&'static [u8]> {
        vec![
            &br#"{"log":"a\"b\\","stream":"stdout","time":"t"}"#[..],
            br#"{"log":"","stream":"stdout"}"#,
            br#"{"log":"x\n"}"#,
            br#"{"stream":"stderr","log":"late \u00e9\n","time":"t"}"#,
            br#" { "log" : "spaced" , "stream" : "stdout" } "#,
            br#"{"l\u006fg":"escaped key","stream":"std\u006fut"}"#,
            br#"{"log":"a","stream":null}"#,
            br#"{"log":"a","stream":"stdout","stream":"stderr"}"#,
            br#"{"log":"a","time":"t","time":"u"}"#,
            br#"{"log":"a"} x"#,
            b"{\"log\":\"a\",\"time\":\"\xff\"}",
            b"{\"log\":\"raw\ttab\"}",
            br#"{"log":"\ud800"}"#,
            br#"{"log":"\ud83d\ude00 \u003cb\u003e","stream":"stdout"}"#,
            br#"{"log":"\b\f\r\t\/\\\"","stream":"stdout"}"#,
            br#"{"log":"a\\u0041 \\","stream":"stdout"}"#,
            br#"{"log":"bad \x escape"}"#,
            br#"{"log":"\u12"}"#,
            br#"{"log":null}"#,
            br#"{"log":["a"]}"#,
            br#"{"log":"a","stream":1}"#,
            b"{\"log\":\"a\\n\",\"stream\":\"stdout\"}\n",
            // Docker's form, read without the JSON parser when it can be.
            "{\"log\":\"partial \u{e9}\",\"stream\":\"stdout\",\"time\":\"2024Z\"}".as_bytes(),
            b"{\"log\":\"full\\n\",\"stream\":\"stderr\",\"time\":\"2024Z\"}\n",
            b"{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2024Z\"}",
            b"{\"log\":\"tab\there\\n\",\"stream\":\"stdout\",\"time\":\"2024Z\"}\n",
            b"{\"log\":\"a\",\"stream\":\"stdout\",\"time\":\"2024Z\"}x",
            b"{\"log\":\"a\",\"stream\":\"stdout\",\"time\":\"t\\u0041\"}",
            b"{\"log\":\"a\\t\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            b"{\"log\":\"\xff\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            // Printable text, read in one pass; one longer than its wide steps.
            b"{\"log\":\"full, no mark\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-06T07:08Z\"}\n",
            b"{\"log\":\"a partial PostHog line, longer than 64 bytes: 0123456789abcdef\",\"stream\":\"stderr\",\"time\":\"t\"}\n",
            b"{\"log\":\"a\",\"stream\":\"stdout\",\"time\":\"2024 Z\"}\n",
            // Docker's form with escapes, for the fast path's decoding.
            b"{\"log\":\"a \\\"quoted\\\" word, a \\\\ and more than 64 bytes: 0123456789abcdef\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            b"{\"log\":\"two\\nlines\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            b"{\"log\":\"ends in \\\"u\\\" \\u000a\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            b"{\"log\":\"\\u000A\",\"stream\":\"stderr\",\"time\":\"t\"}\n",
            b"{\"log\":\"q \\\"a\\\" \\\\ \\/ \\t \\u0041\\u007e\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            b"{\"log\":\"\\u+041 \\u004G \\u00e9\",\"stream\":\"stderr\",\"time\":\"t\"}\n",
            b"{\"log\":\"a\\u000ab \\x\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
            b"{\"log\":\"cut \\\"\",\"stream\":\"stderr\",\"time\":\"t\"}\n",
            b"{\"log\":\"\\u0000 \\b\\f\\r\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n",
        ]
    }

    #[test]
    fn every_layout_reads_as_serde_derive_reads_it() {
        let (mut decoded, mut one_pass) = (0, [0; 2]);
        for line in layouts() {
            decoded += usize::from(escaped_agrees(line));
            let [plain, escaped] = one_pass_agrees(line);
            one_pass[0] += usize::from(plain);
            one_pass[1] += usize::from(escaped);
            let mut log = b"kept".to_vec();
            let got = parse(line, &mut log).map(|r| (r.value, r.stream.into_owned(), r.partial));
            let want = reference(line);
            let text = String::from_utf8_lossy(line);
            assert_eq!(got.is_some(), want.is_some(), "{text}");
            let Some((value, stream, partial)) = got else {
                assert_eq!(log, b"kept", "{text}");
                continue;
            };
            let (want_value, want_stream, want_log) = want.unwrap();
            assert_eq!((value, stream), (want_value, want_stream), "{text}");
            assert_eq!(log[4..], *want_log.as_bytes(), "{text}");
            assert_eq!(partial, !want_log.ends_with('\n'), "{text}");
        }
        // Those of Docker's form that the fast path decodes, every one
        // ASCII and so read in one pass too; three need no decoding.
        assert_eq!(decoded, 10);
        assert_eq!(one_pass, [3, 10]);
    }

    /// What the fast path decodes of a line with escapes is what the
    /// JSON parser reads of it.
    fn escaped_agrees(line: &[u8]) -> bool {
        let mut log = Vec::new();
        let Some((stream, full, _)) = escaped_line(line, &mut log) else { return false };
        let text = String::from_utf8_lossy(line);
        let (_, want_stream, want_log) = reference(line).expect(&text);
        log.extend_from_slice(if full { b"\n" } else { b"" });
        assert_eq!((stream, &log[..]), (want_stream.as_bytes(), want_log.as_bytes()), "{text}");
        true
    }

    /// The one-pass readers of a line that another follows read it as
    /// the readers of a whole line do, or leave it to them.
    fn one_pass_agrees(line: &[u8]) -> [bool; 2] {
        let text = String::from_utf8_lossy(line);
        let mut input = line.to_vec();
        input.extend_from_slice(b"{\"log\":\"next\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n");
        if let Some(r) = plain_record(&input, Some(b'p')) {
            let (stream, range, full) = plain_line(line).expect(&text);
            assert_eq!(
                (r.len, r.stream, &r.text, r.full),
                (line.len(), stream, &range, full),
                "{text}"
            );
            let marked = line[range].iter().any(|b| b | 0x20 == b'p');
            assert_eq!(r.marked, marked, "{text}");
        }
        let mut log = Vec::new();
        let escaped = escaped_record(&input, &mut log);
        if let Some((len, stream, full, simple)) = escaped {
            let mut want = Vec::new();
            let read = escaped_line(line, &mut want);
            let got = (len, Some((stream, full, simple)), log);
            assert_eq!(got, (line.len(), read, want), "{text}");
        }
        [plain_record(&input, None).is_some(), escaped.is_some()]
    }

    #[test]
    fn what_is_not_a_record_is_refused() {
        for line in [
            &b"plain\n"[..],
            br#"{"log":"a""#,
            br#"{"log":1,"stream":"stdout"}"#,
            br#"{"log":"a","log":"b"}"#,
            b"{\"log\":\"\xff\"}",
            // Not an object (serde's derive took an array for its fields).
            br#"["log","a"]"#,
        ] {
            assert_eq!(parse(line, &mut Vec::new()), None, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
