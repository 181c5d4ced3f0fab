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
