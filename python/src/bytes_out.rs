//! The engine's output as a Python bytes object: written into the new
//! object in place, piece by piece, with no copy of the clean spans until
//! then, and large outputs built with the GIL released.

use std::{
    io::{self, Write},
    sync::Arc,
};

use phx_redact::{Redactor as Engine, RuleSet};
use pyo3::{prelude::*, types::PyBytes};

/// Outputs at least this long are copied into their bytes object with the
/// GIL released.
pub(crate) const DETACHED_COPY: usize = 64 * 1024;

/// `data` as a new bytes object. A large one is copied with the GIL
/// released: the copy, and the page faults of the fresh buffer it fills,
/// would otherwise serialise threads that each redact a large buffer.
pub(crate) fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    if data.len() < DETACHED_COPY {
        return Ok(PyBytes::new(py, data));
    }
    filled_bytes(py, data.len(), |dest| dest.copy_from_slice(data))
}

/// A new bytes object of `len` bytes, written by `fill` with the GIL
/// released: the one copy of a large output, straight into its object.
pub(crate) fn filled_bytes<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl FnOnce(&mut [u8]) + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("output too large"))?;
    // SAFETY: PyBytes_FromStringAndSize(NULL, len) returns a new bytes
    // object (or NULL with an exception set) whose `len` bytes are to be
    // written before it is shared. Until this function returns it, `bytes`
    // is its only reference, so no other thread can reach it while the GIL
    // is released, and its buffer lives as long as `bytes`.
    unsafe {
        let ptr = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        let bytes = Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked::<PyBytes>();
        let buffer = pyo3::ffi::PyBytes_AsString(ptr).cast::<u8>();
        let dest = std::slice::from_raw_parts_mut(buffer, len);
        if len < DETACHED_COPY {
            fill(dest);
        } else {
            py.detach(|| {
                advise_huge_pages(dest.as_mut_ptr(), dest.len());
                fill(dest);
            });
        }
        Ok(bytes)
    }
}

/// Outputs at least this long ask the kernel for huge pages.
pub(crate) const HUGE_OUTPUT: usize = 8 << 20;

/// Asks the kernel to back the fresh buffer `dest` with huge pages where
/// it can (transparent huge pages, in their `madvise` mode too): a large
/// output is otherwise written at the speed of its page faults, one per
/// 4 KiB, which costs more than the engine's whole scan of the input. Only
/// the 2 MiB-aligned interior of the `len` bytes at `dest` is advised; the
/// advice changes no content.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
pub(crate) fn advise_huge_pages(dest: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    if len >= HUGE_OUTPUT {
        const HUGE: usize = 2 << 20;
        let start = (dest as usize).next_multiple_of(HUGE);
        let end = (dest as usize + len) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the `len` bytes at `dest`,
            // memory this process owns; MADV_HUGEPAGE is advice and changes no byte (an error,
            // where huge pages are off, changes nothing either).
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
}

/// The engine's output for one input, kept as pieces: runs of the input
/// itself, by position, and the bytes written from elsewhere (markers, the
/// held-back tail), in one side buffer. Its length is known before any of
/// it is copied, so the output is copied once, into an object of its exact
/// size; a large input is not copied into a growing buffer first.
pub(crate) struct Pieces<'a> {
    input: &'a [u8],
    /// In output order: `(true, range)` is `input[range]`, `(false,
    /// range)` is `other[range]`.
    runs: Vec<(bool, std::ops::Range<usize>)>,
    other: Vec<u8>,
    pub(crate) len: usize,
}

impl<'a> Pieces<'a> {
    /// Pieces of an output whose unchanged runs are taken from `input`.
    pub(crate) fn new(input: &'a [u8]) -> Pieces<'a> {
        Pieces { input, runs: Vec::new(), other: Vec::new(), len: 0 }
    }

    /// `input` redacted with `rules`, as [`phx_redact::redact`] gives it.
    /// The second value is the number of tokens redacted: none means the
    /// output is the input (the engine changes tokens only).
    pub(crate) fn redact(rules: &Arc<RuleSet>, input: &'a [u8]) -> (Pieces<'a>, u64) {
        let mut pieces = Pieces::new(input);
        let mut engine = Engine::new(Arc::clone(rules));
        // Writing into pieces cannot fail.
        let _ = engine.feed(input, &mut pieces).and_then(|()| engine.finish(&mut pieces));
        (pieces, engine.stats().total_tokens())
    }

    /// The output, in a new vector of its exact size.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        advise_huge_pages(out.as_mut_ptr(), out.capacity());
        for (from_input, range) in &self.runs {
            out.extend_from_slice(self.piece(*from_input, range));
        }
        out
    }

    pub(crate) fn piece(&self, from_input: bool, range: &std::ops::Range<usize>) -> &[u8] {
        if from_input { &self.input[range.clone()] } else { &self.other[range.clone()] }
    }

    /// Copies the output into `dest`, which is [`Pieces::len`] bytes long.
    pub(crate) fn copy_to(&self, dest: &mut [u8]) {
        let mut at = 0;
        for (from_input, range) in &self.runs {
            let src = self.piece(*from_input, range);
            dest[at..at + src.len()].copy_from_slice(src);
            at += src.len();
        }
        debug_assert_eq!(at, dest.len());
    }
}

impl Write for Pieces<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.len += buf.len();
        // The engine writes the bytes it passes as slices of the buffer it
        // was fed: those are kept by position. Addresses are compared only.
        let (start, base) = (buf.as_ptr() as usize, self.input.as_ptr() as usize);
        let (from_input, range) = if start >= base && start + buf.len() <= base + self.input.len() {
            (true, start - base..start - base + buf.len())
        } else {
            self.other.extend_from_slice(buf);
            (false, self.other.len() - buf.len()..self.other.len())
        };
        match self.runs.last_mut() {
            Some((last_kind, last)) if *last_kind == from_input && last.end == range.start => {
                last.end = range.end;
            }
            _ => self.runs.push((from_input, range)),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
