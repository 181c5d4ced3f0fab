//! `--rsyslog` inside the real `rsyslogd` (Debian's `rsyslog`, which ships
//! `mmexternal.so`), with the configuration docs/rsyslog.md shows: read
//! from the page, its paths swapped for a temporary folder's, so that the
//! snippet is what is tested.

use std::{
    fs,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use phx_redact::testing::sample::KeyGen;

use crate::common::{bin, oracle, tool};

const MESSAGES: usize = 10_000;

/// The ```conf rsyslog block of docs/rsyslog.md.
fn documented_config() -> String {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rsyslog.md");
    let page = fs::read_to_string(page).unwrap();
    let start = page.find("```conf rsyslog\n").expect("docs/rsyslog.md: no conf rsyslog block");
    let block = &page[start + "```conf rsyslog\n".len()..];
    block[..block.find("```").unwrap()].to_string()
}

/// The documented configuration with `dir`'s paths, in a folder of its
/// own: no system socket, no system file.
fn config(dir: &Path) -> String {
    let mut config = format!("global(workDirectory=\"{}\")\n", dir.join("work").display());
    let mut documented = documented_config();
    for (documented_path, here) in [
        ("/usr/local/bin/phx-redact", bin()),
        ("/var/log/app/app.redacted.log", dir.join("out.log")),
        ("/var/log/app/app.log", dir.join("in.log")),
    ] {
        assert!(documented.contains(documented_path), "the snippet names {documented_path}");
        documented = documented.replace(documented_path, &here.display().to_string());
    }
    config.push_str(&documented);
    config
}

/// 10,000 messages, most with a key, with what rsyslog's JSON escapes
/// (quotes, backslashes, tabs, `/`), UTF-8 and Latin-1 bytes around them.
fn messages() -> Vec<u8> {
    let mut keys = KeyGen::new(2020);
    let mut log = Vec::new();
    for n in 0..MESSAGES {
        let value = if n % 5 == 4 { keys.decoy() } else { keys.secret() };
        let extra: &[u8] = match n % 4 {
            0 => b"path=/a/b \"quoted\" back\\slash\ttab",
            1 => "caf\u{e9} \u{2603}".as_bytes(),
            2 => b"latin-1 caf\xe9",
            _ => b"",
        };
        log.extend_from_slice(format!("{n:05} token={value} ").as_bytes());
        log.extend_from_slice(extra);
        log.push(b'\n');
    }
    log
}

/// Waits, with a deadline, until `out` holds `lines` lines.
fn wait_for_lines(out: &Path, lines: usize, rsyslogd: &mut Child) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = fs::read(out).unwrap_or_default();
        if got.iter().filter(|&&b| b == b'\n').count() >= lines {
            return got;
        }
        assert!(rsyslogd.try_wait().unwrap().is_none(), "rsyslogd exited");
        assert!(Instant::now() < deadline, "{} lines after 120 s", got.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ten_thousand_messages_go_through_rsyslogd_in_order_with_no_key() {
    let Some(rsyslogd) = tool("rsyslogd", "rsyslog") else { return };
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("work")).unwrap();
    let input = messages();
    fs::write(dir.path().join("in.log"), &input).unwrap();
    let conf = dir.path().join("rsyslog.conf");
    fs::write(&conf, config(dir.path())).unwrap();
    let started = Instant::now();
    let mut child = Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdin(Stdio::null())
        // A file: a pipe nobody reads would fill and stop rsyslogd.
        .stdout(fs::File::create(dir.path().join("rsyslogd.out")).unwrap())
        .stderr(Stdio::from(fs::File::create(dir.path().join("rsyslogd.err")).unwrap()))
        .spawn()
        .unwrap();
    let got = wait_for_lines(&dir.path().join("out.log"), MESSAGES, &mut child);
    eprintln!("{MESSAGES} messages through rsyslogd in {:?}", started.elapsed());
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGTERM) };
    child.wait().unwrap();
    let said = fs::read_to_string(dir.path().join("rsyslogd.err")).unwrap();
    assert!(!said.contains("invalid reply"), "rsyslogd: {said}");
    // No secret key (the decoys hold public ones, which stay).
    assert!(oracle(&got, false) == got, "a key came out");
    assert!(got == oracle(&input, false), "every message, in order, nothing else changed");
}
