//! The engine, fed the input in pieces whose sizes come from the fuzz input,
//! must give exactly what the regex gives over the whole input at once.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use phx_redact::{Redactor, RuleSet};
use regex::bytes::{Captures, Regex};

static RULES: LazyLock<[Arc<RuleSet>; 2]> = LazyLock::new(|| {
    [Arc::new(RuleSet::default_rules(false)), Arc::new(RuleSet::default_rules(true))]
});
static ORACLE: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        Regex::new(r"(phx|phs|pha|phr)_[A-Za-z0-9]{20}[A-Za-z0-9_]*").unwrap(),
        Regex::new(r"(phx|phs|pha|phr|phc)_[A-Za-z0-9]{20}[A-Za-z0-9_]*").unwrap(),
    ]
});

fuzz_target!(|data: &[u8]| {
    // Layout: [flags][n][n split sizes][input...]. Bit 0 of flags picks the
    // rule set; the sizes are cycled, 0 meaning 1.
    let Some((&flags, rest)) = data.split_first() else { return };
    let Some((&n, rest)) = rest.split_first() else { return };
    let n = usize::from(n % 16).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    let public = usize::from(flags & 1);

    let expected = ORACLE[public].replace_all(input, |c: &Captures| {
        let mut marker = c[1].to_vec();
        marker.extend_from_slice(b"_[REDACTED]");
        marker
    });

    let rules = Arc::clone(&RULES[public]);
    let max_held = rules.max_held();
    let mut redactor = Redactor::new(rules);
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes.get(i % sizes.len().max(1)).map_or(rest.len(), |&s| usize::from(s).max(1));
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        redactor.feed(chunk, &mut out).unwrap();
        assert!(redactor.held() <= max_held);
        rest = tail;
        i += 1;
    }
    redactor.finish(&mut out).unwrap();
    assert_eq!(out, expected.as_ref());
});
