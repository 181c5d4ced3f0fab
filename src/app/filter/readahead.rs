//! Reading on a thread of its own, a few reads ahead of the engine.
//!
//! A `read` from the page cache is a copy done by the kernel on the calling
//! thread: for a log file it costs about twice what the engine does to
//! scan the same bytes. Done on a second thread, it overlaps the scan and
//! the write, which is how the filter keeps up with `wc -l` and `cat` on
//! two cores. The bytes and their order are exactly the inner reader's.

use std::{
    io::{self, BufRead, Read},
    sync::mpsc,
    thread,
};

use crate::io::{READ_SIZE, read_retrying};

/// Reads in flight ahead of the consumer. Two keep the reader busy while
/// the consumer works through a third.
const DEPTH: usize = 2;

/// The size of each read: larger than the engine's, so that hand-overs
/// between the threads (a futex wake each) stay rare.
pub const AHEAD_SIZE: usize = 4 * READ_SIZE;

/// One read: its buffer (always [`AHEAD_SIZE`] long, for reuse) and how
/// much of it holds data; 0 is the end of the input.
type Filled = io::Result<(Vec<u8>, usize)>;

/// A reader whose reads are done ahead on another thread.
///
/// Memory is bounded: at most `DEPTH + 1` buffers of [`AHEAD_SIZE`] exist.
/// Dropping it before the end never waits: the thread ends after the read
/// it is in, when it finds no one to hand it to (a read of standard input
/// can block until the process ends, which is why it is never joined).
pub struct ReadAhead {
    filled: mpsc::Receiver<Filled>,
    spare: mpsc::SyncSender<Vec<u8>>,
    current: Vec<u8>,
    /// Bytes of `current` that hold data, and how many were handed out.
    len: usize,
    pos: usize,
    /// The end (or an error) was handed out: nothing more comes.
    ended: bool,
}

impl ReadAhead {
    /// Starts reading `reader` on a new thread.
    ///
    /// # Errors
    ///
    /// When the thread cannot be started.
    pub fn spawn<R: Read + Send + 'static>(mut reader: R) -> io::Result<Self> {
        let (filled_tx, filled) = mpsc::sync_channel::<Filled>(DEPTH);
        let (spare, spare_rx) = mpsc::sync_channel::<Vec<u8>>(DEPTH + 1);
        thread::Builder::new().name("phx-redact-read".into()).spawn(move || {
            let mut made = 0;
            loop {
                // A buffer the consumer is done with, or a new one while
                // fewer than the bound exist.
                let mut buf = match spare_rx.try_recv() {
                    Ok(buf) => buf,
                    Err(_) if made <= DEPTH => {
                        made += 1;
                        vec![0; AHEAD_SIZE]
                    }
                    Err(_) => match spare_rx.recv() {
                        Ok(buf) => buf,
                        Err(_) => return,
                    },
                };
                let result = read_retrying(&mut reader, &mut buf);
                let last = !matches!(result, Ok(n) if n > 0);
                if filled_tx.send(result.map(|n| (buf, n))).is_err() || last {
                    return;
                }
            }
        })?;
        Ok(Self { filled, spare, current: Vec::new(), len: 0, pos: 0, ended: false })
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.len && !self.ended {
            let done = std::mem::take(&mut self.current);
            if !done.is_empty() {
                // The thread may have ended; the buffer is then freed.
                let _ = self.spare.try_send(done);
            }
            (self.len, self.pos) = (0, 0);
            match self.filled.recv() {
                Ok(Ok((buf, n))) => {
                    (self.current, self.len) = (buf, n);
                    self.ended = n == 0;
                }
                Ok(Err(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Err(_) => {
                    self.ended = true;
                    return Err(io::Error::other("the reading thread ended early"));
                }
            }
        }
        Ok(&self.current[self.pos..self.len])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.len);
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes in reads of uneven sizes, then an
    /// error, as a pipe or a failing disk would.
    struct Uneven {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        fail_at_end: bool,
    }

    impl Read for Uneven {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pos == self.data.len() && self.fail_at_end {
                return Err(io::Error::other("disk gone"));
            }
            self.step = self.step * 7 % 100_003 + 1;
            let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn the_bytes_come_through_in_order_whatever_the_read_sizes() {
        for len in [0, 1, AHEAD_SIZE - 1, AHEAD_SIZE, AHEAD_SIZE + 1, 3 * AHEAD_SIZE + 17] {
            let data = data(len);
            let inner = Uneven { data: data.clone(), pos: 0, step: 1, fail_at_end: false };
            let mut reader = ReadAhead::spawn(inner).unwrap();
            let mut got = Vec::new();
            let mut chunk = vec![0; 1000];
            loop {
                let n = reader.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(got, data, "length {len}");
            // The end stays the end.
            assert_eq!(reader.read(&mut chunk).unwrap(), 0);
        }
    }

    #[test]
    fn an_error_comes_after_every_byte_read_before_it() {
        let data = data(2 * AHEAD_SIZE + 5);
        let inner = Uneven { data: data.clone(), pos: 0, step: 1, fail_at_end: true };
        let mut reader = ReadAhead::spawn(inner).unwrap();
        let mut got = Vec::new();
        let err = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
        assert_eq!(got, data);
    }

    #[test]
    fn dropping_it_early_does_not_wait_for_the_input() {
        // A pipe whose writer never closes: the thread is blocked in read.
        let (read_end, mut write_end) = io::pipe().unwrap();
        io::Write::write_all(&mut write_end, b"first").unwrap();
        let mut reader = ReadAhead::spawn(read_end).unwrap();
        let mut buf = [0; 5];
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"first");
        drop(reader);
        // Still here: the drop did not join the blocked thread.
        drop(write_end);
    }
}
