//! One open file being read (Vector's file watcher): a batch at a time,
//! redacted, written out a whole line at a time, with the offset a restart
//! resumes from kept exact, and each read checked against truncation
//! before it is used.

use std::{
    ffi::OsStr,
    fs::File,
    io::{Seek, SeekFrom, Write},
    mem,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use super::identity::{HEAD_LEN, Head, Identity};
use super::rotation::find_copy;
use super::truncation::{Seen, truncated};
use crate::RuleSet;
use crate::app::Error;
use crate::app::records::{InputFormat, Scanner};
use crate::io::{READ_SIZE, read_retrying};

/// Bytes read from one file, at most, per round of the loop: what bounds
/// the time to honour a stop, the wait of the other files, and what a
/// restart after a kill may repeat.
pub const BATCH: usize = 4 * READ_SIZE;

/// At shutdown without a state, how long to wait, at most, for the end of
/// a line that a writer is in the middle of, so that only whole lines go
/// out.
pub(super) const LINE_END_WAIT: Duration = Duration::from_millis(300);

/// Redacted bytes of one unfinished line kept back, at most; beyond this a
/// line goes out in pieces rather than growing memory.
pub const LINE_CAP: usize = 64 * 1024;

/// Bytes the redactor may hold while a chunk is still fed to it a line at
/// a time (see [`Reader::consume`]): more than any default token, little
/// enough that rescanning them for each line costs little.
const LINE_HOLD: u64 = 4096;

/// How a batch of reads ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Batch {
    /// At the budget: more is waiting.
    Budget,
    /// At the end of the file.
    End,
    /// The file no longer starts as it did: truncated (and maybe written
    /// again past where it was read to). Nothing of the last read was used.
    Truncated,
}

/// How a file is read: bytes or a runtime's records, and whether findings
/// are recorded (`--findings`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Scan {
    pub(super) format: InputFormat,
    pub(super) findings: bool,
}

/// One open file being read.
pub(super) struct Reader {
    file: File,
    pub(super) identity: Identity,
    /// Its first bytes and the last bytes read: what tells that it was
    /// truncated.
    seen: Seen,
    /// Bytes of the file read so far.
    pub(super) offset: u64,
    /// Offset just past the last newline read.
    line_end: u64,
    /// Where a restart resumes: just past the last byte whose redaction
    /// has been written. Never past bytes the redactor still holds (a
    /// custom rule may hold lines), never short of a piece written.
    pub(super) committed: u64,
    pub(super) redactor: Scanner,
    /// Redacted bytes not yet written: the unfinished line, and lines the
    /// redactor has not let go of as a whole yet.
    line: Vec<u8>,
    /// When something was last read from it.
    pub(super) last_data: Instant,
}

impl Reader {
    pub(super) fn new(
        mut file: File,
        identity: Identity,
        offset: u64,
        rules: &Arc<RuleSet>,
        record: Scan,
    ) -> Option<Reader> {
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut redactor = Scanner::new(record.format, rules, record.findings);
        if let Scanner::Plain(redactor) = &mut redactor {
            // Best effort: a file cut short under us is noticed by the reads.
            let _ = line_before(&file, offset, redactor);
        }
        Some(Reader {
            file,
            identity,
            seen: Seen::default(),
            offset,
            line_end: offset,
            committed: offset,
            redactor,
            line: Vec::new(),
            last_data: Instant::now(),
        })
    }

    /// Reads the file again from its start: it was truncated, and maybe
    /// written again. What was held of its old content (an unfinished
    /// line, lines a custom rule held) is dropped, never written cut short
    /// (a key cut there would go out partly in the clear): the old content
    /// from [`Reader::committed`] on is read from a copy of the file beside
    /// it (copytruncate's), if there is one. Returns that copy's reader,
    /// and what to say.
    pub(super) fn restart(
        &mut self,
        folder: &Path,
        stem: &OsStr,
        open: &[Identity],
        refuse_links: bool,
    ) -> (Option<Reader>, String) {
        let (from, read_to) = (self.committed, self.offset);
        let rules = Arc::clone(self.redactor.rules());
        let record =
            Scan { format: self.redactor.format(), findings: self.redactor.records_findings() };
        let copy = mem::take(&mut self.seen)
            .head
            .filter(|head| head.len > 0)
            .and_then(|head| find_copy(folder, stem, &head, from, open, refuse_links))
            .and_then(|(file, identity, name)| {
                Some((Reader::new(file, identity, from, &rules, record)?, name))
            });
        if self.file.seek(SeekFrom::Start(0)).is_ok() {
            self.offset = 0;
        }
        self.line_end = self.offset;
        self.committed = self.offset;
        self.redactor = Scanner::new(record.format, &rules, record.findings);
        self.line.clear();
        self.last_data = Instant::now();
        let message = truncated(from, read_to, copy.as_ref().map(|(_, name)| name.as_path()));
        (copy.map(|(reader, _)| reader), message)
    }

    /// Whether the file still starts as it did, and still holds the last
    /// bytes read just before the offset (see [`Seen::unchanged`]).
    fn unchanged(&mut self) -> bool {
        self.seen.unchanged(&self.file, self.offset)
    }

    /// Reads up to [`BATCH`] bytes, writing whole lines.
    pub(super) fn read_batch<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
    ) -> Result<Batch, Error> {
        self.read_upto(BATCH, buf, out)
    }

    /// Reads on, a little at a time, to the end of the line the last batch
    /// stopped in, or [`LINE_CAP`] bytes on. At the end of the file with
    /// the line unfinished, and the file written to within
    /// [`LINE_END_WAIT`], the writer is most likely in the middle of that
    /// line: its end is waited for, until `deadline`.
    pub(super) fn read_to_line_end<W: Write>(
        &mut self,
        buf: &mut [u8],
        out: &mut W,
        deadline: Instant,
    ) -> Result<(), Error> {
        let start = self.offset;
        while self.line_end != self.offset && self.offset - start < LINE_CAP as u64 {
            let want = buf.len().min(4096);
            let n = match read_retrying(&mut self.file, &mut buf[..want]) {
                Ok(0) => {
                    if Instant::now() >= deadline || self.last_data.elapsed() >= LINE_END_WAIT {
                        break;
                    }
                    // No event says a write is done; a short wait is the way.
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                Ok(n) => n,
                Err(_) => break,
            };
            if !self.unchanged() {
                // What was read may be the new content's: not written.
                break;
            }
            // Up to the newline only: what follows is the next line, which
            // would go out cut short.
            let take = memchr::memchr(b'\n', &buf[..n]).map_or(n, |i| i + 1);
            self.consume(&buf[..take], out)?;
        }
        Ok(())
    }

    /// Reads up to `budget` bytes, writing whole lines.
    ///
    /// The file's first bytes are checked after each read, and at its end:
    /// a read that a blocked write held up may come after the file was
    /// truncated and written again past this offset, and then it is in
    /// the middle of a line of the new content (a key's body without its
    /// prefix). Bytes read before a check that fails are not used.
    fn read_upto<W: Write>(
        &mut self,
        mut budget: usize,
        buf: &mut [u8],
        out: &mut W,
    ) -> Result<Batch, Error> {
        while budget > 0 {
            let want = buf.len().min(budget);
            let n = match read_retrying(&mut self.file, &mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                // A read error on a followed file (it went away under us) is
                // like its end: the path is looked at again next time.
                Err(_) => return Ok(Batch::End),
            };
            if !self.unchanged() {
                return Ok(Batch::Truncated);
            }
            budget -= n;
            self.consume(&buf[..n], out)?;
        }
        if budget > 0 {
            // At the end: cut to nothing, or to less than was read?
            return Ok(if self.unchanged() { Batch::End } else { Batch::Truncated });
        }
        Ok(Batch::Budget)
    }

    /// Redacts `chunk`, the next bytes of the file, writing whole lines.
    ///
    /// What goes out always ends where the redactor has written all it was
    /// fed, so that [`Reader::committed`] is exact: a restart from there
    /// neither repeats what went out nor skips what the redactor held.
    fn consume<W: Write>(&mut self, chunk: &[u8], out: &mut W) -> Result<(), Error> {
        self.last_data = Instant::now();
        self.seen.read(chunk);
        // Fed a line at a time: after a newline that leaves nothing
        // unwritten in the redactor (always, with rules that match no
        // newline), the redacted bytes end a whole line, and a restart
        // can resume just past that newline. Once the redactor holds more
        // than [`LINE_HOLD`] (a custom rule spanning lines), the lines left
        // go in one call: each call rescans what is held, and a line at a
        // time would make a long hold cost its square.
        let mut whole: Option<(u64, usize)> = None;
        let mut rest = chunk;
        while !rest.is_empty() {
            let take = match memchr::memchr(b'\n', rest) {
                None => rest.len(),
                Some(i) if self.redactor.unwritten() <= LINE_HOLD => i + 1,
                Some(_) => memchr::memrchr(b'\n', rest).map_or(rest.len(), |i| i + 1),
            };
            let (piece, after) = rest.split_at(take);
            self.redactor.feed(piece, &mut self.line).map_err(Error::Write)?;
            self.offset += piece.len() as u64;
            if piece.ends_with(b"\n") && self.redactor.unwritten() == 0 {
                whole = Some((self.offset, self.line.len()));
            }
            rest = after;
        }
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            self.line_end = self.offset - (chunk.len() - i - 1) as u64;
        }
        if let Some((at, len)) = whole {
            out.write_all(&self.line[..len]).map_err(Error::Write)?;
            self.line.drain(..len);
            self.committed = at;
        }
        // Past the cap, an unfinished line (or lines a custom rule holds)
        // goes out as far as the redactor has decided; a restart goes on
        // from the first byte it has not.
        if self.line.len() > LINE_CAP {
            out.write_all(&self.line).map_err(Error::Write)?;
            self.line.clear();
            self.committed = self.offset - self.redactor.unwritten();
        }
        Ok(())
    }

    /// The file's first bytes, read again until there are [`HEAD_LEN`] of
    /// them (a short file still grows).
    pub(super) fn head(&mut self) -> Option<Head> {
        if self.seen.head.as_ref().is_none_or(|h| h.len < HEAD_LEN) {
            // A change is acted on by the next read; till then the head
            // of the content read so far is the one to keep.
            self.unchanged();
        }
        self.seen.head.clone()
    }

    /// Ends the file's stream: its unfinished line goes out as it is.
    pub(super) fn end_file<W: Write>(&mut self, out: &mut W) -> Result<(), Error> {
        self.redactor.finish(&mut self.line).map_err(Error::Write)?;
        out.write_all(&self.line).map_err(Error::Write)?;
        self.line.clear();
        self.line_end = self.offset;
        self.committed = self.offset;
        Ok(())
    }
}

/// Gives `redactor`, which starts at `offset` in `file`, the bytes of the
/// line it starts in that come before `offset`: a follower that starts or
/// resumes mid-line (at a file's end, or where it stopped in a line longer
/// than [`LINE_CAP`]) must know whether that line already named a host,
/// for a rule that counts only on such lines. Read in pieces: back to the
/// line's start, then forward from it; nothing is written.
fn line_before(file: &File, offset: u64, redactor: &mut crate::Redactor) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    if redactor.rules().lines.is_none() {
        return Ok(());
    }
    let mut buf = vec![0; READ_SIZE];
    let mut start = offset;
    while start > 0 {
        let from = start.saturating_sub(READ_SIZE as u64);
        let piece = &mut buf[..(start - from) as usize];
        file.read_exact_at(piece, from)?;
        if let Some(i) = memchr::memrchr(b'\n', piece) {
            start = from + i as u64 + 1;
            break;
        }
        start = from;
    }
    while start < offset {
        let piece = &mut buf[..(offset - start).min(READ_SIZE as u64) as usize];
        file.read_exact_at(piece, start)?;
        redactor.seen_on_line(piece);
        start += piece.len() as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Redactor, Rule, RuleSet};
    use std::sync::Arc;

    #[test]
    fn unwritten_bytes_of_a_custom_rule_spanning_lines_are_never_passed() {
        let rules = Arc::new(RuleSet::new(vec![Rule::custom("b", "BEGIN[^#]*END")]).unwrap());
        let mut redactor = Redactor::new(rules);
        let mut out = Vec::new();
        redactor.feed(b"before\n", &mut out).unwrap();
        assert_eq!(redactor.unwritten(), 0);
        redactor.feed(b"BEGIN one\n", &mut out).unwrap();
        redactor.feed(b"two END\n", &mut out).unwrap();
        // Matched, but the token may go on to a later END: still unwritten.
        assert_eq!(out, b"before\n");
        assert_eq!(redactor.unwritten(), "BEGIN one\ntwo END\n".len() as u64);
        redactor.feed(b"#\n", &mut out).unwrap();
        assert_eq!(redactor.unwritten(), 0);
    }
}
