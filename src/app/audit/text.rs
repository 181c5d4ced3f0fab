//! The text printer: one finding as `--check` prints it, `PATH:LINE:COLUMN:
//! RULE: MASK`, or `PATH:PLACE: RULE: MASK` for one outside the content (a
//! compressed file's header field or skippable frame, a name a diff adds).
//!
//! The list of keys that follows the findings prints from
//! [`keys`](super::keys), for text and JSON alike.

use std::io::{self, Write};

use crate::Finding;

/// Writes finding `f` of the input printed as `name`, found by the rule
/// printed as `rule`.
pub(crate) fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    f: &Finding,
    rule: &str,
) -> io::Result<()> {
    match f.place {
        // Not in the content: the field is the place, its line none.
        Some(place) => writeln!(out, "{name}:{place}: {rule}: {}", f.mask),
        None => writeln!(out, "{name}:{}:{}: {rule}: {}", f.line, f.column, f.mask),
    }
}
