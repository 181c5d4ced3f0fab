//! What `--in-place` and `--output-dir` must never write through: a
//! mirror's colliding paths, a symbolic link inside a mirror (there before
//! the run, made during it, or at a copy's path), and a folder swapped for
//! a link while a file is scrubbed.

use std::{
    fs,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use phx_redact::testing::sample;

use crate::common::{cmd, oracle};
use crate::scrub_safety::{dirty_log, os, run_guarded, stderr, wait_guarded, wait_until_open};

/// Runs phx-redact with `args`, which it must refuse (exit 2): what it said.
fn refused(args: &[&std::ffi::OsStr]) -> String {
    let out = run_guarded(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn mirror_collisions_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let (log_a, log_b) = (dirty_log(103), dirty_log(104));
    for (folder, log) in [(&a, &log_a), (&b, &log_b)] {
        fs::create_dir_all(folder.join("sub")).unwrap();
        fs::write(folder.join("app.log"), log).unwrap();
        fs::write(folder.join("sub/app.log"), log).unwrap();
    }
    let mirror = dir.path().join("mirror");
    let originals_stay = || {
        for (folder, log) in [(&a, &log_a), (&b, &log_b)] {
            assert_eq!(&fs::read(folder.join("app.log")).unwrap(), log);
            assert_eq!(&fs::read(folder.join("sub/app.log")).unwrap(), log);
        }
    };
    let (a_app, b_app) = (a.join("app.log"), b.join("app.log"));
    let both = format!("{} and {}", a_app.display(), b_app.display());

    // Two files of the same name.
    let err =
        refused(&[os("--output-dir"), mirror.as_os_str(), a_app.as_os_str(), b_app.as_os_str()]);
    assert!(err.contains(&both), "{err}");
    assert!(err.contains(&format!("{}", mirror.join("app.log").display())), "{err}");
    assert!(!mirror.exists(), "nothing written");

    // Two folders sharing a relative path.
    let err =
        refused(&[os("-r"), os("--output-dir"), mirror.as_os_str(), a.as_os_str(), b.as_os_str()]);
    assert!(err.contains(&both), "{err}");
    assert!(!mirror.exists(), "nothing written");

    // The output folder is an input folder, or inside one.
    for root in [a.clone(), a.join("sub"), a.join("new")] {
        let err = refused(&[os("-r"), os("--output-dir"), root.as_os_str(), a.as_os_str()]);
        let says = format!("is the input folder {} or inside it", a.display());
        assert!(err.contains(&says), "{err}");
        assert!(!a.join("new").exists(), "nothing written");
        originals_stay();
    }

    // The output of one file is another input (or itself).
    let err = refused(&[os("--output-dir"), b.as_os_str(), a_app.as_os_str(), b_app.as_os_str()]);
    let says = format!("{} would be written over the input {}", a_app.display(), b_app.display());
    assert!(err.contains(&says), "{err}");
    refused(&[os("--output-dir"), a.as_os_str(), a_app.as_os_str()]);
    originals_stay();
}

/// Every file below `dir`, with its bytes, links as their targets.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let kind = entry.file_type();
        let bytes = if kind.is_symlink() {
            fs::read_link(entry.path()).unwrap().as_os_str().as_bytes().to_vec()
        } else if kind.is_file() {
            fs::read(entry.path()).unwrap()
        } else {
            continue;
        };
        all.push((entry.path().to_path_buf(), bytes));
    }
    all
}

#[test]
fn a_folder_link_inside_the_mirror_is_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let outside = dir.path().join("outside");
    fs::create_dir_all(input.join("logs")).unwrap();
    fs::create_dir_all(outside.join("logs")).unwrap();
    fs::write(input.join("logs/app.log"), dirty_log(106)).unwrap();
    fs::write(outside.join("logs/app.log"), b"someone else's file\n").unwrap();
    // A link into the inputs, and one to a folder elsewhere, where the
    // mirror's `logs` folder goes.
    for target in [input.join("logs"), outside.join("logs")] {
        let mirror = dir.path().join("mirror");
        let _ = fs::remove_dir_all(&mirror);
        fs::create_dir(&mirror).unwrap();
        std::os::unix::fs::symlink(&target, mirror.join("logs")).unwrap();
        let (inputs, others) = (snapshot(&input), snapshot(&outside));
        let out =
            run_guarded(&[os("-r"), os("--output-dir"), mirror.as_os_str(), input.as_os_str()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        let link = mirror.join("logs");
        assert!(err.contains(&format!("{} is a symbolic link", link.display())), "{err}");
        assert!(!crate::common::holds_a_token(err.as_bytes()), "{err}");
        assert_eq!(snapshot(&input), inputs, "the inputs are as they were");
        assert_eq!(snapshot(&outside), others, "the folder outside is as it was");
    }
}

#[test]
fn a_link_made_inside_the_mirror_during_a_run_is_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(input.join("z")).unwrap();
    // A first file big enough to see its temporary file, then one in `z/`.
    let big = sample::log(107, 600_000, 50);
    fs::write(input.join("a.log"), &big).unwrap();
    fs::write(input.join("z/app.log"), dirty_log(108)).unwrap();
    let mirror = dir.path().join("mirror");
    fs::create_dir(&mirror).unwrap();
    let inputs = snapshot(&input);
    let child = cmd()
        .args([os("-j1"), os("-r"), os("--output-dir"), mirror.as_os_str(), input.as_os_str()])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fs::read_dir(&mirror).unwrap().any(|e| {
        e.unwrap().file_name().to_string_lossy().starts_with(phx_redact::testing::TEMP_PREFIX)
    }) {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::yield_now();
    }
    // The check before the run saw no link: this one comes after it.
    std::os::unix::fs::symlink(input.join("z"), mirror.join("z")).unwrap();
    let out = wait_guarded(child);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{} is a symbolic link", mirror.join("z").display())), "{err}");
    assert_eq!(snapshot(&input), inputs, "the inputs are as they were");
    assert_eq!(fs::read(mirror.join("a.log")).unwrap(), oracle(&big, false));
}

#[test]
fn a_link_at_a_mirror_file_path_is_replaced_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let log = dirty_log(109);
    fs::write(input.join("app.log"), &log).unwrap();
    let elsewhere = dir.path().join("elsewhere.log");
    fs::write(&elsewhere, b"someone else's file\n").unwrap();
    let mirror = dir.path().join("mirror");
    fs::create_dir(&mirror).unwrap();
    std::os::unix::fs::symlink(&elsewhere, mirror.join("app.log")).unwrap();
    // And one to the input itself, under a second name.
    fs::write(input.join("b.log"), &log).unwrap();
    std::os::unix::fs::symlink(input.join("b.log"), mirror.join("b.log")).unwrap();
    let out = run_guarded(&[os("-r"), os("--output-dir"), mirror.as_os_str(), input.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&elsewhere).unwrap(), b"someone else's file\n");
    assert_eq!(fs::read(input.join("b.log")).unwrap(), log);
    for name in ["app.log", "b.log"] {
        let meta = fs::symlink_metadata(mirror.join(name)).unwrap();
        assert!(meta.is_file(), "{name}: the link was replaced by the copy");
        assert_eq!(fs::read(mirror.join(name)).unwrap(), oracle(&log, false));
    }
}

/// A big clean file with a secret at its end (so the first pass reads all
/// of it, a window a swap can be made in), on tmpfs where there is one.
fn big_dirty_file(path: &Path, seed: u64) -> Vec<u8> {
    use std::io::Write;
    let line = b"2024-05-01T12:00:00Z INFO request served in 12 ms, nothing to see\n";
    let chunk = line.repeat((1 << 20) / line.len());
    let mut out = std::io::BufWriter::new(fs::File::create(path).unwrap());
    for _ in 0..(180 << 20) / chunk.len() {
        out.write_all(&chunk).unwrap();
    }
    let tail = dirty_log(seed);
    out.write_all(&tail).unwrap();
    out.flush().unwrap();
    tail
}

fn temps_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(phx_redact::testing::TEMP_PREFIX))
        .collect()
}

/// Watches `folder` while `child` runs: whether a temporary file of
/// phx-redact's appears in it before the run ends.
fn temp_appears_while_running(child: &mut std::process::Child, folder: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if !temps_in(folder).is_empty() {
            return true;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("phx-redact ran for two minutes");
        }
        std::thread::yield_now();
    }
    false
}

/// Swaps `tree/sub` for a link to `victim/` once the run has the file
/// open, and swaps it back when a temporary file shows up in `victim/` (as
/// a write redirected there would need to get past the check before the
/// rename) or the run ends. Nothing may be written in `victim/`, and the
/// file asked for is scrubbed through the folder opened before the read.
fn swap_folder_during_in_place(args: &[&std::ffi::OsStr]) {
    let base =
        if Path::new("/dev/shm").is_dir() { Path::new("/dev/shm") } else { Path::new("/tmp") };
    let dir = tempfile::tempdir_in(base).unwrap();
    let (tree, victim) = (dir.path().join("tree"), dir.path().join("victim"));
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::create_dir(&victim).unwrap();
    let target = tree.join("sub/target.conf");
    let tail = big_dirty_file(&target, 211);
    let size = fs::metadata(&target).unwrap().len() as usize;
    let victim_bytes = b"root:x:0:0:root:/root:/bin/sh\n".to_vec();
    fs::write(victim.join("target.conf"), &victim_bytes).unwrap();
    let (sub, real) = (tree.join("sub"), tree.join("sub.real"));

    let mut child = cmd()
        .current_dir(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_open(child.id(), &target);
    fs::rename(&sub, &real).unwrap();
    std::os::unix::fs::symlink(&victim, &sub).unwrap();
    let seen_in_victim = temp_appears_while_running(&mut child, &victim);
    // Back as it was, whether the run is still going (its temporary file
    // was seen in `victim/`) or over.
    fs::remove_file(&sub).unwrap();
    fs::rename(&real, &sub).unwrap();
    let out = wait_guarded(child);
    let err = stderr(&out);

    assert!(!seen_in_victim, "a temporary file was made in the folder swapped in: {err}");
    assert_eq!(fs::read(victim.join("target.conf")).unwrap(), victim_bytes, "{err}");
    assert_eq!(temps_in(&victim), Vec::<String>::new());
    assert_eq!(temps_in(&sub), Vec::<String>::new());
    // The swap came while the keys were listed (the scrub reads every
    // file once for the list before it rewrites any): the folder then
    // opened names another file, which is refused as changed, and the
    // file asked for is left as it was. Or it came during the rewrite's
    // read, and the file was scrubbed through the folder held open.
    let scrubbed = fs::read(&target).unwrap();
    let redacted = oracle(&tail, false);
    match out.status.code() {
        Some(2) => {
            assert!(err.contains("changed while being scrubbed"), "{err}");
            assert_eq!(scrubbed.len(), size, "left as it was: {err}");
        }
        _ => {
            assert_eq!(out.status.code(), Some(0), "{err}");
            assert_eq!(scrubbed.len(), size - tail.len() + redacted.len(), "{err}");
            assert!(scrubbed.ends_with(&redacted), "{err}");
        }
    }
}

#[test]
fn in_place_never_writes_through_a_folder_swapped_for_a_link_while_the_file_is_read() {
    swap_folder_during_in_place(&[os("--in-place"), os("tree/sub/target.conf")]);
}

#[test]
fn in_place_walk_never_writes_through_a_folder_swapped_for_a_link_while_the_file_is_read() {
    swap_folder_during_in_place(&[os("--in-place"), os("-r"), os("tree")]);
}
