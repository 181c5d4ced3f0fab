//! Legacy personal API keys sent as `Authorization: Bearer <43 chars>`:
//! PostHog's only on a line that names PostHog's host, before the header
//! or after it (`curl -H … URL`), in any case, or a host the user names.
//! Equal to the oracle however the input is chunked, in segments, under
//! `--follow`, and reported by `--check` under its own rule.

use std::sync::Arc;

use phx_redact::{Redactor, Rule, RuleSet, rules::LEGACY_BEARER_KIND, testing::sample::KeyGen};
use proptest::prelude::*;

use crate::common::{LOOKAHEAD, contains, oracle, oracle_with_hosts, redact_chunked, run};

const MARKER: &str = "[REDACTED:posthog-legacy-bearer]";

/// Where the host comes on such lines, and what else comes near them.
const PIECES: [&str; 16] = [
    "GET https://us.posthog.com/api/projects/1/ HTTP/1.1 ",
    "curl https://eu.i.PostHog.COM/decide ",
    "posthog",
    ".com",
    "host=app.posthog.com ",
    "Authorization: Bearer ",
    "authorization: bearer ",
    "{\"Authorization\": \"Bearer ",
    "Authorization:\tBearer  ",
    "\n",
    "\r\n",
    "\" ",
    " -H ",
    "https://example.com/api ",
    "personal_api_key=",
    "-",
];

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(PIECES.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
        4 => any::<u64>().prop_map(|seed| KeyGen::new(seed).legacy_personal().into_bytes()),
        1 => (any::<u64>(), prop::sample::select(vec![42usize, 44]))
            .prop_map(|(seed, n)| KeyGen::new(seed).legacy_personal().repeat(2).as_bytes()[..n].to_vec()),
        1 => any::<u64>().prop_map(|seed| KeyGen::new(seed).secret().into_bytes()),
        // Near the look-ahead's end.
        1 => (LOOKAHEAD - 90..LOOKAHEAD + 10).prop_map(|n| vec![b'x'; n]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn bearer_tokens_on_posthog_lines_equal_the_oracle_for_any_chunking(
        parts in prop::collection::vec(fragment(), 0..14),
        sizes in prop_oneof![
            Just(vec![1]),
            Just(vec![usize::MAX]),
            prop::collection::vec(1usize..90, 1..8),
            prop::collection::vec(1usize..5000, 1..4),
        ],
    ) {
        let input = parts.concat();
        prop_assert_eq!(redact_chunked(&input, &sizes, false), oracle(&input, false));
    }
}

fn lines(key: &str) -> Vec<String> {
    vec![
        format!("GET https://us.posthog.com/api/projects/1/flags Authorization: Bearer {key}\n"),
        format!("curl -H \"Authorization: Bearer {key}\" https://eu.posthog.com/api/\n"),
        format!(
            "{{\"url\": \"https://US.PostHog.com/i/\", \"Authorization\": \"Bearer {key}\"}}\r\n"
        ),
        format!("authorization: bearer {key} host=app.posthog.com"),
    ]
}

/// Every such line, cut in two at every byte, comes out with the key
/// replaced and everything else as it was.
#[test]
fn a_host_before_or_after_the_header_hides_the_key_however_the_line_is_cut() {
    let key = KeyGen::new(40).legacy_personal();
    let rules = Arc::new(RuleSet::default_rules(false));
    for line in lines(&key) {
        let want = line.replace(&key, MARKER);
        for cut in 0..=line.len() {
            let mut redactor = Redactor::new(Arc::clone(&rules));
            let mut out = Vec::new();
            redactor.feed(&line.as_bytes()[..cut], &mut out).unwrap();
            redactor.feed(&line.as_bytes()[cut..], &mut out).unwrap();
            redactor.finish(&mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "cut at {cut}");
        }
    }
}

/// Without PostHog's host on its own line, a bearer token is another
/// service's: left as it is, even with the host on the lines around it.
#[test]
fn a_bearer_token_on_a_line_that_names_no_posthog_host_is_left_alone() {
    let key = KeyGen::new(41).legacy_personal();
    let input = format!(
        "GET https://us.posthog.com/api/\nAuthorization: Bearer {key}\nHost: api.example.com \
         Authorization: Bearer {key} posthog.co\nHost: eu.posthog.com\n"
    );
    let (code, out, _) = run(&[], input.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap(), input);
}

/// The host after the header counts up to 4096 bytes past the match, on
/// its line; one byte further it does not.
#[test]
fn the_host_after_the_header_counts_up_to_the_look_ahead() {
    let key = KeyGen::new(42).legacy_personal();
    for (gap, hidden) in [(LOOKAHEAD - 10, true), (LOOKAHEAD - 9, false)] {
        // The match ends one byte after the key (the space); the host, 11
        // bytes, ends `gap + 10` bytes past it.
        let line = format!("Authorization: Bearer {key} {}posthog.com\n", "x".repeat(gap - 1));
        let out = redact_chunked(line.as_bytes(), &[1000], false);
        assert_eq!(contains(&out, key.as_bytes()), !hidden, "gap {gap}");
        assert_eq!(out, oracle(line.as_bytes(), false));
    }
}

/// A line with such a token and no host yet waits for its end (it is
/// held, not written); every other line goes out as it comes.
#[test]
fn only_a_line_that_holds_such_a_token_waits_for_its_end() {
    let key = KeyGen::new(43).legacy_personal();
    let rules = Arc::new(RuleSet::default_rules(false));
    let mut redactor = Redactor::new(Arc::clone(&rules));
    let mut out = Vec::new();
    redactor.feed(b"plain line, no token: goes out at once", &mut out).unwrap();
    assert_eq!(out, b"plain line, no token: goes out at once");
    out.clear();
    redactor
        .feed(format!("\ncurl -H 'Authorization: Bearer {key}' ").as_bytes(), &mut out)
        .unwrap();
    assert_eq!(out, b"\ncurl -H '", "the header waits for the rest of its line");
    redactor.feed(b"https://us.posthog.com/api/", &mut out).unwrap();
    let want = format!("\ncurl -H 'Authorization: Bearer {MARKER}' https://us.posthog.com/api/");
    assert_eq!(String::from_utf8_lossy(&out), want, "decided once the host came");
    redactor.finish(&mut out).unwrap();
}

/// `--posthog-host` names a self-hosted PostHog: its lines count too.
/// `--check` reports the key under its own rule, as a personal API key.
#[test]
fn a_self_hosted_host_counts_and_check_reports_the_rule() {
    let key = KeyGen::new(44).legacy_personal();
    let input = format!("POST https://posthog.corp.example/api/ Authorization: Bearer {key}\n");
    let (_, out, _) = run(&[], input.as_bytes());
    assert_eq!(out, input.as_bytes(), "an unnamed host");
    let (code, out, _) = run(&["--posthog-host", "posthog.corp.example"], input.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap(), input.replace(&key, MARKER));
    assert_eq!(
        redact_chunked(input.as_bytes(), &[7], false),
        oracle_with_hosts(input.as_bytes(), false, &["posthog.com"])
    );
    let (code, out, err) =
        run(&["--check", "--posthog-host", "posthog.corp.example"], input.as_bytes());
    let text = String::from_utf8_lossy(&out).into_owned() + &err;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(LEGACY_BEARER_KIND), "{text}");
    assert!(text.contains("Personal API keys"), "{text}");
    assert!(!text.contains(&key), "{text}");
}

/// A `--posthog-host` no line could name (empty, over 255 bytes, holding
/// a line end) is a usage error in the option's name, with the host's
/// place, never its text (a key pasted by mistake), before any input.
#[test]
fn a_host_that_no_line_could_name_is_refused_in_the_options_name() {
    let key = KeyGen::new(51).legacy_personal();
    let long = format!("{key}.").repeat(6);
    for (host, why) in [
        (String::new(), "is empty"),
        (long, "is longer than 255 bytes"),
        (format!("{key}\n"), "holds a line end"),
    ] {
        let args = ["--posthog-host", "posthog.corp.example", "--posthog-host", &host];
        let (code, out, err) = run(&args, format!("Authorization: Bearer {key}\n").as_bytes());
        assert_eq!((code, out.as_slice()), (2, &b""[..]), "{err}");
        assert!(err.contains(&format!("--posthog-host: host 2 of 2 {why}")), "{err}");
        assert!(!err.contains(&key), "{err}");
    }
}

/// The rule that counts only on some lines is tried after every other,
/// wherever it was listed; a set holds at most one.
#[test]
fn the_rule_that_counts_only_on_some_lines_is_tried_last() {
    let bearer = Rule::builtin(LEGACY_BEARER_KIND).unwrap();
    let custom = Rule::custom("auth", r"Authorization: Bearer [A-Za-z0-9_-]{43}");
    let set = RuleSet::new(vec![bearer.clone(), custom]).unwrap();
    let names: Vec<&str> = set.rules().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["auth", LEGACY_BEARER_KIND]);
    let key = KeyGen::new(45).legacy_personal();
    let line = format!("https://us.posthog.com Authorization: Bearer {key}\n");
    let out = phx_redact::redact(&Arc::new(set), line.as_bytes());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "https://us.posthog.com Authorization: Bearer [REDACTED]\n"
    );
    let mut second = bearer.clone();
    second.name = "again".into();
    let err = RuleSet::new(vec![bearer, second]).unwrap_err().to_string();
    assert!(err.contains("only one rule"), "{err}");
}

/// `--rule bearer-43` takes every bearer token of that shape, so the rule
/// for PostHog's lines is left out; `--list-rules` says where it counts.
#[test]
fn list_rules_says_which_lines_count_and_bearer_43_covers_them() {
    let (_, out, _) = run(&["--list-rules", "--posthog-host", "ph.example"], b"");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("(only on lines naming posthog.com, ph.example)"), "{text}");
    let (_, out, _) = run(&["--list-rules", "--rule", "all"], b"");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("bearer-43") && !text.contains(LEGACY_BEARER_KIND), "{text}");
}

/// A big file in segments on several threads, with such lines across each
/// segment's start: equal to the oracle.
#[test]
fn a_big_file_in_segments_equals_the_oracle() {
    let mut keys = KeyGen::new(46);
    let (expected, segments) = crate::common::segments_equal_the_oracle(46, 13, |k| {
        lines(&keys.legacy_personal())[k % 4].clone()
    });
    let markers = expected.windows(MARKER.len()).filter(|w| *w == MARKER.as_bytes()).count();
    assert!(markers >= segments - 2, "{markers} markers");
}

/// A follower sees the host and header in one append and the key's rest
/// in the next.
#[test]
fn a_follower_hides_a_key_appended_in_two_writes() {
    use crate::follow_harness::{Follower, append};
    let (_dir, log, follower) = Follower::on_empty_log();
    let key = KeyGen::new(47).legacy_personal();
    for (i, line) in lines(&key).iter().enumerate() {
        let line = line.trim_end().to_string() + "\n";
        let (a, b) = line.split_at(40 + i * 7);
        append(&log, a);
        append(&log, b);
        assert_eq!(follower.lines(1), [line.trim_end().replace(&key, MARKER)], "line {i}");
    }
    follower.stop_clean(&key);
}

/// A long line of bearer tokens that names no host, given in one piece
/// (as the Python module's `redact` is): each token's line is searched
/// once, not once per token, so time stays linear in the line's length.
#[test]
fn a_long_line_of_bearer_tokens_takes_linear_time_in_one_piece() {
    let mut keys = KeyGen::new(48);
    let (mut line, mut spans) = (String::new(), Vec::new());
    while line.len() < 8 << 20 {
        let key = keys.legacy_personal();
        // A random key may hold a prefixed one (`…phr_…`): not this test's.
        if ["phx_", "phs_", "pha_", "phr_"].iter().any(|prefix| key.contains(prefix)) {
            continue;
        }
        line += "Authorization: Bearer ";
        spans.push((line.len(), line.len() + 43));
        line += &key;
        line += " ";
    }
    let rules = Arc::new(RuleSet::default_rules(false));
    let started = std::time::Instant::now();
    let out = phx_redact::redact(&rules, line.as_bytes());
    let took = started.elapsed();
    assert!(out == line.as_bytes(), "no host: every token stays");
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    // The host at the line's end counts for the tokens whose match (the
    // key and the space after it) ends within the look-ahead of it.
    let host_end = line.len() + "posthog.com".len();
    let mut want = String::new();
    let mut from = 0;
    for &(start, end) in spans.iter().filter(|(_, end)| host_end <= end + 1 + LOOKAHEAD) {
        want += &line[from..start];
        want += MARKER;
        from = end;
    }
    want += &line[from..];
    want += "posthog.com\n";
    line += "posthog.com\n";
    let started = std::time::Instant::now();
    let out = phx_redact::redact(&rules, line.as_bytes());
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(5), "with the host: took {took:?}");
    assert!(out == want.as_bytes(), "with the host: the tokens within reach are replaced");
    assert!(want.len() < line.len(), "some are");
}

/// A follower that starts, or resumes, in the middle of a line reads that
/// line's start from the file: a host there counts for a token appended
/// after it. Both ways in: following a file from its end, where a writer
/// is mid-line, and a restart from a state saved mid-line (a line longer
/// than the follower's line cap goes out before its end).
#[test]
fn a_follower_that_starts_mid_line_sees_the_host_before_it() {
    use crate::follow_harness::{Follower, append, wait_for_file, wait_until};
    use std::path::Path;
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let key = KeyGen::new(50).legacy_personal();
    std::fs::write(&log, "earlier\nGET https://us.posthog.com/api/ ").unwrap();
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    wait_for_file(&state);
    append(&log, &format!("Authorization: Bearer {key}\n"));
    assert_eq!(follower.lines(1), [format!("Authorization: Bearer {MARKER}")], "from the end");
    let (status, _, _) = follower.stop();
    assert!(status.success());

    // A line over the cap: the follower writes it as far as it has decided
    // (all but the header's start, which may be a token's), and saves that.
    let head = format!("GET https://us.posthog.com/ {} ", "x".repeat(70_000));
    std::fs::write(&log, format!("{head}Authorization: Bea")).unwrap();
    std::fs::remove_file(&state).unwrap();
    let from_start = Path::new("--from-start");
    let follower = Follower::start(&[&log, Path::new("--state"), &state, from_start]);
    let saved = format!("\"offset\": {}", head.len());
    wait_until("the state saved mid-line", || {
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains(&saved))
    });
    let (status, _, _) = follower.stop();
    assert!(status.success());
    append(&log, &format!("rer {key} end\n"));
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(1), [format!("Authorization: Bearer {MARKER} end")], "resumed");
    let (status, _, notices) = follower.stop();
    assert!(status.success());
    assert!(!notices.iter().any(|n| n.contains(&key)), "{notices:?}");
}
