//! `--input-format docker-json`: json-file records of 16 KiB, escapes
//! decoded before the scan and encoded after, against the joined oracle.

use std::fs;

use phx_redact::testing::sample::KeyGen;

use crate::common::{contains, run};
use crate::records_oracle::{Rec, SPLIT, docker_expected, docker_file, docker_line, split};

/// Lines with a key at every offset around a split, escapes (`\\n` inside,
/// `\"`, `é` as `\\u00e9`, `/` as `\\/`) before and after it, and stderr lines
/// between.
fn escaped_lines(seed: u64) -> (Vec<Rec>, Vec<String>) {
    let mut keys = KeyGen::new(seed);
    let (mut recs, mut used) = (Vec::new(), Vec::new());
    for (n, at) in (SPLIT - 50..SPLIT + 3).enumerate() {
        let key = keys.secret();
        let head = "caf\u{e9} \"q\" a/b\n";
        let mut line = head.as_bytes().to_vec();
        line.resize(at - 1, b'z');
        line.push(b'=');
        line.extend_from_slice(key.as_bytes());
        line.extend_from_slice(if n % 2 == 0 { "/\u{e9}\r\n".as_bytes() } else { b"\"\n" });
        recs.extend(split("stdout", &line));
        recs.extend(split("stderr", format!("err {n}\n").as_bytes()));
        used.push(key);
    }
    (recs, used)
}

#[test]
fn escaped_records_split_on_keys_match_the_joined_oracle() {
    let (recs, keys) = escaped_lines(3001);
    let input = docker_file(&recs);
    assert!(contains(&input, b"\\u00e9") && contains(&input, b"\\/"), "escapes in the input");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    fs::write(&path, &input).unwrap();
    let (code, out, err) = run(&["--input-format", "docker-json", path.to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    for key in &keys {
        assert!(!contains(&out, &key.as_bytes()[..24]) && !contains(&out, &key.as_bytes()[28..]));
    }
    assert!(out == docker_expected(&recs), "not the joined oracle, record for record");
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert!(value["log"].is_string() && value["time"].is_string());
    }
}

#[test]
fn a_malformed_record_passes_redacted_and_counted_and_the_rest_joins() {
    let mut keys = KeyGen::new(3002);
    let key = keys.secret();
    let mut input = docker_line("stdout", &key.as_bytes()[..12]);
    input.extend_from_slice(format!("{{\"log\":\"cut {key}\n").as_bytes());
    input.extend_from_slice(&docker_line("stdout", format!("{} end\n", &key[12..]).as_bytes()));
    let (code, out, err) = run(&["--input-format", "docker-json"], &input);
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(&format!("{{\"log\":\"{}_[REDACTED]\",", &key[..3])),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], format!("{{\"log\":\"cut {}_[REDACTED]", &key[..3]));
    assert!(lines[2].starts_with("{\"log\":\" end\\n\","), "{}", lines[2]);
    assert!(err.contains("1 line was not docker json-file records"), "{err}");
}

/// `--check` reads records too, and says as the filter does how many
/// lines were not records (in both formats, over all the files).
#[test]
fn check_says_how_many_lines_were_not_records() {
    let time = crate::records_oracle::TIME;
    for (format, name, record) in [
        ("cri", "CRI", format!("{time} stdout F a record\n").into_bytes()),
        ("docker-json", "docker json-file", docker_line("stdout", b"a record\n")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (dir.path().join("1.log"), dir.path().join("2.log"));
        let mut input = record.clone();
        input.extend_from_slice(b"not a record\n");
        fs::write(&one, &input).unwrap();
        fs::write(&two, &input).unwrap();
        let args =
            ["--check", "--input-format", format, one.to_str().unwrap(), two.to_str().unwrap()];
        let (code, _, err) = run(&args, b"");
        assert_eq!(code, 0, "{err}");
        assert!(err.contains(&format!("2 lines were not {name} records")), "{format}: {err}");
    }
}

/// A line longer than 1 MiB is no record, in either format, however it is
/// read (a file, or a pipe in small writes): it goes through as plain
/// text, redacted (a key across where the reader holds it no longer, and
/// one far in it), counted; and a stdout key cut around it still joins.
#[test]
fn a_line_over_a_mib_is_plain_text_in_both_formats() {
    use crate::records_oracle::TIME;
    let mut keys = KeyGen::new(3003);
    let (split_key, near_cap, far) = (keys.secret(), keys.secret(), keys.secret());
    let mut body = vec![b'y'; (1 << 20) - 100];
    body.extend_from_slice(format!(" {near_cap} ").as_bytes());
    body.resize(2 << 20, b'z');
    body.extend_from_slice(format!(" {far} end").as_bytes());
    let body = String::from_utf8(body).unwrap();
    for (format, name) in [("cri", "CRI"), ("docker-json", "docker json-file")] {
        let (head, rest) = (&split_key[..14], &split_key[14..]);
        let mut input = Vec::new();
        let (long, after) = match format {
            "cri" => {
                input.extend_from_slice(format!("{TIME} stdout P key {head}\n").as_bytes());
                (format!("{TIME} stdout F {body}\n"), format!("{TIME} stdout F {rest} done\n"))
            }
            _ => {
                input.extend_from_slice(&docker_line("stdout", format!("key {head}").as_bytes()));
                let long = String::from_utf8(docker_line("stdout", body.as_bytes())).unwrap();
                (
                    long,
                    String::from_utf8(docker_line("stdout", format!("{rest} done\n").as_bytes()))
                        .unwrap(),
                )
            }
        };
        input.extend_from_slice(long.as_bytes());
        input.extend_from_slice(after.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        fs::write(&path, &input).unwrap();
        let from_file = run(&["--input-format", format, path.to_str().unwrap()], b"");
        let from_pipe = run(&["--input-format", format], &input);
        for (code, out, err) in [from_file, from_pipe] {
            assert_eq!(code, 0, "{err}");
            for key in [&split_key, &near_cap, &far] {
                assert!(!contains(&out, &key.as_bytes()[10..]), "{format}: a key's end went out");
            }
            assert!(err.contains(&format!("1 line was not {name} records")), "{format}: {err}");
            let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
            assert_eq!(lines.len(), 3, "{format}: every line kept");
            let marker = |key: &str| format!("{}_[REDACTED]", &key[..3]);
            let expected = long.trim_end().replace(&*near_cap, &marker(&near_cap));
            let expected = expected.replace(&*far, &marker(&far));
            assert!(lines[1] == expected.as_bytes(), "{format}: the long line, redacted");
        }
    }
}

/// `--check --input-format docker-json`: each key at the file, line and
/// column (within the decoded `log` value) of the record where it starts,
/// keys cut by splits and escapes before them included.
#[test]
fn check_reports_the_record_and_column_where_a_key_starts() {
    let (recs, keys) = escaped_lines(3004);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    fs::write(&path, docker_file(&recs)).unwrap();
    let (code, out, _) =
        run(&["--check", "--input-format", "docker-json", path.to_str().unwrap()], b"");
    assert_eq!(code, 1);
    let text = String::from_utf8(out).unwrap();
    // The stdout stream joined, each byte's record (line) and column.
    let (mut joined, mut place) = (Vec::new(), Vec::new());
    for (line, rec) in recs.iter().enumerate().filter(|(_, r)| r.stream == "stdout") {
        place.extend((0..rec.content.len()).map(|col| (line + 1, col + 1)));
        joined.extend_from_slice(&rec.content);
    }
    let found: Vec<&str> =
        text.lines().filter(|l| l.starts_with(&*path.to_string_lossy())).collect();
    assert_eq!(found.len(), keys.len(), "{text}");
    for (f, key) in found.iter().zip(&keys) {
        let at = joined.windows(key.len()).position(|w| w == key.as_bytes()).unwrap();
        let (line, column) = place[at];
        let want = format!("{}:{line}:{column}:", path.display());
        assert!(f.starts_with(&want), "{f} is not at {want}");
    }
}

/// The cut past the bound on waiting records, in both formats and under
/// `--check`: the key hanging in a stdout P record is never written in
/// clear, every record is kept, and `--check` reports the key once, at
/// the record where it starts.
#[test]
fn a_key_hanging_past_the_waiting_bound_is_cut_closed_in_both_formats() {
    use crate::records_oracle::TIME;
    let mut keys = KeyGen::new(3005);
    let key = keys.secret();
    let (head, rest) = (&key[..20], &key[20..]);
    let err_count = (3 << 20) / 200;
    for format in ["cri", "docker-json"] {
        let line = |stream: &str, log: String, partial: bool| match format {
            "cri" => {
                format!("{TIME} {stream} {} {log}\n", if partial { "P" } else { "F" }).into_bytes()
            }
            _ => {
                docker_line(stream, format!("{log}{}", if partial { "" } else { "\n" }).as_bytes())
            }
        };
        let mut input = line("stdout", format!("key={head}"), true);
        for _ in 0..err_count {
            input.extend_from_slice(&line("stderr", "e".repeat(180), false));
        }
        input.extend_from_slice(&line("stdout", format!("{rest} end"), false));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        fs::write(&path, &input).unwrap();
        let (code, out, err) = run(&["--input-format", format, path.to_str().unwrap()], b"");
        assert_eq!(code, 0, "{format}: {err}");
        assert!(
            !contains(&out, &head.as_bytes()[4..]) && !contains(&out, rest.as_bytes()),
            "{format}"
        );
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), err_count + 2, "{format}");
        assert!(contains(&out, b"key=[REDACTED]"), "{format}");
        let (code, out, _) =
            run(&["--check", "--input-format", format, path.to_str().unwrap()], b"");
        assert_eq!(code, 1, "{format}");
        let text = String::from_utf8(out).unwrap();
        let found: Vec<&str> =
            text.lines().filter(|l| l.starts_with(&*path.to_string_lossy())).collect();
        assert_eq!(found.len(), 1, "{format}: {text}");
        assert!(found[0].starts_with(&format!("{}:1:", path.display())), "{format}: {}", found[0]);
    }
}

/// Short json-file records, as most are: lines with a key at each offset,
/// some cut into partial records of a few bytes (a key across many, a
/// prefix cut after its first byte), escapes (`\/`, `\u00e9`, `\"`) in the
/// clean lines between, runs of one stream and lines of the other between
/// them, and a stream's name written with an escape.
fn short_docker_records(seed: u64) -> (Vec<Rec>, Vec<String>) {
    let mut keys = KeyGen::new(seed);
    let (mut recs, mut used) = (Vec::new(), Vec::new());
    for n in 0..120 {
        let key = keys.secret();
        let line = format!("{}{key}{}\n", "a/\u{e9} ".repeat(n % 7), " end".repeat(n % 3));
        let stream = if n % 10 == 9 { "stderr" } else { "stdout" };
        let width = [0, 1, 3, 7, 29][n % 5];
        let pieces: Vec<&[u8]> = match width {
            0 => vec![line.as_bytes()],
            _ => line.as_bytes().chunks(width).collect(),
        };
        for (i, piece) in pieces.iter().enumerate() {
            recs.push(Rec { stream, content: piece.to_vec(), partial: i + 1 < pieces.len() });
        }
        for k in 0..n % 4 + 1 {
            let clean = format!("clean \"line\" {n}/{k} caf\u{e9} with ph and phx but no key\n");
            recs.push(Rec { stream, content: clean.into_bytes(), partial: false });
        }
        used.push(key);
    }
    (recs, used)
}

/// Runs of short records of one stream, fed to the redactor in one call,
/// give the joined oracle's bytes record for record, from a file and from
/// standard input; `--check` reports each key at the record where it
/// starts; and a stream's name written with an escape is still its stream.
#[test]
fn short_records_fed_in_runs_match_the_joined_oracle() {
    let (recs, keys) = short_docker_records(3005);
    let input = docker_file(&recs);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    fs::write(&path, &input).unwrap();
    let path = path.to_str().unwrap();
    let (code, out, err) = run(&["--input-format", "docker-json", path], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    for key in &keys {
        assert!(!contains(&out, &key.as_bytes()[4..20]), "a key's body went out");
    }
    assert!(out == docker_expected(&recs), "not the joined oracle, record for record");
    let (code, from_stdin, _) = run(&["--input-format", "docker-json"], &input);
    assert!(code == 0 && from_stdin == out);
    let (code, report, _) = run(&["--check", "--input-format", "docker-json", path], b"");
    assert_eq!(code, 1);
    let report = String::from_utf8(report).unwrap();
    let found: Vec<&str> = report.lines().filter(|l| l.starts_with(path)).collect();
    assert_eq!(found.len(), keys.len(), "{report}");
    let line_of = |f: &&str| f[path.len() + 1..].split(':').next().unwrap().parse().unwrap();
    let mut lines: Vec<usize> = found.iter().map(line_of).collect();
    lines.sort_unstable();
    assert_eq!(lines, key_lines(&recs, &keys), "{report}");
    let escaped = String::from_utf8(input).unwrap().replace("\"stdout\"", "\"std\\u006fut\"");
    let (code, out, _) = run(&["--input-format", "docker-json"], escaped.as_bytes());
    let expected = String::from_utf8(docker_expected(&recs)).unwrap();
    assert!(code == 0 && out == expected.replace("\"stdout\"", "\"std\\u006fut\"").as_bytes());
}

/// The line of the record where each key starts, its stream joined.
fn key_lines(recs: &[Rec], keys: &[String]) -> Vec<usize> {
    let mut starts = Vec::new();
    for stream in ["stdout", "stderr"] {
        let (mut joined, mut line_at) = (Vec::new(), Vec::new());
        for (line, rec) in recs.iter().enumerate().filter(|(_, r)| r.stream == stream) {
            line_at.extend(std::iter::repeat_n(line + 1, rec.content.len()));
            joined.extend_from_slice(&rec.content);
        }
        for key in keys {
            if let Some(at) = joined.windows(key.len()).position(|w| w == key.as_bytes()) {
                starts.push(line_at[at]);
            }
        }
    }
    starts.sort_unstable();
    starts
}
