//! JSON string escapes in a json-file `log`, decoded the one way both
//! readers of Docker's layout (the whole-line one, and the wide-step one of
//! printable text) need: each of one letter or `\u00XX` of an ASCII byte,
//! and a newline only at the end.

/// Decodes onto `log` (emptied first) the JSON string's text `body`
/// starts with, up to its closing quote, each escape of one letter or
/// `\u00XX` of an ASCII byte: where the quote is, whether the text ends
/// in a newline (left out of `log`: the record is full), and whether its
/// escapes are only `\"`, `\\`, `\/` and that last `\n`. `None` for any
/// other escape, no closing quote, or a newline before the end (the
/// content would be more than one line).
pub(super) fn decode_to_quote(body: &[u8], log: &mut Vec<u8>) -> Option<(usize, bool, bool)> {
    log.clear();
    let (mut at, mut tally) = (0, Tally::default());
    let end = loop {
        let i = at + memchr::memchr2(b'"', b'\\', &body[at..])?;
        log.extend_from_slice(&body[at..i]);
        if body[i] == b'"' {
            break i;
        }
        at = i + tally.decode(body, i, log)?;
    };
    tally.finish(log, end)
}

/// What a decoding has seen of a text's escapes.
pub(super) struct Tally {
    /// Whether they are only `\"`, `\\`, `\/` and `\n`.
    simple: bool,
    /// How many are `\n` (or `\u000a`).
    newlines: usize,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally { simple: true, newlines: 0 }
    }
}

impl Tally {
    /// Decodes the escape at `body[i]` (a backslash) onto `log`, as
    /// [`escape`] reads it, and returns its length.
    #[inline(always)]
    pub(super) fn decode(&mut self, body: &[u8], i: usize, log: &mut Vec<u8>) -> Option<usize> {
        let (byte, len) = escape(body, i)?;
        self.simple &= matches!(byte, b'"' | b'\\' | b'/' | b'\n') && len == 2;
        self.newlines += usize::from(byte == b'\n');
        log.push(byte);
        Some(len)
    }

    /// The end of a decoding onto `log` of a text that ends at `end`: as
    /// [`decode_to_quote`] returns it, the full record's newline taken off
    /// `log`.
    pub(super) fn finish(self, log: &mut Vec<u8>, end: usize) -> Option<(usize, bool, bool)> {
        // The newlines escapes made (a raw one is a control byte, which
        // the callers refuse): one line's content holds one only at its
        // end.
        let full = log.last() == Some(&b'\n');
        if self.newlines != usize::from(full) {
            return None;
        }
        log.truncate(log.len() - usize::from(full));
        Some((end, full, self.simple))
    }
}

/// The byte of the escape at `body[i]` (a backslash), of one letter or
/// `\u00XX` of an ASCII byte, and its length; `None` for any other.
fn escape(body: &[u8], i: usize) -> Option<(u8, usize)> {
    Some(match *body.get(i + 1)? {
        b'u' => (ascii_escape(body.get(i + 2..i + 6)?)?, 6),
        b'n' => (b'\n', 2),
        b't' => (b'\t', 2),
        b'r' => (b'\r', 2),
        b'b' => (0x08, 2),
        b'f' => (0x0c, 2),
        other @ (b'"' | b'\\' | b'/') => (other, 2),
        _ => return None,
    })
}

/// The byte of a `\u00XX` escape's four hex digits, if ASCII.
fn ascii_escape(hex: &[u8]) -> Option<u8> {
    let digit = |b: &u8| char::from(*b).to_digit(16);
    let value = hex.iter().try_fold(0u32, |v, b| Some(v * 16 + digit(b)?))?;
    u8::try_from(value).ok().filter(u8::is_ascii)
}
