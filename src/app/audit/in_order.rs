//! The printer of a check: the workers' findings, printed in input order.
//! The lowest unfinished input streams; later ones wait in memory until
//! their turn (a read's findings each, as the workers send them). Each
//! finding's key is tallied as it is printed.

use std::{
    io::{self, Write},
    mem,
    sync::atomic::{AtomicBool, Ordering},
};

use crate::app::Error;
use crate::{
    app::audit::json,
    app::audit::keys::{Found, Keys},
    app::audit::sarif::Results,
    app::audit::worker::Message,
    app::policy::{MessagePolicy, PrintedName},
};

/// The output of a check. Once a write fails (the reader has gone, the disk
/// is full), nothing more is written, but the check goes on: its verdict
/// must cover every input.
pub(super) struct Output<'a, W: ?Sized> {
    pub(super) out: &'a mut W,
    pub(super) error: Option<io::Error>,
    /// Set with `error`, for the workers.
    pub(super) failed: &'a AtomicBool,
}

impl<W: Write + ?Sized> Output<'_, W> {
    pub(super) fn write(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.error.is_none() {
            self.error = write(self.out).err();
            self.failed.store(self.error.is_some(), Ordering::Relaxed);
        }
    }
}

/// What reading the inputs of a check left: the keys tallied, the names.
pub(super) struct Checked {
    pub(super) keys: Keys,
    pub(super) names: Vec<PrintedName>,
    pub(super) rule_names: Vec<String>,
    pub(super) unrecorded: u64,
    pub(super) failures: usize,
    /// In SARIF, the results written and left out.
    pub(super) results: Option<Results>,
    pub(super) malformed: u64,
}

/// An input's findings waiting for their turn, and, once it is done,
/// whether it failed.
type Pending = (Vec<(Vec<u8>, Vec<Found>)>, Option<Option<Error>>);

/// Prints the workers' messages in input order.
pub(super) struct InOrder<'a, 'o, W: ?Sized> {
    out: &'a mut Output<'o, W>,
    policy: &'a MessagePolicy,
    json: bool,
    /// In SARIF, the results admitted to the log, each line one.
    results: Option<Results>,
    pending: Vec<Pending>,
    /// The lowest unfinished input, the one that streams.
    next: usize,
    keys: Keys,
    names: Vec<PrintedName>,
    unrecorded: u64,
    /// Lines that were not records of the format read, in all inputs.
    malformed: u64,
    failures: usize,
}

impl<'a, 'o, W: Write + ?Sized> InOrder<'a, 'o, W> {
    /// A printer for `inputs` inputs, to `out`.
    pub(super) fn new(
        out: &'a mut Output<'o, W>,
        inputs: usize,
        policy: &'a MessagePolicy,
        json: bool,
        results: Option<Results>,
    ) -> Self {
        InOrder {
            out,
            policy,
            json,
            results,
            pending: (0..inputs).map(|_| (Vec::new(), None)).collect(),
            next: 0,
            keys: Keys::default(),
            names: vec![PrintedName::default(); inputs],
            unrecorded: 0,
            malformed: 0,
            failures: 0,
        }
    }

    /// Prints `message` if its input's turn has come, or keeps it; then
    /// whatever it lets through. A failed input is passed to `on_error`
    /// when its turn comes.
    pub(super) fn take(
        &mut self,
        message: Message,
        on_error: &mut impl FnMut(usize, &str, &Error),
    ) {
        match message {
            Message::Text(i, text, found) if i == self.next => {
                self.keys.add(&found, i);
                self.emit(&text);
                // Flushed at once: a live stream (`tail -f | phx-redact
                // --check`) shows each finding as it is read.
                self.out.write(|out| out.flush());
            }
            Message::Text(i, text, found) => self.pending[i].0.push((text, found)),
            Message::Done(i, name, error, counted, malformed) => {
                self.unrecorded += counted;
                self.malformed += malformed;
                self.names[i] = name;
                self.pending[i].1 = Some(error);
            }
        }
        self.release(on_error);
    }

    /// Moves past the inputs that are done, printing what the next ones
    /// have kept.
    fn release(&mut self, on_error: &mut impl FnMut(usize, &str, &Error)) {
        while let Some(error) = self.pending.get_mut(self.next).and_then(|(_, done)| done.take()) {
            let next = self.next;
            if let Some(error) = &error {
                self.failures += 1;
                if self.json {
                    let (name, policy) = (&self.names[next].json, self.policy);
                    self.out.write(|out| json::write_error(out, name, error, policy));
                }
                self.out.write(|out| out.flush());
                on_error(next, &self.names[next].text, error);
            }
            self.next += 1;
            if let Some((texts, _)) = self.pending.get_mut(self.next) {
                for (text, found) in mem::take(texts) {
                    self.keys.add(&found, self.next);
                    self.emit(&text);
                }
            }
        }
    }

    /// Writes formatted findings: as they are, or the SARIF results that
    /// fit in the log.
    fn emit(&mut self, text: &[u8]) {
        match &mut self.results {
            Some(results) => self.out.write(|out| results.write(out, text)),
            None => self.out.write(|out| out.write_all(text)),
        }
    }

    /// What the check left, its rules printed as `rule_names`.
    pub(super) fn finish(self, rule_names: Vec<String>) -> Checked {
        let InOrder { keys, names, unrecorded, failures, results, malformed, .. } = self;
        Checked { keys, names, rule_names, unrecorded, failures, results, malformed }
    }
}
