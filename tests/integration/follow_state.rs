//! Follow mode with the real binary: the state file, refused where it
//! cannot serve, kept free of keys, read in its older format, set aside
//! when bad, and locked for one follower.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{cmd, holds_a_token};
use crate::follow_harness::{DEADLINE, Follower, Killer, append, wait_for_file};

#[test]
fn state_in_a_folder_that_cannot_be_written_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, "a line\n").unwrap();
    let not_a_folder = dir.path().join("a-file");
    fs::write(&not_a_folder, "").unwrap();
    let mut folders = vec![dir.path().join("missing"), not_a_folder];
    // Permissions do not stop root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let read_only = dir.path().join("read-only");
        fs::create_dir(&read_only).unwrap();
        let mut permissions = fs::metadata(&read_only).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
        fs::set_permissions(&read_only, permissions).unwrap();
        folders.push(read_only);
    }
    for folder in folders {
        let state = folder.join("state.json");
        let mut follower =
            Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
        let mut out = Vec::new();
        let status = follower.exit_within(DEADLINE, |line| out.push(line));
        assert_eq!(status.code(), Some(2), "{}", folder.display());
        assert!(out.is_empty(), "{out:?}");
        let notices: Vec<String> = follower.notices.iter().collect();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("--state"), "{notices:?}");
        assert!(notices[0].contains(&format!("{}:", folder.display())), "{notices:?}");
    }
    // The state named as a folder.
    let mut follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), dir.path()]);
    let mut out = Vec::new();
    assert_eq!(follower.exit_within(DEADLINE, |line| out.push(line)).code(), Some(2));
    assert!(out.is_empty(), "{out:?}");
    let notices: Vec<String> = follower.notices.iter().collect();
    assert!(notices[0].contains("is a folder"), "{notices:?}");
}

#[test]
fn a_key_in_a_followed_path_stays_out_of_the_state_file_and_the_notices() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyGen::new(63).key("phx", Era::Current);
    let folder = dir.path().join(format!("tenant-{key}"));
    fs::create_dir(&folder).unwrap();
    let (log, missing, state) =
        (folder.join("app.log"), folder.join("later.log"), dir.path().join("state.json"));
    fs::write(&log, "one\ntwo\n").unwrap();
    let follower =
        Follower::start(&[&log, &missing, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(2), ["one", "two"]);
    let (status, _, notices) = follower.stop();
    assert!(status.success());
    assert!(notices.iter().any(|n| n.contains("later.log")), "{notices:?}");
    assert!(!notices.iter().any(|n| holds_a_token(n.as_bytes())), "a key in a notice");
    let saved = fs::read(&state).unwrap();
    assert!(!holds_a_token(&saved), "a key in the state file");

    // The state still serves: the next run resumes where this one stopped.
    // (With rules of one's own only, the path is kept out all the same.)
    append(&log, "three\n");
    let follower = Follower::start(&[
        &log,
        Path::new("--rule=none"),
        Path::new("--pattern=one"),
        Path::new("--state"),
        &state,
    ]);
    assert_eq!(follower.lines(1), ["three"]);
    let (status, _, _) = follower.stop();
    assert!(status.success());
    assert!(!holds_a_token(&fs::read(&state).unwrap()), "a key in the state file");
    append(&log, "four\n");
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(1), ["four"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_state_file_of_the_previous_format_still_resumes() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "shown before\nnew since\n").unwrap();
    let meta = fs::metadata(&log).unwrap();
    // As versions before hashed paths wrote it: the path itself.
    let old = serde_json::json!({"files": [{
        "path": log,
        "identity": {"dev": meta.dev(), "ino": meta.ino()},
        "offset": "shown before\n".len(),
    }]});
    fs::write(&state, old.to_string()).unwrap();
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(1), ["new since"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
    let saved = fs::read_to_string(&state).unwrap();
    assert!(saved.contains("path_hash"), "rewritten in the new format: {saved}");
}

/// A state file that cannot be used: reported without its content, kept
/// aside, and the files followed from their end as without a state.
fn a_bad_state_file_is_set_aside(content: &[u8], problem: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "already there, not shown\n").unwrap();
    fs::write(&state, content).unwrap();
    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    let notice = follower.notice("state.json");
    assert!(notice.contains(problem), "{notice}");
    assert!(notice.contains("state.json.corrupt-"), "says where it went: {notice}");
    assert!(!holds_a_token(notice.as_bytes()), "the content in a notice: {notice}");
    assert!(!notice.contains("not-for-eyes"), "the content in a notice: {notice}");
    let aside: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(&aside[0]).unwrap(), content, "kept as it was");

    // From the end of each file, as a first start.
    wait_for_file(&state); // saved anew once the files are open
    append(&log, "new line\n");
    assert_eq!(follower.lines(1), ["new line"]);
    let (status, rest, notices) = follower.stop();
    assert!(status.success(), "{notices:?}");
    assert!(rest.is_empty(), "{rest:?}");
    assert!(!notices.iter().any(|n| holds_a_token(n.as_bytes())), "{notices:?}");
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved["files"].is_array(), "a good state again: {saved}");
}

#[test]
fn an_empty_state_file_is_set_aside_and_following_starts() {
    a_bad_state_file_is_set_aside(b"", "empty");
}

#[test]
fn a_truncated_state_file_is_set_aside_and_following_starts() {
    let key = KeyGen::new(61).secret();
    let cut = format!("{{\"files\": [{{\"path\": \"{key} not-for-eyes");
    a_bad_state_file_is_set_aside(cut.as_bytes(), "cut short");
}

#[test]
fn a_state_file_of_garbage_is_set_aside_and_following_starts() {
    let key = KeyGen::new(62).secret();
    let mut garbage = format!("{key} not-for-eyes \u{1}\u{2}").into_bytes();
    garbage.extend_from_slice(&[0xff, 0xfe, 0, 7]);
    a_bad_state_file_is_set_aside(&garbage, "not JSON");
}

#[test]
fn a_state_file_of_the_wrong_shape_is_set_aside_and_following_starts() {
    let key = KeyGen::new(63).secret();
    let wrong = serde_json::json!({"files": [{"path": key, "identity": "not-for-eyes"}]});
    a_bad_state_file_is_set_aside(wrong.to_string().as_bytes(), "not a state file");
}

#[test]
fn a_second_follower_on_the_same_state_is_refused_and_the_first_keeps_its_positions() {
    let dir = tempfile::tempdir().unwrap();
    let (log, other, state) =
        (dir.path().join("app.log"), dir.path().join("other.log"), dir.path().join("state.json"));
    File::create(&log).unwrap();
    File::create(&other).unwrap();
    let first = Follower::start(&[&log, Path::new("--state"), &state]);
    wait_for_file(&state);
    // Saves that replace the state file: the lock must outlive them.
    for i in 0..3 {
        append(&log, &format!("before {i}\n"));
        assert_eq!(first.lines(1), [format!("before {i}")]);
    }
    let mut second =
        Killer(cmd().arg("--follow").arg(&other).arg("--state").arg(&state).spawn().unwrap());
    let status = second.wait_for(DEADLINE, || {}).expect("the second follower runs on");
    assert_eq!(status.code(), Some(2), "{status}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(
        err.trim_end(),
        format!(
            "phx-redact: {}: in use by another phx-redact --follow (pid {}); each follower \
             needs a state file of its own",
            state.display(),
            first.pid()
        )
    );
    let (status, ..) = first.stop();
    assert!(status.success());

    // Written while nothing followed: the restart finds its position.
    let text: String = (0..100).map(|i| format!("while down {i}\n")).collect();
    append(&log, &text);
    let restarted = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(restarted.lines(100), text.lines().collect::<Vec<_>>());
    assert!(restarted.stop().0.success());
}

/// `--state` naming a followed log (or the output) would set the log aside
/// as a state file it cannot read, then follow its own saves without end:
/// refused before anything is read or written, the log as it was.
#[test]
fn a_state_file_that_is_a_followed_log_or_the_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    fs::write(&log, "a line\n").unwrap();
    let out = crate::common::cmd()
        .args(["--follow".as_ref(), "--from-start".as_ref(), "--state".as_ref(), log.as_os_str()])
        .arg(&log)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("app.log itself; give the state a file of its own"), "{err}");
    assert_eq!(fs::read_to_string(&log).unwrap(), "a line\n");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing set aside");

    let state = dir.path().join("out.json");
    fs::write(&state, "").unwrap();
    let output = File::options().append(true).open(&state).unwrap();
    let out = crate::common::cmd()
        .args(["--follow".as_ref(), "--state".as_ref(), state.as_os_str(), log.as_os_str()])
        .stdout(output)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("<stdout> itself"), "{err}");
}
