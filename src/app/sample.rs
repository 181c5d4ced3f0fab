//! Seeded generators of PostHog-shaped keys and of logs that hold them.
//!
//! Tests, benchmarks, the fuzz corpus and `phx-redact --generate-sample`
//! all build their keys here, at run time, so that no key-shaped string is
//! ever committed. The keys are random and belong to no one.
//!
//! ```
//! use phx_redact::testing::sample::{Era, KeyGen};
//!
//! let mut keys = KeyGen::new(7);
//! let key = keys.key("phx", Era::Current);
//! assert!(key.starts_with("phx_") && (52..=53).contains(&key.len()));
//! ```

/// base62, as PostHog used before 2026-03.
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// URL-safe base64, as `secrets.token_urlsafe` writes it: legacy keys.
const URLSAFE: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
/// base57: base62 without the look-alikes `0 1 O I l`, used since 2026-03.
const BASE57: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// An era of PostHog's key formats (see `posthog/models/utils.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// Since 2026-03: base57 bodies, 48–49 long (44 for `pha`, `phr`, `phc`).
    Current,
    /// 2024–26: base62 bodies, 45–48 long for `phx` (about 43 for the others).
    Base62,
    /// Before 2024: base62 bodies, 41–43 long.
    Legacy,
}

impl Era {
    /// Every era, oldest last.
    pub const ALL: [Era; 3] = [Era::Current, Era::Base62, Era::Legacy];
}

/// Makes keys from a seed: the same seed, the same keys.
#[derive(Clone, Debug)]
pub struct KeyGen {
    rng: fastrand::Rng,
}

impl KeyGen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> KeyGen {
        KeyGen { rng: fastrand::Rng::with_seed(seed) }
    }

    /// A key of `kind` (`phx`, `phs`, `pha`, `phr`, `phc`) in the format
    /// of `era`.
    pub fn key(&mut self, kind: &str, era: Era) -> String {
        let (alphabet, lengths) = match (era, kind) {
            (Era::Current, "pha" | "phr" | "phc") => (BASE57, 44..=44),
            (Era::Current, _) => (BASE57, 48..=49),
            (Era::Base62, "phx") => (BASE62, 45..=48),
            (Era::Base62, _) => (BASE62, 43..=43),
            (Era::Legacy, _) => (BASE62, 41..=43),
        };
        let len = self.rng.usize(lengths);
        format!("{kind}_{}", self.body(alphabet, len))
    }

    /// A secret key (not `phc`) of a random kind and era.
    pub fn secret(&mut self) -> String {
        let kind = ["phx", "phx", "phx", "phs", "pha", "phr"][self.rng.usize(..6)];
        let era = Era::ALL[self.rng.usize(..3)];
        self.key(kind, era)
    }

    /// A personal API key as PostHog made them before 2021-06-23, with no
    /// prefix: `secrets.token_urlsafe(32)`, 43 URL-safe base64 characters.
    pub fn legacy_personal(&mut self) -> String {
        self.body(URLSAFE, 43)
    }

    /// A 43-character value that is not a legacy key but looks like one to
    /// a rule that went by shape alone: hashes in base64url (a SHA-256 is 43
    /// characters unpadded), hex and UUIDs without dashes padded to 43,
    /// other vendors' tokens.
    pub fn legacy_lookalike(&mut self) -> String {
        let hex = b"0123456789abcdef";
        match self.rng.usize(..4) {
            0 => self.body(URLSAFE, 43),
            1 => format!("{}{}", self.body(hex, 32), self.body(hex, 11)),
            2 => format!("sk_live_{}", self.body(BASE62, 35)),
            _ => format!("{}-{}", self.body(hex, 8), self.body(BASE62, 34)),
        }
    }

    /// `len` random base62 characters: a key body, or a near miss.
    pub fn alnum(&mut self, len: usize) -> String {
        self.body(BASE62, len)
    }

    /// Something that looks like a key to a careless rule but is not a
    /// secret: Phoenix channel events, short bodies, other cases and
    /// separators, public project keys.
    pub fn decoy(&mut self) -> String {
        match self.rng.usize(..8) {
            0 => "phx_join".into(),
            1 => "phx_reply".into(),
            2 => "phx_ref".into(),
            3 => format!("phx_{}", self.alnum(19)),
            4 => format!("PHX_{}", self.alnum(45)),
            5 => format!("phx-{}", self.alnum(45)),
            6 => self.key("phc", Era::Current),
            _ => format!("graph_{}", self.alnum(30)),
        }
    }

    fn body(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(alphabet[self.rng.usize(..alphabet.len())])).collect()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }
}

/// A synthetic log of `lines` lines in access-log, JSON, env-dump and plain
/// shapes, where on average one line in `one_in` holds a key, half of them
/// secrets and half decoys (`one_in == 1`: every line; `0`: none).
/// Lines end in `\n`. See [`write_log`] for a log too large to hold.
pub fn log(seed: u64, lines: usize, one_in: usize) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_log(seed, lines, one_in, &mut out);
    out
}

/// Writes the log [`log`] makes, line by line, into `out`: memory stays
/// flat however many lines are asked for, and a reader that stops early
/// (`| head`) stops the writing.
///
/// # Errors
///
/// Those of `out`.
pub fn write_log<W: std::io::Write + ?Sized>(
    seed: u64,
    lines: usize,
    one_in: usize,
    out: &mut W,
) -> std::io::Result<()> {
    let mut keys = KeyGen::new(seed);
    for n in 0..lines {
        let roll = if one_in == 0 { 2 } else { keys.rng.usize(..one_in.saturating_mul(2)) };
        let value = match roll {
            0 => keys.secret(),
            1 => keys.decoy(),
            _ => keys.alnum(12),
        };
        let mut line = log_line(&mut keys, n, &value);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn log_line(keys: &mut KeyGen, n: usize, value: &str) -> String {
    let (h, m, s) = (n / 3600 % 24, n / 60 % 60, n % 60);
    match keys.rng.usize(..5) {
        0 => {
            let path =
                keys.pick(&["/api/projects/1/insights/", "/api/event/", "/decide/", "/batch/"]);
            let status = keys.pick(&["200", "200", "201", "401", "500"]);
            format!(
                "10.1.{}.{} - - [28/Nov/2026:{h:02}:{m:02}:{s:02} +0000] \"GET {path}?personal_api_key={value}&limit=100 HTTP/1.1\" {status} {} \"-\" \"posthog-python/3.7.0\"",
                n % 250,
                n % 7,
                keys.rng.usize(100..90_000),
            )
        }
        1 => {
            let level = keys.pick(&["info", "info", "debug", "warn", "error"]);
            format!(
                "{{\"ts\":\"2026-11-28T{h:02}:{m:02}:{s:02}Z\",\"level\":\"{level}\",\"msg\":\"outgoing request\",\"headers\":{{\"authorization\":\"Bearer {value}\",\"content-type\":\"application/json\"}},\"latency_ms\":{}}}",
                keys.rng.usize(1..900),
            )
        }
        2 => {
            let name = keys.pick(&[
                "POSTHOG_PERSONAL_API_KEY",
                "POSTHOG_API_KEY",
                "PH_TOKEN",
                "FLAGS_SECURE_KEY",
            ]);
            format!("{name}={value}")
        }
        3 => format!(
            "2026-11-28 {h:02}:{m:02}:{s:02},{:03} DEBUG posthog.client: sending batch of {} events with token={value}",
            n % 1000,
            keys.rng.usize(1..500),
        ),
        _ => format!(
            "2026-11-28T{h:02}:{m:02}:{s:02}Z worker[{}]: processed job {value} in {} ms; queue depth {}",
            n % 16,
            keys.rng.usize(1..5000),
            keys.rng.usize(0..100),
        ),
    }
}
