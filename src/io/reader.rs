//! [`RedactReader`]: the engine as a `std::io::Read` adapter.

use std::{
    fmt,
    io::{self, Read},
    sync::Arc,
};

use super::retry::{READ_SIZE, read_retrying};
use crate::engine::{Redactor, RuleSet};

/// A reader that yields the redacted content of another.
///
/// ```
/// use phx_redact::{RedactReader, RuleSet};
/// use std::{io::Read, sync::Arc};
///
/// let env = format!("HOME=/root\nPOSTHOG_KEY=phx_{}\n", "Q7".repeat(24));
/// let mut reader = RedactReader::new(env.as_bytes(), Arc::new(RuleSet::default_rules(false)));
/// let mut clean = String::new();
/// reader.read_to_string(&mut clean)?;
/// assert_eq!(clean, "HOME=/root\nPOSTHOG_KEY=phx_[REDACTED]\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RedactReader<R: Read> {
    inner: R,
    redactor: Redactor,
    input: Vec<u8>,
    /// Redacted bytes not yet handed out: `output[pos..]`.
    output: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> RedactReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, rules: Arc<RuleSet>) -> RedactReader<R> {
        RedactReader {
            inner,
            redactor: Redactor::new(rules),
            input: vec![0; READ_SIZE],
            output: Vec::with_capacity(READ_SIZE),
            pos: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for RedactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.output.len() {
            if self.done {
                return Ok(0);
            }
            self.output.clear();
            self.pos = 0;
            match read_retrying(&mut self.inner, &mut self.input) {
                Ok(0) => {
                    self.redactor.finish(&mut self.output)?;
                    self.done = true;
                }
                Ok(n) => self.redactor.feed(&self.input[..n], &mut self.output)?,
                Err(e) => return Err(e),
            }
        }
        let n = buf.len().min(self.output.len() - self.pos);
        buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read> fmt::Debug for RedactReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactReader").field("redactor", &self.redactor).finish_non_exhaustive()
    }
}
