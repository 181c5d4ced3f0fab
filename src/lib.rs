//! Redact PostHog secret keys from logs and streams, at memchr speed and in
//! constant memory.
//!
//! The engine is [`Redactor`]: feed it a stream in chunks of any size and it
//! writes the same bytes with every secret token replaced by a marker. Its
//! output is exactly what `regex::bytes::Regex::replace_all` gives over the
//! whole input, however the input is split. The rules are data
//! ([`Rule`], compiled into a [`RuleSet`]).
//!
//! ```
//! use phx_redact::{Redactor, RuleSet};
//! use std::sync::Arc;
//!
//! let mut redactor = Redactor::new(Arc::new(RuleSet::default_rules(false)));
//! let log = format!("curl -H 'Authorization: Bearer phs_{}'\n", "Z9".repeat(24));
//! let mut out = Vec::new();
//! redactor.feed(log.as_bytes(), &mut out)?;
//! redactor.finish(&mut out)?;
//! assert_eq!(out, b"curl -H 'Authorization: Bearer phs_[REDACTED]'\n");
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs)]
// rust-version 1.95 turns on let-chain suggestions; taking them would
// rewrite the engine's hot path, which is kept exactly as benchmarked.
#![allow(clippy::collapsible_if)]

// The layers, each importing only from the ones above it: the engine (pure
// computation), the I/O adapters (`std::io` around the engine), the
// application (files, compression, walks, threads, follow mode) and the
// command line. The last two exist only with the `cli` feature.
pub mod engine;
mod error;
pub mod io;

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod app;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;

pub use engine::{Finding, Redactor, Rule, RuleSet, Stats, fingerprint, rules};
pub use error::Error;
#[cfg(feature = "tracing")]
pub use io::RedactMakeWriter;
pub use io::{RedactReader, RedactWriter};

// The application's modules at their old paths, for the binary and the
// integration tests; not part of the documented API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub use app::{batch, check, compress, filter, follow, policy, sample, scrub, walk};
#[cfg(feature = "cli")]
#[doc(hidden)]
pub use cli::exit_codes;

/// The README's examples run as doctests, so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
