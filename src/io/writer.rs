//! [`RedactWriter`]: the engine as a `std::io::Write` adapter.

use std::{
    fmt,
    io::{self, Write},
    sync::Arc,
};

use crate::engine::{Redactor, RuleSet};

/// A writer that redacts what is written through it.
///
/// A token split across two writes, or across a [`Write::flush`], is still
/// one token: `flush` pushes on only what is decided, and bytes that may
/// still be part of a token stay held back (a few dozen bytes for the
/// built-in rules). Ending the stream, which writes out what is held back,
/// is explicit: [`RedactWriter::finish`], [`RedactWriter::into_inner`] (both
/// report errors), or dropping the writer.
///
/// ```
/// use phx_redact::{RedactWriter, RuleSet};
/// use std::{io::Write, sync::Arc};
///
/// let rules = Arc::new(RuleSet::default_rules(false));
/// let mut log = RedactWriter::new(Vec::new(), rules);
/// write!(log, "calling with phr_{}", "k".repeat(30))?;
/// writeln!(log, "{}", "K".repeat(14))?;
/// assert_eq!(log.into_inner()?, b"calling with phr_[REDACTED]\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// A write that returns `Ok(n)` has taken its `n` bytes for good; one that
/// returns an error has taken none, so that a caller may retry it (as
/// `BufWriter` does) without a byte going through the engine twice, which
/// could cut a key in two and let its halves out. Redacted bytes the inner
/// writer has not yet taken wait in the writer, and go first at the next
/// write or flush; an error of the inner writer after a write's bytes were
/// taken is reported then.
pub struct RedactWriter<W: Write> {
    // `None` only after `into_inner`.
    inner: Option<W>,
    redactor: Redactor,
    /// Redacted bytes not yet taken by the inner writer: `pending[sent..]`.
    pending: Vec<u8>,
    sent: usize,
}

impl<W: Write> RedactWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, rules: Arc<RuleSet>) -> RedactWriter<W> {
        RedactWriter {
            inner: Some(inner),
            redactor: Redactor::new(rules),
            pending: Vec::new(),
            sent: 0,
        }
    }

    /// Hands the pending redacted bytes to the inner writer, keeping what it
    /// does not take for the next call.
    fn send_pending(&mut self) -> io::Result<()> {
        let inner = self.inner.as_mut().expect("present until into_inner");
        while self.sent < self.pending.len() {
            match inner.write(&self.pending[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pending.clear();
        self.sent = 0;
        Ok(())
    }

    /// Ends the stream: writes out what is held back, redacted, and flushes
    /// the inner writer. What is written next starts a new stream, in which
    /// no token continues one of this stream.
    ///
    /// # Errors
    ///
    /// Those of the inner writer.
    pub fn finish(&mut self) -> io::Result<()> {
        self.send_pending()?;
        // Into memory, which cannot fail: the held bytes leave the engine
        // once, whatever the inner writer does next.
        self.redactor.finish(&mut self.pending)?;
        self.flush()
    }

    /// Ends the stream (see [`RedactWriter::finish`]) and returns the inner
    /// writer.
    ///
    /// # Errors
    ///
    /// Those of the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.finish()?;
        Ok(self.inner.take().expect("present until into_inner"))
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.inner.as_ref().expect("present until into_inner")
    }

    /// The inner writer, mutably. Writing to it directly puts bytes in the
    /// output that were never redacted.
    pub fn get_mut(&mut self) -> &mut W {
        self.inner.as_mut().expect("present until into_inner")
    }
}

impl<W: Write> Write for RedactWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // What an earlier write left goes first; if it cannot, this write
        // takes nothing.
        self.send_pending()?;
        self.redactor.feed(buf, &mut self.pending)?;
        // `buf` is taken now: an error here belongs to the next call.
        let _ = self.send_pending();
        Ok(buf.len())
    }

    /// Flushes what is decided. Held bytes stay held: a flush in the middle
    /// of a key (a logger flushing after each write) must not let its two
    /// halves out unredacted.
    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()?;
        self.inner.as_mut().expect("present until into_inner").flush()
    }
}

impl<W: Write> Drop for RedactWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            // As BufWriter does: errors on drop cannot be reported.
            let _ = self.finish();
        }
    }
}

impl<W: Write> fmt::Debug for RedactWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactWriter").field("redactor", &self.redactor).finish_non_exhaustive()
    }
}
