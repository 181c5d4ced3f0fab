//! The oracle, input generators and a driver for the real binary.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Arc, OnceLock},
};

use phx_redact::{Redactor, RuleSet};
use regex::bytes::{Captures, Regex};

/// The definition of a token, written independently of the engine.
pub const TOKEN: &str = r"(phx|phs|pha|phr)_[A-Za-z0-9]{20}[A-Za-z0-9_]*";
pub const TOKEN_WITH_PUBLIC: &str = r"(phx|phs|pha|phr|phc)_[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// What the output must be: the regex over the whole input at once.
pub fn oracle(input: &[u8], include_public: bool) -> Vec<u8> {
    static RE: OnceLock<[Regex; 2]> = OnceLock::new();
    let [secret, public] =
        RE.get_or_init(|| [Regex::new(TOKEN).unwrap(), Regex::new(TOKEN_WITH_PUBLIC).unwrap()]);
    let re = if include_public { public } else { secret };
    re.replace_all(input, |c: &Captures| {
        let mut m = c[1].to_vec();
        m.extend_from_slice(b"_[REDACTED]");
        m
    })
    .into_owned()
}

/// The engine fed `input` in pieces of the given sizes (cycled).
pub fn redact_chunked(input: &[u8], sizes: &[usize], include_public: bool) -> Vec<u8> {
    let rules = rules(include_public);
    let max_held = rules.max_held();
    let mut redactor = Redactor::new(rules);
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        let (chunk, tail) = rest.split_at(n);
        redactor.feed(chunk, &mut out).unwrap();
        assert!(redactor.held() <= max_held, "held {} > bound {max_held}", redactor.held());
        rest = tail;
    }
    redactor.finish(&mut out).unwrap();
    assert_eq!(redactor.held(), 0);
    out
}

/// Whether `hay` contains `needle`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_phx-redact"))
}

/// A command for the real binary with stdin, stdout and stderr piped.
pub fn cmd() -> Command {
    let mut c = Command::new(bin());
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// The default rules, compiled once per test process.
pub fn rules(include_public: bool) -> Arc<RuleSet> {
    static RULES: OnceLock<[Arc<RuleSet>; 2]> = OnceLock::new();
    let [secret, public] = RULES.get_or_init(|| {
        [Arc::new(RuleSet::default_rules(false)), Arc::new(RuleSet::default_rules(true))]
    });
    Arc::clone(if include_public { public } else { secret })
}
