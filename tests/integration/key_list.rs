//! The keys to rotate: a scrub (`--in-place`, `--output-dir`) ends with
//! the list `--check` prints, sorted by kind then count, with what to do
//! for each kind; `--keys-out` holds it, as `--check --json` prints it,
//! before any file changes; a clean run says so on a terminal only.

use std::{
    fs,
    os::unix::fs::FileTypeExt,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{cmd, holds_a_token, run};

/// A tree with keys of every secret kind, found a different number of
/// times, across plain and gzip files; and a clean file.
fn leaky_tree(dir: &Path, seed: u64) -> Vec<String> {
    let mut keygen = KeyGen::new(seed);
    let (phx, phs) = (keygen.key("phx", Era::Current), keygen.key("phs", Era::Current));
    let (pha, phr) = (keygen.key("pha", Era::Base62), keygen.key("phr", Era::Base62));
    let phx2 = keygen.key("phx", Era::Legacy);
    let tree = dir.join("logs");
    fs::create_dir_all(tree.join("old")).unwrap();
    // phr first in the files: the list is sorted by kind, not as found.
    fs::write(tree.join("app.log"), format!("r={phr}\na={pha}\nk={phx}\ns={phs}\n")).unwrap();
    fs::write(tree.join("clean.log"), "nothing here\n").unwrap();
    let old = format!("k={phx2}\nk={phx2}\nk={phx2}\nk={phx}\ns={phs}\n");
    fs::write(tree.join("old/app.1.log"), &old).unwrap();
    let gz = Command::new("gzip").arg("-k").arg(tree.join("old/app.1.log")).status().unwrap();
    assert!(gz.success());
    vec![phx, phs, pha, phr, phx2]
}

/// The `{"type":"key"}` records of `--check --json -r tree`.
fn audit_keys(tree: &Path) -> Vec<serde_json::Value> {
    let (code, out, err) = run(&["--check", "--json", "-r", tree.to_str().unwrap()], b"");
    assert_eq!(code, 1, "{err}");
    json_lines(&out).into_iter().filter(|l| l["type"] == "key").collect()
}

fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// The key lines of a text list (`  RULE  MASK  fingerprint ...`), after
/// its heading, up to `What to do:`.
fn key_lines(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.contains("distinct key"))
        .skip(1)
        .take_while(|l| *l != "What to do:")
        .collect()
}

fn no_key_in(what: &str, bytes: &[u8], keys: &[String]) {
    assert!(!holds_a_token(bytes), "{what}: {}", String::from_utf8_lossy(bytes));
    for key in keys {
        assert!(!String::from_utf8_lossy(bytes).contains(key.as_str()), "{what}");
    }
}

#[test]
fn a_scrub_ends_with_the_audits_key_list_sorted_and_keys_out_holds_it() {
    for mode in ["--in-place", "--output-dir"] {
        let dir = tempfile::tempdir().unwrap();
        let keys = leaky_tree(dir.path(), 41);
        let tree = dir.path().join("logs");
        let before = audit_keys(&tree);
        assert_eq!(before.len(), 5, "{before:?}");
        let keys_out = dir.path().join("keys.jsonl");
        let mirror = dir.path().join("clean");
        let mut args = vec!["-r", tree.to_str().unwrap(), "--keys-out", keys_out.to_str().unwrap()];
        match mode {
            "--in-place" => args.push("--in-place"),
            _ => args.extend(["--output-dir", mirror.to_str().unwrap()]),
        }
        let (code, out, err) = run(&args, b"");
        assert_eq!((code, out.as_slice()), (0, &b""[..]), "{mode}: {err}");

        // The file: --check --json's key records, byte for byte in meaning.
        let written = fs::read(&keys_out).unwrap();
        assert_eq!(json_lines(&written), before, "{mode}");
        assert_eq!(fs::metadata(&keys_out).unwrap().permissions().mode() & 0o777, 0o600);
        no_key_in(mode, &written, &keys);
        no_key_in(mode, err.as_bytes(), &keys);

        // The text list, after the summary: phx first (the 3-time key
        // before the 2-time one), then phs, pha, phr; and what to do.
        assert!(err.contains("4 files scanned, 3 changed, 14 tokens redacted"), "{mode}: {err}");
        let summary_at = err.find("files scanned").unwrap();
        let list_at = err.find("14 findings, 5 distinct keys to rotate:").expect(&err);
        assert!(summary_at < list_at, "{err}");
        let lines = key_lines(&err);
        let rules: Vec<&str> = lines.iter().map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(rules, ["phx", "phx", "phs", "pha", "phr"], "{err}");
        let counts: Vec<&str> = lines.iter().map(|l| l.split("  ").nth(4).unwrap()).collect();
        assert_eq!(counts, ["6 times", "3 times", "3 times", "1 time", "1 time"], "{err}");
        // The legacy key (6 times, in two files) before the one seen first.
        assert!(lines[0].contains(&format!("{}...", &keys[4][..4])), "{err}");
        assert!(
            lines[0].ends_with(&format!("app.1.log, {}", tree.join("old/app.1.log.gz").display()))
        );
        assert!(err.contains("What to do:\n  phx: personal API key: roll it"), "{err}");
        assert!(err.contains("\n  phs: project secret API key"), "{err}");
        assert!(err.contains("\n  pha, phr: OAuth tokens: revoke"), "{err}");
        // The same list as --check prints.
        let (_, check_out, _) = run(&["--check", "-r", tree.to_str().unwrap()], b"");
        if mode == "--output-dir" {
            let check_out = String::from_utf8(check_out).unwrap();
            assert_eq!(key_lines(&check_out), lines);
            let (code, _, _) = run(&["--check", "-r", mirror.to_str().unwrap()], b"");
            assert_eq!(code, 0, "the mirror is clean");
        } else {
            assert!(check_out.is_empty(), "scrubbed: nothing left to find");
        }
    }
}

#[test]
fn quiet_scrub_still_prints_the_keys_and_check_quiet_still_writes_keys_out() {
    let dir = tempfile::tempdir().unwrap();
    let keys = leaky_tree(dir.path(), 42);
    let tree = dir.path().join("logs");
    let before = audit_keys(&tree);
    let keys_out = dir.path().join("check-keys.jsonl");
    let t = tree.to_str().unwrap();
    let (code, out, err) =
        run(&["--check", "-q", "-r", t, "--keys-out", keys_out.to_str().unwrap()], b"");
    assert_eq!((code, out.as_slice(), err.as_str()), (1, &b""[..], ""));
    assert_eq!(json_lines(&fs::read(&keys_out).unwrap()), before);
    let (code, out, err) = run(&["--in-place", "-q", "-r", t], b"");
    assert_eq!((code, out.as_slice()), (0, &b""[..]), "{err}");
    assert!(!err.contains("files scanned"), "-q: no summary: {err}");
    assert!(err.contains("14 findings, 5 distinct keys to rotate:"), "{err}");
    no_key_in("-q", err.as_bytes(), &keys);
}

#[test]
fn keys_out_is_refused_over_an_input_where_it_cannot_be_written_and_without_a_mode() {
    let dir = tempfile::tempdir().unwrap();
    leaky_tree(dir.path(), 43);
    let tree = dir.path().join("logs");
    let t = tree.to_str().unwrap();
    let app = tree.join("app.log");
    let log = fs::read(&app).unwrap();
    // Over an input: the log would be lost.
    for mode in [&["--check"][..], &["--in-place"], &["--output-dir", "/nonexistent/x"]] {
        let mut args = mode.to_vec();
        args.extend(["-r", t, "--keys-out", app.to_str().unwrap()]);
        let (code, _, err) = run(&args, b"");
        assert_eq!(code, 2, "{mode:?}: {err}");
        assert!(err.contains("is one of the inputs"), "{err}");
        assert_eq!(fs::read(&app).unwrap(), log);
    }
    // Into a folder that is not there: nothing is scrubbed.
    let nowhere = dir.path().join("missing/keys.jsonl");
    let (code, _, err) =
        run(&["--in-place", "-r", t, "--keys-out", nowhere.to_str().unwrap()], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was scrubbed"), "{err}");
    assert_eq!(fs::read(&app).unwrap(), log);
    // Filtering has no key list to write.
    let (code, _, err) = run(&["--keys-out", nowhere.to_str().unwrap(), t], b"");
    assert_eq!(code, 2);
    assert!(err.contains("--keys-out does not apply to redacting to standard output"), "{err}");
}

/// Inode numbers of the files in `dir`: a file rewritten in place gets a
/// new one.
fn inodes(files: &[PathBuf]) -> Vec<u64> {
    files.iter().map(|f| fs::metadata(f).map_or(0, |m| m.ino())).collect()
}

#[test]
fn keys_out_holds_every_key_before_the_first_original_is_replaced_even_under_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("logs");
    fs::create_dir(&tree).unwrap();
    let mut keygen = KeyGen::new(44);
    // Many files with keys of their own, so that the kill lands mid-run.
    let files: Vec<PathBuf> = (0..400)
        .map(|i| {
            let path = tree.join(format!("app-{i:03}.log"));
            let body = "x".repeat(20_000);
            let key = keygen.key(["phx", "phs", "pha", "phr"][i % 4], Era::Current);
            fs::write(&path, format!("{body}\nkey={key}\n{body}\n")).unwrap();
            path
        })
        .collect();
    let before = audit_keys(&tree);
    assert_eq!(before.len(), 400);
    let keys_out = dir.path().join("keys.jsonl");
    let first = inodes(&files);
    let mut child = cmd()
        .args(["--in-place", "-j1", "-r"])
        .arg(&tree)
        .arg("--keys-out")
        .arg(&keys_out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The moment the first original is replaced, kill the run.
    let deadline = Instant::now() + Duration::from_secs(120);
    let replaced = loop {
        let now = inodes(&files);
        if now != first {
            child.kill().unwrap();
            break now;
        }
        if child.try_wait().unwrap().is_some() {
            break inodes(&files);
        }
        assert!(Instant::now() < deadline, "no file was replaced");
        std::thread::yield_now();
    };
    child.wait().unwrap();
    let changed = replaced.iter().zip(&first).filter(|(a, b)| a != b).count();
    assert!(changed > 0 && changed < files.len(), "killed mid-run: {changed} replaced");
    // Every key of every file, those replaced included, is in the list.
    assert_eq!(json_lines(&fs::read(&keys_out).unwrap()), before);
}

/// Runs `args` with standard error (and in and out) on a terminal, by
/// util-linux's `script`; returns what the terminal showed.
fn on_a_terminal(args: &[&str]) -> String {
    let mut line = crate::common::bin().display().to_string();
    for arg in args {
        line.push_str(&format!(" '{arg}'"));
    }
    let out = Command::new("script").args(["-qec", &line, "/dev/null"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

#[test]
fn a_clean_run_says_no_keys_found_on_a_terminal_and_nothing_more_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("clean.log"), "nothing to see\n").unwrap();
    let d = dir.path().to_str().unwrap();
    let mirror = dir.path().with_extension("mirror");
    let m = mirror.to_str().unwrap();
    assert_eq!(on_a_terminal(&["--check", "-r", d]), "no keys found\n");
    let scrub = on_a_terminal(&["--in-place", "-r", d]);
    assert!(scrub.ends_with("0 failed\nno keys found\n"), "{scrub}");
    let mirrored = on_a_terminal(&["--output-dir", m, "-r", d]);
    assert!(mirrored.ends_with("0 failed\nno keys found\n"), "{mirrored}");
    fs::remove_dir_all(&mirror).unwrap();
    // -q: nothing, on a terminal too.
    assert_eq!(on_a_terminal(&["--check", "-q", "-r", d]), "");
    // Piped, scripts see what they always saw.
    assert_eq!(run(&["--check", "-r", d], b""), (0, Vec::new(), String::new()));
    let (code, out, err) = run(&["--in-place", "-r", d], b"");
    assert_eq!((code, out.as_slice()), (0, &b""[..]));
    assert_eq!(err.lines().count(), 1, "the summary only: {err}");
    assert!(err.ends_with(" 0 failed\n"), "{err}");
}

/// The leak runbook's commands (docs/leak-runbook.md), run as written, in
/// a folder holding `logs/`, with phx-redact on the PATH.
#[test]
fn the_leak_runbook_runs_as_written() {
    const AUDIT: &str = "phx-redact --check -r logs/ --keys-out keys-to-rotate.jsonl";
    const SCRUB: &str = "phx-redact --in-place -r logs/ --keys-out keys-scrubbed.jsonl";
    const PROVE: &str = "phx-redact --check -r logs/";
    let dir = tempfile::tempdir().unwrap();
    let keys = leaky_tree(dir.path(), 45);
    let bin_dir = crate::common::bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let sh = |line: &str| {
        let out = Command::new("sh")
            .args(["-c", line])
            .env("PATH", &path)
            .current_dir(dir.path())
            .output();
        let out = out.unwrap();
        no_key_in(line, &out.stdout, &keys);
        no_key_in(line, &out.stderr, &keys);
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, _) = sh(AUDIT);
    assert_eq!(code, Some(1), "keys found: {out}");
    assert!(out.contains("5 distinct keys to rotate:\n  phx  "), "{out}");
    let (code, out, err) = sh(SCRUB);
    assert_eq!((code, out.as_str()), (Some(0), ""), "{err}");
    assert!(err.contains("14 tokens redacted") && err.contains("What to do:"), "{err}");
    let saved = fs::read(dir.path().join("keys-to-rotate.jsonl")).unwrap();
    assert_eq!(fs::read(dir.path().join("keys-scrubbed.jsonl")).unwrap(), saved);
    assert_eq!(json_lines(&saved).len(), 5);
    assert_eq!(sh(PROVE), (Some(0), String::new(), String::new()));
}

/// `--keys-out` and `--findings` are written only where asked: never over a
/// FIFO, a device or a link (a keys file is renamed into place, so
/// `--keys-out /dev/null` would have replaced the device), never over a file
/// the run reads or writes (the fingerprint key, the rules file, the state,
/// a followed log, the output), never inside the mirror. Each is refused
/// before anything is read, and the file it names keeps its bytes.
#[test]
fn side_files_never_replace_a_device_a_fifo_a_link_or_a_file_the_run_uses() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let mut keys = KeyGen::new(77);
    fs::write(d("app.log"), format!("k={}\n", keys.key("phx", Era::Current))).unwrap();
    fs::write(d("fp.key"), "a fingerprint key of enough bytes\n").unwrap();
    fs::write(d("target.txt"), "kept\n").unwrap();
    std::os::unix::fs::symlink(d("target.txt"), d("link")).unwrap();
    let fifo = std::ffi::CString::new(d("fifo")).unwrap();
    // SAFETY: mkfifo takes a NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    fs::write(d("state.json"), "").unwrap();
    // Each run, its arguments with `@` for the folder, and what it says.
    let runs = [
        ("--check @/app.log --keys-out /dev/null", "is a character device"),
        ("--check @/app.log --keys-out @/fifo", "is a FIFO"),
        ("--check @/app.log --keys-out @/link", "is a symbolic link"),
        (
            "--check @/app.log --fingerprint-key @/fp.key --keys-out @/fp.key",
            "is the --fingerprint-key file too",
        ),
        (
            "--output-dir @/mirror @/app.log --keys-out @/mirror/keys.jsonl",
            "is inside --output-dir",
        ),
        ("--follow @/app.log --findings @/app.log", "is one of the inputs"),
        (
            "--follow @/app.log --state @/state.json --findings @/state.json",
            "is the --state file too",
        ),
        ("--follow @/app.log --findings @/fifo", "is a FIFO"),
    ];
    let folder = dir.path().to_str().unwrap();
    for (args, says) in runs {
        let args = args.replace('@', folder);
        let args: Vec<&str> = args.split(' ').collect();
        let (code, _, err) = run(&args, b"");
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(fs::read_to_string(d("target.txt")).unwrap(), "kept\n");
    assert_eq!(fs::read_to_string(d("fp.key")).unwrap(), "a fingerprint key of enough bytes\n");
    assert!(fs::symlink_metadata(d("link")).unwrap().file_type().is_symlink());
    assert!(!dir.path().join("mirror").exists());
    assert!(fs::metadata("/dev/null").unwrap().file_type().is_char_device());
}
