//! Every stored format, checked with the real tools that write it: pzstd
//! (skippable frames), xz, bzip2 and lz4 are read and written back in their
//! format; a format phx-redact cannot read is an error naming it, never
//! "clean" and never rewritten.

use std::{
    fs,
    io::Write,
    os::fd::AsRawFd,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use phx_redact::testing::sample;

use crate::common::{cmd, contains, oracle};

/// A compressor as its command line runs it.
#[derive(Clone, Copy, Debug)]
struct Tool {
    /// What the file is called in messages (`corrupt or truncated xz data`).
    format: &'static str,
    /// The program, and its arguments to compress stdin to stdout.
    compress: &'static [&'static str],
    /// Its arguments to decompress stdin to stdout.
    decompress: &'static [&'static str],
    /// The first bytes of what it writes, once any skippable frame is past.
    magic: &'static [u8],
}

const PZSTD: Tool = Tool {
    format: "zstd",
    compress: &["pzstd", "-q", "-c", "-p", "2"],
    decompress: &["pzstd", "-q", "-d", "-c"],
    magic: &[0x28, 0xb5, 0x2f, 0xfd],
};
const XZ: Tool = Tool {
    format: "xz",
    compress: &["xz", "-c"],
    decompress: &["xz", "-d", "-c"],
    magic: &[0xfd, b'7', b'z', b'X', b'Z', 0],
};
const BZIP2: Tool = Tool {
    format: "bzip2",
    compress: &["bzip2", "-c"],
    decompress: &["bzip2", "-d", "-c"],
    magic: b"BZh",
};
const LZ4: Tool = Tool {
    format: "lz4",
    compress: &["lz4", "-q", "-c"],
    decompress: &["lz4", "-q", "-d", "-c"],
    magic: &[0x04, 0x22, 0x4d, 0x18],
};
const TOOLS: [Tool; 4] = [PZSTD, XZ, BZIP2, LZ4];

/// Runs `argv` with `input` on stdin; its stdout. None when the program is
/// missing and PHX_REDACT_ALLOW_MISSING_TOOLS=1 says that may be.
fn pipe(argv: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var_os("PHX_REDACT_ALLOW_MISSING_TOOLS").is_some_and(|v| v == "1") {
                eprintln!("{} is not installed: test skipped", argv[0]);
                return None;
            }
            panic!(
                "{} is not installed (Debian packages zstd, xz-utils, bzip2, lz4); \
                 PHX_REDACT_ALLOW_MISSING_TOOLS=1 skips the tests that need it",
                argv[0]
            );
        }
        Err(e) => panic!("{}: {e}", argv[0]),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
    Some(out.stdout)
}

impl Tool {
    fn compress(&self, data: &[u8]) -> Option<Vec<u8>> {
        pipe(self.compress, data)
    }

    fn decompress(&self, data: &[u8]) -> Vec<u8> {
        pipe(self.decompress, data).unwrap()
    }
}

fn run(args: &[&Path]) -> Output {
    cmd().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Skips the skippable frames (pzstd's, 0x184D2A50..5F) at the start.
fn past_skippable_frames(mut data: &[u8]) -> &[u8] {
    while data.len() >= 8 && data[0] & 0xf0 == 0x50 && data[1..4] == [0x2a, 0x4d, 0x18] {
        let len = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
        data = &data[8 + len..];
    }
    data
}

/// Reading, checking and scrubbing one file the tool wrote, in every mode.
fn every_mode(tool: Tool, log: &[u8], stored: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log.1"); // no suffix: found by magic bytes
    fs::write(&file, stored).unwrap();
    let want = oracle(log, false);

    let out = run(&[&file]);
    assert!(out.status.success(), "{}: {}", tool.format, stderr(&out));
    assert!(out.stdout == want, "{}: the filter did not decompress and redact", tool.format);

    let out = run(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(1), "{}: --check must find the keys", tool.format);
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(findings.starts_with(&format!("{}:", file.display())), "{findings}");

    let mirror = dir.path().join("mirror");
    let out = run(&[Path::new("--output-dir"), &mirror, &file]);
    assert!(out.status.success(), "{}: {}", tool.format, stderr(&out));
    let mirrored = fs::read(mirror.join("app.log.1")).unwrap();
    assert!(past_skippable_frames(&mirrored).starts_with(tool.magic), "{}", tool.format);
    assert!(tool.decompress(&mirrored) == want, "{}: the mirror is not redacted", tool.format);
    assert_eq!(fs::read(&file).unwrap(), stored, "{}: the original changed", tool.format);

    let out = run(&[Path::new("--in-place"), &file]);
    assert!(out.status.success(), "{}: {}", tool.format, stderr(&out));
    let scrubbed = fs::read(&file).unwrap();
    assert!(
        past_skippable_frames(&scrubbed).starts_with(tool.magic),
        "{}: no longer in its format",
        tool.format
    );
    assert!(tool.decompress(&scrubbed) == want, "{}: not redacted in place", tool.format);
    let out = run(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(0), "{}: {}", tool.format, stderr(&out));
}

#[test]
fn pzstd_xz_bzip2_and_lz4_files_are_read_checked_and_scrubbed_in_their_format() {
    let log = sample::log(91, 2_000, 5);
    for tool in TOOLS {
        let Some(stored) = tool.compress(&log) else { continue };
        every_mode(tool, &log, &stored);
    }
}

#[test]
fn concatenated_streams_and_frames_are_read_to_their_end() {
    let (a, b) = (sample::log(92, 1_500, 5), sample::log(93, 1_500, 5));
    let whole = [a.clone(), b.clone()].concat();
    for tool in [XZ, BZIP2, LZ4, PZSTD] {
        let (Some(x), Some(y)) = (tool.compress(&a), tool.compress(&b)) else { continue };
        every_mode(tool, &whole, &[x, y].concat());
    }
    // pzstd splits a large input into frames of its own, each behind a
    // skippable frame that tells its size.
    let big = sample::log(94, 60_000, 50);
    assert!(big.len() > 6 << 20);
    let Some(stored) = pipe(&["pzstd", "-q", "-c", "-p", "2", "-1"], &big) else { return };
    let mut frames = 0;
    let mut rest = &stored[..];
    while rest.len() >= 12 && rest[0] == 0x50 && rest[1..4] == [0x2a, 0x4d, 0x18] {
        frames += 1;
        let len = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        rest = &rest[12 + len..];
    }
    assert!(frames >= 2, "pzstd wrote {frames} frame(s)");
    every_mode(PZSTD, &big, &stored);
}

#[test]
fn a_truncated_archive_is_an_error_and_its_original_stays() {
    let log = sample::log(95, 3_000, 5);
    for tool in TOOLS {
        let Some(mut stored) = tool.compress(&log) else { continue };
        stored.truncate(stored.len() * 2 / 3);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cut");
        fs::write(&file, &stored).unwrap();
        let message = format!("{}: corrupt or truncated {} data", file.display(), tool.format);
        for mode in ["--check", "--in-place", "--filter"] {
            let args: Vec<&Path> = match mode {
                "--filter" => vec![&file],
                _ => vec![Path::new(mode), &file],
            };
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{} {mode}: {}", tool.format, stderr(&out));
            assert!(stderr(&out).contains(&message), "{} {mode}: {}", tool.format, stderr(&out));
            assert_eq!(fs::read(&file).unwrap(), stored, "{} {mode}", tool.format);
        }
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(names, std::slice::from_ref(&file), "no temporary file is left");
    }
}

#[test]
fn a_pzstd_file_cut_after_a_skippable_frame_is_truncated() {
    // libzstd reads a skippable frame with nothing after it as a whole
    // stream: cut there, a pzstd file would lose its tail unnoticed.
    let (a, b) = (sample::log(100, 500, 5), sample::log(101, 500, 5));
    let (Some(x), Some(y)) = (PZSTD.compress(&a), PZSTD.compress(&b)) else { return };
    let dir = tempfile::tempdir().unwrap();
    for (i, stored) in [y[..12].to_vec(), [&x[..], &y[..12]].concat()].iter().enumerate() {
        let file = dir.path().join(format!("cut{i}.zst"));
        fs::write(&file, stored).unwrap();
        for args in [vec![file.as_path()], vec![Path::new("--check"), &file]] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains("corrupt or truncated zstd data"), "{}", stderr(&out));
        }
    }
}

#[test]
fn an_lz4_frame_cut_between_two_blocks_is_truncated_not_short() {
    // 64 KiB blocks, so that the cut can fall where a block ends: where
    // the decoder would otherwise see a clean end of input.
    let log = sample::log(99, 3_000, 5);
    assert!(log.len() > 3 * 65_536);
    let Some(stored) = pipe(&["lz4", "-q", "-c", "-B4"], &log) else { return };
    let flags = stored[4];
    let mut at = 7 + if flags & 0x08 != 0 { 8 } else { 0 };
    for _ in 0..2 {
        let size = u32::from_le_bytes(stored[at..at + 4].try_into().unwrap()) & 0x7fff_ffff;
        at += 4 + size as usize + if flags & 0x10 != 0 { 4 } else { 0 };
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.lz4");
    fs::write(&file, &stored[..at]).unwrap();
    for args in [vec![file.as_path()], vec![Path::new("--check"), &file]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("corrupt or truncated lz4 data"), "{}", stderr(&out));
    }
}

/// A file in a format phx-redact cannot read, holding `key` in the clear
/// after its magic (as a stored zip member or an uncompressed block would).
fn unreadable(magic: &[u8], key: &str) -> Vec<u8> {
    let mut data = magic.to_vec();
    data.extend_from_slice(&[0; 24]);
    data.extend_from_slice(format!("token={key}\n").as_bytes());
    data
}

#[test]
fn a_format_that_cannot_be_read_is_an_error_naming_it_never_clean_nor_rewritten() {
    let key = format!("phx_{}", "Qw3rTy7u9I".repeat(4));
    let cases: [(&str, &[u8]); 8] = [
        ("zip", b"PK\x03\x04"),
        ("zip", b"PK\x05\x06"),
        ("7z", &[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]),
        ("rar", b"Rar!\x1a\x07\x01\x00"),
        ("lzip", b"LZIP\x01"),
        ("compress (.Z)", &[0x1f, 0x9d, 0x90]),
        ("lzop", &[0x89, b'L', b'Z', b'O', 0, 0x0d, 0x0a, 0x1a, 0x0a]),
        ("lz4 legacy", &[0x02, 0x21, 0x4c, 0x18]),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (format, magic)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("archive{i}"));
        let stored = unreadable(magic, &key);
        fs::write(&file, &stored).unwrap();
        let message = format!("{}: {format} data", file.display());
        let mirror = dir.path().join(format!("mirror{i}"));
        for args in [
            vec![file.as_path()],
            vec![Path::new("--check"), &file],
            vec![Path::new("--in-place"), &file],
            vec![Path::new("--output-dir"), &mirror, &file],
        ] {
            let out = run(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{format} {args:?}: {err}");
            assert!(err.contains(&message), "{format} {args:?}: {err}");
            assert!(!contains(&out.stdout, key.as_bytes()), "{format} {args:?}: key on stdout");
            assert!(!err.contains(&key), "{format} {args:?}: key on stderr");
            assert_eq!(fs::read(&file).unwrap(), stored, "{format} {args:?}: rewritten");
        }
        assert!(!mirror.join(format!("archive{i}")).exists(), "{format}: mirrored");
    }
}

#[test]
fn an_lzma_alone_file_is_an_error_naming_it() {
    let log = sample::log(96, 300, 3);
    let Some(stored) = pipe(&["xz", "--format=lzma", "-c"], &log) else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.lzma");
    fs::write(&file, &stored).unwrap();
    for args in [vec![Path::new("--check"), &file], vec![Path::new("--in-place"), &file]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("{}: lzma data", file.display())), "{args:?}");
        assert_eq!(fs::read(&file).unwrap(), stored);
    }
}

#[test]
fn files_shorter_than_a_magic_or_only_like_one_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in [&b"B"[..], b"BZ", b"BZh", b"BZh9 is not a stream\n", b"PK", b"\xfd7z", b"7"]
        .iter()
        .enumerate()
    {
        let file = dir.path().join(format!("short{i}"));
        fs::write(&file, text).unwrap();
        let out = run(&[&file]);
        assert!(out.status.success(), "{text:?}: {}", stderr(&out));
        assert_eq!(&out.stdout, text);
        let out = run(&[Path::new("--check"), &file]);
        assert_eq!(out.status.code(), Some(0), "{text:?}: {}", stderr(&out));
    }
}

#[test]
fn a_tar_holding_a_key_is_scanned_but_not_rewritten() {
    let key = format!("phs_{}", "Zx8Cv6Bn4M".repeat(3));
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner");
    fs::create_dir(&inner).unwrap();
    fs::write(inner.join("app.log"), format!("Authorization: Bearer {key}\n")).unwrap();
    let tar = dir.path().join("logs.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&inner)
        .arg("app.log")
        .status()
        .unwrap();
    assert!(status.success());
    let stored = fs::read(&tar).unwrap();
    let Some(tar_xz) = XZ.compress(&stored) else { return };
    let tar_xz_path = dir.path().join("logs.tar.xz");
    fs::write(&tar_xz_path, &tar_xz).unwrap();

    for (file, bytes) in [(&tar, &stored), (&tar_xz_path, &tar_xz)] {
        let out = run(&[Path::new("--check"), file]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", file.display(), stderr(&out));
        let out = run(&[Path::new("--in-place"), file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("{}: tar archive", file.display())), "{err}");
        assert!(!err.contains(&key));
        assert_eq!(&fs::read(file).unwrap(), bytes, "a tar must not be rewritten");
        let mirror = dir.path().join("mirror");
        let out = run(&[Path::new("--output-dir"), &mirror, file]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(!mirror.join(file.file_name().unwrap()).exists(), "a broken tar was mirrored");
    }
}

/// Bytes waiting in the pipe `fd` (either end): FIONREAD.
fn pipe_pending(fd: &impl AsRawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid.
    assert_eq!(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) }, 0);
    n as usize
}

/// `--check -` with `stored` on stdin, its first byte delivered alone (the
/// rest only once phx-redact has read it), so that the first read is short.
fn check_stdin_split(stored: &[u8]) -> Output {
    let mut child = cmd().args(["--check", "-"]).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&stored[..1]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while pipe_pending(&stdin) > 0 {
        assert!(Instant::now() < deadline, "phx-redact never read its stdin");
        std::thread::yield_now();
    }
    let rest = stored[1..].to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&rest);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn check_of_stdin_decodes_a_compressed_stream_even_from_a_short_first_read() {
    let log = sample::log(97, 500, 5);
    for tool in TOOLS {
        let Some(stored) = tool.compress(&log) else { continue };
        let out = check_stdin_split(&stored);
        assert_eq!(out.status.code(), Some(1), "{}: {}", tool.format, stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("<stdin>:"), "{}", tool.format);
    }
    let key = format!("phx_{}", "Qw3rTy7u9I".repeat(4));
    let out = check_stdin_split(&unreadable(b"PK\x03\x04", &key));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("<stdin>: zip data"), "{}", stderr(&out));
}

#[test]
fn the_filter_passes_compressed_stdin_byte_for_byte_and_fails_loudly() {
    let log = sample::log(98, 200, 5);
    let Some(stored) = XZ.compress(&log) else { return };
    let (code, out, err) = crate::common::run(&[], &stored);
    assert_eq!(out, stored);
    // Passed on, but never as if it had been redacted.
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("<stdin>: xz data: passed on byte for byte, NOT redacted"), "{err}");
    // Plain text after a compressed-looking first byte is still plain.
    let (code, out, err) = crate::common::run(&[], b"\x1fnot gzip\n");
    assert_eq!((code, out.as_slice(), err.as_str()), (0, &b"\x1fnot gzip\n"[..], ""));
}

/// Runs a tool that must be there (tar, ar, gzip, zstd, python3).
fn tool(argv: &[&str], dir: &Path) {
    let out = Command::new(argv[0]).args(&argv[1..]).current_dir(dir).output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("{}: {e} (Debian packages tar, binutils, gzip, zstd, python3)", argv[0]),
    };
    assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `file` (holding a key) is scanned by `--check`, and refused by
/// `--in-place` and `--output-dir` with a message naming `what`, the
/// original kept and nothing mirrored.
fn refused_as(dir: &Path, file: &Path, what: &str, key: &str) {
    let bytes = fs::read(file).unwrap();
    let out = run(&[Path::new("--check"), file]);
    assert_eq!(out.status.code(), Some(1), "{}: {}", file.display(), stderr(&out));
    let out = run(&[Path::new("--in-place"), file]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}: {err}", file.display());
    assert!(err.contains(&format!("{}: {what}", file.display())), "{err}");
    assert!(!err.contains(key));
    assert_eq!(fs::read(file).unwrap(), bytes, "{} was rewritten", file.display());
    let mirror = dir.join("mirror");
    let out = run(&[Path::new("--output-dir"), &mirror, file]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!mirror.join(file.file_name().unwrap()).exists(), "{} was mirrored", file.display());
}

#[test]
fn length_framed_and_binary_content_holding_a_key_is_scanned_but_not_rewritten() {
    let key = format!("phx_{}", "q7W3e5R1t9".repeat(5));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.log"), format!("late {key}\n")).unwrap();
    fs::write(d.join("b.log"), "nothing here\n").unwrap();
    // A V7 tar has no "ustar" magic, only its header checksum.
    tool(&["tar", "--format=v7", "-cf", "v7.tar", "a.log", "b.log"], d);
    tool(&["ar", "rc", "l.a", "a.log", "b.log"], d);
    let script = format!(
        "import sqlite3; c = sqlite3.connect('db.sqlite'); c.execute('create table t(v)'); \
         c.execute('insert into t values (?)', ('{key}',)); c.commit()"
    );
    tool(&["python3", "-c", &script], d);
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    binary.extend_from_slice(format!("\0\0{key}\0\0").as_bytes());
    fs::write(d.join("prog.bin"), &binary).unwrap();
    fs::copy(d.join("prog.bin"), d.join("prog2.bin")).unwrap();
    tool(&["gzip", "prog2.bin"], d);

    refused_as(d, &d.join("v7.tar"), "tar archive", &key);
    refused_as(d, &d.join("l.a"), "ar archive", &key);
    refused_as(d, &d.join("db.sqlite"), "SQLite database", &key);
    refused_as(d, &d.join("prog.bin"), "binary data (NUL bytes)", &key);
    refused_as(d, &d.join("prog2.bin.gz"), "binary data (NUL bytes)", &key);
}

#[test]
fn compressed_data_nested_one_level_down_is_never_clean() {
    let key = format!("phx_{}", "m2N4b6V8c0".repeat(5));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.log"), format!("late {key}\n")).unwrap();
    fs::write(d.join("b.log"), "nothing here\n").unwrap();
    tool(&["gzip", "-k", "a.log"], d);
    tool(&["gzip", "-k", "b.log"], d);
    tool(&["tar", "-cf", "gzs.tar", "b.log", "a.log.gz"], d);
    tool(&["tar", "-czf", "gzs.tgz", "b.log", "a.log.gz"], d);
    // Even a clean gzip member cannot be vouched for without reading it.
    tool(&["tar", "-cf", "clean.tar", "b.log", "b.log.gz"], d);
    tool(&["zstd", "-q", "a.log.gz", "-o", "a.log.gz.zst"], d);
    tool(&["ar", "rc", "gzs.a", "b.log", "a.log.gz"], d);

    for (name, message) in [
        ("gzs.tar", "gzip member inside a tar archive"),
        ("gzs.tgz", "gzip member inside a tar archive"),
        ("clean.tar", "gzip member inside a tar archive"),
        ("gzs.a", "gzip member inside an ar archive"),
    ] {
        let file = d.join(name);
        let bytes = fs::read(&file).unwrap();
        for mode in ["--check", "--in-place"] {
            let out = run(&[Path::new(mode), &file]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{mode} {name}: {err}");
            assert!(err.contains(message), "{mode} {name}: {err}");
            assert!(!err.contains(&key));
        }
        assert_eq!(fs::read(&file).unwrap(), bytes, "{name} was rewritten");
        let mirror = d.join("mirror");
        let out = run(&[Path::new("--output-dir"), &mirror, &file]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(!mirror.join(name).exists(), "{name} was mirrored");
    }

    // zstd over gzip: read through both layers, found, never rewritten.
    refused_as(d, &d.join("a.log.gz.zst"), "gzip data inside zstd data", &key);
    let out = run(&[Path::new("--check"), &d.join("a.log.gz.zst")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(":1:6: phx"), "{out:?}");

    // Three layers are read through; a fourth is unreadable, never clean.
    let mut layers = fs::read(d.join("a.log")).unwrap();
    for depth in 1..=4 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&layers).unwrap();
        layers = gz.finish().unwrap();
        let file = d.join(format!("deep{depth}.gz"));
        fs::write(&file, &layers).unwrap();
        let out = run(&[Path::new("--check"), &file]);
        let expected = if depth <= 3 { 1 } else { 2 };
        assert_eq!(out.status.code(), Some(expected), "depth {depth}: {}", stderr(&out));
        if depth == 4 {
            assert!(stderr(&out).contains("deeply nested compressed data"), "{}", stderr(&out));
        }
    }
}

/// A log in UTF-16 (PowerShell's `>` writes it, with a byte-order mark):
/// a key there is `p\0h\0x\0_\0…`, which no rule sees. Never clean, never
/// rewritten: an error that says how to convert it.
#[test]
fn utf16_text_is_never_called_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = sample::KeyGen::new(91);
    let key = keys.key("phx", sample::Era::Current);
    let text = format!("\u{feff}token {key}\r\n");
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let path = dir.path().join("ps.log");
    fs::write(&path, &utf16).unwrap();
    for args in [&[Path::new("--check"), &path][..], &[Path::new("--in-place"), &path], &[&path]] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("UTF-16 or UTF-32 text"), "{args:?}: {err}");
        assert_eq!(fs::read(&path).unwrap(), utf16, "{args:?}");
    }
    let (code, _, err) = crate::common::run(&["--check", "-"], &utf16);
    assert_eq!(code, 2, "{err}");
}
