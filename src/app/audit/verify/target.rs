//! A key to ask PostHog about, as the audit found it.

use crate::Secret;

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
