//! The journald path of docs/rsyslog.md: the real `journalctl` reading a
//! real journal file (made by `systemd-journal-remote` from journal export
//! data), its output through the plain filter.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use phx_redact::testing::sample::KeyGen;

use crate::common::{oracle, tool};

/// `systemd-journal-remote`, which lives outside PATH.
fn journal_remote() -> Option<PathBuf> {
    let found = ["/lib/systemd", "/usr/lib/systemd"]
        .map(|dir| Path::new(dir).join("systemd-journal-remote"))
        .into_iter()
        .find(|p| p.is_file());
    if found.is_none() && std::env::var("PHX_REDACT_ALLOW_MISSING_TOOLS").as_deref() == Ok("1") {
        return None;
    }
    Some(found.expect("this test needs systemd-journal-remote (Debian package of that name)"))
}

/// A journal file in `dir` holding `messages`, one entry each.
fn journal(dir: &Path, messages: &[Vec<u8>]) -> PathBuf {
    let mut export = Vec::new();
    for (n, message) in messages.iter().enumerate() {
        let stamps = format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID={}\n",
            1_700_000_000_000_000 + n,
            1000 + n,
            "0123456789abcdef".repeat(2)
        );
        export.extend_from_slice(stamps.as_bytes());
        // The binary form: a field as its length and bytes.
        export.extend_from_slice(b"MESSAGE\n");
        export.extend_from_slice(&u64::try_from(message.len()).unwrap().to_le_bytes());
        export.extend_from_slice(message);
        export.extend_from_slice(b"\n\n");
    }
    let file = dir.join("test.journal");
    let mut remote = Command::new(journal_remote().unwrap())
        .arg("-o")
        .arg(&file)
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    remote.stdin.take().unwrap().write_all(&export).unwrap();
    assert!(remote.wait().unwrap().success());
    file
}

/// `journalctl --file FILE ARGS | phx-redact MARKER_ARGS`: both outputs.
fn through_filter(file: &Path, args: &[&str], marker: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let journalctl = tool("journalctl", "systemd").unwrap();
    let shown = Command::new(journalctl).arg("--file").arg(file).args(args).output().unwrap();
    assert!(shown.status.success());
    let (code, out, err) = crate::common::run(marker, &shown.stdout);
    assert_eq!(code, 0, "{err}");
    (shown.stdout, out)
}

/// Keys among what JSON escapes (quotes, backslashes, newlines).
fn messages(keys: &mut KeyGen) -> Vec<Vec<u8>> {
    (0..20)
        .map(|n| format!("n={n} \"{}\" back\\slash\nnext line {}", keys.secret(), keys.decoy()))
        .map(String::into_bytes)
        .collect()
}

#[test]
fn every_marker_preset_keeps_journalctl_json_valid() {
    if tool("journalctl", "systemd").is_none() || journal_remote().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let messages = messages(&mut KeyGen::new(4242));
    let file = journal(dir.path(), &messages);
    for preset in ["default", "posthog", "fingerprint", "same-length"] {
        let (shown, out) = through_filter(&file, &["-o", "json"], &["--marker", preset]);
        let lines = shown.split(|&b| b == b'\n').zip(out.split(|&b| b == b'\n'));
        for ((before, after), message) in lines.zip(&messages) {
            let before: serde_json::Value = serde_json::from_slice(before).unwrap();
            let after: serde_json::Value = serde_json::from_slice(after)
                .unwrap_or_else(|e| panic!("--marker {preset}: not JSON any more: {e}"));
            let text = after["MESSAGE"].as_str().expect("MESSAGE stays a string");
            assert!(oracle(text.as_bytes(), false) == text.as_bytes(), "a key is left");
            if preset == "default" {
                assert_eq!(text.as_bytes(), oracle(message, false));
            }
            let (mut before, mut after) = (before, after);
            before["MESSAGE"].take();
            after["MESSAGE"].take();
            assert_eq!(before, after, "only MESSAGE changes");
        }
    }
}

#[test]
fn journalctl_writes_unprintable_messages_as_numbers_and_text_output_is_scanned_whole() {
    if tool("journalctl", "systemd").is_none() || journal_remote().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = KeyGen::new(4343).secret();
    let message = format!("\x1b[31mcoloured {key}\x1b[0m").into_bytes();
    let file = journal(dir.path(), &[message.clone(), [&b"caf\xe9 "[..], key.as_bytes()].concat()]);
    // -o json: the message is an array of numbers, which no text filter
    // reads as a key (docs/rsyslog.md says so, and what to use instead).
    let (_, json) = through_filter(&file, &["-o", "json"], &[]);
    let first: serde_json::Value =
        serde_json::from_slice(json.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert!(first["MESSAGE"].is_array(), "{first}");
    // -o short-iso --all: the bytes as they are, scanned whole.
    let (shown, out) = through_filter(&file, &["-o", "short-iso", "--all"], &[]);
    assert!(crate::common::contains(&shown, key.as_bytes()));
    assert!(out == oracle(&shown, false) && out != shown);
}
