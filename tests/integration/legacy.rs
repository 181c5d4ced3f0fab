//! Legacy personal API keys (before 2021-06-23: 43 URL-safe base64
//! characters, no prefix), found by the names they are given: only the
//! value is replaced, in every context, however the input is chunked.

use phx_redact::testing::sample::KeyGen;
use proptest::prelude::*;

use crate::common::{contains, oracle, redact_chunked, run};

/// The places PostHog's own docs and clients put a personal API key: a
/// query string or a form, a JSON body (as the flags' local evaluation and
/// the API docs' examples send it), environment dumps, `.env`, YAML.
const CONTEXTS: [&str; 10] = [
    "GET /api/projects/1/feature_flags/local_evaluation?personal_api_key=",
    "personal_api_key=",
    "{\"personal_api_key\": \"",
    "{\"personal_api_key\":\"",
    "{\"personal_api_key\" :\t\"",
    "POSTHOG_PERSONAL_API_KEY=",
    "export POSTHOG_API_KEY=\"",
    "POSTHOG_API_KEY: '",
    "  posthog_personal_api_key: ",
    "environment:\n  POSTHOG_PERSONAL_API_KEY: \"",
];

/// What may follow a key: the ends of the contexts above, the next
/// parameter, a line's end, nothing.
const AFTER: [&str; 6] = ["&limit=100 HTTP/1.1\n", "\"}\n", "\"\n", "'\n", "\n", ""];

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(CONTEXTS.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
        3 => any::<u64>().prop_map(|seed| KeyGen::new(seed).legacy_personal().into_bytes()),
        1 => (any::<u64>(), prop::sample::select(vec![42usize, 44, 45]))
            .prop_map(|(seed, n)| KeyGen::new(seed).legacy_personal().repeat(2).as_bytes()[..n].to_vec()),
        2 => prop::sample::select(AFTER.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<u64>().prop_map(|seed| KeyGen::new(seed).legacy_lookalike().into_bytes()),
        1 => prop::sample::select(vec!["-", "_", "&", "\"", " ", "p", "POSTHOG_", "personal_api_key"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn legacy_keys_equal_the_oracle_for_any_chunking(
        parts in prop::collection::vec(fragment(), 0..16),
        sizes in prop_oneof![Just(vec![1]), Just(vec![usize::MAX]), prop::collection::vec(1usize..70, 1..8)],
    ) {
        let input = parts.concat();
        prop_assert_eq!(redact_chunked(&input, &sizes, false), oracle(&input, false));
    }
}

/// A line with a legacy key in `context`, ended by `after`.
fn line(context: &str, key: &str, after: &str) -> Vec<u8> {
    format!("{context}{key}{after}").into_bytes()
}

#[test]
fn every_context_split_at_every_point_keeps_the_context_and_hides_the_value() {
    let mut keys = KeyGen::new(20);
    for context in CONTEXTS {
        for after in AFTER {
            let key = keys.legacy_personal();
            let input = line(context, &key, after);
            let want = line(context, "[REDACTED:posthog-legacy]", after);
            assert_eq!(oracle(&input, false), want, "the oracle, {context:?}");
            for cut in 0..=input.len() {
                let sizes = [cut.max(1), usize::MAX];
                assert_eq!(redact_chunked(&input, &sizes, false), want, "{context:?} cut at {cut}");
            }
        }
    }
}

#[test]
fn two_keys_in_one_query_string_are_two_tokens() {
    // The `&` ends the first key and is given back: the second name starts
    // right after it.
    let mut keys = KeyGen::new(21);
    let (a, b) = (keys.legacy_personal(), keys.legacy_personal());
    let input = format!("?personal_api_key={a}&personal_api_key={b}");
    let want =
        "?personal_api_key=[REDACTED:posthog-legacy]&personal_api_key=[REDACTED:posthog-legacy]";
    for size in [1, 2, 7, 43, usize::MAX] {
        assert_eq!(redact_chunked(input.as_bytes(), &[size], false), want.as_bytes());
    }
}

#[test]
fn a_longer_or_shorter_value_is_not_a_legacy_key() {
    let mut keys = KeyGen::new(22);
    let key = keys.legacy_personal();
    for value in [format!("{key}x"), format!("{key}-"), key[..42].to_string()] {
        let input = line("personal_api_key=", &value, "&x=1\n");
        assert_eq!(redact_chunked(&input, &[5], false), input);
    }
}

#[test]
fn forty_three_character_values_elsewhere_pass_untouched() {
    // Hashes, hex, UUIDs, other vendors' tokens, and legacy-shaped values
    // under names that are not PostHog's: found by shape alone they would
    // be false positives.
    let mut keys = KeyGen::new(23);
    let mut input = Vec::new();
    for i in 0..400 {
        let value = if i % 2 == 0 { keys.legacy_lookalike() } else { keys.legacy_personal() };
        let name =
            ["sha256=", "token=", "api_key=", "\"id\": \"", "STRIPE_API_KEY=", "Bearer "][i % 6];
        input.extend_from_slice(format!("{name}{value}\n").as_bytes());
    }
    assert_eq!(redact_chunked(&input, &[usize::MAX], false), input);
    assert_eq!(redact_chunked(&input, &[13], false), input);
}

#[test]
fn a_modern_key_under_a_legacy_name_is_found_by_its_own_rule() {
    let key = format!("phx_{}", KeyGen::new(24).alnum(45));
    let input = format!("POSTHOG_PERSONAL_API_KEY={key}\n");
    assert_eq!(
        redact_chunked(input.as_bytes(), &[3], false),
        b"POSTHOG_PERSONAL_API_KEY=phx_[REDACTED]\n"
    );
}

#[test]
fn the_cli_redacts_only_the_value_and_check_reports_the_rule() {
    let key = KeyGen::new(25).legacy_personal();
    let input = format!("curl 'https://app.posthog.com/api/projects/?personal_api_key={key}'\n");
    let (code, out, _) = run(&[], input.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(
        out,
        b"curl 'https://app.posthog.com/api/projects/?personal_api_key=[REDACTED:posthog-legacy]'\n"
    );

    let (code, out, _) = run(&["--check", "-"], input.as_bytes());
    let out = String::from_utf8(out).unwrap();
    let mask = format!("{}...{}", &key[..4], &key[39..]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!(":1:62: posthog-legacy: {mask}")), "{out}");
    assert!(out.contains("posthog-legacy: personal API key: roll it in PostHog"), "{out}");
    assert!(!contains(out.as_bytes(), key.as_bytes()));

    let (_, out, _) = run(&["--marker", "posthog"], input.as_bytes());
    assert!(contains(&out, format!("personal_api_key={mask}'").as_bytes()));
}

#[test]
fn bearer_43_is_opt_in() {
    let key = KeyGen::new(26).legacy_personal();
    let input = format!("Authorization: Bearer {key}\r\n");
    let (_, out, _) = run(&[], input.as_bytes());
    assert_eq!(out, input.as_bytes());
    let (_, out, _) = run(&["--rule", "phx", "--rule", "bearer-43"], input.as_bytes());
    assert_eq!(out, b"Authorization: Bearer [REDACTED:bearer-43]\r\n");
}

#[test]
fn a_scrubbed_file_keeps_every_context() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.env");
    let key = KeyGen::new(27).legacy_personal();
    std::fs::write(&path, format!("POSTHOG_HOST=https://eu.posthog.com\nPOSTHOG_API_KEY={key}\n"))
        .unwrap();
    let (code, _, err) = run(&["--in-place", path.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"POSTHOG_HOST=https://eu.posthog.com\nPOSTHOG_API_KEY=[REDACTED:posthog-legacy]\n"
    );
}

/// A user's rule names its secret the way `posthog-legacy` does: the name
/// before it stays, whatever the marker (before, the whole match went).
#[test]
fn a_custom_rule_with_a_secret_group_replaces_only_the_group_under_every_marker() {
    let args = ["--rule", "none", "--pattern", "password=(?P<secret>[a-z0-9]{8,64})"];
    let input = b"user=bob password=abcdef123456 ok\npassword=zz9zz9zz\n";
    let cases: [(&[&str], &str, &str); 4] = [
        (&[], "[REDACTED:pattern-1]", "[REDACTED:pattern-1]"),
        (&["--marker", "posthog"], "...", "..."),
        (&["--marker", "same-length"], "************", "********"),
        (&["--marker", "literal:[X]"], "[X]", "[X]"),
    ];
    for (marker, first, second) in cases {
        let (code, out, err) = run(&[&args[..], marker].concat(), input);
        let expect = format!("user=bob password={first} ok\npassword={second}\n");
        assert_eq!((code, String::from_utf8(out).unwrap()), (0, expect), "{marker:?}: {err}");
    }

    let (code, out, _) = run(&[&args[..], &["--check", "-"]].concat(), input);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(":1:19: pattern-1: ") && out.contains(":2:10: pattern-1: "), "{out}");
    assert!(!out.contains("abcdef123456"), "{out}");
}

/// A follower sees a context written in one append and its value in the
/// next: the value is still found by the name before it.
#[test]
fn a_follower_finds_a_value_appended_after_its_name() {
    use crate::follow_harness::{Follower, append};
    let (_dir, log, follower) = Follower::on_empty_log();
    let key = KeyGen::new(28).legacy_personal();
    for (i, context) in CONTEXTS.iter().enumerate().filter(|(_, c)| !c.contains('\n')) {
        append(&log, &format!("{i} {context}"));
        append(&log, &format!("{key}&limit=1\n"));
        assert_eq!(
            follower.lines(1),
            [format!("{i} {context}[REDACTED:posthog-legacy]&limit=1")],
            "context {context:?}"
        );
    }
    follower.stop_clean(&key);
}

/// A big file read in segments on several threads: a context and its value
/// across each segment's nominal start come out as the oracle says.
#[test]
fn a_big_file_in_segments_hides_each_value_across_a_segment_start() {
    let mut keys = KeyGen::new(29);
    let (expected, segments) = crate::common::segments_equal_the_oracle(29, 11, |k| {
        format!(" {}{}\n", CONTEXTS[k % 9], keys.legacy_personal())
    });
    let markers = expected.windows(24).filter(|w| w == b"[REDACTED:posthog-legacy").count();
    assert!(markers >= segments - 1, "{markers} markers");
}

#[test]
fn a_line_that_ends_with_a_legacy_key_goes_out_before_the_next_line_comes() {
    // The rule matches the byte after the key (here the newline) and a DFA
    // reports a match one byte late: the line must not wait for the next.
    use std::io::{Read, Write};
    let key = format!("{}{}", "Zq9-x_W".repeat(6), "Q");
    let mut child = crate::common::cmd().spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let line = format!("env POSTHOG_API_KEY={key}\n");
    stdin.write_all(line.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let want = b"env POSTHOG_API_KEY=[REDACTED:posthog-legacy]\n";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut got = Vec::new();
    while got.len() < want.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => got.extend_from_slice(&bytes),
            Err(_) => break,
        }
    }
    drop(stdin);
    let _ = child.wait();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want), "held back");
}
