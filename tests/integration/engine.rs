//! The engine against the regex oracle, over generated inputs and every way
//! of chunking them.

use phx_redact::{
    RuleSet,
    testing::sample::{self, Era, KeyGen},
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
        // Runs with underscores: before a run of 20 (at, under and over the
        // 21st byte), and long runs with no 20 in a row at all.
        1 => "[A-Za-z0-9_]{38,42}".prop_map(String::into_bytes),
        1 => ("[A-Za-z0-9]{0,6}(_[A-Za-z0-9]{0,5}){1,5}", 19usize..=21, any::<u64>())
            .prop_map(|(lead, n, seed)| format!("{lead}{}", KeyGen::new(seed).alnum(n)).into_bytes()),
        1 => (1usize..20).prop_map(|n| "phx_".repeat(n).into_bytes()),
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
    // Up to 20 bytes with an `_` before 20 letters or digits in a row do not
    // hide a key (kingfisher's `phx_` + 14 + `_` + 28 among them); from the
    // 22nd byte on, the 20 in a row come too late.
    let mut keys = KeyGen::new(12);
    for kind in ["phx", "phs", "pha", "phr"] {
        let early = format!("{kind}_ab_{}", keys.alnum(20));
        let kingfisher = format!("{kind}_{}_{}", keys.alnum(14), keys.alnum(28));
        let at_21 = format!("{kind}_{}{}", "a_".repeat(10), keys.alnum(20));
        let late = format!("{kind}_{}_{}", "a_".repeat(10), keys.alnum(30));
        let phoenix = format!("phx_join_{}", keys.alnum(5));
        let line = format!("a={early} b={kingfisher} c={at_21} d={late} {phoenix}\n");
        let expected = format!(
            "a={kind}_[REDACTED] b={kind}_[REDACTED] c={kind}_[REDACTED] d={late} {phoenix}\n"
        );
        for size in [1, 3, 1000] {
            assert_eq!(redact_chunked(line.as_bytes(), &[size], false), expected.as_bytes());
            assert_eq!(crate::common::oracle(line.as_bytes(), false), expected.as_bytes());
        }
    }
}

#[test]
fn a_long_run_with_no_twenty_in_a_row_is_not_a_key() {
    // mask-go's case: 16 bare prefixes, 64 bytes of `[A-Za-z0-9_]` with no
    // 20 letters or digits in a row. The rules of 2026-11 called any 40
    // such bytes a key.
    let bare = "phx_".repeat(16);
    let underscored = format!("phx_{}", "ab_".repeat(30));
    let line = format!("x={bare} y={underscored}\n");
    for size in [1, 5, 1000] {
        assert_eq!(redact_chunked(line.as_bytes(), &[size], false), line.as_bytes());
    }
    // A key glued after them is still found: the token starts at the
    // first prefix whose body reaches the key's run by its 21st byte (the
    // 12th prefix, 20 bytes before the key's).
    let mut keys = KeyGen::new(13);
    let key = format!("phx_{}", keys.alnum(48));
    let glued = format!("{bare}{key}\n");
    let expected = format!("{}phx_[REDACTED]\n", "phx_".repeat(11));
    assert_eq!(redact_chunked(glued.as_bytes(), &[3], false), expected.as_bytes());
    assert_eq!(crate::common::oracle(glued.as_bytes(), false), expected.as_bytes());
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
fn the_default_rules_hold_back_a_few_dozen_bytes_or_a_bearer_tokens_line() {
    // A prefix and 40 body bytes (a body with an early `_` is decided at
    // 40), plus the byte by which a DFA reports a match late.
    let prefixed = phx_redact::rules::SECRET_KINDS.iter().map(|k| phx_redact::Rule::posthog(k));
    assert_eq!(RuleSet::new(prefixed.collect()).unwrap().max_held(), 45);
    // A legacy key's match is held whole until decided: its longest name
    // (`POSTHOG_PERSONAL_API_KEY"`, 25), 8 spaces, `=`, 8 spaces, a quote,
    // the key (43) and the byte after it (87), and one more.
    let legacy = phx_redact::Rule::builtin(phx_redact::rules::LEGACY_KIND).unwrap();
    assert_eq!(RuleSet::new(vec![legacy]).unwrap().max_held(), 88);
    // A bearer token with no PostHog host before it on its line waits for
    // the line's end, up to the look-ahead past its match: the longest
    // match (`authorization"`, 8 spaces, `:`, 8 spaces, `"bearer`, 8
    // spaces, the key, the byte after it: 90), one more, and 4096.
    for public in [false, true] {
        assert_eq!(RuleSet::default_rules(public).max_held(), 90 + 1 + 4096);
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
