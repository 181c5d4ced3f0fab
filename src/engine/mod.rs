//! The engine: rules as data, their compilation into one DFA and its
//! analyses, the streaming redactor, markers, fingerprints and the
//! prefilter. Pure computation: it writes into whatever `Write` it is
//! given and opens nothing (apart from reading a rules or key file when
//! asked to).

pub mod fingerprint;
pub(crate) mod marker;
pub(crate) mod prefilter;
pub(crate) mod redactor;
pub mod rules;
pub(crate) mod secret;
mod small_file;

pub use marker::Mask;
pub use redactor::{Finding, Redactor, Stats, redact};
pub use rules::{Rule, RuleSet};
pub use secret::{CAPTURE_MAX, Secret};
