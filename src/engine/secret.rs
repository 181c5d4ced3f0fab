//! A token's own bytes, which a finding carries only when its rules were
//! asked to ([`RuleSet::capture_tokens`](crate::RuleSet::capture_tokens)):
//! what a check that asks PostHog whether a key is live must send. Its
//! `Debug` shows only its length, so that no `{:?}` of a finding, a list
//! or an error prints it.

/// The longest token carried: PostHog's keys are about fifty bytes; a
/// longer run is not a key to send anywhere.
pub const CAPTURE_MAX: usize = 256;

/// A token's bytes. Only [`Secret::expose`] shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<[u8]>);

impl Secret {
    pub(crate) fn new(bytes: &[u8]) -> Secret {
        Secret(bytes.into())
    }

    /// The token's bytes: for a request's header or body, never a message.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}
