//! One big archive on every core: a rewritten `.gz` is cut into gzip
//! members at fixed offsets of its content, and a `.zst` is written by
//! zstd's own workers, so the bytes written are the same whatever `-j`
//! says. Checked with the real gzip, zstd and pigz.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use phx_redact::testing::{GZIP_BLOCK, sample};

use crate::common::{cmd, oracle};

/// Runs a tool that must be there; its stdout.
fn tool(argv: &[&str], stdin: Option<&Path>) -> Vec<u8> {
    let mut c = Command::new(argv[0]);
    c.args(&argv[1..]);
    if let Some(path) = stdin {
        c.stdin(fs::File::open(path).unwrap());
    }
    let out = match c.output() {
        Ok(out) => out,
        Err(e) => panic!("{}: {e} (Debian packages gzip, zstd, pigz)", argv[0]),
    };
    assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Compresses `data` with `argv` (which reads stdin, writes stdout).
fn compress(argv: &[&str], data: &[u8], dir: &Path) -> Vec<u8> {
    let plain = dir.join("plain.tmp");
    fs::write(&plain, data).unwrap();
    let out = tool(argv, Some(&plain));
    fs::remove_file(plain).unwrap();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A log whose redacted form is exactly `len` bytes, with a key near the
/// start (so that the file is rewritten), and at each block boundary well
/// inside it a key across it in the input and a marker across it in the
/// output: whichever offsets cut the members, a key is redacted whole.
fn log_redacting_to(len: usize, seed: u64) -> Vec<u8> {
    let mut keys = sample::KeyGen::new(seed);
    // No keys and no decoys: only the keys placed here are redacted.
    let filler = sample::log(seed, 20_000, 0);
    let pad = |log: &mut Vec<u8>, mut n: usize| {
        while n > 0 {
            let k = n.min(filler.len());
            log.extend_from_slice(&filler[..k]);
            n -= k;
        }
    };
    let redacted = |log: &[u8]| oracle(log, false).len();
    let mut log = format!("start {}\n", keys.secret()).into_bytes();
    for boundary in (1..).map(|k| k * GZIP_BLOCK).take_while(|b| b + 1_000 < len) {
        let key = format!("\n{}\n", keys.secret());
        let gap = boundary - key.len() / 2 - log.len();
        pad(&mut log, gap);
        log.extend_from_slice(key.as_bytes());
        // "\n" at boundary - 5, then a marker from boundary - 4 on.
        let key = format!("\n{}\n", keys.secret());
        let gap = boundary - 5 - redacted(&log);
        pad(&mut log, gap);
        log.extend_from_slice(key.as_bytes());
    }
    let out = redacted(&log);
    assert!(out <= len, "the keys alone redact to {out} bytes, past {len}");
    pad(&mut log, len - out);
    assert_eq!(redacted(&log), len);
    log
}

/// What the filter (the plain path) makes of `log`.
fn plain_path(log: &[u8], dir: &Path) -> Vec<u8> {
    let file = dir.join("plain.log");
    fs::write(&file, log).unwrap();
    let out = cmd().arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    fs::remove_file(file).unwrap();
    out.stdout
}

/// `--output-dir` of `file` at `-j threads`: the copy's bytes.
fn mirror(file: &Path, threads: &str) -> Vec<u8> {
    let dir = file.parent().unwrap().join(format!("mirror-j{threads}"));
    let out = cmd().args(["-q", "-j", threads, "--output-dir"]).arg(&dir).arg(file).output();
    let out = out.unwrap();
    assert!(out.status.success(), "-j {threads}: {}", stderr(&out));
    let copy = dir.join(file.file_name().unwrap());
    let bytes = fs::read(&copy).unwrap();
    fs::remove_dir_all(dir).unwrap();
    bytes
}

/// `--in-place` of a fresh copy of `stored` at `-j threads`: its bytes.
fn in_place(dir: &Path, stored: &[u8], threads: &str) -> Vec<u8> {
    let file = dir.join(format!("in-place-j{threads}.log.gz"));
    fs::write(&file, stored).unwrap();
    let out = cmd().args(["-q", "-j", threads, "--in-place"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "-j {threads}: {}", stderr(&out));
    let bytes = fs::read(&file).unwrap();
    fs::remove_file(file).unwrap();
    bytes
}

/// A format the test writes with the real tool and checks with it.
struct Codec {
    name: &'static str,
    compress: &'static [&'static str],
    test: &'static [&'static str],
    decompress: &'static [&'static str],
}

const GZIP: Codec = Codec {
    name: "gzip",
    compress: &["gzip", "-c"],
    test: &["gzip", "-t"],
    decompress: &["gzip", "-dc"],
};
const ZSTD: Codec = Codec {
    name: "zstd",
    compress: &["zstd", "-q", "-c"],
    test: &["zstd", "-q", "-t"],
    decompress: &["zstd", "-q", "-dc"],
};

/// Checks `written` with the tool and returns what it decodes to.
fn decoded(codec: &Codec, written: &[u8], dir: &Path) -> Vec<u8> {
    let file = dir.join(format!("written.{}", codec.name));
    fs::write(&file, written).unwrap();
    let path = file.to_str().unwrap();
    tool(&[codec.test, &[path][..]].concat(), None);
    let plain = tool(&[codec.decompress, &[path][..]].concat(), None);
    fs::remove_file(file).unwrap();
    plain
}

#[test]
fn gzip_and_zstd_output_is_the_same_bytes_at_every_thread_count_around_block_ends() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (i, len) in [GZIP_BLOCK - 1, GZIP_BLOCK, GZIP_BLOCK + 1, 2 * GZIP_BLOCK + 100_000]
        .into_iter()
        .enumerate()
    {
        let log = log_redacting_to(len, 40 + i as u64);
        let want = plain_path(&log, d);
        assert_eq!(want, oracle(&log, false));
        for codec in [GZIP, ZSTD] {
            let file = d.join(format!("app-{len}.log.{}", codec.name));
            let stored = compress(codec.compress, &log, d);
            fs::write(&file, &stored).unwrap();
            let one = mirror(&file, "1");
            for threads in ["2", "4"] {
                assert!(
                    mirror(&file, threads) == one,
                    "{} of {len} bytes: -j {threads} wrote other bytes than -j 1",
                    codec.name
                );
            }
            let plain = decoded(&codec, &one, d);
            assert!(plain == want, "{} of {len} bytes: not the plain path's redaction", codec.name);
            assert!(fs::read(&file).unwrap() == stored, "the original changed");
        }
    }
}

#[test]
fn in_place_writes_the_same_bytes_at_j1_j2_and_j8() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_redacting_to(3 * GZIP_BLOCK + 12_345, 7);
    let stored = compress(GZIP.compress, &log, dir.path());
    let one = in_place(dir.path(), &stored, "1");
    assert!(in_place(dir.path(), &stored, "2") == one, "-j 2 wrote other bytes than -j 1");
    assert!(in_place(dir.path(), &stored, "8") == one, "-j 8 wrote other bytes than -j 1");
    assert!(decoded(&GZIP, &one, dir.path()) == oracle(&log, false));
    // Members cut at fixed offsets of the content, whatever -j said...
    let lens = member_lens(&one);
    assert_eq!(lens, [GZIP_BLOCK, GZIP_BLOCK, GZIP_BLOCK, oracle(&log, false).len() % GZIP_BLOCK]);
    // ...that pigz too reads as one stream.
    let file = dir.path().join("check.gz");
    fs::write(&file, &one).unwrap();
    assert!(tool(&["pigz", "-dc", file.to_str().unwrap()], None) == oracle(&log, false));
}

/// The content length of each gzip member in `gz`, in order.
fn member_lens(mut gz: &[u8]) -> Vec<usize> {
    use std::io::{BufRead, Read};
    let mut lens = Vec::new();
    while !gz.fill_buf().unwrap().is_empty() {
        let mut member = Vec::new();
        flate2::bufread::GzDecoder::new(&mut gz).read_to_end(&mut member).unwrap();
        lens.push(member.len());
    }
    lens
}

#[test]
fn members_from_gzip_and_pigz_one_after_another_are_decoded_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = log_redacting_to(GZIP_BLOCK + 777, 3);
    let b = sample::log(4, 30_000, 50);
    let c = sample::log(5, 10, 2);
    let stored = [
        compress(GZIP.compress, &a, d),
        compress(&["pigz", "-c", "-p", "2"], &b, d),
        compress(GZIP.compress, &c, d),
    ]
    .concat();
    let file = d.join("cat.log.gz");
    fs::write(&file, &stored).unwrap();
    let all = [a, b, c].concat();
    let want = oracle(&all, false);
    for threads in ["1", "2"] {
        assert!(decoded(&GZIP, &mirror(&file, threads), d) == want, "-j {threads}");
    }
}

/// Flips the CRC in the trailer of the gzip member that ends at `end`.
fn corrupt_crc(stored: &mut [u8], end: usize) {
    stored[end - 8] ^= 0xff;
}

#[test]
fn a_corrupt_member_mid_file_leaves_the_original_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = log_redacting_to(2 * GZIP_BLOCK + 5, 11);
    let middle = sample::log(12, 60_000, 100);
    let last = sample::log(13, 60_000, 100);
    let parts = [&first, &middle, &last].map(|p| compress(GZIP.compress, p, d));
    let mut stored = parts.concat();
    corrupt_crc(&mut stored, parts[0].len() + parts[1].len());
    for (threads, dest) in [("1", "--in-place"), ("2", "--in-place"), ("2", "--output-dir")] {
        let file = d.join("app.log.gz");
        fs::write(&file, &stored).unwrap();
        let mirror = d.join("mirror");
        let mut c = cmd();
        c.args(["-q", "-j", threads, dest]);
        if dest == "--output-dir" {
            c.arg(&mirror);
        }
        let out = c.arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "-j {threads} {dest}: {}", stderr(&out));
        assert!(stderr(&out).contains("app.log.gz"), "{}", stderr(&out));
        assert!(fs::read(&file).unwrap() == stored, "-j {threads} {dest}: the original changed");
        let left: Vec<PathBuf> = fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(
            left.iter().all(|p| !p.to_string_lossy().contains(".phx-redact-")),
            "a temporary file was left: {left:?}"
        );
        assert!(
            !mirror.join("app.log.gz").exists(),
            "-j {threads} {dest}: a mirror copy of a corrupt file was written"
        );
    }
}

/// Runs `c` to its end, or kills it after `limit` (a guard against a
/// deadlock, not a timing assertion: a healthy run takes seconds).
fn run_guarded(mut c: Command, limit: Duration) -> Output {
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("phx-redact did not finish within {limit:?}: a deadlock");
        }
    }
}

#[test]
fn many_gz_files_at_once_finish_with_every_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Big files (several blocks each) with small ones, so that the files'
    // workers and their compression jobs share the pool.
    let big = log_redacting_to(2 * GZIP_BLOCK + 99, 21);
    let big_gz = compress(GZIP.compress, &big, d);
    let big_zst = compress(ZSTD.compress, &big, d);
    let small = sample::log(22, 2_000, 20);
    let small_gz = compress(GZIP.compress, &small, d);
    for threads in ["2", "3", "8"] {
        let tree = d.join(format!("tree-j{threads}"));
        fs::create_dir(&tree).unwrap();
        for i in 0..24 {
            let (name, bytes) = match i % 8 {
                0 => (format!("big-{i}.log.gz"), &big_gz),
                1 => (format!("big-{i}.log.zst"), &big_zst),
                _ => (format!("small-{i}.log.gz"), &small_gz),
            };
            fs::write(tree.join(name), bytes).unwrap();
        }
        let mut c = Command::new(crate::common::bin());
        c.args(["-q", "-r", "-j", threads, "--in-place"]).arg(&tree);
        let out = run_guarded(c, Duration::from_secs(600));
        assert!(out.status.success(), "-j {threads}: {}", stderr(&out));
        for entry in fs::read_dir(&tree).unwrap() {
            let path = entry.unwrap().path();
            let codec = if path.extension().unwrap() == "gz" { GZIP } else { ZSTD };
            let plain = decoded(&codec, &fs::read(&path).unwrap(), d);
            let want = if path.to_string_lossy().contains("big-") { &big } else { &small };
            assert!(plain == oracle(want, false), "-j {threads}: {}", path.display());
            assert!(
                oracle(&plain, false) == plain,
                "-j {threads}: a key left in {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_full_disk_while_blocks_are_in_flight_leaves_the_original_and_exits_2() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = log_redacting_to(3 * GZIP_BLOCK + 1, 31);
    for codec in [GZIP, ZSTD] {
        let stored = compress(codec.compress, &log, d);
        let file = d.join(format!("app.log.{}", codec.name));
        fs::write(&file, &stored).unwrap();
        let mut c = cmd();
        c.args(["-q", "-j", "2", "--in-place"]).arg(&file);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(|| {
                // Like a full disk: writes past 256 KiB, a few members into
                // the output, fail with EFBIG (SIGXFSZ ignored).
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit { rlim_cur: 256 * 1024, rlim_max: 256 * 1024 };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}: {}", codec.name, stderr(&out));
        assert!(stderr(&out).contains("cannot write output"), "{}", stderr(&out));
        assert!(fs::read(&file).unwrap() == stored, "{}: the original changed", codec.name);
        let left: Vec<PathBuf> = fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(
            left.iter().all(|p| !p.to_string_lossy().contains(".phx-redact-")),
            "{}: a temporary file was left: {left:?}",
            codec.name
        );
    }
}
