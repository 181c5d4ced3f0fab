//! Redact PostHog secret keys from logs and streams, at memchr speed and in
//! constant memory.
//!
//! The engine is [`Redactor`]: feed it a stream in chunks of any size and it
//! writes the same bytes with every secret token replaced by a marker. Its
//! output is exactly what `regex::bytes::Regex::replace_all` gives over the
//! whole input, however the input is split. The rules are data
//! ([`Rule`], compiled into a [`RuleSet`]). [`RedactWriter`],
//! [`RedactReader`] and, with the `tracing` feature, `RedactMakeWriter`
//! put the engine behind `std::io` and `tracing-subscriber`.
//!
//! # Features
//!
//! - `cli` (default): the `phx-redact` binary and what it drives (files,
//!   compression, folders, threads, follow mode). Without it
//!   (`default-features = false`) the library is the engine and the I/O
//!   adapters alone, on regex-automata, regex-syntax, memchr and blake3.
//! - `rules-file` (in `cli`): `rules::load_rules_file`, rules from TOML.
//! - `tracing`: `RedactMakeWriter`, a `tracing-subscriber` writer factory.
//!
//! # Examples
//!
//! A [`RuleSet`]: the built-in rules, a custom rule, and a marker.
//!
//! ```
//! use phx_redact::{Rule, RuleSet, redact, rules::Options};
//!
//! let builtin = RuleSet::default_rules(false);
//! // phx_, phs_, pha_, phr_, posthog-legacy, posthog-legacy-bearer
//! assert_eq!(builtin.rules().len(), 6);
//!
//! let mut rules = Rule::defaults(false);
//! rules.push(Rule::custom("github", "ghp_[A-Za-z0-9]{36}"));
//! let options = Options { marker: "{prefix}[HIDDEN]".into(), ..Options::default() };
//! let set = std::sync::Arc::new(RuleSet::with_options(rules, options)?);
//! let line = format!("token=ghp_{}", "a".repeat(36));
//! assert_eq!(redact(&set, line.as_bytes()), b"token=ghp_[HIDDEN]");
//! # Ok::<(), phx_redact::Error>(())
//! ```
//!
//! A [`Redactor`], fed in chunks (a token split across two of them is still
//! one token), with the findings recorded:
//!
//! ```
//! use phx_redact::{Redactor, RuleSet};
//! use std::sync::Arc;
//!
//! let mut redactor = Redactor::new(Arc::new(RuleSet::default_rules(false))).record_findings();
//! let log = format!("curl -H 'Authorization: Bearer phs_{}'\n", "Z9".repeat(24));
//! let (first, second) = log.as_bytes().split_at(40);
//! let mut out = Vec::new();
//! redactor.feed(first, &mut out)?;
//! redactor.feed(second, &mut out)?;
//! redactor.finish(&mut out)?;
//! assert_eq!(out, b"curl -H 'Authorization: Bearer phs_[REDACTED]'\n");
//! let findings = redactor.take_findings();
//! assert_eq!((findings.len(), findings[0].line, findings[0].column), (1, 1, 32));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`RedactWriter`] and [`RedactReader`] wrap any writer or reader:
//!
//! ```
//! use phx_redact::{RedactReader, RedactWriter, RuleSet};
//! use std::{io::{Read, Write}, sync::Arc};
//!
//! let rules = Arc::new(RuleSet::default_rules(false));
//! let secret = format!("phx_{}", "k".repeat(40));
//!
//! let mut writer = RedactWriter::new(Vec::new(), Arc::clone(&rules));
//! writeln!(writer, "key={secret}")?;
//! assert_eq!(writer.into_inner()?, b"key=phx_[REDACTED]\n");
//!
//! let mut text = String::new();
//! RedactReader::new(secret.as_bytes(), rules).read_to_string(&mut text)?;
//! assert_eq!(text, "phx_[REDACTED]");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The tracing writer's example is on `RedactMakeWriter` (`tracing`
//! feature).
#![deny(missing_docs)]
// rust-version 1.95 turns on let-chain suggestions; taking them would
// rewrite the engine's hot path, which is kept exactly as benchmarked.
#![allow(clippy::collapsible_if)]

// The layers, each importing only from the ones below it: the engine (pure
// computation), the I/O adapters (`std::io` around the engine), the
// application (files, compression, walks, threads, follow mode: one folder
// per job) and the command line. The last two exist only with the `cli`
// feature. `tests/integration/floor_plan.rs` keeps the imports one way.
pub(crate) mod engine;
mod error;
pub(crate) mod io;

#[cfg(feature = "cli")]
pub mod app;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;

pub use engine::{
    CAPTURE_MAX, Finding, Mask, Redactor, Rule, RuleSet, Secret, Stats, fingerprint, redact, rules,
};
pub use error::Error;
#[cfg(feature = "tracing")]
pub use io::RedactMakeWriter;
pub use io::{RedactReader, RedactWriter};

/// What the integration tests, benchmarks and fuzz target need beyond the
/// public API: the sample-log generator and the sizes the drivers work in.
/// Not part of the API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod testing {
    pub use crate::app::{
        atomic::TEMP_PREFIX,
        filter::{
            READ_SIZE,
            readahead::AHEAD_SIZE,
            segments::{EXTEND_MAX, SEGMENT, SEGMENTS_FROM},
        },
        formats::GZIP_BLOCK,
        records::MAX_LINE as RECORD_LINE_MAX,
        sample,
    };
}

/// The README's examples run as doctests, so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The guide's Rust examples run as doctests too (its shell and Python
/// snippets are run by `tests/integration/docs.rs` and
/// `python/tests/test_docs.py`).
#[doc = include_str!("../docs/architecture.md")]
#[cfg(doctest)]
pub struct GuideDoctests;
