//! One big regular file read and scanned on several threads at once.
//!
//! A `read` from the page cache is a copy the kernel does on the calling
//! thread, and on a log it costs more than the scan; on a dense log the
//! scan costs more than the copy. Either way one thread sets the pace. So
//! each thread takes its own segments of the file (segment `k` on thread
//! `k % threads`), reads them with `pread` and scans them with a redactor
//! resumed there (`Redactor::resume_at`); the calling thread joins them
//! in order (`Redactor::continue_with`) and writes each one's output in
//! one write.
//!
//! # Where a segment begins and ends
//!
//! Segment `k` spans `cut(k * SEGMENT)..cut((k + 1) * SEGMENT)`, where
//! `cut(x)` is the first line start at or after `x`. Both neighbours
//! compute the same cut from the same bytes, so the segments tile the file
//! with nothing scanned twice or skipped. A segment with no line start in
//! it is empty: its bytes belong to the one before, which reads past its
//! nominal end to the next line start, up to [`EXTEND_MAX`].
//!
//! # Why nothing is lost or changed
//!
//! A join is taken only when every check holds: the segment was scanned
//! whole, it begins where the stream stands and after the byte the stream
//! fed last, and the stream's redactor has drained there (it has, after a
//! newline, for every rule that cannot match one). Otherwise, and for a
//! file that grew since it was measured, the rest of the file is read and
//! fed in order on the calling thread, from where the stream stands, as
//! the plain path does. A file that changes while it is read gives what
//! the plain path gives: the bytes each read saw.

use std::{
    fs::File,
    io::{self, BufReader, Seek, SeekFrom, Write},
    os::unix::fs::FileExt,
    sync::mpsc,
};

use crate::app::Error;
use crate::{Redactor, io::READ_SIZE};

/// A segment's nominal length: one write of output each. Small enough that
/// the segments in flight, one per thread with its output and (for the
/// audit) its findings, stay within the memory the README promises.
pub const SEGMENT: u64 = 512 * 1024;

/// How far past its nominal end a segment looks for a line start. A longer
/// line sends the rest of the file down the plain path.
pub const EXTEND_MAX: u64 = 256 * 1024;

/// The most threads that read one file. Each holds a segment in flight
/// (its bytes, and for the audit its findings: about a megabyte on a dense
/// log), and the audit's peak stays under the README's 16 MiB with two
/// (15.0 MiB for half a million findings and a 100 MiB token; 17.8 MiB
/// with four).
pub const MAX_THREADS: usize = 2;

/// The most output a segment holds before it gives up on being joined (a
/// read of short keys with long markers): memory stays bounded. A
/// segment's output is rarely much longer than its bytes, at most
/// `SEGMENT + EXTEND_MAX`.
const OUTPUT_MAX: usize = 2 << 20;

/// Files at least this big are read in segments; below, the threads would
/// cost more than they save.
pub const SEGMENTS_FROM: u64 = 4 << 20;

/// One segment, scanned.
struct Scanned {
    /// Where it begins, and the byte before it.
    start: u64,
    before: Option<u8>,
    out: Vec<u8>,
    /// Fed every byte of the segment, none after.
    redactor: Redactor,
    /// False when the segment could not be scanned whole: its line runs past
    /// [`EXTEND_MAX`], its output past [`OUTPUT_MAX`], or its read failed.
    whole: bool,
}

/// What became of segment `k`.
enum Segment {
    Scanned(Box<Scanned>),
    /// No line starts in it.
    Empty,
    /// It begins at or past the file's end.
    Past,
}

/// Redacts the regular file `file`, as long as it is when this starts, into
/// `out` as [`pump`](super::filter) would, on `threads` threads (see the
/// module docs). `stop` sees the redactor after each segment joined and
/// returns true to stop there. Without `keep_output` (an audit, which wants
/// only what the redactor records), segments keep no output and nothing is
/// written to `out`.
///
/// # Errors
///
/// [`Error::Read`] when the file fails, [`Error::Write`] when `out` does.
pub(crate) fn pump_segments<W: Write + ?Sized>(
    redactor: &mut Redactor,
    file: &mut File,
    threads: usize,
    out: &mut W,
    flush_each: bool,
    keep_output: bool,
    mut stop: impl FnMut(&mut Redactor) -> bool,
) -> Result<bool, Error> {
    debug_assert_eq!(redactor.position(), 0);
    // What it grows by from here goes down the plain path.
    let len = file.metadata().map_err(Error::Read)?.len();
    // No more threads than segments, nor than MAX_THREADS.
    let threads = (threads.clamp(1, MAX_THREADS) as u64).min(len / SEGMENT + 1);
    let template = redactor.resume_at(0, None);
    let scan = Scan { file, len, template: &template, keep_output };
    let stopped = std::thread::scope(|scope| -> Result<bool, Error> {
        let helpers: Vec<Helper> =
            (1..threads).map(|first| spawn_helper(scope, &scan, first, threads)).collect();
        let mut join = Join { redactor, out, flush_each, threads, helpers };
        join.run(&scan, &mut stop)
        // Dropping the receivers ends the helpers after their segment.
    })?;
    if stopped {
        return Ok(true);
    }
    // The rest, in order: past a refused join, past a long line, and what
    // the file grew by.
    file.seek(SeekFrom::Start(redactor.position())).map_err(Error::Read)?;
    let mut rest = BufReader::with_capacity(READ_SIZE, &*file);
    super::pump::pump_buffered(redactor, &mut rest, None, out, flush_each, stop)
}

/// A helper thread's two channels: the segments it scanned, and the output
/// buffers given back to it once written.
type Helper = (mpsc::Receiver<Segment>, mpsc::SyncSender<Vec<u8>>);

/// Starts the helper that scans segments `first`, `first + threads`, ...
/// One rendezvous channel per helper: a helper holds at most the segment
/// it has scanned while it waits to hand it over, so memory stays bounded.
/// Each helper's outputs come back to it once written: buffers are reused,
/// not faulted in afresh for every segment.
fn spawn_helper<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    scan: &'env Scan<'env>,
    first: u64,
    threads: u64,
) -> Helper {
    let (tx, rx) = mpsc::sync_channel(0);
    let (used_tx, used_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    scope.spawn(move || {
        let mut buf = Filled::default();
        let mut k = first;
        loop {
            let out = used_rx.try_recv().unwrap_or_default();
            let segment = scan.segment(k, &mut buf, out);
            // Past a segment that cannot be joined, the join stops there:
            // scanning on would only hold memory.
            let last = match &segment {
                Segment::Past => true,
                Segment::Scanned(scanned) => !scanned.whole,
                Segment::Empty => false,
            };
            if tx.send(segment).is_err() || last {
                return;
            }
            k += threads;
        }
    });
    (rx, used_tx)
}

/// The calling thread's side: it scans every `threads`-th segment itself
/// and joins them all, in order, onto the redactor.
struct Join<'r, W: ?Sized> {
    redactor: &'r mut Redactor,
    out: &'r mut W,
    flush_each: bool,
    threads: u64,
    helpers: Vec<Helper>,
}

impl<W: Write + ?Sized> Join<'_, W> {
    /// Joins segments until one cannot be (or the file's end); true if
    /// `stop` said to stop.
    fn run(
        &mut self,
        scan: &Scan<'_>,
        stop: &mut impl FnMut(&mut Redactor) -> bool,
    ) -> Result<bool, Error> {
        let (mut buf, mut spare) = (Filled::default(), Vec::new());
        for k in 0.. {
            let segment = match k % self.threads {
                0 => scan.segment(k, &mut buf, std::mem::take(&mut spare)),
                helper => self.helpers[helper as usize - 1].0.recv().unwrap_or(Segment::Past),
            };
            let scanned = match segment {
                Segment::Past => break,
                Segment::Empty => continue,
                Segment::Scanned(scanned) => scanned,
            };
            let joins = scanned.whole
                && scanned.start == self.redactor.position()
                && scanned.before == self.redactor.last_byte();
            if !joins || !self.redactor.continue_with(scanned.redactor) {
                break;
            }
            self.out.write_all(&scanned.out).map_err(Error::Write)?;
            if self.flush_each {
                self.out.flush().map_err(Error::Write)?;
            }
            match k % self.threads {
                0 => spare = scanned.out,
                helper => drop(self.helpers[helper as usize - 1].1.try_send(scanned.out)),
            }
            if stop(self.redactor) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// What every thread scans from: the file as long as it was at the start,
/// and the redactor each segment's starts from.
struct Scan<'a> {
    file: &'a File,
    len: u64,
    template: &'a Redactor,
    keep_output: bool,
}

impl Scan<'_> {
    /// Reads and scans segment `k` of the file (see the module docs).
    fn segment(&self, k: u64, buf: &mut Filled, out: Vec<u8>) -> Segment {
        let nominal = k * SEGMENT;
        if nominal >= self.len {
            return Segment::Past;
        }
        let end = (nominal + SEGMENT).min(self.len);
        // From the byte before, which tells whether `nominal` starts a line.
        let from = nominal.saturating_sub(1);
        buf.len = 0;
        if buf.read_at(self.file, from, end - from).is_err() {
            return failed(self.template, nominal);
        }
        let start = match nominal {
            0 => 0,
            _ => match memchr::memchr(b'\n', buf.bytes()) {
                Some(i) => i + 1,
                None => return Segment::Empty,
            },
        };
        let (stop, whole) = self.segment_end(buf, from, end);
        if start >= stop {
            return Segment::Empty;
        }
        self.feed(buf, from, start..stop, whole, out)
    }

    /// Where the segment read into `buf` (from `from`) ends: at the first
    /// line start at or after `end`, or at the file's end as measured
    /// (what it grew by goes down the plain path), or where a read came up
    /// short; and whether it could be read whole.
    fn segment_end(&self, buf: &mut Filled, from: u64, end: u64) -> (usize, bool) {
        let mut stop = buf.len;
        if end >= self.len || buf.len as u64 != end - from {
            return (stop, true);
        }
        // From the byte before `end`: when it is a newline, `end` starts a
        // line (and, if no line started before it, this segment is empty).
        let mut look = buf.len - 1;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &buf.bytes()[look..]) {
                return (look + i + 1, true);
            }
            look = buf.len;
            stop = buf.len;
            let past = buf.len as u64 - (end - from);
            if past >= EXTEND_MAX {
                return (stop, false);
            }
            let want = (64 * 1024).min(EXTEND_MAX - past);
            match buf.read_at(self.file, from + buf.len as u64, want) {
                Ok(0) => return (stop, true), // the file's end: the segment ends there
                Ok(_) => {}
                Err(_) => return (stop, false),
            }
        }
    }

    /// Scans `range` of `buf` (read from `from`) on a redactor of its own.
    fn feed(
        &self,
        buf: &Filled,
        from: u64,
        range: std::ops::Range<usize>,
        mut whole: bool,
        mut out: Vec<u8>,
    ) -> Segment {
        let start_at = from + range.start as u64;
        let before = (start_at > 0).then(|| buf.bytes()[range.start - 1]);
        let mut redactor = self.template.resume_at(start_at, before);
        out.clear();
        let bytes = &buf.bytes()[range];
        let fed = if self.keep_output {
            // Reserved whole, so that growing never copies it; only what is
            // written is touched.
            out.reserve_exact(OUTPUT_MAX);
            redactor.feed(bytes, &mut Bounded(&mut out))
        } else {
            redactor.feed(bytes, &mut io::sink())
        };
        whole &= fed.is_ok();
        Segment::Scanned(Box::new(Scanned { start: start_at, before, out, redactor, whole }))
    }
}

/// A segment that cannot be joined: the plain path takes over before it.
fn failed(template: &Redactor, at: u64) -> Segment {
    let redactor = template.resume_at(at, None);
    Segment::Scanned(Box::new(Scanned {
        start: at,
        before: None,
        out: Vec::new(),
        redactor,
        whole: false,
    }))
}

/// A read buffer reused from segment to segment: its memory is zeroed once,
/// when it grows, not before every read.
#[derive(Default)]
struct Filled {
    data: Vec<u8>,
    /// Bytes of `data` that hold what was read.
    len: usize,
}

impl Filled {
    fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// Appends up to `want` bytes of `file` from `at`, fewer only at the
    /// file's end; returns how many.
    fn read_at(&mut self, file: &File, at: u64, want: u64) -> io::Result<usize> {
        let goal = self.len + want as usize;
        if self.data.len() < goal {
            self.data.resize(goal, 0);
        }
        let old = self.len;
        while self.len < goal {
            match file.read_at(&mut self.data[self.len..goal], at + (self.len - old) as u64) {
                Ok(0) => break,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.len - old)
    }
}

/// A Vec that refuses to grow past [`OUTPUT_MAX`].
struct Bounded<'a>(&'a mut Vec<u8>);

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.0.len() + buf.len() > OUTPUT_MAX {
            return Err(io::Error::other("a segment's output is past its bound"));
        }
        self.0.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
