//! `--rsyslog`: a redaction step inside rsyslog, through its `mmexternal`
//! module, before anything is written or forwarded.
//!
//! rsyslog starts the program, writes one message per line on its
//! standard input, and waits for exactly one reply line per message on
//! its standard output, in order (rsyslog's `plugins/external/INTERFACE.md`):
//! `{}` when nothing changed, or `{"msg":"…"}` with the new text. With
//! `interface.input="fulljson"` each line is the whole message as JSON, so
//! a message may hold newlines; phx-redact redacts its `msg` and its
//! `rawmsg` (the message as received, which holds the same key).
//!
//! The promises:
//! - Each message is answered as soon as its newline arrives, the reply
//!   written and flushed before the next line is read: rsyslog waits for
//!   it, and never has to send more to get it.
//! - Messages are independent: each is scanned on its own, from its start
//!   to its end (`Redactor::finish`), so a token never spans two.
//! - A `fulljson` line that is not rsyslog's JSON is answered `{}` and
//!   counted, never echoed; one that holds a token is answered with the
//!   line redacted as the `msg` (see [`protocol::Answer`]).
//! - Nothing is written on standard error until standard input ends:
//!   `mmexternal` reads the program's standard error through the same pipe
//!   as its replies, where a line would be taken for a reply.
//! - A message is held in memory whole, up to [`MAX_MESSAGE`]; a longer one
//!   is read through without being kept, and its text replaced by a notice
//!   (never passed on unscanned).

mod protocol;

use std::{
    io::{BufRead, Read, Write},
    sync::Arc,
};

pub use protocol::Interface;
use protocol::{Answer, answer, push_json_string};

use crate::{RuleSet, app::Error};

/// The longest message held: 16 MiB, far over rsyslog's own limit
/// (`maxMessageSize`, 8 KiB by default).
pub const MAX_MESSAGE: usize = 16 << 20;

/// What a run answered, said on standard error once standard input ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages answered.
    pub messages: u64,
    /// Messages whose text changed.
    pub redacted: u64,
    /// `fulljson` lines that were not rsyslog's JSON, answered `{}`.
    pub unparsable: u64,
    /// Of those, the ones that held a token: answered with the line redacted.
    pub unparsable_redacted: u64,
    /// Messages over 16 MiB (`MAX_MESSAGE`), whose text was replaced by a notice.
    pub too_long: u64,
}

/// Answers each message of `input` on `output`, until `input` ends.
///
/// # Errors
///
/// [`Error::Read`] or [`Error::Write`] (rsyslog went away: a broken pipe).
pub fn serve<R: BufRead, W: Write>(
    rules: &Arc<RuleSet>,
    interface: Interface,
    mut input: R,
    mut output: W,
) -> Result<Outcome, Error> {
    let (mut line, mut reply) = (Vec::new(), Vec::new());
    let mut outcome = Outcome::default();
    while let Some(whole) = read_message(&mut input, &mut line).map_err(Error::Read)? {
        outcome.messages += 1;
        if !whole {
            outcome.too_long += 1;
            reply.clear();
            reply.extend_from_slice(b"{\"msg\":");
            let notice = format!("[phx-redact: message over {MAX_MESSAGE} bytes, not kept]");
            push_json_string(&mut reply, notice.as_bytes());
            reply.extend_from_slice(b"}\n");
        } else {
            match answer(rules, interface, &line, &mut reply) {
                Answer::Unchanged => {}
                Answer::Redacted => outcome.redacted += 1,
                Answer::Unparsable => outcome.unparsable += 1,
                Answer::UnparsableRedacted => {
                    outcome.unparsable += 1;
                    outcome.unparsable_redacted += 1;
                }
            }
        }
        output.write_all(&reply).and_then(|()| output.flush()).map_err(Error::Write)?;
    }
    Ok(outcome)
}

/// Reads the next message into `line`, its newline taken off (the last
/// one may lack it): `None` at the end of the input, `Some(false)` for a
/// message over [`MAX_MESSAGE`], read to its end but not kept.
fn read_message<R: BufRead>(input: &mut R, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let limit = u64::try_from(MAX_MESSAGE).unwrap_or(u64::MAX) + 1;
    if Read::take(&mut *input, limit).read_until(b'\n', line)? == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(Some(true));
    }
    if line.len() <= MAX_MESSAGE {
        // The input ended without a newline: the message is what came.
        return Ok(Some(true));
    }
    // Too long: read through to its newline without keeping it.
    line.clear();
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(Some(false));
        }
        if let Some(end) = memchr::memchr(b'\n', buf) {
            input.consume(end + 1);
            return Ok(Some(false));
        }
        let len = buf.len();
        input.consume(len);
    }
}
