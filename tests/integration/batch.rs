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

fn run(args: &[&Path]) -> Output {
    cmd().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
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
fn temps(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(".phx-redact-"))
        .collect()
}

/// Waits (polling the folder, with a deadline) until a scrub has started
/// writing its temporary file.
fn wait_for_temp(dir: &Path, child: &mut Child) {
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
fn a_file_appended_to_while_scrubbed_is_left_with_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("active.log");
    let log = sample::log(29, 600_000, 50);
    fs::write(&path, &log).unwrap();
    let mut child = cmd().arg("--in-place").arg(&path).spawn().unwrap();
    wait_for_temp(dir.path(), &mut child);
    let appended = b"appended while scrubbing\n";
    fs::File::options().append(true).open(&path).unwrap().write_all(appended).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The read lease made our open wait until the scrub let go of the file.
    assert!(stderr(&out).contains("opened for writing while being scrubbed"), "{}", stderr(&out));
    assert_eq!(fs::read(&path).unwrap(), [&log[..], appended].concat());
    assert!(temps(dir.path()).is_empty());
}

#[test]
fn a_killed_run_leaves_the_original_and_the_next_run_reports_its_leftover() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = sample::log(30, 600_000, 50);
    fs::write(&path, &log).unwrap();
    let mut child = cmd().arg("--in-place").arg(&path).spawn().unwrap();
    wait_for_temp(dir.path(), &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fs::read(&path).unwrap(), log);

    let leftover = temps(dir.path());
    assert_eq!(leftover.len(), 1);
    let out = run(&[Path::new("--in-place"), Path::new("-r"), dir.path()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: skipped: temporary file left by an interrupted",
            leftover[0].display()
        )),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), oracle(&log, false));
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

/// Every name in `dir`, recursively, as one string.
fn names_below(dir: &Path) -> String {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_mirror_never_names_a_copy_after_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    // Keys built at run time: a built-in one in a folder's name, a custom
    // rule's secret in a file's name, and two files that differ only in
    // their key, which must stay two files.
    let key = |c: &str| format!("phx_{}", c.repeat(44));
    let custom = "SECRET31415926";
    let folder = src.join(key("a"));
    fs::create_dir_all(&folder).unwrap();
    let (dirty, clean) = (sample::log(41, 50, 3), sample::log(42, 50, 0));
    fs::write(folder.join(format!("{custom}.log")), &dirty).unwrap();
    fs::write(src.join(format!("{}.log", key("b"))), &clean).unwrap();
    fs::write(src.join(format!("{}.log", key("c"))), &clean).unwrap();
    let mirror = dir.path().join("mirror");
    let out = cmd()
        .args(["-r", "--pattern", "SECRET[0-9]{8}", "--output-dir"])
        .args([&mirror, &src])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names = names_below(&mirror);
    for secret in [key("a"), key("b"), key("c"), custom.to_string()] {
        assert!(!names.contains(&secret), "a mirrored name holds a secret:\n{names}");
    }
    let copies: Vec<_> = walkdir::WalkDir::new(&mirror)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| fs::read(e.path()).unwrap())
        .collect();
    assert_eq!(copies.len(), 3, "{names}");
    assert_eq!(copies.iter().filter(|c| **c == clean).count(), 2, "{names}");
    assert!(copies.contains(&oracle(&dirty, false)), "{names}");
}

#[test]
fn a_file_named_twice_is_scrubbed_once_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    let dirty = sample::log(43, 2_000, 3);
    fs::write(&file, &dirty).unwrap();
    let again = dir.path().join(".").join("app.log");
    let out = cmd().args(["--in-place", "-j2"]).args([&file, &again, &file]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), oracle(&dirty, false));
}

#[test]
fn a_key_appended_during_a_mirror_run_never_lands_in_the_mirror_in_clear() {
    let key = format!("phx_{}", "z9Y8x7W6v5".repeat(5));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    // Clean, and large enough that copying it takes a while.
    let line = b"2026-11-28T19:00:00Z GET /api/projects/1/events 200 12ms\n";
    let clean: Vec<u8> = line.iter().copied().cycle().take(line.len() * 1_000_000).collect();
    fs::write(&path, &clean).unwrap();
    let mirror = dir.path().join("mirror");
    fs::create_dir(&mirror).unwrap();
    // The temporary file appears once the first pass found the file clean,
    // before the copy: what is appended now was never scanned. A loaded
    // machine may not look while it exists; then the run is done again.
    let mut caught = None;
    for _ in 0..20 {
        let mut child = cmd().arg("--output-dir").arg(&mirror).arg(&path).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while temps(&mirror).is_empty() && child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no temporary file appeared");
            std::thread::yield_now();
        }
        if !temps(&mirror).is_empty() {
            caught = Some(child);
            break;
        }
        child.wait().unwrap();
        let _ = fs::remove_file(mirror.join("big.log"));
    }
    let child = caught.expect("never saw the mirror run between its scan and its copy");
    let late = format!("late {key}\n");
    fs::File::options().append(true).open(&path).unwrap().write_all(late.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains(&key));
    let copy = mirror.join("big.log");
    match out.status.code() {
        // Refused: the file changed between the scan and the copy.
        Some(2) => {
            assert!(err.contains("changed while being scrubbed"), "{err}");
            assert!(!copy.exists(), "a changed file was mirrored");
        }
        // Or only the bytes scanned were copied.
        Some(0) => {
            let copied = fs::read(&copy).unwrap();
            let leaked = copied.windows(key.len()).any(|w| w == key.as_bytes());
            assert!(!leaked, "the key appended after the scan is in the mirror in clear");
            assert!(copied == clean, "the mirror is not the bytes scanned");
        }
        other => panic!("exit {other:?}: {err}"),
    }
    assert!(temps(&mirror).is_empty());
}

#[test]
fn a_mirror_that_lacks_a_file_is_not_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    let log = sample::log(34, 100, 3);
    fs::write(tree.join("real.log"), &log).unwrap();
    std::os::unix::fs::symlink("real.log", tree.join("link.log")).unwrap();
    let mirror = dir.path().join("mirror");
    let out = run(&[Path::new("-r"), &tree, Path::new("--output-dir"), &mirror]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("link.log: not mirrored: symbolic link, not followed"), "{err}");
    // What could be mirrored still is.
    assert_eq!(fs::read(mirror.join("real.log")).unwrap(), oracle(&log, false));
}

#[test]
fn sigint_sigterm_and_sighup_remove_the_temporary_files_and_keep_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let path = input.join("app.log");
    let log = sample::log(44, 600_000, 50);
    fs::write(&path, &log).unwrap();
    let mirror = dir.path().join("mirror");
    fs::create_dir(&mirror).unwrap();
    for (signal, status) in [(libc::SIGTERM, 143), (libc::SIGINT, 130), (libc::SIGHUP, 129)] {
        for mirrored in [false, true] {
            let (mut command, written) = (cmd(), if mirrored { &mirror } else { &input });
            match mirrored {
                true => command.arg("--output-dir").arg(&mirror).arg(&path),
                false => command.arg("--in-place").arg(&path),
            };
            let mut child = command.spawn().unwrap();
            wait_for_temp(written, &mut child);
            // SAFETY: kill(2) on our child, not yet reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
            let out = child.wait_with_output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(status), "signal {signal}: {err}");
            assert!(err.contains("interrupted by SIG"), "{err}");
            assert!(temps(written).is_empty(), "signal {signal}: {:?}", temps(written));
            assert_eq!(fs::read(&path).unwrap(), log, "the original is as it was");
            assert!(!mirror.join("app.log").exists());
        }
    }
    // Nothing is left for an audit to trip on.
    let out = run(&[Path::new("--check"), Path::new("-q"), Path::new("-r"), &mirror]);
    assert_eq!(out.status.code(), Some(2), "an empty mirror: nothing to check");
    assert!(stderr(&out).contains("nothing to check"), "{}", stderr(&out));
}

/// `--in-place -r logs 2>&1 | head`: the reader of stderr has gone when
/// the signal comes. The temporary files still go, and the process still
/// ends at once with 128 + the signal.
#[test]
fn a_signal_is_honoured_when_stderr_is_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = sample::log(46, 600_000, 50);
    fs::write(&path, &log).unwrap();
    let mut child = cmd().arg("--in-place").arg(&path).spawn().unwrap();
    drop(child.stderr.take());
    wait_for_temp(dir.path(), &mut child);
    // SAFETY: kill(2) on our child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert!(temps(dir.path()).is_empty(), "{:?}", temps(dir.path()));
    assert_eq!(fs::read(&path).unwrap(), log, "the original is as it was");
}

#[test]
fn a_failed_file_counts_the_bytes_it_was_read_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let log = sample::log(45, 200, 3);
    fs::write(&path, &log).unwrap();
    // Refused once read: a second name (hard link) holds it.
    fs::hard_link(&path, dir.path().join("other.log")).unwrap();
    let out = run(&[Path::new("--in-place"), &path]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let summary = format!(
        "1 files scanned, 0 changed, 0 tokens redacted, {} bytes read, 1 failed",
        log.len()
    );
    assert!(err.contains(&summary), "{err}");
}
