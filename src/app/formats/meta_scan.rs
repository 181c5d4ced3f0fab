//! The bytes of a compressed file that are not its content: gzip's header
//! fields (FNAME, which `gzip` writes for every named file, FCOMMENT and
//! FEXTRA, in each member) and the payloads of zstd's and lz4's skippable
//! frames. A key there would be invisible to a scan of the content, and a
//! copy of the file would carry it on; so the decoders hand those bytes
//! here, where each field is scanned as a stream of its own, and what is
//! found counts as the file's (see [`Redactor::add_found`]). A file whose
//! only key is in such a field is therefore not clean: `--check` reports
//! it, with the field as its place, and a scrub rewrites the file, which
//! writes no such field.
//!
//! Memory stays bounded whatever a field's length (a skippable frame may
//! declare 4 GiB): the field streams through a [`Redactor`], and at most
//! [`MAX_PENDING`] findings wait between two hand-overs (those beyond are
//! counted, not listed).

use std::{cell::RefCell, io, rc::Rc, sync::Arc};

use crate::{Finding, Redactor, RuleSet, Stats};

/// The scanner the decoders of one input share, layers included.
pub(crate) type MetaSink = Rc<RefCell<MetaScan>>;

/// The most findings in fields kept between two hand-overs to the
/// content's redactor: one read of the content can pass over any number
/// of fields (a skippable frame of 4 GiB, a million empty gzip members).
pub(crate) const MAX_PENDING: usize = 1024;

/// Scans fields, one at a time, and keeps what it found for the content's
/// redactor.
pub(crate) struct MetaScan {
    scanner: Redactor,
    /// The field being scanned.
    place: &'static str,
    /// Findings not handed over yet.
    pending: Vec<Finding>,
    /// The scanner's counts at the last hand-over.
    handed: Stats,
}

impl MetaScan {
    /// A scanner under `rules`, to share between an input's decoders.
    pub(crate) fn sink(rules: &Arc<RuleSet>) -> MetaSink {
        let scanner = Redactor::new(Arc::clone(rules)).record_findings();
        let handed = scanner.stats().clone();
        Rc::new(RefCell::new(MetaScan { scanner, place: "", pending: Vec::new(), handed }))
    }

    /// Starts a field at `place`, whose bytes [`MetaScan::feed`] takes.
    pub(crate) fn start(&mut self, place: &'static str) {
        self.place = place;
    }

    /// The next bytes of the field.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        // A sink cannot fail to be written.
        let _ = self.scanner.feed(data, &mut io::sink());
        self.collect();
    }

    /// Ends the field: what the scanner held back is scanned too.
    pub(crate) fn end(&mut self) {
        let _ = self.scanner.finish(&mut io::sink());
        self.collect();
    }

    fn collect(&mut self) {
        for mut finding in self.scanner.take_findings() {
            if self.pending.len() < MAX_PENDING {
                finding.place = Some(self.place);
                self.pending.push(finding);
            }
        }
    }

    /// Hands what was found since the last call to `content`, the
    /// redactor of the input's content.
    pub(crate) fn hand_over(&mut self, content: &mut Redactor) {
        let now = self.scanner.stats();
        if now.total_tokens() == self.handed.total_tokens() {
            return;
        }
        let tokens = now.tokens.iter().zip(&self.handed.tokens).map(|(n, h)| n - h).collect();
        let found = Stats { bytes_in: 0, tokens, capped: now.capped - self.handed.capped };
        self.handed = now.clone();
        content.add_found(&found, self.pending.drain(..));
    }
}
