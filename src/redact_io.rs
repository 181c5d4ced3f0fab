//! [`RedactWriter`] and [`RedactReader`]: the engine as `std::io` adapters,
//! to embed redaction in a Rust program.

use std::{
    fmt,
    io::{self, Read, Write},
    sync::Arc,
};

use crate::{Redactor, RuleSet, filter::READ_SIZE};

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

/// A reader that yields the redacted content of another.
///
/// ```
/// use phx_redact::{RedactReader, RuleSet};
/// use std::{io::Read, sync::Arc};
///
/// let env = format!("HOME=/root\nPOSTHOG_KEY=phx_{}\n", "Q7".repeat(24));
/// let mut reader = RedactReader::new(env.as_bytes(), Arc::new(RuleSet::default_rules(false)));
/// let mut clean = String::new();
/// reader.read_to_string(&mut clean)?;
/// assert_eq!(clean, "HOME=/root\nPOSTHOG_KEY=phx_[REDACTED]\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RedactReader<R: Read> {
    inner: R,
    redactor: Redactor,
    input: Vec<u8>,
    /// Redacted bytes not yet handed out: `output[pos..]`.
    output: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> RedactReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, rules: Arc<RuleSet>) -> RedactReader<R> {
        RedactReader {
            inner,
            redactor: Redactor::new(rules),
            input: vec![0; READ_SIZE],
            output: Vec::with_capacity(READ_SIZE),
            pos: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for RedactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.output.len() {
            if self.done {
                return Ok(0);
            }
            self.output.clear();
            self.pos = 0;
            match self.inner.read(&mut self.input) {
                Ok(0) => {
                    self.redactor.finish(&mut self.output)?;
                    self.done = true;
                }
                Ok(n) => self.redactor.feed(&self.input[..n], &mut self.output)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let n = buf.len().min(self.output.len() - self.pos);
        buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read> fmt::Debug for RedactReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactReader").field("redactor", &self.redactor).finish_non_exhaustive()
    }
}

/// A `tracing-subscriber` writer factory that redacts every event before it
/// reaches `inner`. Each event is its own stream, written whole: the writer
/// made for an event ends its stream when the subscriber drops it, after
/// the event.
///
/// ```
/// use phx_redact::{RedactMakeWriter, RuleSet};
/// use std::{io::{self, Write}, sync::{Arc, Mutex}};
///
/// // Where the logs go: here a shared buffer, in a service a file or stdout.
/// #[derive(Clone, Default)]
/// struct Logs(Arc<Mutex<Vec<u8>>>);
/// impl Write for Logs {
///     fn write(&mut self, b: &[u8]) -> io::Result<usize> { self.0.lock().unwrap().write(b) }
///     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// }
///
/// let logs = Logs::default();
/// let sink = logs.clone();
/// let rules = Arc::new(RuleSet::default_rules(false));
/// let subscriber = tracing_subscriber::fmt()
///     .with_writer(RedactMakeWriter::new(move || sink.clone(), rules))
///     .with_ansi(false)
///     .finish();
/// let key = format!("phx_{}", "z".repeat(45));
/// tracing::subscriber::with_default(subscriber, || tracing::info!(%key, "authenticated"));
///
/// let written = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
/// assert!(written.contains("key=phx_[REDACTED] ") || written.contains("key=phx_[REDACTED]\n"), "{written}");
/// assert!(!written.contains(&key));
/// ```
#[cfg(feature = "tracing")]
#[derive(Clone, Debug)]
pub struct RedactMakeWriter<M> {
    inner: M,
    rules: Arc<RuleSet>,
}

#[cfg(feature = "tracing")]
impl<M> RedactMakeWriter<M> {
    /// Wraps `inner`, such as `std::io::stdout` or a rolling file appender.
    pub fn new(inner: M, rules: Arc<RuleSet>) -> RedactMakeWriter<M> {
        RedactMakeWriter { inner, rules }
    }
}

#[cfg(feature = "tracing")]
impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for RedactMakeWriter<M>
{
    type Writer = RedactWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactWriter::new(self.inner.make_writer(), Arc::clone(&self.rules))
    }
}
