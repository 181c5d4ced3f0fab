//! How an input file is opened: without waiting on a FIFO or a device,
//! and read ahead on a thread of its own or in segments when it is a big
//! regular file.

use super::segments;
use crate::io::READ_SIZE;
use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read},
    os::{fd::AsRawFd, unix::fs::FileTypeExt},
    path::Path,
};

use crate::app::Error;
use crate::app::formats::{self, Format};

use super::readahead::ReadAhead;
use crate::app::inputs::open_nonblocking;
use crate::io::read_retrying;

/// An input file, read ahead on a thread of its own when it is a regular
/// file big enough for the overlap to pay for the thread.
pub(super) enum Opened {
    Ahead(ReadAhead),
    Here(BufReader<File>),
}

impl Read for Opened {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Opened::Ahead(reader) => reader.read(buf),
            Opened::Here(reader) => reader.read(buf),
        }
    }
}

impl BufRead for Opened {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Opened::Ahead(reader) => reader.fill_buf(),
            Opened::Here(reader) => reader.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Opened::Ahead(reader) => reader.consume(amount),
            Opened::Here(reader) => reader.consume(amount),
        }
    }
}

/// Regular files at least this big are read ahead.
const READ_AHEAD_FROM: u64 = 4 * READ_SIZE as u64;

fn ahead_if_worth_it(file: File, ahead: bool) -> Result<Opened, Error> {
    let meta = file.metadata().map_err(Error::Read)?;
    if ahead && meta.is_file() && meta.len() >= READ_AHEAD_FROM {
        return ReadAhead::spawn(file).map(Opened::Ahead).map_err(Error::Read);
    }
    Ok(Opened::Here(BufReader::with_capacity(READ_SIZE, file)))
}

/// `path` opened when it is a regular file worth reading
/// in segments: big, and plain text (neither compressed nor an archive,
/// which go through their decoders and watchers in order).
pub(super) fn in_segments(path: &Path) -> Result<Option<File>, Error> {
    // Told from its metadata before it is opened: a FIFO is never opened
    // here (opening one can block, or signal its writer when closed).
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() >= segments::SEGMENTS_FROM => {}
        _ => return Ok(None),
    }
    // Opened without blocking, and told again from the open file: the path
    // may have become a FIFO since, whose open would wait for a writer.
    let file = open_nonblocking(path).map_err(Error::Read)?;
    let meta = file.metadata().map_err(Error::Read)?;
    if !meta.is_file() || meta.len() < segments::SEGMENTS_FROM {
        return Ok(None);
    }
    clear_nonblocking(&file)?;
    let mut head = vec![0; 4096];
    let n = read_retrying(&mut &file, &mut head).map_err(Error::Read)?;
    head.truncate(n);
    let plain = Format::detect(&head) == Format::Plain && formats::Archive::detect(&head).is_none();
    Ok(plain.then_some(file))
}

/// Opens `path` as `cat` does.
pub(super) fn open_ahead(path: &Path) -> Result<Opened, Error> {
    ahead_if_worth_it(File::open(path).map_err(Error::Read)?, true)
}

/// Opens `path` for reading without waiting for a FIFO's writer, then
/// reads it blocking, as a stream. A FIFO that no writer holds and that
/// holds no data is an error.
pub(super) fn open_without_waiting(path: &Path, ahead: bool) -> Result<Opened, Error> {
    let file = open_nonblocking(path).map_err(Error::Read)?;
    let fifo = file.metadata().map_err(Error::Read)?.file_type().is_fifo();
    if !fifo {
        clear_nonblocking(&file)?;
        return ahead_if_worth_it(file, ahead);
    }
    let mut reader = BufReader::with_capacity(READ_SIZE, file);
    if fifo {
        // Without blocking, a read tells the cases apart: data (keep it in
        // the buffer), EAGAIN (a writer, nothing written yet), or end of
        // file (no writer at all).
        match reader.fill_buf() {
            Ok([]) => {
                return Err(Error::Read(io::Error::other(
                    "FIFO with no writer: nothing to read (start its writer first, or pipe \
                     the writer into `phx-redact --check -`)",
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(Error::Read(e)),
        }
    }
    clear_nonblocking(reader.get_ref())?;
    Ok(Opened::Here(reader))
}

/// Makes reads of `file` block again.
fn clear_nonblocking(file: &File) -> Result<(), Error> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open while `file` is; F_GETFL and F_SETFL take ints.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !cleared {
        return Err(Error::Read(io::Error::last_os_error()));
    }
    Ok(())
}
