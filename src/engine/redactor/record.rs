//! What becomes of the bytes a scan has decided on: plain bytes are
//! written out, a token's bytes are taken into it and its marker written
//! when it ends; the stream's offset, lines, counts and findings follow.

use std::io;

use super::{
    Redactor,
    report::{Finding, Position},
};
use crate::engine::rules::CAPPED;

impl Redactor {
    /// Writes bytes that are not part of a token.
    #[inline]
    pub(super) fn pass<W: io::Write + ?Sized>(
        &mut self,
        bytes: &[u8],
        out: &mut W,
    ) -> io::Result<()> {
        self.advance(bytes);
        out.write_all(bytes)
    }

    /// Takes the next bytes of the current token.
    #[inline]
    pub(super) fn absorb(&mut self, bytes: &[u8]) {
        self.seen.absorb(bytes);
        self.advance(bytes);
    }

    #[inline]
    pub(super) fn advance(&mut self, bytes: &[u8]) {
        if let Some(findings) = &mut self.findings {
            if let Some(last) = memchr::memrchr(b'\n', bytes) {
                // SIMD counting: a memchr per line costs more than the
                // scan on lines of a hundred bytes.
                findings.newlines += bytecount::count(&bytes[..=last], b'\n') as u64;
                findings.line_start = self.offset + last as u64 + 1;
            }
        }
        self.offset += bytes.len() as u64;
    }

    #[inline]
    pub(super) fn begin_token(&mut self) {
        let recording = self.findings.is_some();
        let (ends, hash) = (self.rules.needs_ends || recording, self.rules.needs_hash || recording);
        self.seen.start(ends, hash, || self.rules.fingerprints.hasher());
        let (line, column) = self
            .findings
            .as_ref()
            .map_or((0, 0), |f| (f.newlines + 1, self.offset - f.line_start + 1));
        self.token_at = Position { offset: self.offset, line, column };
    }

    /// Ends the current token of the rule at index `rule` (`None`: cut at
    /// the cap).
    #[inline]
    pub(super) fn end_token<W: io::Write + ?Sized>(
        &mut self,
        rule: Option<usize>,
        out: &mut W,
    ) -> io::Result<()> {
        let rules = &*self.rules;
        let (name, marker, prefix) = match rule {
            Some(r) => {
                self.stats.tokens[r] += 1;
                let compiled = &rules.compiled[r];
                if let (Some(fixed), None) = (&compiled.fixed, &self.findings) {
                    return out.write_all(fixed);
                }
                let name = rules.rules()[r].name.as_str();
                (name, &compiled.marker, compiled.prefix.as_slice())
            }
            None => {
                self.stats.capped += 1;
                (CAPPED, &rules.capped_marker, &[][..])
            }
        };
        if let Some(findings) = &mut self.findings {
            findings.list.push(Finding {
                rule,
                offset: self.token_at.offset,
                line: self.token_at.line,
                column: self.token_at.column,
                len: self.seen.len,
                mask: self.seen.mask(),
                fingerprint: self.seen.hash(),
                place: None,
                secret: rule
                    .filter(|&r| rules.capture.get(r).copied().unwrap_or(false))
                    .and_then(|_| self.seen.secret()),
            });
        }
        marker.render(name, prefix, &self.seen, &rules.fingerprints, out)
    }
}
