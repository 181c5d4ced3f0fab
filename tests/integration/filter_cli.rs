//! The real binary: stdin, files, errors, pipes, latency, memory.

use std::{
    fs,
    io::{BufRead, BufReader, Read, Write},
    process::Stdio,
    sync::mpsc,
    thread,
    time::Duration,
};

use phx_redact::testing::sample::{self, Era, KeyGen};

use crate::common::{cmd, contains, oracle, peak_rss_kib, run};

#[test]
fn stdin_to_stdout_equals_the_oracle() {
    let log = sample::log(1, 5_000, 5);
    let (code, out, err) = run(&[], &log);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, oracle(&log, false));
    assert_ne!(out, log, "the sample holds keys");
}

#[test]
fn files_and_dash_are_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyGen::new(4);
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    fs::write(&a, format!("first {}\n", keys.key("phx", Era::Current))).unwrap();
    fs::write(&b, format!("third {}\n", keys.key("pha", Era::Base62))).unwrap();
    let stdin = format!("second {}\n", keys.key("phs", Era::Legacy));
    let (code, out, err) = run(&[a.to_str().unwrap(), "-", b.to_str().unwrap()], stdin.as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, b"first phx_[REDACTED]\nsecond phs_[REDACTED]\nthird pha_[REDACTED]\n");
}

#[test]
fn a_missing_file_is_reported_and_the_others_still_processed() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    fs::write(&good, "fine\n").unwrap();
    let missing = dir.path().join("missing.log");
    let (code, out, err) = run(&[missing.to_str().unwrap(), good.to_str().unwrap()], b"");
    assert_eq!(code, 2);
    assert_eq!(out, b"fine\n");
    assert!(err.starts_with(&format!("phx-redact: {}: ", missing.display())), "{err}");
    assert!(err.contains("No such file"), "{err}");
}

#[test]
fn a_folder_is_an_error_without_r_and_walked_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&[dir.path().to_str().unwrap()], b"");
    assert_eq!(code, 2);
    assert!(err.contains("is a folder (use -r"), "{err}");

    let key = KeyGen::new(17).key("phx", Era::Current);
    fs::write(dir.path().join("b.log"), format!("b {key}\n")).unwrap();
    fs::write(dir.path().join("a.log"), "a\n").unwrap();
    let (code, out, err) = run(&["-r", dir.path().to_str().unwrap()], b"");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, b"a\nb phx_[REDACTED]\n", "files in sorted order");
}

#[test]
fn messages_never_hold_a_secret_not_even_one_in_a_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyGen::new(8).key("phx", Era::Current);
    let missing = dir.path().join(format!("{key}.log"));
    let (code, _, err) = run(&[missing.to_str().unwrap()], b"");
    assert_eq!(code, 2);
    assert!(!err.contains(&key), "{err}");
    assert!(err.contains("phx_[REDACTED].log"), "{err}");
}

#[test]
fn binary_data_crlf_and_no_final_newline_pass_exactly() {
    let mut keys = KeyGen::new(12);
    let mut input = b"\0\xff\xfe bin \r\n".to_vec();
    input.extend_from_slice(keys.key("phr", Era::Current).as_bytes());
    input.extend_from_slice(b"\0\r\n\x80phx_");
    input.extend_from_slice(keys.key("phx", Era::Base62).as_bytes());
    input.extend_from_slice(b"\xc3\x28 no newline at the end");
    let (code, out, _) = run(&[], &input);
    assert_eq!(code, 0);
    assert_eq!(out, oracle(&input, false));
    // `phx_` then a whole key: 40 and more of `[A-Za-z0-9_]`, one token.
    assert!(contains(&out, b"\0\r\n\x80phx_[REDACTED]\xc3\x28 no newline at the end"));
}

#[test]
fn a_long_line_equals_the_oracle() {
    let mut keys = KeyGen::new(13);
    let mut input = Vec::new();
    while input.len() < 8 << 20 {
        input.extend_from_slice(keys.alnum(200).as_bytes());
        input.push(b' ');
        input.extend_from_slice(keys.secret().as_bytes());
        input.extend_from_slice(b"\t");
    }
    let (code, out, _) = run(&[], &input);
    assert_eq!(code, 0);
    assert_eq!(out, oracle(&input, false));
}

#[test]
fn a_reader_that_goes_away_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    fs::write(&big, sample::log(2, 400_000, 50)).unwrap();
    let mut child = cmd().arg(&big).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0; 1000];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head -c 1000`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn each_line_goes_out_before_the_next_is_written() {
    let mut child = cmd().spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut line = String::new();
        for _ in 0..3 {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            tx.send(line.clone()).unwrap();
        }
    });
    let mut keys = KeyGen::new(14);
    for kind in ["phx", "phs", "phr"] {
        // The key ends the line: the engine must see the newline to know the
        // token is over, and must then let the whole line go.
        writeln!(stdin, "token {}", keys.key(kind, Era::Current)).unwrap();
        stdin.flush().unwrap();
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("the line came out");
        assert_eq!(line, format!("token {kind}_[REDACTED]\n"));
    }
    drop(stdin);
    reader.join().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn include_public_redacts_project_keys() {
    let key = KeyGen::new(15).key("phc", Era::Current);
    let line = format!("{key}\n");
    assert_eq!(run(&[], line.as_bytes()).1, line.as_bytes());
    assert_eq!(run(&["--include-public"], line.as_bytes()).1, b"phc_[REDACTED]\n");
}

#[test]
fn the_sample_is_reproducible_and_holds_keys_to_redact() {
    let (code, sample, _) = run(&["--generate-sample", "500", "--seed", "3"], b"");
    assert_eq!(code, 0);
    assert_eq!(sample, sample::log(3, 500, 10));
    let (_, out, _) = run(&[], &sample);
    assert!(contains(&out, b"phx_[REDACTED]"));
    assert_eq!(out, oracle(&sample, false));
}

#[cfg(target_os = "linux")]
#[test]
fn memory_stays_constant_on_a_gigabyte_with_no_newline_and_a_100_mib_token() {
    const END: &[u8] = b" phx_[REDACTED] end";
    let mut child = cmd().stderr(Stdio::inherit()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let writer = thread::spawn(move || {
        let mut keys = KeyGen::new(16);
        let mut block = Vec::with_capacity(1 << 20);
        while block.len() < 1 << 20 {
            block.extend_from_slice(keys.alnum(100).as_bytes());
            block.extend_from_slice(b" ph ");
        }
        for _ in 0..1024 {
            stdin.write_all(&block).unwrap();
        }
        stdin.write_all(b" phx_").unwrap();
        let run = vec![b'k'; 1 << 20];
        for _ in 0..100 {
            stdin.write_all(&run).unwrap();
        }
        stdin.write_all(b" end").unwrap();
        // Left open: the child stays alive until its memory is read.
        (stdin, 1024 * block.len() as u64)
    });
    let mut total = 0u64;
    let mut tail = Vec::new();
    let mut buf = vec![0; 1 << 16];
    while !tail.ends_with(END) {
        let n = stdout.read(&mut buf).unwrap();
        assert_ne!(n, 0, "output ended early");
        total += n as u64;
        tail.extend_from_slice(&buf[..n]);
        let keep = tail.len().saturating_sub(64);
        tail.drain(..keep);
    }
    let (stdin, clean) = writer.join().unwrap();
    let peak = peak_rss_kib(&child);
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(total, clean + END.len() as u64);
    assert!(peak < 16 * 1024, "peak RSS {peak} KiB");
}

/// The operating system's text of an error is said once, not once per
/// layer of the error.
#[test]
fn an_error_says_the_os_text_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    fs::write(&log, "a line\n").unwrap();
    let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = cmd().arg(&log).stdout(full).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("No space left on device").count(), 1, "{err}");
    assert!(err.starts_with("phx-redact: <stdout>: cannot write output: "), "{err}");

    let missing = dir.path().join("missing.log");
    for args in [vec![], vec!["--check"], vec!["--in-place"]] {
        let mut args = args.clone();
        args.push(missing.to_str().unwrap());
        let (code, _, err) = run(&args, b"");
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "{args:?}: {err}");
    }
}

/// `--generate-sample` streams: a count too large to hold is no panic, it
/// runs until the reader stops reading, and ends quietly then.
#[test]
fn a_huge_sample_streams_until_the_reader_stops() {
    let mut child = cmd().args(["--generate-sample", &u64::MAX.to_string()]).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut head = Vec::new();
    for _ in 0..1000 {
        stdout.read_until(b'\n', &mut head).unwrap();
    }
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(head, sample::log(1, 1000, 10));
}

/// `| head -1` in filter mode is the quiet success `head` expects.
#[test]
fn a_filter_into_head_ends_quietly_with_0() {
    // A pipeline's status is head's: the filter's is written to a file.
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    let script = format!(
        "'{bin}' --generate-sample 300000 | {{ '{bin}'; echo $? > '{status}'; }} | head -1 >/dev/null",
        bin = crate::common::bin().display(),
        status = status.display(),
    );
    let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(fs::read_to_string(&status).unwrap(), "0\n");
}

#[test]
fn an_input_that_failed_before_the_reader_went_away_still_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    let big = dir.path().join("big.log");
    fs::write(&big, sample::log(7, 300_000, 10)).unwrap();
    let script = format!(
        "{{ '{bin}' '{missing}' '{big}'; echo $? > '{status}'; }} | head -1 >/dev/null",
        bin = crate::common::bin().display(),
        missing = dir.path().join("missing.log").display(),
        big = big.display(),
        status = status.display(),
    );
    let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.log: cannot read"));
    assert_eq!(fs::read_to_string(&status).unwrap(), "2\n");
}

/// `phx-redact X >> X` would read back what it writes without end, filling
/// the disk: refused, as `cat` refuses it, and the file keeps its bytes.
/// The same for standard input (`< X >> X`), a followed file, and a file
/// in a walked folder; the other inputs still go through.
#[test]
fn an_input_that_is_the_output_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let other = dir.path().join("other.log");
    fs::write(&log, "a line\n").unwrap();
    fs::write(&other, "another line\n").unwrap();
    let append = || fs::OpenOptions::new().append(true).open(&log).unwrap();
    let runs: [Vec<&std::ffi::OsStr>; 3] = [
        vec![log.as_os_str(), other.as_os_str()],
        vec!["-r".as_ref(), dir.path().as_os_str()],
        vec!["-".as_ref()],
    ];
    // Plain, and read as a container runtime's records.
    for format in [&[][..], &["--input-format", "cri"], &["--input-format", "docker-json"]] {
        for args in &runs {
            let stdin = fs::File::open(&log).unwrap();
            let child = cmd().args(format).args(args).stdin(stdin).stdout(append()).spawn();
            let (status, err) = end_within(child.unwrap(), &log);
            assert_eq!(status.code(), Some(2), "{format:?} {args:?}: {err}");
            let name = if args.len() == 1 { "<stdin>" } else { "app.log" };
            let says = format!("{name}: input file is output file");
            assert!(err.contains(&says), "{format:?} {args:?}: {err}");
            let expected = if args.len() == 1 { "a line\n" } else { "a line\nanother line\n" };
            assert_eq!(fs::read_to_string(&log).unwrap(), expected, "{format:?} {args:?}");
            fs::write(&log, "a line\n").unwrap();
        }
        // --follow X >> X: refused before anything is read.
        let out = cmd().args(format).arg("--follow").arg(&log).stdout(append()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format:?}: {err}");
        assert!(err.contains("app.log: input file is output file"), "{format:?}: {err}");
        assert_eq!(fs::read_to_string(&log).unwrap(), "a line\n");
    }
}

/// Waits for `child` to end, within 20 seconds (else kills it and fails,
/// saying how big `log` grew): its status and what it said on stderr.
fn end_within(
    mut child: std::process::Child,
    log: &std::path::Path,
) -> (std::process::ExitStatus, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running, {} bytes", fs::metadata(log).unwrap().len());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}
