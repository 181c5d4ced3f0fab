//! [`RedactMakeWriter`]: a `tracing-subscriber` writer factory that
//! redacts a Rust service's own logs.

use std::sync::Arc;

use super::RedactWriter;
use crate::engine::RuleSet;

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
#[derive(Clone, Debug)]
pub struct RedactMakeWriter<M> {
    inner: M,
    rules: Arc<RuleSet>,
}

impl<M> RedactMakeWriter<M> {
    /// Wraps `inner`, such as `std::io::stdout` or a rolling file appender.
    pub fn new(inner: M, rules: Arc<RuleSet>) -> RedactMakeWriter<M> {
        RedactMakeWriter { inner, rules }
    }
}

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for RedactMakeWriter<M>
{
    type Writer = RedactWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactWriter::new(self.inner.make_writer(), Arc::clone(&self.rules))
    }
}
