//! The records' fast path (whole full records where the prefilter, run
//! over the raw lines, sees no key start, written as they came) against
//! what it must not skip: a key's prefix cut between two partial
//! records, a key's rest in the full record after them, a record after a
//! partial one, keys that only a json-file escape shows; and `--check`
//! still places each key at its record's line.

use std::fs;

use phx_redact::testing::sample::KeyGen;

use crate::common::{contains, run};
use crate::records_oracle::{Rec, TIME, cri_expected, cri_file, docker_expected, docker_file};

fn rec(stream: &'static str, content: &str, partial: bool) -> Rec {
    Rec { stream, content: content.as_bytes().to_vec(), partial }
}

/// Clean full records of both streams (many: the fast path takes them),
/// and between them stdout keys, whole in a full record or cut as a
/// runtime may cut them; the keys.
fn records(seed: u64, newline: &str) -> (Vec<Rec>, Vec<String>) {
    let mut keys = KeyGen::new(seed);
    let (mut recs, mut used) = (Vec::new(), Vec::new());
    for n in 0..60 {
        let clean = format!("clean line {n}: ph, phx and token=abc, no key{newline}");
        recs.push(rec(if n % 2 == 0 { "stdout" } else { "stderr" }, &clean, false));
        let key = keys.secret();
        if n % 6 == 1 {
            // A key whole in a full record after full ones.
            recs.push(rec("stdout", &format!("whole {key} in one{newline}"), false));
            used.push(key);
            continue;
        }
        let cut = match n % 6 {
            // The prefix cut after `ph`: neither record holds it whole.
            0 => 2,
            // The prefix whole in the partial record, the body after it.
            2 => 10,
            // A clean partial record, then a full one with the key whole.
            4 => 0,
            _ => continue,
        };
        let (head, tail) = key.split_at(cut);
        let head = if cut == 0 { "a partial record, clean " } else { head };
        recs.push(rec("stdout", &format!("key {head}"), true));
        recs.push(rec("stderr", &format!("between{newline}"), false));
        let tail = if cut == 0 { key.as_str() } else { tail };
        recs.push(rec("stdout", &format!("{tail} and the line's end{newline}"), false));
        used.push(key);
    }
    (recs, used)
}

/// Runs `--input-format FORMAT` and `--check` on `input` as a file: the
/// output, what it said, and the lines `--check` placed its findings at.
fn filter_and_check(format: &str, input: &[u8]) -> (Vec<u8>, String, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    fs::write(&path, input).unwrap();
    let (code, out, err) = run(&["--input-format", format, path.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{format}: {err}");
    let (code, report, _) =
        run(&["--check", "--input-format", format, path.to_str().unwrap()], b"");
    assert_eq!(code, 1, "{format}: --check finds the keys");
    let prefix = format!("{}:", path.display());
    let report = String::from_utf8(report).unwrap();
    let line_of = |l: &str| l.strip_prefix(&prefix)?.split(':').next()?.parse().ok();
    (out, err, report.lines().filter_map(line_of).collect())
}

/// Where each key starts: the line of the record holding its first byte
/// (the stdout records joined).
fn key_lines(recs: &[Rec], keys: &[String]) -> Vec<u64> {
    let (mut joined, mut line_at) = (Vec::new(), Vec::new());
    for (line, r) in recs.iter().enumerate().filter(|(_, r)| r.stream == "stdout") {
        line_at.extend(std::iter::repeat_n(line as u64 + 1, r.content.len()));
        joined.extend_from_slice(&r.content);
    }
    let at = |key: &String| joined.windows(key.len()).position(|w| w == key.as_bytes()).unwrap();
    keys.iter().map(|key| line_at[at(key)]).collect()
}

#[test]
fn keys_cut_between_records_among_clean_ones_match_the_joined_oracle() {
    for (format, newline) in [("cri", ""), ("docker-json", "\n")] {
        let (recs, keys) = records(4001, newline);
        let input = if format == "cri" { cri_file(&recs) } else { docker_file(&recs) };
        let (out, err, lines) = filter_and_check(format, &input);
        assert_eq!(err, "", "{format}");
        for key in &keys {
            assert!(!contains(&out, &key.as_bytes()[4..]), "{format}: a key's body went out");
        }
        let expected = if format == "cri" { cri_expected(&recs) } else { docker_expected(&recs) };
        assert!(out == expected, "{format}: not the joined oracle, record for record");
        assert_eq!(lines, key_lines(&recs, &keys), "{format}: --check's lines");
    }
}

/// A json-file line of exactly Docker's shape whose `log` holds a key
/// only its escapes show (`\u0070hx_`, `personal\u005fapi_key=`): read
/// by the JSON parser, its key is found, redacted and reported at its
/// line; one of that shape that is no record (a raw tab, JSON's
/// forbidden) is counted as such.
#[test]
fn keys_only_escapes_show_in_json_file_records_are_found() {
    let mut keys = KeyGen::new(4002);
    let (key, legacy) = (keys.secret(), keys.legacy_personal());
    let line =
        |log: &str| format!("{{\"log\":\"{log}\\n\",\"stream\":\"stdout\",\"time\":\"{TIME}\"}}\n");
    let clean = line("a clean record");
    let mut input = clean.repeat(50);
    input += &line(&format!("escaped \\u{:04x}{}", key.as_bytes()[0], &key[1..]));
    input += &clean.repeat(50);
    input += &line(&format!("personal\\u005fapi_key={legacy}"));
    input += &clean.repeat(50);
    input += &line("raw\ttab");
    input += &clean.repeat(5);
    let (out, err, lines) = filter_and_check("docker-json", input.as_bytes());
    assert!(err.contains("1 line was not docker json-file records"), "{err}");
    assert_eq!(lines, [51, 102], "--check's lines");
    let text = String::from_utf8(out).unwrap();
    for (n, out_line) in text.lines().enumerate() {
        if n == 152 {
            // The line that is no record: redacted as plain text.
            assert_eq!(format!("{out_line}\n"), line("raw\ttab"));
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(out_line).unwrap();
        let log = value["log"].as_str().unwrap();
        assert!(!log.contains(&key[4..]) && !log.contains(&legacy), "line {}: {log}", n + 1);
    }
}
