//! What the command line says about itself: grouped help, completions, a
//! man page and the version of the rule set.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use crate::common::run;

fn stdout_of(args: &[&str]) -> String {
    let (code, out, err) = run(args, b"");
    assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
    String::from_utf8(out).unwrap()
}

#[test]
fn help_groups_the_options_under_headings() {
    let help = stdout_of(&["--help"]);
    let at = |heading: &str| {
        help.find(&format!("\n{heading}:\n")).unwrap_or_else(|| panic!("no {heading}: in {help}"))
    };
    let headings = ["Input", "Rules and markers", "Audit", "Batch", "Follow"];
    let places: Vec<usize> = headings.iter().map(|h| at(h)).collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "headings out of order: {help}");
    // Each option sits in its group: after its heading, before the next.
    for (option, group) in
        [("--recursive", 0), ("--pattern", 1), ("--check", 2), ("--in-place", 3), ("--state", 4)]
    {
        let found = help.find(&format!(" {option}")).unwrap();
        let end = places.get(group + 1).copied().unwrap_or(help.len());
        assert!(places[group] < found && found < end, "{option} not under {}", headings[group]);
    }
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    let bash = stdout_of(&["--completions", "bash"]);
    assert!(bash.contains("complete -F") && bash.contains("--in-place"), "{bash}");
    // The script is valid bash.
    let mut check = Command::new("bash").arg("-n").stdin(Stdio::piped()).spawn().unwrap();
    check.stdin.take().unwrap().write_all(bash.as_bytes()).unwrap();
    assert!(check.wait().unwrap().success(), "bash -n refused the completion script");

    let zsh = stdout_of(&["--completions", "zsh"]);
    assert!(zsh.starts_with("#compdef phx-redact") && zsh.contains("--in-place"), "{zsh}");
    let fish = stdout_of(&["--completions", "fish"]);
    assert!(fish.contains("complete -c phx-redact -l in-place"), "{fish}");

    let (code, out, err) = run(&["--completions", "tcsh"], b"");
    assert_eq!(code, 2);
    assert!(out.is_empty() && err.contains("possible values"), "{err}");
}

#[test]
fn man_page_is_roff_for_phx_redact() {
    let man = stdout_of(&["--man"]);
    assert!(man.contains(".TH phx-redact 1"), "{man}");
    assert!(man.contains(".SH NAME") && man.contains(".SH OPTIONS"), "{man}");
    assert!(man.contains("\\-\\-in\\-place"), "{man}");
    // Alone or not at all: it is not an option of a run.
    let (code, out, _) = run(&["--man", "file.log"], b"");
    assert_eq!((code, out.is_empty()), (2, true));
}

#[test]
fn version_names_the_rule_set() {
    let version = stdout_of(&["--version"]);
    assert!(version.starts_with("phx-redact "), "{version}");
    assert!(version.contains(phx_redact::rules::RULESET_VERSION), "{version}");
}

/// Every way the command line writes to standard output, into a full
/// output (`/dev/full`): exit 2 and one message, never a panic (101) nor a
/// silent 0.
#[test]
fn every_output_into_a_full_device_is_exit_2_with_one_message() {
    let runs: [&[&str]; 9] = [
        &["--help"],
        &["-h"],
        &["--version"],
        &["-V"],
        &["--completions", "bash"],
        &["--completions", "zsh"],
        &["--man"],
        &["--list-rules"],
        &["--generate-sample", "10"],
    ];
    for args in runs {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out =
            crate::common::cmd().args(args).stdin(Stdio::null()).stdout(full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("phx-redact: <stdout>: "), "{args:?}: {err}");
        assert_eq!(err.matches("No space left on device").count(), 1, "{args:?}: {err}");
    }
}

/// `--help | head -1`: the reader has what it wanted; not an error.
#[test]
fn help_into_a_reader_that_goes_away_is_not_an_error() {
    let mut child = crate::common::cmd().arg("--help").spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_flag_a_mode_would_ignore_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    std::fs::write(&log, "x\n").unwrap();
    let log = log.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let modes: [(&str, Vec<&str>); 7] = [
        ("redacting to standard output", vec![log]),
        ("--check", vec!["--check", log]),
        ("--check --diff", vec!["--check", "--diff", log]),
        ("--in-place", vec!["--in-place", log]),
        ("--output-dir", vec!["--output-dir", out, log]),
        ("--follow", vec!["--follow", log]),
        ("--list-rules", vec!["--list-rules"]),
    ];
    // Flags and whether each mode takes them, in the order of `modes`.
    let flags: [(&[&str], [bool; 7]); 13] = [
        (&["--recursive"], [true, true, false, true, true, false, false]),
        (&["--follow-links"], [true, true, false, true, true, false, false]),
        (&["--threads", "2"], [true, true, false, true, true, false, false]),
        (&["--json"], [false, true, true, false, false, false, false]),
        (&["--stats"], [true, false, false, false, false, false, false]),
        (&["--quiet"], [false, true, true, true, true, false, false]),
        (&["--gzip-level", "9"], [false, false, false, true, true, false, false]),
        (&["--zstd-level", "9"], [false, false, false, true, true, false, false]),
        (&["--from-start"], [false, false, false, false, false, true, false]),
        (&["--rotate-wait", "1"], [false, false, false, false, false, true, false]),
        (&["--refuse-links"], [false, false, false, false, false, true, false]),
        (&["--findings", "-"], [false, false, false, false, false, true, false]),
        (&["--secret-every", "3"], [false; 7]),
    ];
    for (flag, takes) in flags {
        for ((mode, args), takes) in modes.iter().zip(takes) {
            if takes {
                continue;
            }
            let mut all = args.clone();
            all.extend_from_slice(flag);
            let (code, out, err) = run(&all, b"");
            assert_eq!((code, out.as_slice()), (2, &b""[..]), "{all:?}: {err}");
            // Refused by name: ours, or clap's (`requires`, `conflicts`).
            assert!(err.contains(flag[0]), "{all:?}: {err}");
            if err.contains("does not apply") {
                assert!(err.contains(mode), "{all:?}: {err}");
            }
        }
    }
    // --follow --json points to --findings.
    let (_, _, err) = run(&["--follow", log, "--json"], b"");
    assert!(err.contains("--findings"), "{err}");
    // --generate-sample takes no rule flag.
    let (code, _, err) = run(&["--generate-sample", "3", "--marker", "posthog"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("--marker does not apply to --generate-sample"), "{err}");
}

#[test]
fn secret_every_n_puts_a_key_in_one_line_in_n_as_its_help_says() {
    let help = stdout_of(&["--help"]);
    assert!(help.contains("one line in N, on average, holds a key"), "{help}");
    for n in [4usize, 10] {
        let lines = 20_000;
        let log =
            stdout_of(&["--generate-sample", &lines.to_string(), "--secret-every", &n.to_string()]);
        let redacted = crate::common::oracle(log.as_bytes(), false);
        let with_secret = log
            .lines()
            .zip(String::from_utf8(redacted).unwrap().lines())
            .filter(|(a, b)| a != b)
            .count();
        // Half of the keys are secrets: lines / (2n), within 15%.
        let expect = lines / (2 * n);
        assert!(with_secret.abs_diff(expect) * 100 < expect * 15, "{n}: {with_secret} vs {expect}");
    }
}

#[test]
fn help_says_what_follow_and_state_do_with_globs_and_paths() {
    let help = stdout_of(&["--help"]);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("a file made later that it would match is not followed"), "{help}");
    assert!(!flat.contains("never as they are"), "{help}");
    assert!(flat.contains("shown redacted for a person reading the file"), "{help}");
}

#[test]
fn completions_offer_the_values_of_marker_and_rule() {
    let bash = stdout_of(&["--completions", "bash"]);
    assert!(bash.contains("default posthog fingerprint same-length"), "{bash}");
    assert!(
        bash.contains(
            "phx phs pha phr phc posthog-legacy posthog-legacy-bearer bearer-43 all none"
        ),
        "{bash}"
    );
    let fish = stdout_of(&["--completions", "fish"]);
    let marker = fish.lines().find(|l| l.contains("-l marker")).unwrap();
    assert!(marker.contains("same-length") && !marker.contains("-F"), "{marker}");
    // Values offered, not enforced: a template still parses.
    assert_eq!(run(&["--marker", "[{rule}]"], b"x\n").0, 0);
}

#[test]
fn the_man_page_has_examples_and_exit_status_and_renders_without_warnings() {
    let Some(groff) = crate::common::tool("groff", "groff-base") else { return };
    let page = stdout_of(&["--man"]);
    for section in
        [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH \"EXIT STATUS\"", ".SH EXAMPLES"]
    {
        assert!(page.contains(section), "{section}");
    }
    let mut child = Command::new(groff)
        .args(["-ww", "-man", "-Tutf8"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (text, warnings) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && warnings.is_empty(), "{warnings}");
    assert!(text.contains("git diff --cached --text | phx-redact --check --diff"), "{text}");
    // Justified: the spaces between words depend on the line.
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("2 on an error"), "{text}");
    // The footer names the version whole (the rule set's, which once
    // pushed it off the line, is in the VERSION section).
    let footer = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let version = format!("phx-redact {}", env!("CARGO_PKG_VERSION"));
    assert!(footer.contains(&version) && footer.ends_with("phx-redact(1)"), "{footer}");
}
