//! Every shell snippet of the README and the guide (`docs/`), run as a user
//! would paste it, line by line, with the real binary as `phx-redact`.
//!
//! A snippet runs in a folder of its own that holds what the guide's
//! commands name: `app.log` and `old.log.gz` (logs with keys), an
//! `archive/` tree of plain and compressed logs, and `app` and `shipper`
//! commands (a program that logs, a shipper that keeps what it is sent).
//! Each line must exit 0, or the status its comment names (`# exit 1`).
//!
//! The info string says how a block is taken: `sh` runs; `sh norun` is
//! only parsed (`bash -n`), for what builds or installs this project or
//! needs a service this machine lacks (`cargo install`, `kubectl`, S3);
//! `sh follow` runs each line for a moment, as a sidecar runs, then stops
//! it with SIGTERM, which it must honour with 0. Python snippets are run by
//! `python/tests/test_docs.py`, Rust ones as doctests.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use phx_redact::testing::sample;

use crate::common::bin;

/// A fenced block of a Markdown file: its info string, its first line's
/// number and its text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    // A fence may be indented (a block inside a list item): its lines lose
    // as much indentation as the fence has.
    let mut indent = 0;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                indent = line.len() - line.trim_start().len();
                let info = info.trim().to_string();
                open = Some(Block { info, line: i + 2, text: String::new() });
            }
            (Some(_), Some("")) => blocks.push(open.take().unwrap()),
            (Some(block), _) => {
                let cut = line.len() - line.trim_start().len();
                block.text.push_str(&line[cut.min(indent)..]);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a fence is left open");
    blocks
}

/// The README and every page of the guide.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The commands of a shell block: continuation lines joined, comments
/// and blank lines left out, each with the status its comment expects.
fn commands(text: &str) -> Vec<(String, i32)> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let command = std::mem::take(&mut pending);
        let trimmed = command.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let expected = trimmed
            .rsplit_once("# exit ")
            .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or(0);
        commands.push((command, expected));
    }
    commands
}

/// A folder that holds what the guide's commands name.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let log = sample::log(7, 400, 9);
    fs::write(path.join("app.log"), &log).unwrap();
    fs::write(path.join("old.log"), sample::log(12, 50, 5)).unwrap();
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    fs::write(path.join("old.log.gz"), gzip(&sample::log(8, 200, 7))).unwrap();
    fs::create_dir_all(path.join("archive/2026-11")).unwrap();
    fs::write(path.join("archive/api.log"), sample::log(9, 300, 11)).unwrap();
    fs::write(path.join("archive/2026-11/api.log.1.gz"), gzip(&sample::log(10, 300, 5))).unwrap();
    fs::write(path.join("archive/2026-11/web.log"), sample::log(11, 100, 0)).unwrap();
    fs::create_dir_all(path.join("home")).unwrap();
    let bin_dir = path.join("bin");
    fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("phx-redact")).unwrap();
    let script = |name: &str, body: &str| {
        let file = bin_dir.join(name);
        fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    // A repository, for the snippets that read what git has staged.
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=docs", "-c", "user.email=docs@example.org"])
            .args(args)
            .current_dir(path)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "logs"]);
    script("app", &format!("cat '{}'", path.join("app.log").display()));
    script("shipper", &format!("cat >> '{}'", path.join("shipped.log").display()));
    dir
}

/// Runs `command` in `dir` (for at most `limit`, then SIGTERM); its status
/// and what it said on stderr.
fn run_in(dir: &Path, command: &str, limit: Duration) -> (Option<i32>, String, bool) {
    let path = format!("{}:{}", dir.join("bin").display(), std::env::var("PATH").unwrap());
    let mut child = Command::new("bash")
        .args(["-o", "pipefail", "-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir.join("home"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stopped = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit && !stopped {
            // SIGTERM to phx-redact alone, as a supervisor stops a
            // sidecar: the rest of the pipeline then ends with its input.
            Command::new("pkill")
                .args(["-TERM", "-g", &child.id().to_string(), "-x", "phx-redact"])
                .status()
                .unwrap();
            stopped = true;
        }
        assert!(started.elapsed() < limit * 4 + Duration::from_secs(30), "{command}: hangs");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.code(), err, stopped)
}

use std::os::unix::process::CommandExt;

#[test]
fn every_shell_snippet_of_the_readme_and_the_guide_runs() {
    let mut ran = 0;
    let mut failed = Vec::new();
    for page in pages() {
        let markdown = fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        for block in blocks(&markdown) {
            let mut words = block.info.split_whitespace();
            let place = format!("{name}:{}", block.line);
            match words.next() {
                Some("sh") => {}
                Some("toml") => {
                    check_toml(&place, &block.text);
                    continue;
                }
                Some("conf") if words.next() == Some("logrotate") => {
                    check_logrotate(&place, &block.text);
                    continue;
                }
                _ => continue,
            }
            let mode = words.next().unwrap_or("run");
            let syntax = Command::new("bash").args(["-n", "-c", &block.text]).status().unwrap();
            assert!(syntax.success(), "{place}: not valid bash");
            if mode == "norun" {
                continue;
            }
            assert!(mode == "run" || mode == "follow", "{place}: unknown mode {mode}");
            let dir = fixture();
            for (command, expected) in commands(&block.text) {
                let limit = Duration::from_secs(if mode == "follow" { 2 } else { 60 });
                let (status, err, stopped) = run_in(dir.path(), &command, limit);
                if mode == "follow" {
                    assert!(stopped, "{place}: `{command}` ended by itself: {err}");
                }
                if status != Some(expected) {
                    failed.push(format!("{place}: `{command}`: {status:?}, not {expected}: {err}"));
                }
                ran += 1;
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(ran >= 10, "only {ran} commands ran");
}

/// A TOML snippet parses; a rules file is taken by `--rules-file`.
fn check_toml(place: &str, text: &str) {
    toml::from_str::<toml::Value>(text).unwrap_or_else(|e| panic!("{place}: {e}"));
    if text.contains("--rules-file") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules.toml");
        fs::write(&file, text).unwrap();
        let out = Command::new(bin())
            .arg("--list-rules")
            .arg("--rules-file")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{place}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A logrotate stanza is one the real logrotate takes (`--debug`: it says
/// what it would do, and does nothing).
fn check_logrotate(place: &str, text: &str) {
    let Some(logrotate) = crate::common::tool("logrotate", "logrotate") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("app.conf");
    fs::write(&config, text).unwrap();
    let out = Command::new(logrotate)
        .arg("--debug")
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("error"), "{place}: {err}");
}
