//! The CRI log format, as containerd and CRI-O write it under
//! `/var/log/pods`: `TIMESTAMP STREAM TAG CONTENT\n`, where TAG is `P`
//! (a partial record: the line goes on in the stream's next record) or
//! `F` (the line's last record), maybe followed by `:`-separated tags of
//! its own.

/// One CRI record, its parts borrowed from the line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Record<'a> {
    /// Everything before the content: `TIMESTAMP STREAM TAG `.
    pub(super) prefix: &'a [u8],
    /// The stream's name (`stdout`, `stderr`).
    pub(super) stream: &'a [u8],
    /// Whether the line goes on in the stream's next record (`P`).
    pub(super) partial: bool,
    /// The content, without the line's newline.
    pub(super) content: &'a [u8],
}

/// Parses `line` (with or without its newline) as a CRI record; `None`
/// when it is not one.
pub(super) fn parse(line: &[u8]) -> Option<Record<'_>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    // The three fields before the content, each up to its space (found
    // with memchr: this runs once a record, on every line of the file).
    let field = |from: usize| memchr::memchr(b' ', &line[from..]).map(|i| from + i);
    let time_end = field(0)?;
    let stream_end = field(time_end + 1)?;
    let tag_end = field(stream_end + 1)?;
    let (time, stream) = (&line[..time_end], &line[time_end + 1..stream_end]);
    let tag = &line[stream_end + 1..tag_end];
    let content = &line[tag_end + 1..];
    let partial = match tag.split(|&b| b == b':').next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    let timestamp =
        time.len() >= 20 && time[0].is_ascii_digit() && memchr::memchr(b'T', time).is_some();
    if !timestamp || stream.is_empty() || !stream.iter().all(u8::is_ascii_lowercase) {
        return None;
    }
    let prefix = &line[..=tag_end];
    Some(Record { prefix, stream, partial, content })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_in_its_parts() {
        let line = b"2024-01-02T03:04:05.123456789Z stderr P a b  c\n";
        let record = parse(line).unwrap();
        assert_eq!(record.prefix, b"2024-01-02T03:04:05.123456789Z stderr P ");
        assert_eq!((record.stream, record.partial), (&b"stderr"[..], true));
        assert_eq!(record.content, b"a b  c");
        let full = parse(b"2024-01-02T03:04:05Z stdout F \n").unwrap();
        assert_eq!((full.partial, full.content), (false, &b""[..]));
    }

    #[test]
    fn what_is_not_a_record_is_refused() {
        for line in [
            &b"plain text line\n"[..],
            b"2024-01-02T03:04:05Z stdout X x\n",
            b"2024-01-02T03:04:05Z stdout F\n",
            b"\n",
            b"yesterday stdout F x\n",
        ] {
            assert_eq!(parse(line), None, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
