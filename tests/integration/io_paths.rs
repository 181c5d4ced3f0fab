//! The filter's I/O paths, byte for byte: a file read ahead on a thread of
//! its own, a small file read in place, standard input as a file and as a
//! pipe, output in one write per read, and files that grow or shrink while
//! they are read.

use std::{
    fs::{self, OpenOptions},
    io::{Read, Write},
    path::Path,
    process::{Command, Stdio},
    thread,
};

use phx_redact::testing::{
    AHEAD_SIZE, EXTEND_MAX, READ_SIZE, SEGMENT, SEGMENTS_FROM,
    sample::{self, Era, KeyGen},
};
use regex::bytes::{Captures, Regex};

use crate::common::{TOKEN, cmd, oracle, tool};

/// The oracle for `--marker same-length`: a token's prefix, then a star
/// for each byte of its body.
fn oracle_same_length(input: &[u8]) -> Vec<u8> {
    let re = Regex::new(TOKEN).unwrap();
    re.replace_all(input, |c: &Captures| {
        let mut m = c[1].to_vec();
        m.push(b'_');
        m.resize(c[0].len(), b'*');
        m
    })
    .into_owned()
}

/// `len` bytes of log lines, with a key of every era across each offset
/// in `across` (starting 10 bytes before it), the rest sample lines.
fn log_with_keys_across(len: usize, across: &[usize], seed: u64) -> Vec<u8> {
    let mut log = sample::log(seed, len / 40 + 10, 50);
    log.truncate(len);
    let mut keys = KeyGen::new(seed);
    for (i, &at) in across.iter().enumerate() {
        let key = keys.key("phx", Era::ALL[i % Era::ALL.len()]);
        let start = at.saturating_sub(10);
        if start + key.len() + 2 <= log.len() {
            log[start] = b' ';
            log[start + 1..=start + key.len()].copy_from_slice(key.as_bytes());
            log[start + key.len() + 1] = b' ';
        }
    }
    log
}

/// The filter's output for `path` given as an argument, as standard input
/// (a regular file), and through a pipe from `cat`.
fn outputs_by_every_path(path: &Path) -> [(&'static str, Vec<u8>); 3] {
    let as_arg = cmd().arg(path).stdin(Stdio::null()).output().unwrap();
    let as_stdin = cmd().stdin(fs::File::open(path).unwrap()).output().unwrap();
    let mut cat = Command::new("cat").arg(path).stdout(Stdio::piped()).spawn().unwrap();
    let from_pipe = cmd().stdin(cat.stdout.take().unwrap()).output().unwrap();
    assert!(cat.wait().unwrap().success());
    for out in [&as_arg, &as_stdin, &from_pipe] {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    [("argument", as_arg.stdout), ("stdin file", as_stdin.stdout), ("pipe", from_pipe.stdout)]
}

#[test]
fn files_of_every_size_around_the_read_sizes_are_byte_exact_by_every_path() {
    let dir = tempfile::tempdir().unwrap();
    // Around the engine's read, the threshold for reading ahead, and the
    // reading thread's own read.
    let sizes = [
        0,
        1,
        READ_SIZE - 1,
        READ_SIZE,
        READ_SIZE + 1,
        AHEAD_SIZE - 1,
        AHEAD_SIZE,
        AHEAD_SIZE + 1,
        3 * AHEAD_SIZE + 7,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let across = [READ_SIZE, 2 * READ_SIZE, AHEAD_SIZE, 2 * AHEAD_SIZE, len.saturating_sub(20)];
        let log = log_with_keys_across(len, &across, i as u64);
        let path = dir.path().join(format!("{len}.log"));
        fs::write(&path, &log).unwrap();
        let expected = oracle(&log, false);
        for (how, got) in outputs_by_every_path(&path) {
            assert!(got == expected, "{len} bytes as {how}: output differs from the oracle");
        }
    }
}

#[test]
fn a_file_that_grows_while_it_is_read_gives_what_was_read_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.log");
    let first = sample::log(1, 100_000, 20);
    fs::write(&path, &first).unwrap();
    let mut child = cmd().args(["--marker", "same-length"]).arg(&path).spawn().unwrap();
    // Appends whole lines while the filter reads, until it has ended.
    let mut stdout = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    // Bounded, so that the filter reaches the end even if the writer is
    // the faster.
    let more = sample::log(2, 2_000, 5);
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        file.write_all(&more).unwrap();
    }
    let out = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    let now = fs::read(&path).unwrap();
    assert!(out.len() >= first.len(), "stopped before the end it was started with");
    // Same-length markers: the output is as long as what was read, which
    // is a prefix of the file as it is now.
    assert!(out == oracle_same_length(&now[..out.len()]), "output differs from the oracle");
}

#[test]
fn a_file_truncated_while_it_is_read_ends_cleanly_with_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = sample::log(3, 200_000, 20);
    fs::write(&path, &log).unwrap();
    let mut child = cmd().args(["--marker", "same-length"]).arg(&path).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // The filter has started; it now waits on this pipe with reads ahead
    // of it. Truncate the file under it, as copytruncate does, and let a
    // writer start again from the beginning.
    let mut first = vec![0; 64 * 1024];
    stdout.read_exact(&mut first).unwrap();
    let mut file = OpenOptions::new().write(true).truncate(true).open(&path).unwrap();
    file.write_all(b"after the truncation\n").unwrap();
    let mut out = first;
    stdout.read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?} (a SIGBUS is a signal, not an exit)");
    assert!(out.len() < log.len(), "the truncation went unseen");
    assert!(out == oracle_same_length(&log[..out.len()]), "output differs from the oracle");
}

#[test]
fn each_read_goes_out_in_one_write() {
    let Some(strace) = tool("strace", "strace") else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, one_in) in [("realistic", 100), ("dense", 1)] {
        let path = dir.path().join(format!("{name}.log"));
        fs::write(&path, sample::log(4, 60_000, one_in)).unwrap();
        let len = fs::metadata(&path).unwrap().len() as usize;
        let trace = dir.path().join(format!("{name}.trace"));
        let mut cat =
            Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        let status = Command::new(&strace)
            .args(["-f", "-qq", "-e", "trace=write", "-o"])
            .arg(&trace)
            .arg(crate::common::bin())
            .arg(&path)
            .stdout(cat.stdin.take().unwrap())
            .status()
            .unwrap();
        assert!(status.success() && cat.wait().unwrap().success());
        let trace = fs::read_to_string(&trace).unwrap();
        let writes = trace.lines().filter(|l| l.contains("write(1,")).count();
        let reads = len.div_ceil(READ_SIZE);
        assert!(
            writes <= reads + 1,
            "{name}: {writes} writes to standard output for {reads} reads of {READ_SIZE} bytes"
        );
    }
}

#[test]
fn standard_input_and_output_pipes_are_widened_to_1_mib() {
    use std::os::fd::AsRawFd;
    let pipe_size = |fd: i32| {
        // SAFETY: F_GETPIPE_SZ on a descriptor this test holds open.
        unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) }
    };
    let mut child = cmd().spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // A pipe starts at 64 KiB. Once a line has gone through, the filter
    // has set both up.
    stdin.write_all(b"hello\n").unwrap();
    let mut line = [0; 6];
    stdout.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"hello\n");
    assert_eq!(pipe_size(stdin.as_raw_fd()), 1 << 20, "standard input");
    assert_eq!(pipe_size(stdout.as_raw_fd()), 1 << 20, "standard output");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_read_of_short_keys_with_long_markers_is_written_in_bounded_pieces() {
    // 4 MiB of the shortest keys, each to become a 2,000-byte marker: one
    // read's output is 80 MiB, which must not be held whole.
    let mut keys = KeyGen::new(5);
    let mut input = Vec::new();
    while input.len() < 4 << 20 {
        input.extend_from_slice(format!("phx_{} ", keys.alnum(20)).as_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short-keys.log");
    fs::write(&path, &input).unwrap();
    let marker = format!("{{prefix}}{}", "#".repeat(2000));
    let mut child = cmd().args(["--marker", &marker]).arg(&path).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (mut total, mut buf, mut peak) = (0usize, vec![0; 1 << 16], 0);
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
        // Sampled while the process runs: its high-water mark so far.
        // (Gone once the process has exited: then the last sample stands.)
        if let Ok(status) = fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap();
        }
    }
    assert!(child.wait().unwrap().success());
    let tokens = input.len() / 25;
    assert_eq!(total, input.len() + tokens * (2000 - 20), "every key became its marker");
    // The README promises 16 MiB whatever the input and marker.
    assert!(peak < 16 * 1024, "peak RSS {peak} KiB for 80 MiB of output per read");
}

/// A log of `segments` segments' length with a key of every era across
/// each segment's nominal start (a few bytes either side), a line that ends
/// exactly at one start, and, when `long_line`, a line longer than a
/// segment's reach past its end across another (which sends the rest of
/// the file down the plain path).
fn log_across_segments(segments: u64, long_line: bool, seed: u64) -> Vec<u8> {
    let len = (segments * SEGMENT) as usize + 12_345;
    let mut log = sample::log(seed, len / 40, 50);
    log.truncate(len);
    let mut keys = KeyGen::new(seed);
    for k in 1..segments as usize {
        let at = k * SEGMENT as usize;
        let key = keys.key(["phx", "phs", "pha", "phr"][k % 4], Era::ALL[k % Era::ALL.len()]);
        // Across the start, a little further on each time.
        let start = at - (k * 7) % key.len();
        log[start - 1] = b' ';
        log[start..start + key.len()].copy_from_slice(key.as_bytes());
        log[start + key.len()] = b'\n';
    }
    // A line that ends at the byte before segment 2's start.
    log[2 * SEGMENT as usize - 1] = b'\n';
    if long_line {
        let from = 3 * SEGMENT as usize - 1000;
        let line_end = from + EXTEND_MAX as usize + SEGMENT as usize;
        for b in &mut log[from..line_end] {
            if *b == b'\n' {
                *b = b' ';
            }
        }
        let key = keys.key("phx", Era::ALL[0]);
        let at = 4 * SEGMENT as usize + 100;
        log[at..at + key.len()].copy_from_slice(key.as_bytes());
    }
    log
}

#[test]
fn a_big_file_read_in_segments_on_any_thread_count_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (i, long_line) in [(0, false), (1, true)] {
        let log = log_across_segments(SEGMENTS_FROM / SEGMENT + 3, long_line, 40 + i);
        assert!(log.len() as u64 >= SEGMENTS_FROM);
        let path = dir.path().join(format!("big-{i}.log"));
        fs::write(&path, &log).unwrap();
        let expected = oracle(&log, false);
        for threads in ["1", "2", "3", "5"] {
            let out = cmd().args(["-j", threads]).arg(&path).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(
                out.stdout == expected,
                "-j{threads}, long line {long_line}: output differs from the oracle"
            );
        }
    }
}

#[test]
fn a_quiet_audit_in_segments_gives_one_threads_verdict() {
    // Quiet, the audit reads a big file in segments (it only counts): one
    // key anywhere, across a segment's start included, is found at every
    // thread count, and a clean file is clean.
    let dir = tempfile::tempdir().unwrap();
    let len = (SEGMENTS_FROM + 3 * SEGMENT) as usize;
    let mut clean = sample::log(50, len / 40, 0);
    clean.truncate(len);
    let clean_path = dir.path().join("clean.log");
    fs::write(&clean_path, &clean).unwrap();
    let key = KeyGen::new(51).key("phx", Era::Current);
    for at in [0, SEGMENT as usize - 10, 3 * SEGMENT as usize - 1, len - key.len() - 1] {
        let mut log = clean.clone();
        log[at..at + key.len()].copy_from_slice(key.as_bytes());
        let path = dir.path().join(format!("one-key-{at}.log"));
        fs::write(&path, &log).unwrap();
        for threads in ["1", "2", "4"] {
            let verdict = |path: &Path| {
                cmd().args(["--check", "-q", "-j", threads]).arg(path).status().unwrap().code()
            };
            assert_eq!(verdict(&path), Some(1), "key at {at}, -j{threads}");
            assert_eq!(verdict(&clean_path), Some(0), "-j{threads}");
        }
    }
}

#[test]
fn a_custom_token_across_a_segment_start_is_redacted_whole() {
    // A rule whose tokens run across newlines: the stream has not drained
    // at the segment's start, so the segment is fed in order instead.
    let dir = tempfile::tempdir().unwrap();
    let len = (SEGMENTS_FROM + SEGMENT) as usize;
    let mut log = sample::log(60, len / 40, 50);
    log.truncate(len);
    // BEGIN, letters, a newline just before segment 2's start, letters,
    // END: one token across the start.
    let at = 2 * SEGMENT as usize - 30;
    log[at - 1] = b' ';
    log[at..at + 5].copy_from_slice(b"BEGIN");
    log[at + 5..at + 60].fill(b'x');
    log[2 * SEGMENT as usize - 1] = b'\n';
    log[at + 60..at + 63].copy_from_slice(b"END");
    log[at + 63] = b' ';
    let path = dir.path().join("custom.log");
    fs::write(&path, &log).unwrap();
    let expected =
        Regex::new(r"BEGIN[x\n]{0,200}END").unwrap().replace_all(&log, &b"[REDACTED]"[..]);
    let expected = oracle(&expected, false);
    for threads in ["1", "2"] {
        let out = cmd()
            .args(["-j", threads, "--pattern", r"BEGIN[x\n]{0,200}END"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout == *expected, "-j{threads}: output differs from the oracle");
    }
}
