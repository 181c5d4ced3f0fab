//! Follow mode with the real binary: rotation by rename, by delete and
//! recreate, with the real logrotate, and while nothing followed.

use std::{
    fs::{self, File},
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{holds_a_token, tool};
use crate::follow_harness::{DEADLINE, Follower, Killer, append, line, redacted, wait_until};

#[test]
fn rotation_by_rename_copytruncate_and_recreate_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut keys = KeyGen::new(51);
    let mut batch =
        |range: std::ops::Range<usize>| range.map(|i| line(&mut keys, i)).collect::<String>();
    let first = batch(0..10);
    fs::write(&log, &first).unwrap();
    let follower = Follower::start(&[&log, Path::new("--from-start")]);
    assert_eq!(follower.lines(10), redacted(&first));

    // logrotate's default: rename, then the application makes a new file.
    let last_of_old = batch(10..12);
    append(&log, &last_of_old);
    fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    let new_file = batch(12..20);
    append(&log, &new_file);
    assert_eq!(follower.lines(10), redacted(&(last_of_old + &new_file)));

    // copytruncate: the file is copied, then cut to nothing, and goes on.
    fs::copy(&log, dir.path().join("app.log.2")).unwrap();
    File::options().write(true).open(&log).unwrap().set_len(0).unwrap();
    follower.notice("was truncated");
    let after_truncate = batch(20..30);
    append(&log, &after_truncate);
    assert_eq!(follower.lines(10), redacted(&after_truncate));

    // Deleted, and made again later.
    fs::remove_file(&log).unwrap();
    follower.notice("has gone");
    let recreated = batch(30..40);
    append(&log, &recreated);
    assert_eq!(follower.lines(10), redacted(&recreated));

    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "nothing repeated: {rest:?}");
}

/// A writer that logs numbered lines (each holding `$KEY`) to `$1`, a line
/// about every millisecond, through an fd it keeps open; on SIGUSR1 (sent
/// by logrotate's postrotate) it reopens `$1`, writes 200 more lines there
/// and ends. Like most daemons, it goes on writing to the renamed file
/// until the signal is handled. (Not SIGHUP, the usual one: a shell cannot
/// trap a signal ignored when it started, and a run under `nohup` ignores
/// SIGHUP; the writer then never reopened and the test timed out.)
const ROTATING_WRITER: &str = r#"
exec 3>>"$1"
hup=0; after=-1; i=0
trap 'hup=1' USR1
echo ready
while [ "$after" -lt 200 ]; do
    if [ "$hup" = 1 ]; then hup=0; exec 3>>"$1"; after=0; fi
    printf 'line %06d token=%s\n' "$i" "$KEY" >&3
    i=$((i + 1))
    if [ "$after" -ge 0 ]; then after=$((after + 1)); fi
    sleep 0.001
done
"#;

/// The logrotate configuration for [`rotate_with_logrotate`]: with
/// `create`, the signal waits for the test's go-ahead (`go`), so that the
/// writer is seen writing to the renamed file after the follower has moved
/// to the new one (bounded, so that a failed test ends).
fn logrotate_conf(
    dir: &Path,
    log: &Path,
    create: bool,
    writer: u32,
    go: &Path,
) -> std::path::PathBuf {
    let wait_for_go = if create {
        format!(
            "n=0; while [ ! -e '{}' ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n + 1)); done\n        ",
            go.display()
        )
    } else {
        String::new()
    };
    let conf = dir.join("logrotate.conf");
    fs::write(
        &conf,
        format!(
            "{} {{\n    {}\n    rotate 3\n    missingok\n    postrotate\n        {wait_for_go}kill -USR1 {writer}\n    endscript\n}}\n",
            log.display(),
            if create { "create" } else { "nocreate" },
        ),
    )
    .unwrap();
    conf
}

/// Every line of the rotated file and of the new one came out once,
/// redacted, each file's lines in their order (the two files are read side
/// by side for a while, so they may interleave).
fn check_both_files_read_once(
    follower: &Follower,
    mut seen: Vec<String>,
    rotated: &Path,
    log: &Path,
) {
    let (old, new) = (fs::read_to_string(rotated).unwrap(), fs::read_to_string(log).unwrap());
    assert_eq!(new.lines().count(), 200);
    let expected_old = redacted(&old);
    let expected_new = redacted(&new);
    let total = expected_old.len() + expected_new.len();
    seen.extend(follower.lines(total - seen.len()));
    let (from_old, from_new): (Vec<String>, Vec<String>) =
        seen.iter().cloned().partition(|l| expected_old.binary_search(l).is_ok());
    assert_eq!(from_old.len(), expected_old.len(), "lines of the old file lost or repeated");
    assert_eq!(from_old, expected_old);
    assert_eq!(from_new, expected_new);
    assert!(!seen.iter().any(|l| holds_a_token(l.as_bytes())));
}

/// Starts [`ROTATING_WRITER`] on `log`, once its trap is set.
fn start_rotating_writer(log: &Path) -> Killer {
    let key = KeyGen::new(70).key("phx", Era::Current);
    let mut writer = Killer(
        Command::new("sh")
            .args(["-c", ROTATING_WRITER, "sh"])
            .arg(log)
            .env("KEY", &key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The trap is set once it says so.
    let mut ready = String::new();
    BufReader::new(writer.0.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    writer
}

/// Rotates `app.log` with the real logrotate while a writer keeps writing,
/// `create` (logrotate makes the new file; the writer reopens later) or
/// `nocreate` (rename only; the writer makes the new file when it reopens).
fn rotate_with_logrotate(create: bool) {
    let Some(logrotate) = tool("logrotate", "logrotate") else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().canonicalize().unwrap();
    let (log, rotated, go) =
        (dir_path.join("app.log"), dir_path.join("app.log.1"), dir_path.join("go"));
    File::create(&log).unwrap();
    let mut writer = start_rotating_writer(&log);
    let follower = Follower::start(&[
        &log,
        Path::new("--from-start"),
        Path::new("--rotate-wait"),
        Path::new("2"),
    ]);
    let mut seen = follower.lines(20);

    let conf = logrotate_conf(&dir_path, &log, create, writer.0.id(), &go);
    let mut rotator = Killer(
        Command::new(logrotate)
            .arg("-f")
            .arg("-s")
            .arg(dir_path.join("logrotate.status"))
            .arg(&conf)
            .spawn()
            .unwrap(),
    );
    if create {
        // Once the old file has its new name, an open file named app.log
        // is the new one.
        wait_until("the follower opens the new file", || {
            rotated.exists() && follower.open_files().contains(&log)
        });
        // The writer still writes to the renamed file only.
        seen.extend(follower.lines(20));
        File::create(&go).unwrap();
    }
    let status = rotator.wait_for(DEADLINE, || {}).expect("logrotate ends");
    assert!(status.success(), "logrotate: {status}");
    let status = writer.wait_for(DEADLINE, || {}).expect("the writer ends");
    assert!(status.success(), "writer: {status}");

    check_both_files_read_once(&follower, seen, &rotated, &log);

    // Quiet for the grace period: the old file is closed.
    wait_until("the old file is closed", || !follower.open_files().contains(&rotated));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "nothing repeated: {} more lines", rest.len());
}

#[test]
fn logrotate_create_lines_written_to_the_renamed_file_after_the_switch_arrive_once() {
    rotate_with_logrotate(true);
}

#[test]
fn logrotate_rename_without_create_loses_and_repeats_nothing() {
    rotate_with_logrotate(false);
}

#[test]
fn a_rotation_while_stopped_the_rest_of_the_old_file_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let mut keys = KeyGen::new(54);
    let first: String = (0..5).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &first).unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(5), redacted(&first));
    assert!(follower.stop().0.success());

    // While nothing follows: written, rotated (renamed), a new file begun.
    let rest_of_old: String = (5..8).map(|i| line(&mut keys, i)).collect();
    append(&log, &rest_of_old);
    fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    let new: String = (8..12).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &new).unwrap();

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(7), redacted(&(rest_of_old + &new)));
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
}

/// (dev, inode) of a file.
fn identity_of(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).unwrap();
    (meta.dev(), meta.ino())
}

#[test]
fn a_file_deleted_and_made_again_while_stopped_with_the_same_inode_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    fs::write(&log, "old one\nold two\n").unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(2), ["old one", "old two"]);
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
    let old = identity_of(&log);

    fs::remove_file(&log).unwrap();
    let new = "new first line\nnew second line\nnew third line\n";
    fs::write(&log, new).unwrap();
    let (dev, ino) = identity_of(&log);
    if (dev, ino) != old {
        // The filesystem did not reuse the inode this time: make the state
        // say what it would have said if it had (same device and inode, the
        // old file's offset and first bytes).
        eprintln!("inode not reused; the state is made to name the new one");
        let mut saved: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
        saved["files"][0]["identity"]["dev"] = dev.into();
        saved["files"][0]["identity"]["ino"] = ino.into();
        fs::write(&state, saved.to_string()).unwrap();
    }

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(3), redacted(new), "the new file from its start");
    let (status, rest, _) = follower.stop();
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_file_rotated_out_of_reach_while_stopped_is_said_not_lost_silently() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("app.log"), dir.path().join("state.json"));
    let old = dir.path().join("old");
    fs::create_dir(&old).unwrap();
    let mut keys = KeyGen::new(56);
    let first: String = (0..5).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &first).unwrap();
    let follower =
        Follower::start(&[&log, Path::new("--from-start"), Path::new("--state"), &state]);
    assert_eq!(follower.lines(5), redacted(&first));
    assert!(follower.stop().0.success());

    // While nothing follows: written, then moved to another folder
    // (logrotate's olddir), which the next run cannot search.
    append(&log, &line(&mut keys, 5));
    fs::rename(&log, old.join("app.log.1")).unwrap();
    let new: String = (6..8).map(|i| line(&mut keys, i)).collect();
    fs::write(&log, &new).unwrap();

    let follower = Follower::start(&[&log, Path::new("--state"), &state]);
    assert_eq!(follower.lines(2), redacted(&new));
    let notice = follower.notice("not in its folder any more");
    assert!(notice.contains("were not read"), "{notice}");
    assert!(follower.stop().0.success());
}
