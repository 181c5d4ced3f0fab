//! `--input-format cri`: lines containerd split into records of 16 KiB,
//! with keys at every offset around each split, scanned whole and written
//! back record for record (the oracle joins them first).

use std::fs;

use phx_redact::testing::sample::KeyGen;

use crate::common::{contains, run};
use crate::records_oracle::{Rec, SPLIT, cri_expected, cri_file, split};

/// A file of lines, each with a key that starts `d` bytes before or after
/// a split (the first, or the second of a line of three records), a
/// stderr line between each two, and CRLF content in some.
pub(crate) fn keys_around_splits(seed: u64) -> (Vec<Rec>, Vec<String>) {
    let mut keys = KeyGen::new(seed);
    let (mut recs, mut used) = (Vec::new(), Vec::new());
    for (n, at) in (SPLIT - 60..SPLIT + 4).chain(2 * SPLIT - 30..2 * SPLIT + 2).enumerate() {
        let key = keys.secret();
        let mut line = vec![b'x'; at - 1];
        line.push(b' ');
        line.extend_from_slice(key.as_bytes());
        line.extend_from_slice(if n % 3 == 0 { b" done\r" } else { b" done" });
        recs.extend(split("stdout", &line));
        recs.extend(split("stderr", format!("between {n}").as_bytes()));
        used.push(key);
    }
    (recs, used)
}

fn file_of(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn a_key_at_every_offset_around_a_split_is_redacted_in_every_record() {
    let (recs, keys) = keys_around_splits(2001);
    let input = cri_file(&recs);
    let (_dir, path) = file_of("0.log", &input);
    let (code, out, err) = run(&["--input-format", "cri", path.to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    for key in &keys {
        assert!(!contains(&out, &key.as_bytes()[..24]), "a key's start went out");
        assert!(!contains(&out, &key.as_bytes()[key.len() - 16..]), "a key's end went out");
    }
    assert!(out == cri_expected(&recs), "not the joined oracle, record for record");
    // Standard input reads the same.
    let (code, from_stdin, _) = run(&["--input-format", "cri"], &input);
    assert!(code == 0 && from_stdin == out);
}

#[test]
fn a_key_longer_than_many_records_leaves_them_empty_and_valid() {
    let mut keys = KeyGen::new(2002);
    let long = format!("{} {}", keys.secret(), keys.alnum(5 * SPLIT));
    let key = format!("{}{}", &keys.secret()[..4], keys.alnum(4 * SPLIT + 7));
    let line = format!("{} then {key} after", "y".repeat(SPLIT - 10));
    let mut recs = split("stdout", line.as_bytes());
    recs.extend(split("stderr", long.as_bytes()));
    let (_dir, path) = file_of("0.log", &cri_file(&recs));
    let (code, out, _) = run(&["--input-format", "cri", path.to_str().unwrap()], b"");
    assert_eq!(code, 0);
    assert!(out == cri_expected(&recs));
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), recs.len(), "every record kept");
    assert!(lines.iter().all(|l| l.starts_with(b"2024-")), "every record framed");
}

#[test]
fn a_line_that_is_no_record_is_kept_redacted_and_counted() {
    let mut keys = KeyGen::new(2003);
    let key = keys.secret();
    let mut recs = split("stdout", format!("first {}", &key[..10]).as_bytes());
    recs[0].partial = true;
    let mut input = cri_file(&recs);
    input.extend_from_slice(format!("not a record {key}\n").as_bytes());
    input.extend_from_slice(
        format!("{} stdout F {} end\n", crate::records_oracle::TIME, &key[10..]).as_bytes(),
    );
    let (_dir, path) = file_of("0.log", &input);
    let (code, out, err) = run(&["--input-format", "cri", path.to_str().unwrap()], b"");
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], "not a record phx_[REDACTED]".replace("phx", &key[..3]));
    assert!(lines[0].ends_with(&format!("first {}_[REDACTED]", &key[..3])), "{}", lines[0]);
    assert!(lines[2].ends_with(" stdout F  end"), "{}", lines[2]);
    assert!(err.contains("1 line was not CRI records"), "{err}");
}

#[test]
fn check_reports_the_record_where_a_key_starts() {
    let (recs, keys) = keys_around_splits(2004);
    let (_dir, path) = file_of("0.log", &cri_file(&recs));
    let (code, out, _) = run(&["--check", "--input-format", "cri", path.to_str().unwrap()], b"");
    assert_eq!(code, 1);
    let text = String::from_utf8(out).unwrap();
    // Where each key starts: the record (line) holding its first byte,
    // found in the stdout stream joined.
    let mut joined = Vec::new();
    let mut line_at = Vec::new();
    for (line, rec) in recs.iter().enumerate().filter(|(_, r)| r.stream == "stdout") {
        line_at.extend(std::iter::repeat_n(line + 1, rec.content.len()));
        joined.extend_from_slice(&rec.content);
    }
    let expected: Vec<String> = keys
        .iter()
        .map(|key| {
            let at = joined.windows(key.len()).position(|w| w == key.as_bytes()).unwrap();
            format!("{}:{}:", path.display(), line_at[at])
        })
        .collect();
    let found: Vec<&str> =
        text.lines().filter(|l| l.starts_with(&*path.to_string_lossy())).collect();
    assert_eq!(found.len(), keys.len(), "{text}");
    for (f, e) in found.iter().zip(&expected) {
        assert!(f.starts_with(e.as_str()), "{f} is not at {e}");
    }
}

/// Short records, as most are: lines with a key at each offset, some cut
/// into P records of a few bytes (a key across many of them, a prefix cut
/// after its first byte), runs of one stream and lines of the other
/// between them.
fn short_records(seed: u64) -> (Vec<Rec>, Vec<String>) {
    let mut keys = KeyGen::new(seed);
    let (mut recs, mut used) = (Vec::new(), Vec::new());
    for n in 0..120 {
        let key = keys.secret();
        let line = format!("{}{key}{}", "a ".repeat(n % 7), " end".repeat(n % 3));
        let stream = if n % 10 == 9 { "stderr" } else { "stdout" };
        let width = [0, 1, 3, 7, 29][n % 5];
        if width == 0 {
            recs.push(Rec { stream, content: line.into_bytes(), partial: false });
        } else {
            let pieces: Vec<&[u8]> = line.as_bytes().chunks(width).collect();
            for (i, piece) in pieces.iter().enumerate() {
                let partial = i + 1 < pieces.len();
                recs.push(Rec { stream, content: piece.to_vec(), partial });
            }
        }
        let clean = format!("clean line {n} with ph and phx but no key");
        recs.push(Rec { stream, content: clean.into_bytes(), partial: false });
        used.push(key);
    }
    (recs, used)
}

#[test]
fn short_records_fed_in_runs_match_the_joined_oracle() {
    let (recs, keys) = short_records(2005);
    let input = cri_file(&recs);
    let (_dir, path) = file_of("0.log", &input);
    let (code, out, err) = run(&["--input-format", "cri", path.to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    for key in &keys {
        assert!(!contains(&out, &key.as_bytes()[4..20]), "a key's body went out");
    }
    assert!(out == cri_expected(&recs), "not the joined oracle, record for record");
    let (code, from_stdin, _) = run(&["--input-format", "cri"], &input);
    assert!(code == 0 && from_stdin == out);
}

/// A stdout key left hanging in a P record, then many MiB of stderr
/// records: those wait behind it only up to a bound, then the stdout
/// record goes out with a marker where its undecided bytes were (never
/// the key in clear), and the key's rest, when it comes, stays out too.
/// Every record is kept, in order.
#[test]
fn records_waiting_behind_a_hanging_key_are_bounded_and_it_is_cut_closed() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut keys = KeyGen::new(2006);
    let key = keys.secret();
    let time = crate::records_oracle::TIME;
    let head = format!("{time} stdout P token={}\n", &key[..24]);
    let err_line = format!("{time} stderr F {}\n", "e".repeat(200));
    let err_lines = (48 << 20) / err_line.len();
    let tail = format!("{time} stdout F {} end\n", &key[24..]);
    let mut child = crate::common::cmd()
        .args(["--input-format", "cri"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(head.as_bytes()).unwrap();
    let block = err_line.repeat(1000);
    for _ in 0..err_lines / 1000 {
        stdin.write_all(block.as_bytes()).unwrap();
    }
    let peak = crate::common::peak_rss_kib(&child);
    stdin.write_all(tail.as_bytes()).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let out = reader.join().unwrap();
    assert!(peak < 24 * 1024, "peak RSS {peak} KiB: the waiting records were not bounded");
    assert!(!contains(&out, &key.as_bytes()[4..24]), "the key's head went out");
    assert!(!contains(&out, &key.as_bytes()[24..]), "the key's rest went out");
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), err_lines / 1000 * 1000 + 2, "every record kept");
    let first = String::from_utf8_lossy(lines[0]);
    assert_eq!(first, format!("{time} stdout P token=[REDACTED]"));
    assert!(lines[1..lines.len() - 1].iter().all(|l| *l == err_line.trim_end().as_bytes()));
    assert_eq!(String::from_utf8_lossy(lines[lines.len() - 1]), format!("{time} stdout F  end"));
}
