//! `--check` when its output fails, goes away or is quiet, and the bounds
//! on what it holds: the verdict never changes, and memory stays flat.

use std::{fs, io::Write};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::check_cli::leaky_file;
use crate::common::run;

/// Findings stream out and only distinct keys are kept: half a million
/// findings and a 100 MiB token (hashed as it passes) leave memory flat.
#[cfg(target_os = "linux")]
#[test]
fn check_memory_stays_constant_with_many_findings_and_a_huge_token() {
    use std::io::{BufRead, BufReader};
    const LINES: usize = 500_000;
    let mut keys = KeyGen::new(29);
    let key = keys.key("phx", Era::Current);
    let mut child = crate::common::cmd().arg("--check").spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let writer = std::thread::spawn(move || {
        let lines = format!("k={key}\n").repeat(1000);
        for _ in 0..LINES / 1000 {
            stdin.write_all(lines.as_bytes()).unwrap();
        }
        stdin.write_all(b"phs_").unwrap();
        let run = vec![b'Z'; 1 << 20];
        for _ in 0..100 {
            stdin.write_all(&run).unwrap();
        }
        stdin.write_all(b"\n").unwrap();
        stdin // left open: the child stays alive until its memory is read
    });
    let mut line = String::new();
    for n in 1..=LINES + 1 {
        line.clear();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with(&format!("<stdin>:{n}:")), "{line}");
    }
    assert!(line.ends_with(": phs: phs_...ZZZZ\n"), "{line}");
    let stdin = writer.join().unwrap();
    let peak = crate::common::peak_rss_kib(&child);
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains(&format!("{} findings, 2 distinct keys", LINES + 1)), "{rest}");
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert!(peak < 16 * 1024, "peak RSS {peak} KiB");
}

/// `--check | head -1`, or a reader that closes at once: the verdict is
/// still 1 (found), or 2 when an input failed, never 0.
#[test]
fn a_reader_that_goes_away_does_not_change_the_verdict() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let leaky = leaky_file(dir.path(), 30, 200_000);
    let missing = dir.path().join("missing.log");
    for (read_one_line, extra, verdict) in
        [(true, None, 1), (false, None, 1), (true, Some(&missing), 2), (false, Some(&missing), 2)]
    {
        for json in [false, true] {
            let mut command = crate::common::cmd();
            command.arg("--check").arg(&leaky);
            if json {
                command.arg("--json");
            }
            command.args(extra);
            let mut child = command.spawn().unwrap();
            let stdout = child.stdout.take().unwrap();
            if read_one_line {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).unwrap();
                assert!(!line.is_empty());
            } else {
                drop(stdout);
            }
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(verdict), "{err}");
            if extra.is_none() {
                assert_eq!(err, "", "a reader that leaves is not an error to report");
            } else {
                assert!(err.contains("missing.log: cannot read"), "{err}");
            }
        }
    }
}

/// Runs `phx-redact ARGS` through `sh -c` with the redirection `redirect`
/// (`>&-`: stdout closed).
fn run_redirected(args: &[&str], redirect: &str) -> (i32, String) {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!("'{}' {} {redirect}", crate::common::bin().display(), quoted.join(" "));
    let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_closed_or_read_only_stdout_is_an_error_not_a_silent_success() {
    let dir = tempfile::tempdir().unwrap();
    let leaky = leaky_file(dir.path(), 31, 3);
    let leaky = leaky.to_str().unwrap();
    for args in [vec!["--check", leaky], vec![leaky], vec!["--generate-sample", "5"]] {
        let (code, err) = run_redirected(&args, ">&-");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("standard output is closed"), "{err}");
        let (code, err) = run_redirected(&args, &format!("1<'{leaky}'"));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("standard output is open for reading only"), "{err}");
        // Discarding the output on purpose is not an error, whichever way
        // /dev/null is opened (a daemon opens it read-write).
        for discard in [">/dev/null", "1<>/dev/null"] {
            let (code, err) = run_redirected(&args, discard);
            assert_eq!((code, err.as_str()), (i32::from(args[0] == "--check"), ""), "{args:?}");
        }
    }
    // Help and version go to stdout too.
    for args in [["--help"], ["--version"]] {
        let (code, err) = run_redirected(&args, ">&-");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("standard output is closed"), "{err}");
    }
    // `-q` writes nothing on stdout, so it needs none.
    let (code, err) = run_redirected(&["--check", "-q", leaky], ">&-");
    assert_eq!((code, err.as_str()), (1, ""));
}

#[test]
fn quiet_check_prints_nothing_and_its_status_is_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let leaky = leaky_file(dir.path(), 32, 5);
    let clean = dir.path().join("clean.log");
    fs::write(&clean, "nothing here\n").unwrap();
    let missing = dir.path().join("missing.log");
    let (leaky, clean, missing) =
        (leaky.to_str().unwrap(), clean.to_str().unwrap(), missing.to_str().unwrap());
    for flags in [vec!["--check", "-q"], vec!["--check", "--quiet", "--json"]] {
        let with = |files: &[&str]| {
            let mut args = flags.clone();
            args.extend(files);
            run(&args, b"")
        };
        let (code, out, err) = with(&[leaky]);
        assert_eq!((code, out.as_slice(), err.as_str()), (1, &b""[..], ""));
        let (code, out, err) = with(&[clean]);
        assert_eq!((code, out.as_slice(), err.as_str()), (0, &b""[..], ""));
        // Errors still go to stderr, and win.
        let (code, out, err) = with(&[leaky, missing]);
        assert_eq!((code, out.as_slice()), (2, &b""[..]));
        assert!(err.contains("missing.log: cannot read"), "{err}");
    }
    // Quiet, tokens are counted rather than recorded: a run cut at the hold
    // cap before any rule matched counts too, from standard input as well.
    let capped = format!("BEGIN{}\n", "a".repeat(70 * 1024));
    let pattern = "BEGIN[a-z]*END";
    for quiet in [true, false] {
        let mut args = vec!["--check", "--pattern", pattern, "-"];
        if quiet {
            args.push("-q");
        }
        let (code, out, _) = run(&args, capped.as_bytes());
        assert_eq!((code, out.is_empty()), (1, quiet), "quiet: {quiet}");
    }
}

/// The list of keys stops at 10 000; further keys' findings are counted, so
/// that a stream of ever new keys cannot grow the memory without bound.
#[test]
fn the_key_list_is_bounded_and_says_what_it_left_out() {
    const LISTED: usize = 10_000;
    const EXTRA: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let leaky = leaky_file(dir.path(), 33, LISTED + EXTRA);
    let (code, out, err) = run(&["--check", leaky.to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (1, ""));
    let text = String::from_utf8(out).unwrap();
    let summary: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .take_while(|l| *l != "What to do:")
        .collect();
    assert_eq!(
        summary[0],
        format!(
            "{} findings, more than {LISTED} distinct keys to rotate; the first {LISTED}:",
            LISTED + EXTRA
        )
    );
    assert_eq!(summary.len(), 1 + LISTED + 1);
    assert_eq!(
        summary[LISTED + 1],
        format!("  and {EXTRA} more findings of keys not listed (the list stops at {LISTED} keys)")
    );
    let (code, out, _) = run(&["--check", "--json", leaky.to_str().unwrap()], b"");
    assert_eq!(code, 1);
    let last: serde_json::Value =
        serde_json::from_slice(out.trim_ascii_end().rsplit(|&b| b == b'\n').next().unwrap())
            .unwrap();
    assert_eq!(
        last,
        serde_json::json!({"type": "unlisted", "findings": EXTRA, "listed_keys": LISTED})
    );
}

/// A key found in many inputs lists the first 100 and counts the others.
#[test]
fn a_key_lists_at_most_100_inputs_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyGen::new(34).key("phx", Era::Current);
    for i in 0..103 {
        fs::write(dir.path().join(format!("{i:03}.log")), format!("{key}\n")).unwrap();
    }
    let (code, out, err) = run(&["--check", "-r", dir.path().to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (1, ""));
    let text = String::from_utf8(out).unwrap();
    let summary: Vec<&str> = text.lines().skip_while(|l| !l.is_empty()).skip(1).collect();
    assert_eq!(summary[0], "103 findings, 1 distinct key to rotate:");
    let last = dir.path().join("099.log");
    assert!(summary[1].contains("  103 times  in "), "{}", summary[1]);
    assert!(summary[1].ends_with(&format!("{} and 3 more inputs", last.display())));
    assert_eq!(summary[1].matches(".log").count(), 100);
    let (_, out, _) = run(&["--check", "--json", "-r", dir.path().to_str().unwrap()], b"");
    let key_line: serde_json::Value =
        serde_json::from_slice(out.trim_ascii_end().rsplit(|&b| b == b'\n').next().unwrap())
            .unwrap();
    assert_eq!(key_line["files"].as_array().unwrap().len(), 100);
    assert_eq!(key_line["more_files"], 3);
}

/// `tail -f app.log | phx-redact --check | head -1`: standard input may
/// never end, so once the reader has gone the check stops reading it at its
/// next read, with the verdict so far (1: found).
#[test]
fn a_live_stream_check_ends_soon_after_its_reader_goes_away() {
    use std::io::{BufRead, BufReader};
    let mut keys = KeyGen::new(35);
    let mut child = crate::common::cmd().arg("--check").spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "first {}", keys.key("phx", Era::Current)).unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("<stdin>:1:7: phx: "), "{line}");
    drop(stdout);
    // The stream goes on; the check must stop reading it, which the writer
    // sees as a closed pipe, long before the stream would end.
    let line = format!("more {}\n", keys.key("phs", Era::Current));
    let stopped = (0..200_000).any(|_| stdin.write_all(line.as_bytes()).is_err());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(stopped, "the check read the whole stream after its reader left");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
