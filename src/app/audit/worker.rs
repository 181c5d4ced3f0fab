//! A worker of a check: it takes the next input, reads it through a
//! redactor that records findings, and sends them, formatted, to the
//! printer ([`in_order`](super::in_order)), which prints them in input
//! order.

use std::{
    fs, mem,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
};

use crate::app::Error;
use crate::{
    Finding, Redactor,
    app::audit::keys::Found,
    app::audit::printer::{Names, write_finding},
    app::filter::{self, Input, READ_SIZE},
    app::policy::PrintedName,
    app::records::Scanner,
};

/// What a worker tells the printer.
pub(super) enum Message {
    /// Formatted findings of input `.0`, and their keys.
    Text(usize, Vec<u8>, Vec<Found>),
    /// Input `.0` is done: its name, why it failed if it did, the
    /// tokens it counted without recording them, and its lines that were
    /// not records of the format read.
    Done(usize, PrintedName, Option<Error>, u64, u64),
}

/// The findings text a regular file's worker gathers before it sends them.
const BATCH: usize = 256 * 1024;

/// One worker's loop: checks the inputs it takes from `next_input` until
/// there are none left or the printer has gone.
pub(super) fn work(
    inputs: &[Input],
    next_input: &AtomicUsize,
    names_of: &Names<'_>,
    tx: &mpsc::SyncSender<Message>,
    output_failed: &AtomicBool,
    lone: Option<usize>,
) {
    // One read buffer per worker, not one zeroed per input: a tree of
    // small files paid a sixth of its time for those.
    let mut buf = vec![0; READ_SIZE];
    loop {
        let i = next_input.fetch_add(1, Ordering::Relaxed);
        if i >= inputs.len()
            || !check_input(i, &inputs[i], names_of, tx, output_failed, lone, &mut buf)
        {
            break;
        }
    }
}

/// Checks input `index`, sending its findings after each read (or, for a
/// regular file, each [`BATCH`]). Returns
/// false when the printer has gone.
fn check_input(
    index: usize,
    input: &Input,
    names_of: &Names<'_>,
    tx: &mpsc::SyncSender<Message>,
    output_failed: &AtomicBool,
    // One worker leaves cores for reading (`Some(threads)`); more keep them
    // all busy.
    lone: Option<usize>,
    buf: &mut [u8],
) -> bool {
    let rules = names_of.rules;
    let endless = matches!(input, Input::Stdin);
    // A regular file's findings go to the printer in batches, which keeps
    // the hand-overs between threads rare; a stream's (standard input, a
    // FIFO) after each read, so that `tail -f | phx-redact --check` shows
    // them as they come.
    let batched = matches!(input, Input::Path(p) if fs::metadata(p).is_ok_and(|m| m.is_file()));
    let name = names_of.policy.printed_name(input.name_bytes());
    let uri = names_of.sarif.map(|s| s.uri_of(input.name_bytes(), names_of.policy));
    let mut scanner = Scanner::new(names_of.format, rules, !names_of.verdict_only);
    let mut gone = false;
    let (mut text, mut found) = (Vec::new(), Vec::new());
    // Returns true to stop reading.
    let mut send = |findings: Vec<Finding>, last: bool| {
        if endless && output_failed.load(Ordering::Relaxed) {
            return true;
        }
        for finding in &findings {
            if names_of.print_findings {
                // Writing to a Vec cannot fail.
                let _ = write_finding(&mut text, &name, uri.as_ref(), finding, names_of);
            }
            let (hash, rule, mask) = (finding.fingerprint, finding.rule, finding.mask);
            found.push(Found { hash, rule, mask, secret: finding.secret.clone() });
        }
        let small = text.len() < BATCH && found.len() < BATCH / 64;
        if found.is_empty() || (batched && !last && small) {
            return false;
        }
        let message = Message::Text(index, mem::take(&mut text), mem::take(&mut found));
        gone = tx.send(message).is_err();
        gone
    };
    let error = read_input(&mut scanner, input, buf, lone, |findings| send(findings, false)).err();
    send(scanner.take_findings(), true);
    let counted = match names_of.verdict_only {
        true => scanner.stats().total_tokens(),
        false => 0,
    };
    let done = Message::Done(index, name, error, counted, scanner.malformed());
    !gone && tx.send(done).is_ok()
}

/// Reads `input` through `scanner`, handing its findings to `after_read`
/// after each read (true: stop), in segments on `lone` threads when that
/// is asked for and the input is bytes.
fn read_input(
    scanner: &mut Scanner,
    input: &Input,
    buf: &mut [u8],
    lone: Option<usize>,
    mut after_read: impl FnMut(Vec<Finding>) -> bool,
) -> Result<(), Error> {
    match scanner {
        Scanner::Plain(redactor) => {
            let after_read = |r: &mut Redactor| after_read(r.take_findings());
            match lone {
                Some(threads) => {
                    filter::inspect_input_on(redactor, input, buf, threads, after_read)
                }
                None => filter::inspect_input_here(redactor, input, buf, after_read),
            }
        }
        records => filter::inspect_records(records, input, buf, |s| after_read(s.take_findings())),
    }
}
