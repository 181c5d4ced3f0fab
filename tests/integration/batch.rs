//! Batch scrubbing with the real binary on real files: in place, mirrors,
//! compressed archives, failures that must lose nothing.

use std::{
    fs,
    io::{Read, Write},
    os::unix::{
        fs::{MetadataExt, PermissionsExt},
        process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Child, Output},
    time::{Duration, Instant},
};

use flate2::{Compression, read::MultiGzDecoder, write::GzEncoder};
use phx_redact::testing::sample;

use crate::common::{cmd, oracle};

pub(crate) fn run(args: &[&Path]) -> Output {
    cmd().args(args).output().unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

/// Our temporary files left in `dir`.
pub(crate) fn temps(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(".phx-redact-"))
        .collect()
}

/// Waits (polling the folder, with a deadline) until a scrub has started
/// writing its temporary file.
pub(crate) fn wait_for_temp(dir: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while temps(dir).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "the scrub ended before writing");
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::yield_now();
    }
}

#[test]
fn in_place_redacts_and_keeps_mode_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = sample::log(21, 2_000, 10);
    fs::write(&path, &log).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let old_mtime = fs::metadata(&path).unwrap().modified().unwrap() - Duration::from_secs(86_400);
    fs::File::options().write(true).open(&path).unwrap().set_modified(old_mtime).unwrap();
    let before = fs::metadata(&path).unwrap();

    let out = run(&[Path::new("--in-place"), &path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = fs::metadata(&path).unwrap();
    assert_eq!(fs::read(&path).unwrap(), oracle(&log, false));
    assert_ne!(after.ino(), before.ino(), "rewritten through a new file");
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!(after.modified().unwrap(), old_mtime);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert!(temps(dir.path()).is_empty());
    assert!(stderr(&out).contains("1 files scanned, 1 changed"), "{}", stderr(&out));
}

#[test]
fn a_file_with_nothing_to_redact_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.log");
    fs::write(&path, sample::log(22, 1_000, 0)).unwrap();
    let before = fs::metadata(&path).unwrap();
    let out = run(&[Path::new("--in-place"), &path]);
    assert!(out.status.success());
    let after = fs::metadata(&path).unwrap();
    assert_eq!(
        (after.ino(), after.mtime(), after.mtime_nsec()),
        (before.ino(), before.mtime(), before.mtime_nsec())
    );
    assert!(stderr(&out).contains("0 changed"), "{}", stderr(&out));
}

#[test]
fn gzip_single_and_multi_member_and_zstd_stay_compressed_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (sample::log(23, 1_500, 5), sample::log(24, 1_500, 5));
    let whole = [a.clone(), b.clone()].concat();
    let single = dir.path().join("one.log.gz");
    let multi = dir.path().join("rotated.1"); // named without .gz: found by magic bytes
    let zst = dir.path().join("app.log.zst");
    fs::write(&single, gzip(&a)).unwrap();
    fs::write(&multi, [gzip(&a), gzip(&b)].concat()).unwrap();
    fs::write(&zst, zstd::encode_all(&whole[..], 3).unwrap()).unwrap();

    let out = run(&[Path::new("--in-place"), &single, &multi, &zst]);
    assert!(out.status.success(), "{}", stderr(&out));
    let single_out = fs::read(&single).unwrap();
    assert!(single_out.starts_with(&[0x1f, 0x8b]));
    assert_eq!(gunzip(&single_out), oracle(&a, false));
    assert_eq!(gunzip(&fs::read(&multi).unwrap()), oracle(&whole, false));
    let zst_out = fs::read(&zst).unwrap();
    assert!(zst_out.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    assert_eq!(zstd::decode_all(&zst_out[..]).unwrap(), oracle(&whole, false));
}

#[test]
fn compressed_files_go_to_stdout_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample::log(25, 500, 5);
    let gz = dir.path().join("a.gz");
    fs::write(&gz, [gzip(&log[..1000]), gzip(&log[1000..])].concat()).unwrap();
    let out = run(&[&gz]);
    assert!(out.status.success());
    assert_eq!(out.stdout, oracle(&log, false));
}

#[test]
fn a_corrupt_archive_is_an_error_and_its_original_stays() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.gz");
    let good = dir.path().join("good.log");
    let mut truncated = gzip(&sample::log(26, 2_000, 5));
    truncated.truncate(truncated.len() / 2);
    fs::write(&bad, &truncated).unwrap();
    let log = sample::log(27, 100, 2);
    fs::write(&good, &log).unwrap();
    let out = run(&[Path::new("--in-place"), &bad, &good]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}: corrupt or truncated gzip data", bad.display())), "{err}");
    assert_eq!(fs::read(&bad).unwrap(), truncated);
    assert_eq!(fs::read(&good).unwrap(), oracle(&log, false), "the other file is still done");
    assert!(temps(dir.path()).is_empty());
}

#[test]
fn a_file_size_limit_leaves_the_original_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let log = sample::log(28, 20_000, 5);
    fs::write(&path, &log).unwrap();
    let mut command = cmd();
    command.arg("--in-place").arg(&path);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            // Like a full disk: writes past 64 KiB fail with EFBIG (the
            // signal that would kill the process instead is ignored).
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit { rlim_cur: 64 * 1024, rlim_max: 64 * 1024 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot write output"), "{}", stderr(&out));
    assert_eq!(fs::read(&path).unwrap(), log);
    assert!(temps(dir.path()).is_empty(), "{:?}", temps(dir.path()));
}

#[test]
fn a_mirror_holds_every_file_and_the_originals_stay() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("2026/11")).unwrap();
    let (dirty, clean) = (sample::log(31, 300, 3), sample::log(32, 300, 0));
    fs::write(src.join("2026/11/app.log.gz"), gzip(&dirty)).unwrap();
    fs::write(src.join("clean.log"), &clean).unwrap();
    let mirror = dir.path().join("mirror");
    let out = run(&[Path::new("-r"), &src, Path::new("--output-dir"), &mirror]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        gunzip(&fs::read(mirror.join("2026/11/app.log.gz")).unwrap()),
        oracle(&dirty, false)
    );
    assert_eq!(fs::read(mirror.join("clean.log")).unwrap(), clean);
    assert_eq!(gunzip(&fs::read(src.join("2026/11/app.log.gz")).unwrap()), dirty);
}

#[test]
fn links_special_files_and_loops_are_reported_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path();
    let log = sample::log(33, 200, 3);
    fs::write(tree.join("real.log"), &log).unwrap();
    std::os::unix::fs::symlink("real.log", tree.join("link.log")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(tree.join("app.sock")).unwrap();

    let out = run(&[Path::new("--in-place"), Path::new("-r"), tree]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("link.log: skipped: symbolic link, not followed"), "{err}");
    assert!(err.contains("app.sock: skipped: not a regular file"), "{err}");
    assert_eq!(fs::read(tree.join("real.log")).unwrap(), oracle(&log, false));
    assert!(fs::symlink_metadata(tree.join("link.log")).unwrap().file_type().is_symlink());

    // Followed links that loop cannot be walked: a failure, named.
    std::os::unix::fs::symlink(".", tree.join("loop")).unwrap();
    let out = run(&[Path::new("--in-place"), Path::new("-r"), Path::new("--follow-links"), tree]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("loop"), "{}", stderr(&out));
}

#[test]
fn a_folder_without_r_is_an_error_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[Path::new("--in-place"), dir.path()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a folder (use -r"), "{}", stderr(&out));
}

#[test]
fn parallel_and_serial_runs_give_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    let logs: Vec<Vec<u8>> = (0..8).map(|i| sample::log(40 + i, 500, 4)).collect();
    for (i, log) in logs.iter().enumerate() {
        fs::write(src.join(format!("{i}.log.gz")), gzip(log)).unwrap();
    }
    for threads in ["1", "2"] {
        let mirror = dir.path().join(format!("mirror-{threads}"));
        let out = cmd()
            .args(["-q", "-r", "-j", threads, "--output-dir"])
            .arg(&mirror)
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success());
        // --quiet prints no summary, only the keys to rotate.
        let err = stderr(&out);
        assert!(!err.contains("files scanned"), "{err}");
        assert!(err.starts_with("\n") && err.contains(" distinct keys to rotate:\n"), "{err}");
        for (i, log) in logs.iter().enumerate() {
            let got = gunzip(&fs::read(mirror.join(format!("{i}.log.gz"))).unwrap());
            assert_eq!(got, oracle(log, false), "-j {threads}, file {i}");
        }
    }
}

#[test]
fn in_place_with_the_same_length_marker_keeps_every_offset_and_then_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample::log(25, 2_000, 3);
    let file = dir.path().join("indexed.log");
    fs::write(&file, &log).unwrap();
    let out = run(&[Path::new("--in-place"), Path::new("--marker=same-length"), &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scrubbed = fs::read(&file).unwrap();
    assert_eq!(scrubbed.len(), log.len());
    // Every byte outside a token is where it was; every token is now stars.
    let re = regex::bytes::Regex::new(crate::common::TOKEN).unwrap();
    let mut last = 0;
    for m in re.find_iter(&log) {
        assert_eq!(scrubbed[last..m.start()], log[last..m.start()]);
        assert_eq!(scrubbed[m.start()..m.start() + 4], log[m.start()..m.start() + 4]);
        assert!(scrubbed[m.start() + 4..m.end()].iter().all(|&b| b == b'*'));
        last = m.end();
    }
    assert_eq!(scrubbed[last..], log[last..]);
    // The proof that none is left.
    let check = run(&[Path::new("--check"), &file]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}
