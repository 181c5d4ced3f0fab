//! Several rules at once, custom ones included; markers; the hold cap;
//! findings. Each against an oracle written apart from the engine.

use std::sync::Arc;

use phx_redact::{
    Redactor, Rule, RuleSet,
    fingerprint::Fingerprinter,
    rules::Options,
    testing::sample::{Era, KeyGen},
};
use proptest::prelude::*;
use regex::bytes::Regex;

use crate::common::{custom_oracle, custom_rule_of, custom_rules, oracle_custom, redact_with};

/// Near misses for every rule of [`custom_rules`].
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "p", "phx_", "phs_", "g", "gh", "ghp_", "ghp", "key", "key=", "xkey=", "_key=", " ",
            "\n", "=", "_", "-", "\u{e9}", "\0", "12345", "123456", "0", "abcd", "BEGIN", "END",
            "!",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => "[A-Za-z0-9]{0,12}".prop_map(String::into_bytes),
        1 => "[a-z]{0,6}".prop_map(String::into_bytes),
        1 => "[0-9]{0,8}".prop_map(String::into_bytes),
        1 => (any::<u64>(), 0usize..3).prop_map(|(seed, era)| {
            KeyGen::new(seed).key("phx", Era::ALL[era]).into_bytes()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..6),
        1 => "[.]{0,40}".prop_map(String::into_bytes),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..40).prop_map(|parts| parts.concat())
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![Just(vec![1]), Just(vec![usize::MAX]), prop::collection::vec(1usize..40, 1..10)]
}

/// A rule that can keep a candidate undecided without bound, held to a cap
/// small enough for generated inputs to reach it.
fn capped_rules() -> Arc<RuleSet> {
    crate::common::compiled_once("capped", || {
        let rules = vec![Rule::custom("block", "BEGIN[^!]*END"), Rule::posthog("phx")];
        RuleSet::with_options(rules, Options { hold_cap: 24, ..Options::default() }).unwrap()
    })
}

/// (line, column) from 1 of byte `offset` in `input`.
fn line_col(input: &[u8], offset: usize) -> (u64, u64) {
    let before = &input[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (line as u64, (offset - line_start + 1) as u64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn several_rules_with_custom_ones_equal_the_oracle_for_any_chunking(
        input in input(), sizes in chunk_sizes()
    ) {
        let (out, stats) = redact_with(&custom_rules(64 * 1024), &input, &sizes);
        prop_assert_eq!(stats.capped, 0);
        prop_assert_eq!(out, oracle_custom(&input));
    }

    #[test]
    fn findings_say_where_each_token_is_and_never_what_it_is(
        input in input(), sizes in chunk_sizes()
    ) {
        let rules = custom_rules(64 * 1024);
        let mut redactor = Redactor::new(Arc::clone(&rules)).record_findings();
        let mut findings = Vec::new();
        let mut rest = &input[..];
        let mut i = 0;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(sizes[i % sizes.len()].clamp(1, rest.len()));
            redactor.feed(chunk, &mut std::io::sink()).unwrap();
            findings.extend(redactor.take_findings());
            rest = tail;
            i += 1;
        }
        redactor.finish(&mut std::io::sink()).unwrap();
        findings.extend(redactor.take_findings());

        let (re, _) = custom_oracle();
        let expected: Vec<_> = re.captures_iter(&input).map(|c| {
            let m = c.get(0).unwrap();
            let token = m.as_bytes();
            let mask = if token.len() >= 16 {
                format!("{}...{}", String::from_utf8_lossy(&token[..4]),
                    String::from_utf8_lossy(&token[token.len() - 4..]))
            } else {
                "...".to_string()
            };
            let (line, column) = line_col(&input, m.start());
            (custom_rule_of(&c), m.start() as u64, line, column, token.len() as u64, mask,
                Fingerprinter::unkeyed().hash(token))
        }).collect();
        let got: Vec<_> = findings.into_iter().map(|f| {
            (f.rule.unwrap(), f.offset, f.line, f.column, f.len, f.mask.to_string(), f.fingerprint)
        }).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn the_hold_cap_cuts_the_same_way_however_the_input_is_chunked(
        input in input(), sizes in chunk_sizes()
    ) {
        // A cut moved back to the start of a key: the same, whatever the
        // pieces, findings included.
        let keys = block_and_keys(64);
        let size = sizes[0].min(input.len().max(1));
        let (out, stats, found) = findings_of(&keys, &input, size);
        prop_assert_eq!((out, stats, found.clone()), findings_of(&keys, &input, input.len().max(1)));
        // Every key found is found whole: a key from its first byte, whose
        // body goes on no further.
        let whole_key = Regex::new(&format!("^phx_{}$", crate::common::BODY)).unwrap();
        for &(rule, offset, len) in &found {
            if rule == Some(1) {
                let (start, end) = (offset as usize, (offset + len) as usize);
                prop_assert!(whole_key.is_match(&input[start..end]));
                let next = input.get(end).copied().unwrap_or(b' ');
                prop_assert!(!(next.is_ascii_alphanumeric() || next == b'_'));
            }
        }
        let rules = capped_rules();
        let (whole, whole_stats) = redact_with(&rules, &input, &[usize::MAX]);
        let (chunked, chunked_stats) = redact_with(&rules, &input, &sizes);
        prop_assert_eq!(&chunked, &whole);
        prop_assert_eq!(chunked_stats, whole_stats.clone());
        if whole_stats.capped == 0 && !Regex::new(r"(?-u)BEGIN[^!]{19}").unwrap().is_match(&input) {
            // Never near the cap: exactly the regex.
            let re = Regex::new(&format!("(?-u)BEGIN[^!]*END|phx_{}", crate::common::BODY)).unwrap();
            let expected = re.replace_all(&input, |c: &regex::bytes::Captures| {
                if c[0].starts_with(b"phx_") { b"phx_[REDACTED]".to_vec() } else { b"BEGIN[REDACTED]".to_vec() }
            });
            prop_assert_eq!(whole, expected.into_owned());
        }
    }

    #[test]
    fn may_hold_token_is_false_only_where_the_engine_finds_nothing(input in input()) {
        // The logging filter lets a field through on `may_hold_token` alone:
        // a false there must be a text the engine leaves as it is.
        let public = crate::common::compiled_once("public", || RuleSet::default_rules(true));
        let secret = crate::common::compiled_once("secret", || RuleSet::default_rules(false));
        let sets = [custom_rules(64 * 1024), capped_rules(), public, secret];
        for rules in &sets {
            if !rules.may_hold_token(&input) {
                prop_assert_eq!(phx_redact::redact(rules, &input), input.clone());
            }
        }
    }
}

#[test]
fn a_candidate_undecided_for_the_whole_cap_is_cut_and_redacted() {
    let rules = capped_rules();
    // 30 bytes after BEGIN with no END: undecided at the cap (24 bytes from
    // its start), so the first 24 bytes are redacted, not passed through.
    let input = format!("a BEGIN {} z", "x".repeat(30));
    for sizes in [vec![1], vec![5], vec![usize::MAX]] {
        let (out, stats) = redact_with(&rules, input.as_bytes(), &sizes);
        assert_eq!(out, format!("a [REDACTED]{} z", "x".repeat(30 + 6 - 24)).as_bytes());
        assert_eq!(stats.capped, 1);
    }
    // A match whose tail stays undecided for the cap is extended to it.
    let input = format!("BEGIN END{} z", "y".repeat(40));
    let (out, stats) = redact_with(&rules, input.as_bytes(), &[3]);
    assert_eq!(out, format!("BEGIN[REDACTED]{} z", "y".repeat(40 - 24)).as_bytes());
    assert_eq!((stats.tokens[0], stats.capped), (1, 0));
}

#[test]
fn the_documented_cap_bounds_what_a_custom_rule_holds_back() {
    let rules = Arc::new(RuleSet::new(vec![Rule::custom("block", "BEGIN.*END")]).unwrap());
    assert_eq!(rules.max_held(), phx_redact::rules::HOLD_CAP);
    let mut redactor = Redactor::new(Arc::clone(&rules));
    let mut out = Vec::new();
    redactor.feed(b"BEGIN", &mut out).unwrap();
    for _ in 0..100 {
        redactor.feed(&[b'x'; 4096], &mut out).unwrap();
        assert!(redactor.held() <= phx_redact::rules::HOLD_CAP);
    }
    redactor.finish(&mut out).unwrap();
    assert!(out.starts_with(b"[REDACTED]xxx"));
    assert_eq!(out.len(), "[REDACTED]".len() + 5 + 100 * 4096 - phx_redact::rules::HOLD_CAP);
}

fn redact_once(rules: RuleSet, input: &str) -> String {
    let (out, _) = redact_with(&Arc::new(rules), input.as_bytes(), &[7]);
    String::from_utf8(out).unwrap()
}

fn with_marker(marker: &str) -> RuleSet {
    let options = Options { marker: marker.into(), ..Options::default() };
    RuleSet::with_options(Rule::defaults(false), options).unwrap()
}

#[test]
fn the_posthog_marker_is_the_mask_posthog_shows() {
    let mut keys = KeyGen::new(3);
    let key = keys.key("phx", Era::Current);
    let line = format!("key={key}\n");
    let expected = format!("key={}...{}\n", &key[..4], &key[key.len() - 4..]);
    assert_eq!(redact_once(with_marker("posthog"), &line), expected);
}

#[test]
fn the_same_length_marker_keeps_every_byte_offset() {
    let mut keys = KeyGen::new(4);
    let line = format!("a={} b={}\n", keys.key("phx", Era::Legacy), keys.key("phr", Era::Current));
    let out = redact_once(with_marker("same-length"), &line);
    assert_eq!(out.len(), line.len());
    let stars = |k: &str| format!("{}_{}", &k[..3], "*".repeat(k.len() - 4));
    let words: Vec<&str> = line.trim_end().split(' ').map(|w| &w[2..]).collect();
    assert_eq!(out, format!("a={} b={}\n", stars(words[0]), stars(words[1])));
}

#[test]
fn fingerprints_follow_a_key_and_a_key_changes_them() {
    let mut keys = KeyGen::new(5);
    let (a, b) = (keys.key("phx", Era::Current), keys.key("phx", Era::Current));
    let input = format!("{a} {b} {a}\n");
    let out = redact_once(with_marker("fingerprint"), &input);
    let marker = Regex::new(r"phx_\[REDACTED:([0-9a-f]{8})\]").unwrap();
    let prints: Vec<&[u8]> =
        marker.captures_iter(out.as_bytes()).map(|c| c.get(1).unwrap().as_bytes()).collect();
    assert_eq!(prints.len(), 3, "{out}");
    assert_eq!(prints[0], prints[2]);
    assert_ne!(prints[0], prints[1]);
    let keyed = Options {
        marker: "fingerprint".into(),
        fingerprints: Fingerprinter::keyed(b"a key of sixteen bytes or more").unwrap(),
        ..Options::default()
    };
    let keyed_out =
        redact_once(RuleSet::with_options(Rule::defaults(false), keyed).unwrap(), &input);
    assert_ne!(keyed_out, out);
    assert!(Fingerprinter::keyed(b"too short").is_err());
}

#[test]
fn templates_fill_every_placeholder() {
    let mut keys = KeyGen::new(6);
    let key = keys.key("phs", Era::Base62);
    let out = redact_once(with_marker("<{rule}|{prefix}|{len}|{last4}|{mask}>"), &key);
    let last4 = &key[key.len() - 4..];
    assert_eq!(out, format!("<phs|phs_|{}|{last4}|phs_...{last4}>", key.len()));
    assert_eq!(redact_once(with_marker("{{{rule}}}"), &key), "{phs}");
}

#[test]
fn long_tokens_cost_no_memory_whatever_the_marker() {
    for marker in ["posthog", "fingerprint", "same-length"] {
        let rules = Arc::new(with_marker(marker));
        let mut redactor = Redactor::new(Arc::clone(&rules));
        let mut out = Vec::new();
        redactor.feed(b"phx_", &mut out).unwrap();
        for _ in 0..256 {
            redactor.feed(&[b'Z'; 4096], &mut out).unwrap();
            assert!(redactor.held() <= rules.max_held());
        }
        redactor.finish(&mut out).unwrap();
        match marker {
            "posthog" => assert_eq!(out, b"phx_...ZZZZ"),
            "same-length" => assert_eq!(out.len(), 4 + 256 * 4096),
            _ => assert!(out.starts_with(b"phx_[REDACTED:")),
        }
    }
}

/// The message of the error `rules` are refused with.
fn refusal(rules: Vec<Rule>, marker: &str) -> String {
    let options = Options { marker: marker.into(), ..Options::default() };
    RuleSet::with_options(rules, options).unwrap_err().to_string()
}

#[test]
fn bad_rules_are_refused_before_any_input_with_a_clear_error() {
    let custom = |re: &str| vec![Rule::custom("mine", re)];
    assert!(refusal(custom("a*"), "default").contains("rule mine: can match the empty string"));
    assert!(refusal(custom(r"\b"), "default").contains("empty string"));
    assert!(refusal(custom("(unclosed"), "default").contains("cannot parse the regex"));
    assert!(refusal(custom(r"(?u)\bword\b"), "default").contains("cannot compile"));
    assert!(refusal(vec![], "default").contains("no rules"));
    let twice = vec![Rule::custom("a", "xy+"), Rule::custom("a", "zz+")];
    assert!(refusal(twice, "default").contains("two rules are named a"));
    assert!(refusal(Rule::defaults(false), "{nope}").contains("unknown placeholder {nope}"));
    assert!(refusal(Rule::defaults(false), "{rule").contains("unmatched brace"));
}

#[test]
fn a_marker_a_second_run_would_change_is_refused() {
    // The marker shows four digits of a four-digit token: redacted again.
    let pin = vec![Rule::custom("pin", "[0-9]{4,}")];
    assert!(refusal(pin.clone(), "posthog").contains("could itself be redacted"));
    assert!(refusal(pin.clone(), "#{last4}").contains("could itself be redacted"));
    // A marker that spells a token out (a fixed text is asked for with
    // `literal:`; without it, it is no template and refused as such).
    let literal = format!("literal:phx_{}", "A".repeat(20));
    assert!(refusal(Rule::defaults(false), &literal).contains("could itself be redacted"));
    // So would a fingerprint or a length: their digits could be a PIN.
    assert!(refusal(pin.clone(), "fingerprint").contains("could itself be redacted"));
    assert!(refusal(pin.clone(), "[{len}]").contains("could itself be redacted"));
    // Markers that show no digits are fine.
    for marker in ["default", "same-length", "[{rule}]"] {
        let options = Options { marker: marker.into(), ..Options::default() };
        RuleSet::with_options(pin.clone(), options).unwrap();
    }
}

#[test]
fn a_second_run_over_any_preset_changes_nothing() {
    let mut keys = KeyGen::new(8);
    let input: String = (0..20).map(|i| format!("{} {}\n", i, keys.secret())).collect();
    for marker in ["default", "posthog", "fingerprint", "same-length"] {
        let once = redact_once(with_marker(marker), &input);
        assert_ne!(once, input);
        assert_eq!(redact_once(with_marker(marker), &once), once, "{marker}");
    }
}

#[test]
fn a_custom_rule_sees_word_boundaries_across_reads() {
    let rules = custom_rules(64 * 1024);
    let input = b"xkey=abcd key=abcd _key=abcd";
    for sizes in [vec![1], vec![2], vec![5], vec![usize::MAX]] {
        let (out, _) = redact_with(&rules, input, &sizes);
        assert_eq!(out, b"xkey=abcd key=[REDACTED] _key=abcd");
    }
}

/// A block rule that can stay undecided without bound, and the built-in
/// keys, under `hold_cap`.
fn block_and_keys(hold_cap: usize) -> Arc<RuleSet> {
    crate::common::compiled_once(&format!("block-and-keys/{hold_cap}"), || {
        let mut rules = vec![Rule::custom("block", "BEGIN[^#]*END")];
        rules.extend(Rule::defaults(false));
        RuleSet::with_options(rules, Options { hold_cap, ..Options::default() }).unwrap()
    })
}

/// A finding as (rule, offset, length).
type Found = (Option<usize>, u64, u64);

/// The findings of `rules` over `input` in pieces of `size`, with the
/// output and the stats.
fn findings_of(
    rules: &Arc<RuleSet>,
    input: &[u8],
    size: usize,
) -> (Vec<u8>, phx_redact::Stats, Vec<Found>) {
    let mut redactor = Redactor::new(Arc::clone(rules)).record_findings();
    let mut out = Vec::new();
    let mut found = Vec::new();
    for chunk in input.chunks(size) {
        redactor.feed(chunk, &mut out).unwrap();
        assert!(redactor.held() <= rules.max_held());
        found.extend(redactor.take_findings());
    }
    redactor.finish(&mut out).unwrap();
    found.extend(redactor.take_findings());
    let found = found.into_iter().map(|f| (f.rule, f.offset, f.len)).collect();
    (out, redactor.stats().clone(), found)
}

#[test]
fn a_cut_at_the_hold_cap_never_falls_inside_a_key() {
    // For every place of a key around the cut, from a candidate's start
    // (search) and from a match's end (token), and for every chunking: the
    // key is redacted whole and found under its own rule, and no piece of
    // its body is left in the output.
    const CAP: usize = 100;
    let rules = block_and_keys(CAP);
    let mut keys = KeyGen::new(40);
    for lead in ["BEGIN", "BEGIN END"] {
        let key = keys.key("phx", Era::Current);
        // Up to a cut right after the key, which could still go on.
        for before_cut in 1..=key.len() {
            // The cut falls `before_cut` bytes into the key: CAP after the
            // candidate's start, or after the END of the token.
            let head = if lead == "BEGIN" { CAP } else { CAP + lead.len() };
            let filler = ".".repeat(head - lead.len() - before_cut);
            let input = format!("{lead}{filler}{key} tail\n");
            let key_at = (lead.len() + filler.len()) as u64;
            let mut first = None;
            for size in [1, 2, 7, 64, 4096] {
                let (out, stats, found) = findings_of(&rules, input.as_bytes(), size);
                for piece in key.as_bytes()[4..].windows(8) {
                    assert!(!crate::common::contains(&out, piece), "{lead} {before_cut} {size}");
                }
                assert!(out.ends_with(b"phx_[REDACTED] tail\n"), "{lead} {before_cut} {size}");
                assert_eq!(found.last(), Some(&(Some(1), key_at, key.len() as u64)));
                assert_eq!(stats.tokens[1], 1);
                match &first {
                    None => first = Some((out, stats, found)),
                    Some(whole) => assert_eq!(whole, &(out, stats, found), "chunks of {size}"),
                }
            }
        }
    }
}

#[test]
fn a_candidate_that_fails_after_the_cut_was_moved_back_to_it_is_searched_again() {
    // The cut moves back to a `phx_` still undecided at it; that turns out
    // not to be a key, so its bytes pass, and a block that starts inside it
    // is searched for as anywhere else. The same for every chunking.
    const CAP: usize = 100;
    let rules = block_and_keys(CAP);
    let tail = format!("phx_abcdefghij BEGIN{}", ".".repeat(150));
    let input = format!("BEGIN{}{tail}", ".".repeat(CAP - 5 - 8));
    let mut outs = Vec::new();
    for size in [1, 3, 17, 4096] {
        let (out, stats, found) = findings_of(&rules, input.as_bytes(), size);
        let expected = format!("[REDACTED]phx_abcdefghij [REDACTED]{}", ".".repeat(55));
        assert_eq!(out, expected.as_bytes(), "chunks of {size}");
        assert_eq!((stats.capped, stats.total_tokens()), (2, 2));
        outs.push((out, found));
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}
