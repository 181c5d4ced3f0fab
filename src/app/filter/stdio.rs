//! Standard input and output as the filter drives them: one write per read,
//! and pipes wide enough that a read's output goes through in one piece.
//!
//! `cat` reads 128 KiB at a time into a 64 KiB pipe, so every read costs a
//! few writes and as many wake-ups of the reader. The filter instead asks
//! for 1 MiB pipes on both sides and sends each read's output (its clean
//! spans and its markers) with one `write`.

use std::{
    fs::File,
    io::{self, Write},
    mem::ManuallyDrop,
    os::fd::{AsRawFd, FromRawFd, RawFd},
};

/// The pipe size the filter asks for: four reads' worth, so that a writer
/// upstream and the reader downstream rarely wait on us or we on them.
pub const PIPE_SIZE: usize = 1 << 20;

/// Standard output without a buffer of its own. `std::io::Stdout` is line
/// buffered: it writes up to the last newline of what it is given and
/// keeps the rest, which splits each read's output in two writes.
pub struct RawStdout(ManuallyDrop<File>);

impl RawStdout {
    /// Descriptor 1, borrowed for the life of the process (never closed
    /// here: the runtime and the exit path still use it).
    #[must_use]
    pub fn new() -> Self {
        // SAFETY: descriptor 1 is open for the whole process (main.rs
        // makes sure of it before anything runs), and ManuallyDrop keeps
        // this File from closing it.
        Self(ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDOUT_FILENO) }))
    }
}

impl Default for RawStdout {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Standard input without std's buffer or lock, so that it can be read on
/// a thread of its own ([`ReadAhead`](crate::app::filter::readahead::ReadAhead)).
/// Nothing else in the process reads standard input while it is in use.
pub struct RawStdin(ManuallyDrop<File>);

impl RawStdin {
    /// Descriptor 0, borrowed (never closed here).
    #[must_use]
    pub fn new() -> Self {
        // SAFETY: descriptor 0 is open for the whole process (Rust's
        // runtime puts /dev/null in place of a closed one before main),
        // and ManuallyDrop keeps this File from closing it.
        Self(ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDIN_FILENO) }))
    }
}

impl Default for RawStdin {
    fn default() -> Self {
        Self::new()
    }
}

impl io::Read for RawStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// A writer that holds everything written to it until [`flush`], then
/// hands it to the inner writer in one `write_all`. The filter flushes
/// once per read, so each read costs one write, however many spans and
/// markers it is made of. What it holds is bounded: past `limit` bytes (a
/// read of short tokens each replaced by a long marker) it writes early.
///
/// [`flush`]: Write::flush
pub struct PerRead<W: Write> {
    held: Vec<u8>,
    limit: usize,
    inner: W,
}

impl<W: Write> PerRead<W> {
    /// `capacity`: the usual size of one read's output; four times that
    /// is the most held.
    pub fn new(inner: W, capacity: usize) -> Self {
        Self { held: Vec::with_capacity(capacity), limit: 4 * capacity, inner }
    }

    fn send(&mut self) -> io::Result<()> {
        // Cleared whether or not the write succeeds: a failed write ends
        // the run, and bytes are never sent twice.
        let result = self.inner.write_all(&self.held);
        self.held.clear();
        result
    }
}

impl<W: Write> Write for PerRead<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.held.is_empty() && buf.len() >= self.held.capacity() {
            // A whole read's output in one piece (a segment's, see
            // `app::filter::segments`): one write, without copying it first.
            return self.inner.write_all(buf);
        }
        self.held.extend_from_slice(buf);
        if self.held.len() >= self.limit { self.send() } else { Ok(()) }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.held.is_empty() {
            self.send()?;
        }
        self.inner.flush()
    }
}

/// Asks for a [`PIPE_SIZE`] pipe when `fd` is one (either end). Where the
/// kernel refuses (`/proc/sys/fs/pipe-max-size` is lower for this user, or
/// the user's pipe quota is spent), the pipe stays as it was, which is only
/// slower. Returns the pipe's size after, or None when `fd` is not a pipe.
pub fn widen_pipe(fd: RawFd) -> Option<usize> {
    // SAFETY: fstat and fcntl on a descriptor with a valid out-pointer;
    // neither touches other memory of ours.
    unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 || stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
            return None;
        }
        let size = libc::fcntl(fd, libc::F_GETPIPE_SZ);
        if size >= 0 && (size as usize) < PIPE_SIZE {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE as libc::c_int);
        }
        usize::try_from(libc::fcntl(fd, libc::F_GETPIPE_SZ)).ok()
    }
}

/// [`widen_pipe`] on standard input and standard output.
pub fn widen_stdio_pipes() {
    widen_pipe(io::stdin().as_raw_fd());
    widen_pipe(io::stdout().as_raw_fd());
}
