//! A key to ask PostHog about, as the audit found it.

use crate::{Finding, RuleSet, Secret};

/// A key to ask about: its fingerprint and mask, as the key list shows
/// them, and the key itself (whose `Debug` shows only its length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its short fingerprint, as the key list shows it.
    pub fingerprint: String,
    /// PostHog's mask of it.
    pub mask: String,
    pub(crate) secret: Secret,
}

impl Target {
    /// The key of `finding`, found under `rules`, if the finding carries it
    /// (its rule is one of those [`RuleSet::capture_tokens`] named): what
    /// the Python module and the Spark job ask about.
    pub fn from_finding(finding: &Finding, rules: &RuleSet) -> Option<Target> {
        Some(Target {
            fingerprint: rules.fingerprints.short(&finding.fingerprint),
            mask: finding.mask.to_string(),
            secret: finding.secret.clone()?,
        })
    }
}
