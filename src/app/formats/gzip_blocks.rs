//! gzip written on several cores: the content is cut into blocks of
//! [`GZIP_BLOCK`] bytes, and each block becomes a gzip member of its own,
//! compressed on the rayon pool the caller runs in and written in order.
//! Every gzip reader takes members one after another as one stream (RFC
//! 1952; `gzip -d`, pigz, zcat, Python's gzip, flate2's `MultiGzDecoder`).
//!
//! The blocks are cut at fixed offsets of the content, never where a thread
//! happens to be, and a member is a pure function of its block and the
//! level: the bytes written are the same on one thread or on many, which
//! the Python module and the Spark job rely on (they promise the CLI's
//! bytes whatever the thread count). Independent members cost a little
//! ratio: each starts without the previous 32 KiB as its window, about
//! 0.13% more bytes on a realistic log at 2 MiB blocks (0.25% at 1 MiB,
//! 0.06% at 4 MiB).
//!
//! # Threads, memory and why this cannot deadlock
//!
//! A block is handed to `rayon::spawn`, so it runs on the pool of the batch
//! (whose size is `-j`): no second pool, no threads beyond `-j`. At most
//! twice the workers' count of blocks are in flight, so memory stays at a
//! few blocks whatever the file's size.
//!
//! The writing thread is itself a worker of that pool, busy with its file,
//! and when every worker is busy with a file no one is left to run the
//! blocks spawned. So the writer never waits for a block that has not
//! started: when the bound is reached it compresses such a block itself
//! (the writer's thread compresses too, rather than idle), and it only
//! waits for a block that another thread is compressing, and compressing
//! never waits on anything. Many files at once on a small pool therefore
//! degrade to each writer compressing its own blocks, and an idle worker
//! (a batch of one big file, or the last file of a batch) helps.

use std::{
    collections::VecDeque,
    io::{self, Write},
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Condvar, Mutex, MutexGuard},
};

use flate2::{Compression, write::GzEncoder};

/// The content bytes in each gzip member written, the last one aside.
/// Fixed, whatever the thread count, so that the output is too; large
/// enough that the members' lost context costs about 0.1% of ratio.
pub const GZIP_BLOCK: usize = 2 << 20;

/// A writer that stores what it is given as gzip members of [`GZIP_BLOCK`]
/// content bytes each, compressed on up to `workers` threads of the
/// current rayon pool.
pub struct GzBlocks<W: Write> {
    inner: W,
    level: Compression,
    workers: usize,
    /// The block being filled.
    block: Vec<u8>,
    /// Blocks handed out, oldest first: written in this order.
    in_flight: InFlight,
    /// Whether any member was written or handed out (an empty content
    /// still makes one empty member, as gzip writes for an empty file).
    started: bool,
}

/// Blocks handed out. Dropped before they are written (a failed file), it
/// takes them back from the pool, so that no worker compresses what no one
/// will write.
#[derive(Default)]
struct InFlight(VecDeque<Arc<Job>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for job in &self.0 {
            job.cancel();
        }
    }
}

/// One block on its way to being a member.
struct Job {
    state: Mutex<State>,
    done: Condvar,
}

enum State {
    /// Not started: whoever comes first (a pool worker, or the writer in
    /// need of it) takes it.
    Waiting(Vec<u8>),
    /// A thread is compressing it.
    Running,
    /// Compressed (or failed).
    Done(io::Result<Vec<u8>>),
    /// Taken back by the writer, or dropped with it.
    Taken,
}

impl Job {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is caught in `compress`, never
        // while the state is inconsistent; recover the state as it is.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Compresses the block if no one has started it. Whether it did: a
    /// pool worker runs this, and so does the writer while it would
    /// otherwise wait.
    fn run(&self, level: Compression) -> bool {
        let block = {
            let mut state = self.lock();
            match std::mem::replace(&mut *state, State::Running) {
                State::Waiting(block) => block,
                other => {
                    *state = other;
                    return false;
                }
            }
        };
        let member = compress(&block, level);
        *self.lock() = State::Done(member);
        self.done.notify_all();
        true
    }

    /// The member, compressed here if no worker has started it, else
    /// waited for (its worker is running, and will finish).
    fn member(&self, level: Compression) -> io::Result<Vec<u8>> {
        let mut state = self.lock();
        loop {
            match std::mem::replace(&mut *state, State::Taken) {
                State::Waiting(block) => {
                    drop(state);
                    return compress(&block, level);
                }
                State::Done(member) => return member,
                State::Running => {
                    *state = State::Running;
                    state =
                        self.done.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                State::Taken => unreachable!("a member is taken once"),
            }
        }
    }

    /// Whether the member is ready, without waiting.
    fn is_done(&self) -> bool {
        matches!(*self.lock(), State::Done(_))
    }

    /// Drops the block if no one started it.
    fn cancel(&self) {
        let mut state = self.lock();
        if matches!(*state, State::Waiting(_)) {
            *state = State::Taken;
        }
    }
}

/// One block as one gzip member. A panic (there should be none) fails the
/// file rather than the process.
fn compress(block: &[u8], level: Compression) -> io::Result<Vec<u8>> {
    catch_unwind(AssertUnwindSafe(|| {
        // Logs compress 4 to 8 times: a quarter is rarely outgrown.
        let mut encoder = GzEncoder::new(Vec::with_capacity(block.len() / 4 + 64), level);
        encoder.write_all(block)?;
        encoder.finish()
    }))
    .unwrap_or_else(|_| Err(io::Error::other("gzip compression failed (a panic)")))
}

impl<W: Write> GzBlocks<W> {
    /// A writer to `inner` at `level`, compressing on up to `workers`
    /// threads (1: on the caller's thread alone, nothing spawned).
    pub fn new(inner: W, level: Compression, workers: usize) -> GzBlocks<W> {
        GzBlocks {
            inner,
            level,
            workers: workers.max(1),
            block: Vec::new(),
            in_flight: InFlight::default(),
            started: false,
        }
    }

    /// Hands the filled block out, and writes what is ready.
    fn submit(&mut self) -> io::Result<()> {
        let block = std::mem::take(&mut self.block);
        self.started = true;
        if self.workers == 1 {
            let member = compress(&block, self.level)?;
            return self.inner.write_all(&member);
        }
        let job = Arc::new(Job { state: Mutex::new(State::Waiting(block)), done: Condvar::new() });
        let level = self.level;
        let worker = Arc::clone(&job);
        rayon::spawn(move || {
            worker.run(level);
        });
        self.in_flight.0.push_back(job);
        self.drain(2 * self.workers - 1)
    }

    /// Writes the members ready at the front, and until no more than
    /// `keep` blocks are in flight, compresses one that no worker has
    /// started (so that the writer's thread compresses too rather than
    /// wait) or, when all have started, waits for the oldest.
    fn drain(&mut self, keep: usize) -> io::Result<()> {
        loop {
            while self.in_flight.0.front().is_some_and(|job| job.is_done()) {
                self.write_oldest()?;
            }
            if self.in_flight.0.len() <= keep {
                return Ok(());
            }
            if !self.in_flight.0.iter().any(|job| job.run(self.level)) {
                self.write_oldest()?;
            }
        }
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        let job = self.in_flight.0.pop_front().expect("a block in flight");
        let member = job.member(self.level)?;
        self.inner.write_all(&member)
    }

    /// Writes the last block and every member still in flight, in order,
    /// and returns the inner writer.
    ///
    /// # Errors
    ///
    /// Those of writing.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.block.is_empty() || !self.started {
            self.submit()?;
        }
        self.drain(0)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for GzBlocks<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.block.capacity() == 0 {
            self.block.reserve_exact(GZIP_BLOCK);
        }
        let n = buf.len().min(GZIP_BLOCK - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == GZIP_BLOCK {
            self.submit()?;
        }
        Ok(n)
    }

    /// Flushes the inner writer only: a member ends at a block's end, never
    /// where a flush comes, or the output would depend on when flushes come.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, Read};

    use flate2::bufread::{GzDecoder, MultiGzDecoder};

    use super::*;

    /// `data` written through [`GzBlocks`] with `workers`, in a pool of
    /// four threads, in writes of `chunk` bytes.
    fn written(data: &[u8], workers: usize, chunk: usize) -> Vec<u8> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        pool.install(|| {
            let mut w = GzBlocks::new(Vec::new(), Compression::new(6), workers);
            for piece in data.chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap()
        })
    }

    /// The content of each member, in order.
    fn members(mut gz: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !gz.fill_buf().unwrap().is_empty() {
            let mut member = Vec::new();
            GzDecoder::new(&mut gz).read_to_end(&mut member).unwrap();
            out.push(member);
        }
        out
    }

    #[test]
    fn members_are_cut_at_fixed_offsets_whatever_the_workers_and_writes() {
        let data: Vec<u8> = (0..2 * GZIP_BLOCK + 1000).map(|i| (i * 7 % 251) as u8).collect();
        let one = written(&data, 1, 1 << 16);
        for (workers, chunk) in [(2, 1 << 16), (4, 4099), (3, GZIP_BLOCK + 1)] {
            assert!(written(&data, workers, chunk) == one, "{workers} workers, writes of {chunk}");
        }
        let lens: Vec<usize> = members(&one).iter().map(Vec::len).collect();
        assert_eq!(lens, [GZIP_BLOCK, GZIP_BLOCK, 1000]);
        let mut all = Vec::new();
        MultiGzDecoder::new(&one[..]).read_to_end(&mut all).unwrap();
        assert!(all == data);
    }

    #[test]
    fn empty_and_exact_block_contents_are_whole_members() {
        assert_eq!(members(&written(b"", 2, 1)), [Vec::<u8>::new()]);
        let block = vec![b'x'; GZIP_BLOCK];
        assert_eq!(members(&written(&block, 2, 1 << 20)).len(), 1);
    }

    #[test]
    fn a_writer_dropped_with_blocks_in_flight_takes_them_back() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| {
            let mut w = GzBlocks::new(Vec::new(), Compression::new(6), 2);
            w.write_all(&vec![b'y'; 3 * GZIP_BLOCK + 1]).unwrap();
            drop(w);
        });
    }
}
