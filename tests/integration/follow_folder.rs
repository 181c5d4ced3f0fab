//! `--follow --recursive DIR --output-dir OUT` with the real binary: a
//! node's /var/log/pods, where pod folders come and go, followed into a
//! redacted mirror; rotation kubelet's way, a restart with a state, links
//! out of the folder, the cap on open files, and where the mirror may be.

use std::{
    fs,
    path::{Path, PathBuf},
};

use phx_redact::testing::sample::KeyGen;

use crate::common::{holds_a_token, run};
use crate::follow_harness::{Follower, append, line, redacted, wait_until};
use crate::records_cri::keys_around_splits;
use crate::records_oracle::{cri_expected, cri_file};

/// A node's pod logs and their mirror, in one temporary folder.
struct Node {
    _dir: tempfile::TempDir,
    pods: PathBuf,
    out: PathBuf,
    state: PathBuf,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let (pods, out) = (dir.path().join("pods"), dir.path().join("out"));
        fs::create_dir(&pods).unwrap();
        let state = dir.path().join("state.json");
        Node { pods, out, state, _dir: dir }
    }

    /// The log of a container of a pod: made, with its folders.
    fn log(&self, pod: &str, container: &str) -> PathBuf {
        let folder = self.pods.join(pod).join(container);
        fs::create_dir_all(&folder).unwrap();
        folder.join("0.log")
    }

    /// A follower of the pods, into the mirror, with `extra` flags and the
    /// state; returned once it has walked the folder (its first save of
    /// the state says so), so that what the test makes next is new.
    fn follow(&self, extra: &[&str]) -> Follower {
        let mut args: Vec<&Path> = vec![Path::new("--recursive"), Path::new("--output-dir")];
        args.push(&self.out);
        args.extend(["--rotate-wait", "0.2", "--state"].map(Path::new));
        args.push(&self.state);
        args.extend(extra.iter().map(Path::new));
        args.push(&self.pods);
        let first = !self.state.exists();
        let follower = Follower::start(&args);
        if first {
            wait_until("the first save of the state", || self.state.exists());
        }
        follower
    }

    /// The mirror copy of `log`.
    fn copy(&self, log: &Path) -> PathBuf {
        self.out.join(log.strip_prefix(&self.pods).unwrap())
    }

    /// Waits until the copy of `log` holds `n` lines; returns them.
    fn copied(&self, log: &Path, n: usize) -> Vec<String> {
        let copy = self.copy(log);
        let lines = || -> Vec<String> {
            fs::read_to_string(&copy).unwrap_or_default().lines().map(String::from).collect()
        };
        wait_until(&format!("{n} lines in {}", copy.display()), || lines().len() >= n);
        lines()
    }
}

/// `n` lines, one in three holding a key.
fn text(keys: &mut KeyGen, from: usize, n: usize) -> String {
    (from..from + n).map(|i| line(keys, i)).collect()
}

#[test]
fn a_pod_started_later_is_followed_from_its_start_into_its_mirror_redacted() {
    let node = Node::new();
    let mut keys = KeyGen::new(2001);
    let old = node.log("ns_old_1", "app");
    fs::write(&old, text(&mut keys, 0, 3)).unwrap();
    let follower = node.follow(&[]);
    // There at start, without --from-start: followed from its end.
    let more = text(&mut keys, 3, 3);
    wait_until("the copy of the old pod's log", || node.copy(&old).exists());
    append(&old, &more);
    assert_eq!(node.copied(&old, 3), redacted(&more));
    // A pod started later, in a folder made later: read from its start.
    let new = node.log("ns_web_2", "nginx");
    let written = text(&mut keys, 0, 30);
    append(&new, &written);
    assert_eq!(node.copied(&new, 30), redacted(&written));
    let (status, _, notices) = follower.stop();
    assert!(status.success(), "{status:?} {notices:?}");
    assert!(!holds_a_token(&fs::read(node.copy(&new)).unwrap()));
}

#[test]
fn a_deleted_pod_is_read_to_its_end_and_pods_coming_and_going_leak_no_descriptor() {
    let node = Node::new();
    let mut keys = KeyGen::new(2002);
    let follower = node.follow(&[]);
    let first = node.log("ns_first_0", "c");
    append(&first, "first\n");
    node.copied(&first, 1);
    let fds = || fs::read_dir(format!("/proc/{}/fd", follower.pid())).unwrap().count();
    let before = fds();
    for round in 0..25 {
        let pod = format!("ns_p{round}_{round}");
        let log = node.log(&pod, "c");
        let written = text(&mut keys, 0, 3);
        append(&log, &written);
        node.copied(&log, 3);
        // Its last line, unfinished, and then the pod is gone: the line
        // goes out, the file is closed.
        append(&log, "last words");
        fs::remove_dir_all(node.pods.join(&pod)).unwrap();
        let done = node.copied(&log, 4);
        assert_eq!(done[3], "last words");
    }
    wait_until("every deleted file closed", || fds() <= before);
    assert!(
        !follower.open_files().iter().any(|f| f.to_string_lossy().contains("(deleted)")),
        "{:?}",
        follower.open_files()
    );
    let (status, _, _) = follower.stop();
    assert!(status.success());
}

#[test]
fn kubelet_rotation_is_followed_and_its_rotated_names_are_not_new_files() {
    let node = Node::new();
    let mut keys = KeyGen::new(2003);
    let log = node.log("ns_rot_1", "app");
    fs::write(&log, "").unwrap();
    let follower = node.follow(&[]);
    wait_until("the copy", || node.copy(&log).exists());
    let before = text(&mut keys, 0, 5);
    append(&log, &before);
    node.copied(&log, 5);
    // kubelet: rename to 0.log.TIMESTAMP, the runtime writes on in it a
    // moment, reopens 0.log; the older rotated file is gzipped.
    let rotated = log.with_file_name("0.log.20260101-000000");
    fs::rename(&log, &rotated).unwrap();
    let late = text(&mut keys, 5, 2);
    append(&rotated, &late);
    let after = text(&mut keys, 7, 5);
    append(&log, &after);
    let got = node.copied(&log, 12);
    let gz = std::process::Command::new("gzip").arg("-k").arg(&rotated).status().unwrap();
    assert!(gz.success());
    // Written after the rotation: a walk that took 0.log.* would have
    // made a copy of its own by now.
    let more = text(&mut keys, 12, 1);
    append(&log, &more);
    let got_more = node.copied(&log, 13);
    let (status, _, _) = follower.stop();
    assert!(status.success());
    let mut want = redacted(&(before + &late + &after));
    let mut got = got[..12].to_vec();
    // The old and the new file are read side by side: each in order.
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(got_more[12..], redacted(&more));
    let copies: Vec<_> = fs::read_dir(node.copy(&log).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(copies, ["0.log"], "a rotated name was followed as a new file");
}

#[test]
fn a_restart_with_the_state_resumes_every_file_and_reads_pods_started_meanwhile() {
    let node = Node::new();
    let mut keys = KeyGen::new(2004);
    let (a, b) = (node.log("ns_a_1", "c"), node.log("ns_b_2", "c"));
    let follower = node.follow(&[]);
    let (a1, b1) = (text(&mut keys, 0, 10), text(&mut keys, 0, 7));
    append(&a, &a1);
    append(&b, &b1);
    node.copied(&a, 10);
    node.copied(&b, 7);
    let (status, _, _) = follower.stop();
    assert!(status.success());
    // While it is down: both grow, and a pod starts.
    let (a2, b2, c2) = (text(&mut keys, 10, 5), text(&mut keys, 7, 4), text(&mut keys, 0, 6));
    append(&a, &a2);
    append(&b, &b2);
    let c = node.log("ns_c_3", "c");
    append(&c, &c2);
    // Started again: A and B resume, and C, which the state does not
    // hold, was made since the last run: read from its start.
    let follower = node.follow(&[]);
    let (a3, c3) = (text(&mut keys, 15, 2), text(&mut keys, 6, 1));
    append(&a, &a3);
    append(&c, &c3);
    assert_eq!(node.copied(&a, 17), redacted(&(a1 + &a2 + &a3)));
    assert_eq!(node.copied(&b, 11), redacted(&(b1 + &b2)));
    assert_eq!(node.copied(&c, 7), redacted(&(c2 + &c3)));
    let (status, _, _) = follower.stop();
    assert!(status.success());
    // Nothing repeated after the lines waited for.
    assert_eq!(fs::read_to_string(node.copy(&a)).unwrap().lines().count(), 17);
    assert_eq!(fs::read_to_string(node.copy(&b)).unwrap().lines().count(), 11);
    let saved = fs::read_to_string(&node.state).unwrap();
    assert_eq!(saved.matches("\"path_hash\"").count(), 3, "{saved}");
}

#[test]
fn links_out_of_the_folder_are_not_followed() {
    let node = Node::new();
    let outside = node.pods.parent().unwrap().join("outside");
    fs::create_dir(&outside).unwrap();
    let secret_log = outside.join("0.log");
    fs::write(&secret_log, "private to the node\n").unwrap();
    let follower = node.follow(&["--from-start"]);
    fs::create_dir(node.pods.join("ns_l_1")).unwrap();
    std::os::unix::fs::symlink(&secret_log, node.pods.join("ns_l_1/0.log")).unwrap();
    std::os::unix::fs::symlink(&outside, node.pods.join("ns_dir_2")).unwrap();
    // A real pod after the links: once it is copied, the links were seen.
    let real = node.log("ns_z_9", "c");
    append(&real, "real\n");
    node.copied(&real, 1);
    append(&secret_log, "more\n");
    let again = node.log("ns_zz_9", "c");
    append(&again, "again\n");
    node.copied(&again, 1);
    assert!(!follower.open_files().contains(&secret_log));
    let (status, _, _) = follower.stop();
    assert!(status.success());
    let mut copied: Vec<_> = walkdir::WalkDir::new(&node.out)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&node.out).unwrap().to_path_buf())
        .collect();
    copied.sort();
    assert_eq!(copied, [PathBuf::from("ns_z_9/c/0.log"), PathBuf::from("ns_zz_9/c/0.log")]);
}

#[test]
fn a_pod_folder_swapped_for_a_link_out_of_the_folder_is_not_read_through() {
    let node = Node::new();
    let outside = node.pods.parent().unwrap().join("outside");
    fs::create_dir_all(outside.join("c")).unwrap();
    fs::write(outside.join("c/0.log"), "outside the pods\n").unwrap();
    let follower = node.follow(&[]);
    let log = node.log("ns_s_1", "c");
    append(&log, "inside\n");
    node.copied(&log, 1);
    // The pod's folder goes, and a link to a folder outside takes its
    // place, with a file at the same path below it.
    fs::rename(node.pods.join("ns_s_1"), node.pods.parent().unwrap().join("gone")).unwrap();
    std::os::unix::fs::symlink(&outside, node.pods.join("ns_s_1")).unwrap();
    append(&outside.join("c/0.log"), "more outside\n");
    follower.notice("symbolic link");
    let (status, _, _) = follower.stop();
    assert!(status.success());
    assert_eq!(fs::read_to_string(node.copy(&log)).unwrap(), "inside\n");
}

#[test]
fn a_mirror_in_the_followed_folder_or_around_it_is_refused() {
    let node = Node::new();
    let pods = node.pods.to_str().unwrap();
    let inside = node.pods.join("mirror");
    let around = node.pods.parent().unwrap();
    for out in [inside.as_path(), around] {
        let out = out.to_str().unwrap();
        let args = ["--follow", "--recursive", "--output-dir", out, pods];
        let (code, stdout, err) = run(&args, b"");
        assert_eq!((code, stdout.as_slice()), (2, &b""[..]), "{err}");
        assert!(err.contains("--output-dir") && err.contains("apart"), "{err}");
    }
    assert!(!inside.exists());
    // Through a link to the followed folder, not made yet.
    let link = node.pods.parent().unwrap().join("link");
    std::os::unix::fs::symlink(&node.pods, &link).unwrap();
    let out = link.join("mirror");
    let args = ["--follow", "--recursive", "--output-dir", out.to_str().unwrap(), pods];
    let (code, _, err) = run(&args, b"");
    assert_eq!(code, 2, "{err}");
    assert!(!inside.exists());
    // And a state in either.
    let state = node.pods.join("state.json");
    let out = node.out.to_str().unwrap();
    let args = ["--follow", "--recursive", "--output-dir", out, "--state"];
    let (code, _, err) = run(&[&args[..], &[state.to_str().unwrap(), pods]].concat(), b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--state"), "{err}");
}

#[test]
fn cri_records_of_a_new_pod_are_joined_across_partial_records_in_its_mirror() {
    let node = Node::new();
    let (recs, _) = keys_around_splits(4001);
    let input = cri_file(&recs[..39]);
    let follower = node.follow(&["--input-format", "cri"]);
    let log = node.log("ns_cri_1", "app");
    let mut file = fs::File::create(&log).unwrap();
    for piece in input.chunks(7919) {
        std::io::Write::write_all(&mut file, piece).unwrap();
    }
    let expected = String::from_utf8(cri_expected(&recs[..39])).unwrap();
    let want: Vec<&str> = expected.lines().collect();
    let got = node.copied(&log, want.len());
    let (status, _, _) = follower.stop();
    assert!(status.success());
    assert!(got == want, "not the joined oracle, record for record");
    assert!(!holds_a_token(&fs::read(node.copy(&log)).unwrap()));
}

#[test]
fn a_key_in_a_pod_name_is_in_no_mirror_name_and_no_notice() {
    let node = Node::new();
    let key = format!("phx_{}", "n".repeat(40));
    let follower = node.follow(&[]);
    let log = node.log(&format!("ns_{key}_1"), "c");
    append(&log, "hello\n");
    let names = || {
        walkdir::WalkDir::new(&node.out)
            .into_iter()
            .map(|e| e.unwrap().path().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    wait_until("a copy", || names().iter().any(|n| n.ends_with("0.log")));
    fs::remove_dir_all(log.parent().unwrap().parent().unwrap()).unwrap();
    let mut notices = vec![follower.notice("finished")];
    let (status, _, rest) = follower.stop();
    assert!(status.success());
    notices.extend(rest);
    assert!(notices.iter().any(|n| n.contains("phx_[REDACTED")), "{notices:?}");
    assert!(!names().iter().any(|n| n.contains(&key)), "{:?}", names());
    assert!(!notices.iter().any(|n| n.contains(&key)), "{notices:?}");
}

#[test]
fn files_past_the_cap_wait_said_once_and_are_read_when_a_place_frees() {
    let node = Node::new();
    let follower = node.follow(&["--max-files", "2"]);
    let logs: Vec<PathBuf> = (0..3).map(|i| node.log(&format!("ns_m{i}_{i}"), "c")).collect();
    for log in &logs {
        append(log, "one\n");
    }
    node.copied(&logs[0], 1);
    node.copied(&logs[1], 1);
    follower.notice("--max-files 2");
    assert!(!node.copy(&logs[2]).exists());
    fs::remove_dir_all(logs[0].parent().unwrap().parent().unwrap()).unwrap();
    assert_eq!(node.copied(&logs[2], 1), ["one"]);
    let (status, _, _) = follower.stop();
    assert!(status.success());
}
