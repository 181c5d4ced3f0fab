//! The records of a file in its order, each written once its piece is
//! known: a record waits while its stream's redactor still holds some of
//! its bytes (a key, or what may be one, running into the next record),
//! and the records after it wait behind it, so that the output keeps the
//! file's order.

use std::{collections::VecDeque, io, ops::Range};

use super::docker_json;

/// How a record is written back around its piece.
pub(super) enum Frame {
    /// As it came, once its piece is known: a line that is not a record
    /// (redacted as plain text), or a record already written out.
    Raw,
    /// A CRI record: its prefix, its piece, and its newline if it had one.
    Cri { prefix: Vec<u8>, newline: bool },
    /// A json-file record: the line, with its `log` value (at `value`)
    /// replaced by the piece if the piece is not the content as it was.
    Docker { line: Vec<u8>, value: Range<usize> },
}

/// One record on its way out.
pub(super) struct Entry {
    /// Where its line starts in the input.
    pub(super) at: u64,
    /// Its line in the input, from 1.
    pub(super) line: u64,
    pub(super) frame: Frame,
    /// Its redacted content so far (for `Frame::Raw`, its bytes).
    pub(super) piece: Vec<u8>,
    /// Bytes of its content, and of those, how many came out as they were:
    /// fewer means a key touched it.
    pub(super) len: u64,
    pub(super) clean: u64,
    done: bool,
    /// What it counts for in [`Queue::bytes`].
    cost: usize,
}

impl Entry {
    pub(super) fn new(at: u64, line: u64, frame: Frame, len: u64) -> Entry {
        Entry { at, line, frame, piece: Vec::new(), len, clean: 0, done: false, cost: 0 }
    }

    /// The bytes it holds, about: its frame's and its content's.
    fn cost(&self) -> usize {
        let frame = match &self.frame {
            Frame::Raw => self.piece.len(),
            Frame::Cri { prefix, .. } => prefix.len(),
            Frame::Docker { line, .. } => line.len(),
        };
        frame + self.len as usize
    }

    /// Its bytes, final: the frame around the piece.
    fn render(&mut self) {
        let bytes = match std::mem::replace(&mut self.frame, Frame::Raw) {
            Frame::Raw => return,
            Frame::Cri { mut prefix, newline } => {
                prefix.extend_from_slice(&self.piece);
                if newline {
                    prefix.push(b'\n');
                }
                prefix
            }
            // Untouched, a record is written as it came (its escapes as
            // the runtime wrote them); touched, its value is written anew.
            Frame::Docker { line, .. } if self.clean == self.len => line,
            Frame::Docker { line, value } => {
                let mut out = Vec::with_capacity(line.len());
                docker_json::with_log(&line, &value, &self.piece, &mut out);
                out
            }
        };
        self.piece = bytes;
    }
}

/// The records not written yet, in input order.
#[derive(Default)]
pub(super) struct Queue {
    entries: VecDeque<Entry>,
    /// The number of the first entry (entries are numbered in order).
    first: u64,
    /// The bytes its entries hold, about (see [`Entry::cost`]).
    bytes: usize,
}

impl Queue {
    /// Adds a record; returns its number.
    pub(super) fn push(&mut self, mut entry: Entry) -> u64 {
        entry.cost = entry.cost();
        self.bytes += entry.cost;
        self.entries.push_back(entry);
        self.first + self.entries.len() as u64 - 1
    }

    /// Adds a record whose bytes are final.
    pub(super) fn push_done(&mut self, entry: Entry) {
        let seq = self.push(entry);
        self.complete(seq);
    }

    pub(super) fn get(&mut self, seq: u64) -> &mut Entry {
        &mut self.entries[(seq - self.first) as usize]
    }

    /// The record's piece is final: it is rendered, and may go out.
    pub(super) fn complete(&mut self, seq: u64) {
        let entry = self.get(seq);
        entry.render();
        entry.done = true;
    }

    /// Writes the records that are done, up to the first that is not.
    pub(super) fn write_ready<W: io::Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        while self.entries.front().is_some_and(|e| e.done) {
            let entry = self.entries.pop_front().expect("a front entry");
            self.first += 1;
            self.bytes -= entry.cost;
            out.write_all(&entry.piece)?;
        }
        Ok(())
    }

    /// The bytes the records waiting hold, about.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where the first record not written yet starts in the input.
    pub(super) fn oldest_at(&self) -> Option<u64> {
        self.entries.front().map(|e| e.at)
    }

    /// Forgets every record (a new input starts; all were written).
    pub(super) fn reset(&mut self) {
        debug_assert!(self.entries.is_empty());
        self.entries.clear();
        self.first = 0;
        self.bytes = 0;
    }
}
