//! Batch scrubbing when things go wrong around it: files appended to while
//! scrubbed, runs killed or signalled, keys in file names, a file named
//! twice, a mirror that lacks a file, files that fail.

use std::{
    fs,
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use phx_redact::testing::sample;

use crate::batch::{run, stderr, temps, wait_for_temp};
use crate::common::{cmd, oracle};

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
