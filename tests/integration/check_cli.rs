//! `--check`: findings, the keys to rotate, JSON, exit statuses; never a
//! token in what it prints.

use std::{collections::BTreeMap, fs, io::Write};

use phx_redact::testing::sample::{self, Era, KeyGen};
use regex::bytes::Regex;

use crate::common::{TOKEN, holds_a_token, run};

/// What `--check` must print for `input` named `name`: one line per token
/// the oracle finds, with its line, byte column, rule and PostHog mask.
fn expected_findings(name: &str, input: &[u8]) -> Vec<String> {
    let re = Regex::new(TOKEN).unwrap();
    re.captures_iter(input)
        .map(|c| {
            let m = c.get(0).unwrap();
            let before = &input[..m.start()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = m.start() - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let token = String::from_utf8_lossy(m.as_bytes());
            let rule = String::from_utf8_lossy(&c[1]);
            let mask = format!("{}...{}", &token[..4], &token[token.len() - 4..]);
            format!("{name}:{line}:{}: {rule}: {mask}", column + 1)
        })
        .collect()
}

/// The finding lines of a text report (before the blank line).
fn finding_lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out).lines().take_while(|l| !l.is_empty()).map(String::from).collect()
}

#[test]
fn findings_are_where_the_oracle_finds_tokens_and_the_exit_status_is_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = sample::log(3, 2_000, 7);
    fs::write(&path, &log).unwrap();
    let name = path.to_str().unwrap();
    let (code, out, err) = run(&["--check", name], b"");
    assert_eq!((code, err.as_str()), (1, ""));
    let expected = expected_findings(name, &log);
    assert!(expected.len() > 100, "the sample holds many keys");
    assert_eq!(finding_lines(&out), expected);
    assert!(!holds_a_token(&out));
    // Nothing was rewritten.
    assert_eq!(fs::read(&path).unwrap(), log);
}

#[test]
fn the_summary_lists_each_distinct_key_with_its_count_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyGen::new(21);
    let (a, b) = (keys.key("phx", Era::Current), keys.key("phs", Era::Legacy));
    fs::write(dir.path().join("one.log"), format!("{a}\n{b}\n{a}\n")).unwrap();
    fs::write(dir.path().join("two.log"), format!("x {a}\n")).unwrap();
    let (code, out, err) = run(&["--check", "-r", dir.path().to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (1, ""));
    let text = String::from_utf8(out).unwrap();
    let summary: Vec<&str> = text.lines().skip_while(|l| !l.is_empty()).skip(1).collect();
    assert_eq!(summary[0], "4 findings, 2 distinct keys to rotate:");
    let mask = |k: &str| format!("{}...{}", &k[..4], &k[k.len() - 4..]);
    let one = dir.path().join("one.log");
    let two = dir.path().join("two.log");
    assert!(summary[1].starts_with(&format!("  phx  {}  fingerprint ", mask(&a))), "{text}");
    assert!(
        summary[1].ends_with(&format!("  3 times  in {}, {}", one.display(), two.display())),
        "{text}"
    );
    assert!(summary[2].starts_with(&format!("  phs  {}  fingerprint ", mask(&b))), "{text}");
    assert!(summary[2].ends_with(&format!("  1 time  in {}", one.display())), "{text}");
    assert!(!holds_a_token(text.as_bytes()));
}

#[test]
fn json_lines_carry_the_same_findings_then_the_keys() {
    let mut keys = KeyGen::new(22);
    let key = keys.key("pha", Era::Base62);
    let input = format!("line one\n  token={key} and {key}\n");
    let (code, out, err) = run(&["--check", "--json"], input.as_bytes());
    assert_eq!((code, err.as_str()), (1, ""));
    assert!(!holds_a_token(&out));
    let lines: Vec<serde_json::Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let mask = format!("{}...{}", &key[..4], &key[key.len() - 4..]);
    for (line, column) in [(&lines[0], 9), (&lines[1], 9 + key.len() + 5)] {
        assert_eq!(line["type"], "finding");
        assert_eq!(line["path"], "<stdin>");
        assert_eq!(line["line"], 2);
        assert_eq!(line["column"], column);
        assert_eq!(line["rule"], "pha");
        assert_eq!(line["mask"], mask.as_str());
        assert_eq!(line["length"], key.len());
    }
    assert_eq!(lines[0]["fingerprint"], lines[1]["fingerprint"]);
    assert_eq!(lines[2]["type"], "key");
    assert_eq!(lines[2]["count"], 2);
    assert_eq!(lines[2]["files"], serde_json::json!(["<stdin>"]));
    assert_eq!(lines[2]["fingerprint"], lines[0]["fingerprint"]);
}

#[test]
fn nothing_found_is_0_and_says_nothing() {
    let (code, out, err) = run(&["--check"], &sample::log(4, 500, 0));
    assert_eq!((code, out.as_slice(), err.as_str()), (0, &b""[..], ""));
}

#[test]
fn an_error_is_2_even_beside_a_finding_and_never_looks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyGen::new(23);
    let leaky = dir.path().join("leaky.log");
    fs::write(&leaky, format!("{}\n", keys.key("phx", Era::Current))).unwrap();
    let missing = dir.path().join("missing.log");
    let (code, out, err) =
        run(&["--check", leaky.to_str().unwrap(), missing.to_str().unwrap()], b"");
    assert_eq!(code, 2);
    assert!(String::from_utf8_lossy(&out).starts_with(&format!("{}:1:1: phx: ", leaky.display())));
    assert!(err.contains(&format!("{}: cannot read", missing.display())), "{err}");
    let (code, out, _) =
        run(&["--check", "--json", leaky.to_str().unwrap(), missing.to_str().unwrap()], b"");
    assert_eq!(code, 2);
    let error = out.split(|&b| b == b'\n').find(|l| l.starts_with(br#"{"type":"error""#)).unwrap();
    let error: serde_json::Value = serde_json::from_slice(error).unwrap();
    assert_eq!(error["path"], missing.to_str().unwrap());
    assert!(error["message"].as_str().unwrap().starts_with("cannot read"), "{error}");

    // A corrupt archive is an error, not a clean bill.
    let corrupt = dir.path().join("old.log.gz");
    fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]).unwrap();
    let (code, _, err) = run(&["--check", corrupt.to_str().unwrap()], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("corrupt or truncated gzip"), "{err}");

    // So is an empty set of inputs.
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&["--check", "-r", empty.path().to_str().unwrap()], b"");
    assert_eq!((code, out.as_slice()), (2, &b""[..]));
    assert!(err.contains("nothing to check"), "{err}");
}

#[test]
fn archives_are_checked_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyGen::new(24);
    let log = format!("a\nb {}\n", keys.key("phr", Era::Current));
    let gz = dir.path().join("a.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(log.as_bytes()).unwrap();
    fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let zst = dir.path().join("b.log.zst");
    fs::write(&zst, zstd::encode_all(log.as_bytes(), 3).unwrap()).unwrap();
    for path in [gz, zst] {
        let (code, out, err) = run(&["--check", path.to_str().unwrap()], b"");
        assert_eq!((code, err.as_str()), (1, ""));
        assert_eq!(finding_lines(&out), expected_findings(path.to_str().unwrap(), log.as_bytes()));
    }
}

#[test]
fn a_staged_diff_can_be_checked_on_stdin_as_a_pre_commit_hook_does() {
    let mut keys = KeyGen::new(25);
    let diff = format!(
        "diff --git a/.env b/.env\n--- a/.env\n+++ b/.env\n@@ -1 +1,2 @@\n FOO=1\n+POSTHOG_PERSONAL_API_KEY={}\n",
        keys.key("phx", Era::Current)
    );
    let (code, out, _) = run(&["--check", "-"], diff.as_bytes());
    assert_eq!(code, 1);
    assert!(String::from_utf8_lossy(&out).starts_with("<stdin>:6:27: phx: phx_..."));
    assert!(!holds_a_token(&out));
}

#[test]
fn a_key_in_a_file_name_is_masked_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyGen::new(26);
    let path = dir.path().join(format!("{}.log", keys.key("phx", Era::Current)));
    fs::write(&path, format!("{}\n", keys.key("phs", Era::Current))).unwrap();
    for args in [vec!["--check"], vec!["--check", "--json"]] {
        let mut args = args.clone();
        args.push(path.to_str().unwrap());
        let (code, out, err) = run(&args, b"");
        assert_eq!(code, 1);
        assert!(!holds_a_token(&out) && !holds_a_token(err.as_bytes()));
        assert!(String::from_utf8_lossy(&out).contains("phx_[REDACTED].log"));
    }
}

#[test]
fn custom_rules_are_checked_too_with_their_names() {
    let mut keys = KeyGen::new(27);
    let input = format!("ghp_{}\n{}\n", keys.alnum(36), keys.key("phx", Era::Legacy));
    let (code, out, err) = run(&["--check", "--pattern", "ghp_[A-Za-z0-9]{36}"], input.as_bytes());
    assert_eq!((code, err.as_str()), (1, ""));
    let rules: BTreeMap<String, usize> =
        finding_lines(&out).iter().fold(BTreeMap::new(), |mut m, l| {
            *m.entry(l.split(": ").nth(1).unwrap().to_string()).or_default() += 1;
            m
        });
    assert_eq!(rules, BTreeMap::from([("pattern-1".to_string(), 1), ("phx".to_string(), 1)]));
}

#[test]
fn parallel_and_serial_checks_report_the_same_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..8 {
        fs::write(dir.path().join(format!("{i}.log")), sample::log(40 + i, 300, 5)).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let (code1, serial, _) = run(&["--check", "-r", "-j1", root], b"");
    let (code2, parallel, _) = run(&["--check", "-r", "-j2", root], b"");
    assert_eq!((code1, code2), (1, 1));
    assert_eq!(serial, parallel);
    let names: Vec<String> =
        finding_lines(&serial).iter().map(|l| l.split(':').next().unwrap().to_string()).collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.rsplit('/').next().unwrap().to_string());
    assert_eq!(names, sorted, "findings come file by file, in walk order");
}

#[test]
fn findings_on_a_live_stream_come_out_as_they_are_read() {
    use std::io::{BufRead, BufReader};
    let mut keys = KeyGen::new(28);
    let mut child = crate::common::cmd().arg("--check").spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for n in 1..=3 {
        writeln!(stdin, "line {n}: {}", keys.key("phx", Era::Current)).unwrap();
        stdin.flush().unwrap();
        // The finding for this line arrives while stdin is still open.
        let mut finding = String::new();
        stdout.read_line(&mut finding).unwrap();
        assert!(finding.starts_with(&format!("<stdin>:{n}:9: phx: phx_...")), "{finding}");
    }
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.starts_with("\n3 findings, 3 distinct keys to rotate:"), "{rest}");
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

/// A file of `lines` lines, each holding a key, and its path.
pub(crate) fn leaky_file(dir: &std::path::Path, seed: u64, lines: usize) -> std::path::PathBuf {
    let mut keys = KeyGen::new(seed);
    let mut text = String::new();
    for n in 0..lines {
        text += &format!("{n} token={}\n", keys.secret());
    }
    let path = dir.join(format!("leaky-{seed}.log"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn what_a_walk_passes_over_was_not_checked_and_is_never_clean() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("clean.log"), "nothing here\n").unwrap();
    // A leftover of an interrupted scrub, and a link to a file outside the
    // tree: a walk passes over both, so the audit has not read them.
    let leaky = leaky_file(dir.path(), 33, 3);
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("clean.log"), "nothing here\n").unwrap();
    fs::rename(&leaky, tree.join(".phx-redact-left.tmp")).unwrap();
    let outside = leaky_file(dir.path(), 34, 3);
    std::os::unix::fs::symlink(&outside, tree.join("current.log")).unwrap();
    let (code, _, err) = run(&["--check", "-r", tree.to_str().unwrap()], b"");
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("not checked").count(), 2, "{err}");
    // Following links reads it; the leftover still fails the run.
    let (code, out, err) = run(&["--check", "-r", "--follow-links", tree.to_str().unwrap()], b"");
    assert_eq!(code, 2, "{err}");
    assert!(String::from_utf8_lossy(&out).contains("current.log:"), "{err}");
}

/// A file name with a newline cannot forge a finding line, an escape
/// sequence never reaches the terminal, and two names that are not UTF-8
/// stay apart in JSON: text escapes them (as `ls` and ripgrep do), JSON
/// keeps their exact bytes in `path_base64`.
#[test]
fn names_are_printed_escaped_and_kept_exact_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyGen::new(71);
    let key = keys.key("phx", Era::Current);
    let names: [&[u8]; 4] = [
        b"forged\nevil.log:1:1: phx: phx_...fake",
        b"\x1b[2Jclear.log",
        b"bad\xff.log",
        b"bad\xfe.log",
    ];
    for name in names {
        fs::write(dir.path().join(std::ffi::OsStr::from_bytes(name)), format!("k={key}\n"))
            .unwrap();
    }
    let (code, out, err) = run(&["--check", "-r", dir.path().to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (1, ""));
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    let findings = finding_lines(text.as_bytes());
    assert_eq!(findings.len(), 4, "{text}");
    for expected in [
        r"forged\nevil.log:1:1: phx: phx_...fake:1:3: phx: ",
        r"\u{1b}[2Jclear.log:1:3: ",
        r"bad\xff.log:1:3: ",
        r"bad\xfe.log:1:3: ",
    ] {
        assert!(findings.iter().any(|f| f.contains(expected)), "{expected} in {text}");
    }

    let (code, out, _) = run(&["--check", "--json", "-r", dir.path().to_str().unwrap()], b"");
    assert_eq!(code, 1);
    let mut exact: Vec<Vec<u8>> = Vec::new();
    for line in String::from_utf8(out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] != "finding" {
            continue;
        }
        let path = v["path"].as_str().unwrap().as_bytes().to_vec();
        exact.push(match v.get("path_base64") {
            Some(b64) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap()
            }
            None => path,
        });
    }
    for name in names {
        let full = [dir.path().as_os_str().as_bytes(), b"/", name].concat();
        assert!(exact.contains(&full), "{:?} not in {exact:?}", String::from_utf8_lossy(&full));
    }
}

/// A stderr message names a file with a newline or an escape sequence in
/// it on one line, escaped.
#[test]
fn a_message_naming_a_file_is_one_line_without_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone\nphx-redact: forged\x1b[2J.log");
    let (code, _, err) = run(&[missing.to_str().unwrap()], b"");
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(r"gone\nphx-redact: forged\u{1b}[2J.log: "), "{err}");
}

/// `--check` writes no marker, so a marker that a second run could match
/// is no reason to refuse its rule; the filter still refuses it.
#[test]
fn check_takes_a_rule_whose_marker_only_a_rewrite_would_refuse() {
    let args = ["--pattern", "K[0-9]{3}", "--marker", "{prefix}"];
    let input = b"a K123456 b\n";
    let (code, out, err) = run(&[&args[..], &["--check", "-"]].concat(), input);
    assert_eq!((code, err.as_str()), (1, ""));
    assert!(String::from_utf8(out).unwrap().starts_with("<stdin>:1:3: pattern-1: "));
    let (code, out, err) = run(&args, input);
    assert_eq!((code, out.is_empty()), (2, true));
    assert!(err.contains("its marker"), "{err}");
}
