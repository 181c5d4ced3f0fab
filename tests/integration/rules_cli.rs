//! Rules and markers from the command line: `--rule`, `--pattern`,
//! `--rules-file`, `--marker`, `--fingerprint-key`, `--stats`,
//! `--list-rules`.

use std::fs;

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{holds_a_token, run};

#[test]
fn rules_are_picked_by_name() {
    let mut keys = KeyGen::new(31);
    let (x, c, s) = (
        keys.key("phx", Era::Current),
        keys.key("phc", Era::Current),
        keys.key("phs", Era::Legacy),
    );
    let input = format!("{x} {c} {s}\n");
    let cases: [(&[&str], String); 5] = [
        (&[], format!("phx_[REDACTED] {c} phs_[REDACTED]\n")),
        (&["--rule", "phx"], format!("phx_[REDACTED] {c} {s}\n")),
        (&["--rule", "phc,phs"], format!("{x} phc_[REDACTED] phs_[REDACTED]\n")),
        (&["--rule", "all"], "phx_[REDACTED] phc_[REDACTED] phs_[REDACTED]\n".to_string()),
        (&["--rule", "phx", "--include-public"], format!("phx_[REDACTED] phc_[REDACTED] {s}\n")),
    ];
    for (args, expected) in cases {
        let (code, out, err) = run(args, input.as_bytes());
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{args:?}");
    }
    let (code, _, err) = run(&["--rule", "phz"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("--rule phz: no such rule; known: phx, posthog-legacy, posthog-legacy-bearer, phs, pha, phr, phc, bearer-43, all, none"));
    let (code, _, err) = run(&["--rule", "none"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("no rules"), "{err}");
}

#[test]
fn patterns_and_a_rules_file_run_in_one_pass_with_the_built_in_rules() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    fs::write(
        &file,
        "[[rule]]\nname = \"slack\"\nregex = 'xox[bp]-[0-9A-Za-z-]{10,}'\n\
         marker = \"{prefix}[{rule}:{fingerprint}]\"\n\n\
         [[rule]]\nname = \"password\"\nregex = 'password=[^&\\s]+'\nmarker = \"[{rule}]\"\n",
    )
    .unwrap();
    let mut keys = KeyGen::new(32);
    let x = keys.key("phx", Era::Current);
    let slack = format!("xoxb-{}", keys.alnum(24));
    let input = format!("a={x}&password=hunter2&t={slack} AKIA{}\n", "Q".repeat(16));
    let args = ["--rules-file", file.to_str().unwrap(), "--pattern", "AKIA[A-Z0-9]{16}"];
    let (code, out, err) = run(&args, input.as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
    let out = String::from_utf8(out).unwrap();
    let expected = regex::Regex::new(
        r"^a=phx_\[REDACTED\]&\[password\]&t=xox\[slack:[0-9a-f]{8}\] AKIA\[REDACTED\]\n$",
    )
    .unwrap();
    assert!(expected.is_match(&out), "{out}");
}

#[test]
fn a_bad_rule_is_refused_before_any_input_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    fs::write(&file, "[[rule]]\nname = \"x\"\nregexp = 'y+'\n").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--pattern", "a*"], "rule pattern-1: can match the empty string"),
        (&["--pattern", "(x"], "rule pattern-1: cannot parse the regex"),
        (&["--rules-file", file.to_str().unwrap()], "rules.toml:3: unknown field `regexp`"),
        (&["--marker", "{secret}"], "unknown placeholder {secret}"),
    ];
    for (args, message) in cases {
        let (code, out, err) = run(args, b"");
        assert_eq!((code, out.as_slice()), (2, &b""[..]), "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn each_marker_preset_from_the_command_line() {
    let mut keys = KeyGen::new(33);
    let key = keys.key("phx", Era::Base62);
    let input = format!("k={key}\n");
    let last4 = &key[key.len() - 4..];
    for (preset, expected) in [
        ("default", "k=phx_[REDACTED]\n".to_string()),
        ("posthog", format!("k=phx_...{last4}\n")),
        ("same-length", format!("k=phx_{}\n", "*".repeat(key.len() - 4))),
        ("<{rule}>", "k=<phx>\n".to_string()),
    ] {
        let (code, out, err) = run(&["--marker", preset], input.as_bytes());
        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{preset}");
    }
}

#[test]
fn a_fingerprint_key_from_a_file_or_the_environment_changes_the_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("fingerprint.key");
    fs::write(&key_file, "correct horse battery staple\n").unwrap();
    let mut keys = KeyGen::new(34);
    let input = format!("{}\n", keys.key("phx", Era::Current));
    let fingerprint = |args: &[&str], env: Option<&str>| {
        let mut cmd = crate::common::cmd();
        cmd.args(["--marker", "fingerprint"]).args(args).env_remove("PHX_REDACT_FINGERPRINT_KEY");
        if let Some(value) = env {
            cmd.env("PHX_REDACT_FINGERPRINT_KEY", value);
        }
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let unkeyed = fingerprint(&[], None);
    let from_file = fingerprint(&["--fingerprint-key", key_file.to_str().unwrap()], None);
    let from_env = fingerprint(&[], Some("correct horse battery staple"));
    assert!(unkeyed.starts_with("phx_[REDACTED:"));
    assert_ne!(unkeyed, from_file);
    assert_eq!(from_file, from_env, "the same key material gives the same fingerprints");
    let (code, _, err) = run(&["--fingerprint-key", "/nonexistent/key"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the fingerprint key /nonexistent/key"), "{err}");
}

#[test]
fn stats_count_tokens_by_rule_on_stderr_and_leave_stdout_alone() {
    let mut keys = KeyGen::new(35);
    let input = format!(
        "{} {} {}\n",
        keys.key("phx", Era::Current),
        keys.key("phx", Era::Legacy),
        keys.key("pha", Era::Current)
    );
    let (code, out, err) = run(&["--stats"], input.as_bytes());
    assert_eq!(code, 0);
    assert_eq!(out, b"phx_[REDACTED] phx_[REDACTED] pha_[REDACTED]\n");
    let bytes = input.len();
    assert!(
        err.starts_with(&format!(
            "phx-redact: 3 tokens redacted (phx 2, phs 0, pha 1, phr 0, posthog-legacy 0, posthog-legacy-bearer 0) in {bytes} bytes, "
        )),
        "{err}"
    );
    assert!(err.ends_with(" MiB/s\n"), "{err}");
}

#[test]
fn list_rules_shows_each_rule_and_the_hold_back_bound() {
    let (code, out, _) = run(&["--list-rules"], b"");
    assert_eq!(code, 0);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with(&format!("phx\tphx_{}\t{{prefix}}[REDACTED]\n", crate::common::BODY)));
    assert!(out.contains("holds back at most 4187 bytes"), "{out}");
    assert!(out.contains("\t[REDACTED:{rule}]\t(replaces the group secret only)\n"), "{out}");
    assert!(!holds_a_token(out.as_bytes()));
    let (_, out, _) = run(&["--list-rules", "--pattern", "BEGIN.*END"], b"");
    assert!(String::from_utf8(out).unwrap().contains("holds back at most 65536 bytes"));
}

#[test]
fn a_long_body_with_an_early_underscore_is_redacted_and_found() {
    let mut keys = KeyGen::new(36);
    let key = format!("phx_a_{}", keys.alnum(40));
    let input = format!("token={key} event=phx_join\n");
    let (code, out, err) = run(&[], input.as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, b"token=phx_[REDACTED] event=phx_join\n");
    let (code, out, _) = run(&["--check", "-"], input.as_bytes());
    assert_eq!(code, 1);
    assert!(String::from_utf8(out).unwrap().contains(":1:7: phx: "));
}

#[test]
fn a_run_of_bare_prefixes_is_neither_redacted_nor_found() {
    // mask-go's false positive: 64 bytes of `[A-Za-z0-9_]` with no 20
    // letters or digits in a row.
    let input = format!("events={}\n", "phx_".repeat(16));
    let (code, out, err) = run(&[], input.as_bytes());
    assert_eq!((code, out, err.as_str()), (0, input.clone().into_bytes(), ""));
    let (code, _, _) = run(&["--check", "-"], input.as_bytes());
    assert_eq!(code, 0);
}

/// Runs the binary with `args` over `input`, killing it and failing if it
/// has not finished after `limit` (a guard against a hang, not a timing).
fn run_within(args: &[&str], input: Vec<u8>, limit: std::time::Duration) -> (i32, Vec<u8>, String) {
    use std::io::{Read, Write};
    let mut child = crate::common::cmd().args(args).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        stderr.read_to_string(&mut err).map(|_| err)
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("phx-redact {args:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    writer.join().unwrap();
    let out = reader.join().unwrap().unwrap();
    (status.code().unwrap_or(-1), out, err_reader.join().unwrap().unwrap())
}

#[test]
fn a_key_across_the_hold_cap_is_redacted_whole_and_found() {
    // An unbounded custom rule keeps a candidate undecided for 64 KiB; the
    // cut there used to fall inside a key and let most of its body out.
    let mut keys = KeyGen::new(41);
    let key = keys.key("phx", Era::Current);
    let cap = 64 * 1024;
    let filler = ".".repeat(cap - "BEGIN".len() - 10);
    let input = format!("BEGIN{filler}{key} after\n");
    let args = ["--pattern", "BEGIN[^#]*END"];
    let (code, out, err) = run(&args, input.as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, b"[REDACTED]phx_[REDACTED] after\n");
    let (code, out, err) = run(&["--check", "--pattern", "BEGIN[^#]*END", "-"], input.as_bytes());
    assert_eq!((code, err.as_str()), (1, ""));
    let out = String::from_utf8(out).unwrap();
    let column = "BEGIN".len() + filler.len() + 1;
    assert!(out.contains(&format!(":1:{column}: phx: {}...", &key[..4])), "{out}");
    assert!(!out.contains(&key[4..12]), "{out}");
}

#[test]
fn many_candidates_near_the_cap_take_linear_time() {
    // Blocks that never end and keys that keep crossing the cut, and a
    // candidate at every byte: a quadratic engine would run for hours.
    let unit = format!("BEGIN phx_{}BEGIN{} ", "a_".repeat(30), "b".repeat(20));
    let input = unit.repeat((8 << 20) / unit.len()).into_bytes();
    let args = ["--pattern", "BEGIN[^#]*END", "--pattern", "[a-z_]{3,}[0-9]"];
    let (code, out, err) = run_within(&args, input.clone(), std::time::Duration::from_secs(120));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(!holds_a_token(&out));
    assert!(out.len() < input.len());
}

/// An alternation of `n` distinct words, as a regex.
fn words(n: usize) -> String {
    (0..n).map(|i| format!("w{:x}rd{i}x", i * 7919 % 100_000)).collect::<Vec<_>>().join("|")
}

#[test]
fn hostile_rules_are_refused_at_once_with_the_rule_named() {
    let guard = std::time::Duration::from_secs(30);
    let cases = [
        ("(a|b)*a(a|b){25}".to_string(), "DFA exceeded size limit"),
        ("x{20000}".to_string(), "NFA"),
        (words(3000), "NFA"),
        (format!("{}a{}", "(".repeat(200), ")".repeat(200)), "nest"),
    ];
    for (pattern, why) in cases {
        let (code, out, err) = run_within(&["--pattern", &pattern], b"x\n".to_vec(), guard);
        assert_eq!((code, out.as_slice()), (2, &b""[..]), "{err}");
        assert!(err.contains("rule pattern-1:"), "{err}");
        assert!(err.contains(why), "{err}");
    }
    // The same from a rules file, named as the file names it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    fs::write(&file, "[[rule]]\nname = \"blowup\"\nregex = '(a|b)*a(a|b){25}'\n").unwrap();
    let (code, _, err) =
        run_within(&["--rules-file", file.to_str().unwrap()], b"x\n".to_vec(), guard);
    assert_eq!(code, 2);
    assert!(err.contains("rule blowup: cannot compile it into a DFA"), "{err}");
}

#[test]
fn reasonable_large_rules_still_compile() {
    let guard = std::time::Duration::from_secs(60);
    let input = format!("w0rd0x ghp_abcdefghijklmnopqrstuvwxyz0123456789 {}\n", "y".repeat(2000))
        .into_bytes();
    for pattern in [words(300), "gh[pousr]_[A-Za-z0-9]{36}".to_string(), "y{2000}".to_string()] {
        let (code, out, err) = run_within(&["--pattern", &pattern], input.clone(), guard);
        assert_eq!((code, err.as_str()), (0, ""), "{}", &pattern[..20]);
        assert_ne!(out, input);
    }
}

#[test]
fn a_rules_file_or_key_that_is_not_a_small_regular_file_is_refused() {
    let guard = std::time::Duration::from_secs(30);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let big_rules = dir.path().join("big.toml");
    fs::write(&big_rules, format!("# {}\n", "x".repeat(2 << 20))).unwrap();
    let big_key = dir.path().join("big.key");
    fs::write(&big_key, "k".repeat(100 * 1024)).unwrap();
    let fifo = fifo.to_str().unwrap();
    let cases: [(&str, &str, &str); 6] = [
        ("--rules-file", "/dev/zero", "not a regular file"),
        ("--rules-file", fifo, "not a regular file"),
        ("--rules-file", big_rules.to_str().unwrap(), "larger than 1024 KiB"),
        ("--fingerprint-key", "/dev/zero", "not a regular file"),
        ("--fingerprint-key", fifo, "not a regular file"),
        ("--fingerprint-key", big_key.to_str().unwrap(), "larger than 64 KiB"),
    ];
    for (flag, path, why) in cases {
        let (code, out, err) = run_within(&[flag, path], b"x\n".to_vec(), guard);
        assert_eq!((code, out.as_slice()), (2, &b""[..]), "{flag} {path}: {err}");
        assert!(err.contains(why) && err.contains(path), "{flag} {path}: {err}");
    }
}

#[test]
fn a_marker_that_what_follows_a_token_would_complete_is_refused() {
    // `{prefix}` of `K[0-9]{3}` is `K`: `K123456` became `K456`, which a
    // second run changed again. A marker that ends where a rule's token
    // may begin, followed by what follows a token, is refused.
    let refused: [&[&str]; 3] = [
        &["--rule", "none", "--pattern", "K[0-9]{3}", "--marker", "{prefix}"],
        // The marker ends in a key's prefix, and a body may follow.
        &["--rule", "phx", "--pattern", "K[0-9]{3}", "--marker", "<{rule}>phx_"],
        &["--rule", "none", "--pattern", "tok[0-9]+", "--marker", "[{rule}]t"],
    ];
    for args in refused {
        let (code, out, err) = run(args, b"K123456\n");
        assert_eq!((code, out.as_slice()), (2, &b""[..]), "{args:?}");
        assert!(err.contains("with the text that follows a token"), "{args:?}: {err}");
        assert!(err.contains("choose a marker") && err.contains("or narrow the rule"), "{err}");
    }
    // What follows a built-in key is never a letter, digit or `_`: the
    // presets that show its prefix or last four bytes stay allowed.
    for marker in ["default", "posthog", "fingerprint", "same-length", "{prefix}"] {
        let (code, _, err) = run(&["--marker", marker], b"x\n");
        assert_eq!((code, err.as_str()), (0, ""), "{marker}");
    }
    // And a marker that closes (`]`) is fine for any rule.
    let (code, out, err) = run(&["--pattern", "K[0-9]{3}", "--marker", "[{rule}]"], b"K123456\n");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, b"[pattern-1]456\n");
}

#[test]
fn a_refused_rule_never_echoes_its_text_nor_prints_control_characters() {
    // A custom rule's text can be the secret itself: an error says what is
    // wrong and where, not the regex.
    let (code, out, err) = run(&["--pattern", "hunter2secretXYZ("], b"");
    assert_eq!((code, out.as_slice()), (2, &b""[..]));
    assert!(err.contains("rule pattern-1: cannot parse the regex: unclosed group"), "{err}");
    assert!(!err.contains("hunter2secretXYZ"), "{err}");
    // A name with a newline or an escape would forge output lines.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    fs::write(&file, "[[rule]]\nname = \"bad\\nname\\u001b[31m\"\nregex = 'tok_[0-9]{8}'\n")
        .unwrap();
    let (code, out, err) = run(&["--rules-file", file.to_str().unwrap(), "--list-rules"], b"");
    assert_eq!((code, out.as_slice()), (2, &b""[..]));
    assert!(err.contains("rule 7: its name holds a control character"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn a_marker_that_is_no_preset_nor_template_is_refused_with_the_closest_preset() {
    let k = format!("phx_{}", "k".repeat(40));
    let input = format!("a {k}\n");
    for (marker, hint) in [
        ("posthg", "did you mean --marker posthog?"),
        ("defualt", "did you mean --marker default?"),
        ("same_length", "did you mean --marker same-length?"),
        ("[HIDDEN]", "write literal:[HIDDEN]"),
        ("{{prefix}}", "write literal:{{prefix}}"),
    ] {
        let (code, out, err) = run(&["--marker", marker], input.as_bytes());
        assert_eq!((code, out.as_slice()), (2, &b""[..]), "{marker}");
        assert!(err.contains("neither a preset") && err.contains(hint), "{marker}: {err}");
        // A rules file's marker, and the audit, refuse it too.
        let (code, _, _) = run(&["--check", "--marker", marker], input.as_bytes());
        assert_eq!(code, 2, "{marker}");
    }
    // A fixed text, asked for explicitly.
    let (code, out, err) = run(&["--marker", "literal:[HIDDEN]"], input.as_bytes());
    assert_eq!((code, out.as_slice(), err.as_str()), (0, &b"a [HIDDEN]\n"[..], ""));
    // A key in a marker never shows in the message.
    let (code, _, err) = run(&["--marker", &format!("x{k}")], input.as_bytes());
    assert_eq!(code, 2);
    assert!(!err.contains(&k) && err.contains("literal:TEXT"), "{err}");
}
