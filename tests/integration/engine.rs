//! The engine against the regex oracle, over generated inputs and every way
//! of chunking them.

use phx_redact::{
    RuleSet,
    sample::{self, Era, KeyGen},
};
use proptest::prelude::*;

use crate::common::{oracle, redact_chunked};

/// Fragments that make inputs rich in near misses: partial prefixes, bodies
/// just under, at and over 20 characters, underscores, glued keys.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let alnum = "[A-Za-z0-9]{0,24}";
    prop_oneof![
        3 => prop::sample::select(vec![
            "p", "ph", "phx", "phx_", "phs_", "pha_", "phr_", "phc_", "PHX_", "phx-", "_", "__",
            " ", "\n", "\r\n", "\0", "\u{ff}", "=", "Bearer ", "phx_join", "phphx_",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => alnum.prop_map(String::into_bytes),
        2 => (19usize..=21, any::<u64>()).prop_map(|(n, seed)| KeyGen::new(seed).alnum(n).into_bytes()),
        2 => (any::<u64>(), 0usize..3, 0usize..5).prop_map(|(seed, era, kind)| {
            let kind = ["phx", "phs", "pha", "phr", "phc"][kind];
            KeyGen::new(seed).key(kind, Era::ALL[era]).into_bytes()
        }),
        // Long bodies with underscores anywhere: keys by length alone.
        1 => "[A-Za-z0-9_]{38,42}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..40).prop_map(|parts| parts.concat())
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![1]), Just(vec![usize::MAX]), prop::collection::vec(1usize..70, 1..12),]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn equals_the_oracle_for_any_chunking(input in input(), sizes in chunk_sizes(), public in any::<bool>()) {
        prop_assert_eq!(redact_chunked(&input, &sizes, public), oracle(&input, public));
    }

    #[test]
    fn a_second_run_changes_nothing(input in input()) {
        let once = redact_chunked(&input, &[usize::MAX], false);
        prop_assert_eq!(redact_chunked(&once, &[7], false), once);
    }
}

#[test]
fn keys_of_every_kind_and_era_are_redacted() {
    let mut keys = KeyGen::new(11);
    for era in Era::ALL {
        for kind in ["phx", "phs", "pha", "phr"] {
            let key = keys.key(kind, era);
            let line = format!("x={key}\n");
            assert_eq!(
                redact_chunked(line.as_bytes(), &[3], false),
                format!("x={kind}_[REDACTED]\n").as_bytes()
            );
        }
    }
}

#[test]
fn lookalikes_pass_untouched() {
    let mut keys = KeyGen::new(5);
    let public = keys.key("phc", Era::Current);
    let line = format!(
        "phx_join phx_reply phx_ref phx_{} PHX_{} phx-{} {public}\n",
        keys.alnum(19),
        keys.alnum(40),
        keys.alnum(40)
    );
    assert_eq!(redact_chunked(line.as_bytes(), &[1], false), line.as_bytes());
    // ... and the public key goes when asked for.
    let redacted = redact_chunked(line.as_bytes(), &[1], true);
    assert_eq!(redacted, line.replace(&public, "phc_[REDACTED]").as_bytes());
}

#[test]
fn a_long_body_with_an_early_underscore_is_a_key() {
    // Peer scanners call 40 or more of `[A-Za-z0-9_]` a key wherever the `_`
    // falls; 39 with an early `_` is still not one.
    let mut keys = KeyGen::new(12);
    for kind in ["phx", "phs", "pha", "phr"] {
        let long = format!("{kind}_ab_{}", keys.alnum(37));
        let short = format!("{kind}_ab_{}", keys.alnum(36));
        let phoenix = format!("phx_join_{}", keys.alnum(5));
        let line = format!("a={long} b={short} {phoenix}\n");
        let expected = format!("a={kind}_[REDACTED] b={short} {phoenix}\n");
        for size in [1, 3, 1000] {
            assert_eq!(redact_chunked(line.as_bytes(), &[size], false), expected.as_bytes());
        }
    }
}

#[test]
fn glued_keys_are_one_token() {
    let mut keys = KeyGen::new(9);
    let glued =
        format!("{}{}{}\n", keys.key("phx", Era::Current), keys.key("phs", Era::Legacy), "tail");
    assert_eq!(redact_chunked(glued.as_bytes(), &[5], false), b"phx_[REDACTED]\n");
}

#[test]
fn a_failed_candidate_does_not_hide_a_key_inside_it() {
    // `phx_` with 11 characters then `_`: no token there, but one starts inside.
    let mut keys = KeyGen::new(2);
    let key = keys.key("phx", Era::Base62);
    let input = format!("phx_{}{key}_x", keys.alnum(11));
    let expected = oracle(input.as_bytes(), false);
    assert!(String::from_utf8_lossy(&expected).contains("phx_[REDACTED]"));
    for size in [1, 2, 3, 5, 24, 1000] {
        assert_eq!(redact_chunked(input.as_bytes(), &[size], false), expected, "chunks of {size}");
    }
}

#[test]
fn realistic_logs_equal_the_oracle_in_read_sized_chunks() {
    let log = sample::log(42, 20_000, 3);
    for sizes in [vec![64 * 1024], vec![4096, 1, 17], vec![1]] {
        assert_eq!(redact_chunked(&log, &sizes, false), oracle(&log, false));
    }
}

#[test]
fn the_default_rules_hold_back_at_most_a_few_dozen_bytes() {
    // A prefix and 40 body bytes (a body with an early `_` is decided at
    // 40), plus the byte by which a DFA reports a match late.
    for public in [false, true] {
        assert_eq!(RuleSet::default_rules(public).max_held(), 45);
    }
}

#[test]
fn a_token_of_any_length_is_one_marker() {
    let mut input = b"a phx_".to_vec();
    input.extend(std::iter::repeat_n(b'Z', 1 << 20));
    input.extend_from_slice(b" b");
    assert_eq!(redact_chunked(&input, &[4093], false), b"a phx_[REDACTED] b");
}

#[test]
fn debug_output_never_shows_held_bytes() {
    let mut keys = KeyGen::new(3);
    let key = keys.key("phx", Era::Current);
    let mut redactor =
        phx_redact::Redactor::new(std::sync::Arc::new(RuleSet::default_rules(false)));
    let mut out = Vec::new();
    redactor.feed(&key.as_bytes()[..23], &mut out).unwrap();
    assert_eq!(redactor.held(), 23);
    let debug = format!("{redactor:?}");
    assert!(!debug.contains(&key[4..20]), "{debug}");
}
