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
