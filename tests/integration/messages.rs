//! One redaction policy for every byte printed about the work: messages,
//! findings, JSON fields, summaries, argument errors. The built-in rules
//! (`phc_` included) and the run's custom rules apply to all of them.

use std::fs;

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::run;

/// A custom rule, and a secret only it finds.
const PATTERN: &str = "SECRET[0-9]{8}";
const CUSTOM_SECRET: &str = "SECRET31415926";

/// A public key, which the run does not redact in the data, but which its
/// messages must not show either.
fn public_key(seed: u64) -> String {
    KeyGen::new(seed).key("phc", Era::Current)
}

/// Neither secret shows in `text`.
fn assert_clean(text: &[u8], phc: &str) {
    let text = String::from_utf8_lossy(text);
    assert!(!text.contains(&CUSTOM_SECRET[6..]), "custom secret shown: {text}");
    assert!(!text.contains(&phc[4..]), "phc key shown: {text}");
}

#[test]
fn filter_errors_hide_custom_and_public_secrets_in_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let phc = public_key(70);
    let missing = dir.path().join(format!("{CUSTOM_SECRET}-{phc}.log"));
    let (code, out, err) = run(&["--pattern", PATTERN, missing.to_str().unwrap()], b"");
    assert_eq!(code, 2);
    assert!(err.contains("[REDACTED]-phc_[REDACTED].log: cannot read"), "{err}");
    assert_clean(&out, &phc);
    assert_clean(err.as_bytes(), &phc);
}

#[test]
fn check_names_and_errors_hide_custom_and_public_secrets_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let phc = public_key(71);
    let mut keys = KeyGen::new(72);
    let leaky = dir.path().join(format!("{CUSTOM_SECRET}-{phc}.log"));
    fs::write(&leaky, format!("{}\n", keys.key("phx", Era::Current))).unwrap();
    let missing = dir.path().join(format!("gone-{CUSTOM_SECRET}-{phc}.log"));
    for json in [false, true] {
        let mut args = vec!["--check", "--pattern", PATTERN];
        if json {
            args.push("--json");
        }
        args.extend([leaky.to_str().unwrap(), missing.to_str().unwrap()]);
        let (code, out, err) = run(&args, b"");
        assert_eq!(code, 2, "{err}");
        assert!(String::from_utf8_lossy(&out).contains("[REDACTED]-phc_[REDACTED].log"));
        assert!(err.contains("cannot read"), "{err}");
        assert_clean(&out, &phc);
        assert_clean(err.as_bytes(), &phc);
    }
}

#[test]
fn rule_names_from_a_rules_file_are_redacted_in_findings() {
    let dir = tempfile::tempdir().unwrap();
    let phc = public_key(73);
    let rules = dir.path().join("rules.toml");
    fs::write(&rules, format!("[[rule]]\nname = \"{phc}\"\nregex = \"{PATTERN}\"\n")).unwrap();
    let input = format!("token {CUSTOM_SECRET}\n");
    let (code, out, err) =
        run(&["--check", "--rules-file", rules.to_str().unwrap()], input.as_bytes());
    assert_eq!(code, 1, "{err}");
    assert!(String::from_utf8_lossy(&out).contains(": phc_[REDACTED]: "));
    assert_clean(&out, &phc);
}

#[test]
fn argument_errors_hide_keys_and_keep_clap_exit_statuses() {
    let phc = public_key(74);
    let phx = KeyGen::new(75).key("phx", Era::Current);
    for bad in [vec!["--threads", phx.as_str()], vec!["--gzip-level", phc.as_str()]] {
        let (code, out, err) = run(&bad, b"");
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(err.contains("[REDACTED]"), "{err}");
        assert!(!err.contains(&phx[4..]) && !err.contains(&phc[4..]), "{err}");
    }
    let (code, out, err) = run(&["--help"], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(String::from_utf8_lossy(&out).contains("Usage: phx-redact"));
    let (code, out, _) = run(&["--version"], b"");
    assert_eq!(code, 0);
    assert!(String::from_utf8_lossy(&out).starts_with("phx-redact "));
}

#[test]
fn listed_rules_hide_a_key_written_as_a_pattern() {
    let phc = public_key(76);
    let (code, out, err) = run(&["--pattern", &phc, "--list-rules"], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    // The pattern is the key itself: the run's own rule finds it first.
    assert!(String::from_utf8_lossy(&out).contains("pattern-1\t[REDACTED]\t"));
    assert_clean(&out, &phc);
}

#[test]
fn batch_errors_and_summary_hide_custom_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let phc = public_key(77);
    let missing = dir.path().join(format!("{CUSTOM_SECRET}-{phc}.log"));
    let mirror = dir.path().join("mirror");
    for dest in [vec!["--in-place"], vec!["--output-dir", mirror.to_str().unwrap()]] {
        let mut args = vec!["--pattern", PATTERN];
        args.extend(dest);
        args.push(missing.to_str().unwrap());
        let (code, out, err) = run(&args, b"");
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("[REDACTED]-phc_[REDACTED].log: cannot read"), "{err}");
        assert_clean(&out, &phc);
        assert_clean(err.as_bytes(), &phc);
    }
}

#[test]
fn errors_before_the_rules_are_checked_hide_custom_secrets_too() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(format!("logs-{CUSTOM_SECRET}"));
    fs::create_dir(&folder).unwrap();
    let folder = folder.to_str().unwrap();
    let state = dir.path().join(format!("gone-{CUSTOM_SECRET}/state.json"));
    let state = state.to_str().unwrap();
    let log = dir.path().join("app.log");
    let log = log.to_str().unwrap();
    let (pattern_eq, bogus) = (format!("--pattern={PATTERN}"), format!("--bogus-{CUSTOM_SECRET}"));
    let cases: [Vec<&str>; 5] = [
        // Refused while the arguments are checked.
        vec!["--pattern", PATTERN, "--follow", folder],
        vec!["--pattern", PATTERN, "--follow", "--state", state, log],
        vec!["--pattern", PATTERN, "--fingerprint-key", folder],
        // Refused by the argument parser, the pattern given either way.
        vec!["--pattern", PATTERN, "--threads", CUSTOM_SECRET],
        vec![&pattern_eq, &bogus],
    ];
    let phc = public_key(77);
    for args in cases {
        let (code, out, err) = run(&args, b"");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("[REDACTED]"), "{args:?}: {err}");
        assert_clean(&out, &phc);
        assert_clean(err.as_bytes(), &phc);
    }
}
