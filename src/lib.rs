//! Redact PostHog secret keys from logs and streams, at memchr speed and in
//! constant memory.
//!
//! The engine is [`Redactor`]: feed it a stream in chunks of any size and it
//! writes the same bytes with every secret token replaced by a marker. Its
//! output is exactly what `regex::bytes::Regex::replace_all` gives over the
//! whole input, however the input is split. The rules are data
//! ([`Rule`], compiled into a [`RuleSet`]); [`filter`] drives a redactor over
//! files and standard input.
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

pub mod batch;
pub mod check;
pub mod cli;
pub mod compress;
mod error;
pub mod exit_codes;
pub mod filter;
pub mod fingerprint;
pub mod follow;
pub mod marker;
pub mod policy;
mod prefilter;
mod redact_io;
mod redactor;
pub mod rules;
pub mod sample;
pub mod scrub;
pub mod walk;

pub use error::Error;
#[cfg(feature = "tracing")]
pub use redact_io::RedactMakeWriter;
pub use redact_io::{RedactReader, RedactWriter};
pub use redactor::{Finding, Redactor, Stats};
pub use rules::{Rule, RuleSet};

/// The README's examples run as doctests, so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
