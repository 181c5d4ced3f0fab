//! One message and its reply, as rsyslog's `mmexternal` frames them: the
//! message is one line (its newline is framing, not content), the reply
//! one line of JSON naming the properties that changed, `{}` for none.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, de};

use crate::{RuleSet, app::Error, redact};

/// What rsyslog writes on each line (`interface.input` in its config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// `msg` (rsyslog's default): the line is the message's text.
    Msg,
    /// `fulljson`: the line is the whole message as a JSON object
    /// (rsyslog's `jsonmesg`), so a message may hold newlines.
    FullJson,
}

impl Interface {
    /// What `--rsyslog=INPUT` says each line is: the values of
    /// `interface.input` that phx-redact can answer.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for `rawmsg` and anything else.
    pub fn from_arg(input: &str) -> Result<Interface, Error> {
        match input {
            "msg" => Ok(Interface::Msg),
            "fulljson" => Ok(Interface::FullJson),
            // A reply can set rawmsg, but the key would stay in msg,
            // which the usual templates write.
            "rawmsg" => Err(Error::Usage(
                "--rsyslog=rawmsg: the reply would redact rawmsg but not msg, which holds the \
                 same key; use interface.input=\"fulljson\" and --rsyslog=fulljson, which \
                 redact both"
                    .into(),
            )),
            other => Err(Error::Usage(format!(
                "--rsyslog={other}: not an interface.input phx-redact answers; use msg (the \
                 default) or fulljson"
            ))),
        }
    }
}

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Nothing to redact: `{}`.
    Unchanged,
    /// Its text with every token replaced.
    Redacted,
    /// `fulljson`, but the line is not a JSON object with a `msg` string,
    /// and holds no token: `{}`.
    Unparsable,
    /// `fulljson`, but the line is not rsyslog's JSON, and holds a token:
    /// rsyslog was most likely given the text itself (`interface.input`
    /// left at `msg`), so the line, redacted, becomes the `msg`, rather
    /// than the key going on in clear.
    UnparsableRedacted,
}

/// The properties of rsyslog's JSON message that hold its text: `msg`,
/// and `rawmsg`, the message as received, header and all (a key in the
/// one is in the other). As bytes: rsyslog passes a message's bytes that
/// are not UTF-8 through its JSON as they are.
#[derive(Deserialize)]
struct Message {
    #[serde(default, deserialize_with = "bytes")]
    msg: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "bytes")]
    rawmsg: Option<Vec<u8>>,
}

/// A JSON string as its bytes (escapes decoded, bytes that are not UTF-8
/// kept as they are), which serde_json gives only to a byte visitor.
fn bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
    struct Bytes;
    impl de::Visitor<'_> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            Ok(v.as_bytes().to_vec())
        }
    }
    deserializer.deserialize_bytes(Bytes).map(Some)
}

/// The reply to one message (`line`, its newline taken off), newline
/// included, into `reply`; and what became of the message.
pub(crate) fn answer(
    rules: &Arc<RuleSet>,
    interface: Interface,
    line: &[u8],
    reply: &mut Vec<u8>,
) -> Answer {
    reply.clear();
    let changed = |text: &[u8]| Some(redact(rules, text)).filter(|r| r != text);
    let (answer, msg, rawmsg) = match interface {
        Interface::Msg => match changed(line) {
            Some(msg) => (Answer::Redacted, Some(msg), None),
            None => (Answer::Unchanged, None, None),
        },
        Interface::FullJson => match serde_json::from_slice::<Message>(line) {
            Ok(Message { msg: Some(msg), rawmsg }) => {
                let (msg, rawmsg) = (changed(&msg), rawmsg.as_deref().and_then(changed));
                let redacted = msg.is_some() || rawmsg.is_some();
                (if redacted { Answer::Redacted } else { Answer::Unchanged }, msg, rawmsg)
            }
            // Not rsyslog's JSON message (which always has a `msg`).
            _ => match changed(line) {
                Some(msg) => (Answer::UnparsableRedacted, Some(msg), None),
                None => (Answer::Unparsable, None, None),
            },
        },
    };
    reply.push(b'{');
    for (name, value) in [("msg", msg), ("rawmsg", rawmsg)] {
        let Some(value) = value else { continue };
        if reply.len() > 1 {
            reply.push(b',');
        }
        reply.extend_from_slice(format!("\"{name}\":").as_bytes());
        push_json_string(reply, &value);
    }
    reply.extend_from_slice(b"}\n");
    answer
}

/// `bytes` as a JSON string: its UTF-8 escaped by serde_json (quotes,
/// backslashes and control characters, so that no newline ends the reply
/// early), and bytes that are not UTF-8 written as they are, as rsyslog's
/// JSON library (json-c) writes them in `fulljson` and reads them back.
pub(crate) fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        // A `str` always serializes.
        let quoted = serde_json::to_string(chunk.valid()).unwrap_or_else(|_| "\"\"".into());
        out.extend_from_slice(&quoted.as_bytes()[1..quoted.len() - 1]);
        out.extend_from_slice(chunk.invalid());
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(interface: Interface, line: &[u8]) -> (Answer, Vec<u8>) {
        let rules = Arc::new(RuleSet::default_rules(false));
        let mut out = Vec::new();
        let answer = answer(&rules, interface, line, &mut out);
        (answer, out)
    }

    #[test]
    fn a_message_without_a_token_is_answered_with_an_empty_object() {
        assert_eq!(reply(Interface::Msg, b"hello"), (Answer::Unchanged, b"{}\n".to_vec()));
        assert_eq!(reply(Interface::Msg, b""), (Answer::Unchanged, b"{}\n".to_vec()));
    }

    #[test]
    fn json_strings_keep_bytes_that_are_not_utf8_and_escape_the_rest() {
        let mut out = Vec::new();
        push_json_string(&mut out, b"a\"\\\n\x01\xff\xc3\xa9");
        assert_eq!(out, b"\"a\\\"\\\\\\n\\u0001\xff\xc3\xa9\"");
    }
}
