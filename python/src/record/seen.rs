//! Strs the logging filter found clean, known again by identity (see
//! [`Seen`]).

use pyo3::{ffi, prelude::*, types::PyString};

/// Slots of [`Seen`]: a power of two.
const SEEN_SLOTS: usize = 512;

/// The longest str (in code points) [`Seen`]
/// keeps: names, not messages, so that what it keeps alive stays small.
const SEEN_MAX_LEN: usize = 512;

/// The most places of a record [`Seen`] remembers (a name and a value per
/// field: a standard record has about 20 fields).
const PLACES: usize = 128;

/// Exact strs a scan found clean, each held by a strong reference: while
/// it is here, its address cannot be given to another object, and a str
/// never changes, so the same address is the same text, clean. A field
/// that changes (a thread renamed to a key, say) is another object, and
/// is scanned.
///
/// Two ways to know one: by its place in the last records (the records of
/// a call site hold the same names and values in the same order, so a
/// field is known by one compare with the str last seen there), else in a
/// table direct-mapped by address (where a logger, a thread or a call site
/// alternates with another). A new entry takes its slot's place, so both
/// stay bounded and cost no more than a lookup.
pub(crate) struct Seen {
    slots: Vec<Option<Py<PyString>>>,
    /// The str last known clean at each place of a record's fields (see
    /// [`Seen::knows`]).
    places: Vec<Option<Py<PyString>>>,
}

impl Seen {
    pub(crate) fn new() -> Seen {
        Seen {
            slots: (0..SEEN_SLOTS).map(|_| None).collect(),
            places: (0..PLACES).map(|_| None).collect(),
        }
    }

    /// Whether [`Seen`] would keep `text`: a short str.
    pub(crate) fn keeps(text: &Bound<'_, PyString>) -> bool {
        // SAFETY: `text` is a live str.
        (unsafe { ffi::PyUnicode_GetLength(text.as_ptr()) }) <= SEEN_MAX_LEN as ffi::Py_ssize_t
    }

    fn slot(ptr: *mut ffi::PyObject) -> usize {
        // Fibonacci hashing of the address: objects are 16-byte aligned,
        // and neighbours should not share a slot.
        let hash = ((ptr as usize as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (hash >> (64 - SEEN_SLOTS.trailing_zeros())) as usize
    }

    /// Whether `ptr` is the str last known clean at place `place` of a
    /// record's fields (the name of field `i` at `2 i`, its value at
    /// `2 i + 1`): a compare that reads nothing of the object.
    #[inline]
    pub(crate) fn at_place(&self, place: usize, ptr: *mut ffi::PyObject) -> bool {
        self.places.get(place).is_some_and(|last| last.as_ref().is_some_and(|s| s.as_ptr() == ptr))
    }

    /// Whether the str `ptr`, at place `place` of a record's fields, is
    /// known clean (by its address: see [`Seen::at_place`] first).
    #[inline]
    pub(crate) fn knows(&mut self, py: Python<'_>, place: usize, ptr: *mut ffi::PyObject) -> bool {
        let Some(last) = self.places.get_mut(place) else {
            return self.slots[Seen::slot(ptr)].as_ref().is_some_and(|s| s.as_ptr() == ptr);
        };
        match &self.slots[Seen::slot(ptr)] {
            Some(known) if known.as_ptr() == ptr => {
                // The str at this place in the next records, likely.
                *last = Some(known.clone_ref(py));
                true
            }
            _ => false,
        }
    }

    /// Remembers `text`, found clean at `place`.
    pub(crate) fn insert(&mut self, py: Python<'_>, place: usize, text: Py<PyString>) {
        // The strs dropped, if these were their last references, are freed
        // with the GIL held and run no Python code (exact strs).
        if let Some(last) = self.places.get_mut(place) {
            *last = Some(text.clone_ref(py));
        }
        let slot = Seen::slot(text.as_ptr());
        self.slots[slot] = Some(text);
    }
}
