//! Fingerprints: a short keyed hash of a token, so that the same key can be
//! followed across lines and files without being revealed.
//!
//! The hash is BLAKE3, in keyed mode when a key is given. Without a key it
//! is plain BLAKE3, which is safe for PostHog's keys: their bodies hold
//! about 280 bits of randomness, so nobody can find the key from its hash by
//! guessing. It is not safe for a custom rule that matches something with
//! little entropy (a PIN, a short password): anyone can hash every
//! candidate and compare. Use a key for those.

use std::path::Path;

use crate::error::Error;

/// The environment variable a fingerprint key may come from.
pub const KEY_ENV: &str = "PHX_REDACT_FINGERPRINT_KEY";

/// The largest key file read: a key is a few dozen bytes.
pub const KEY_FILE_LIMIT: u64 = 64 * 1024;

/// The fewest bytes a key may have.
pub const MIN_KEY_LEN: usize = 16;

/// Context string for BLAKE3's key derivation: a key given by the user is
/// never used as is, so that the same secret used elsewhere is not exposed.
const CONTEXT: &str = "phx-redact 2026-11 token fingerprint key";

/// Hashes tokens, keyed or not. Its `Debug` never shows the key.
#[derive(Clone, Default)]
pub struct Fingerprinter {
    key: Option<[u8; 32]>,
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fingerprinter").field("keyed", &self.key.is_some()).finish()
    }
}

impl Fingerprinter {
    /// Unkeyed: see the module docs for when that is safe.
    pub fn unkeyed() -> Fingerprinter {
        Fingerprinter { key: None }
    }

    /// Keyed with a key derived from `material`.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when `material` is shorter than [`MIN_KEY_LEN`].
    pub fn keyed(material: &[u8]) -> Result<Fingerprinter, Error> {
        let material = material.trim_ascii_end();
        if material.len() < MIN_KEY_LEN {
            return Err(Error::Usage(format!(
                "the fingerprint key is too short: use at least {MIN_KEY_LEN} random bytes"
            )));
        }
        Ok(Fingerprinter { key: Some(blake3::derive_key(CONTEXT, material)) })
    }

    /// The key from `file` if given, else from [`KEY_ENV`] if set, else none.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when the file cannot be read, is not a regular file,
    /// is larger than [`KEY_FILE_LIMIT`], or a key is too short.
    pub fn from_file_or_env(file: Option<&Path>) -> Result<Fingerprinter, Error> {
        if let Some(file) = file {
            let material = crate::engine::small_file::read_small_file(file, KEY_FILE_LIMIT)
                .map_err(|e| {
                    Error::Usage(format!("cannot read the fingerprint key {}: {e}", file.display()))
                })?;
            return Fingerprinter::keyed(&material);
        }
        match std::env::var_os(KEY_ENV) {
            Some(value) => Fingerprinter::keyed(value.as_encoded_bytes()),
            None => Ok(Fingerprinter::unkeyed()),
        }
    }

    /// Whether a key is in use.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// A hasher to feed a token to, piece by piece.
    pub(crate) fn hasher(&self) -> blake3::Hasher {
        match &self.key {
            Some(key) => blake3::Hasher::new_keyed(key),
            None => blake3::Hasher::new(),
        }
    }

    /// The hash of a whole token.
    pub fn hash(&self, token: &[u8]) -> [u8; 32] {
        *self.hasher().update(token).finalize().as_bytes()
    }

    /// The short form shown in markers and reports: 8 hex digits (32 bits),
    /// enough to tell the keys of one leak apart.
    pub fn short(&self, hash: &[u8; 32]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut short = String::with_capacity(8);
        for &b in &hash[..4] {
            short.push(char::from(HEX[usize::from(b >> 4)]));
            short.push(char::from(HEX[usize::from(b & 15)]));
        }
        short
    }
}
