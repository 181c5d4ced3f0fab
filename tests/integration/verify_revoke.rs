//! `--revoke`: each distinct secret key sent once to each host's
//! `POST /api/revoke_leaked_key` as `{"token": KEY}` (no other header
//! holds it, no URL), paced per host, what will be sent said first, each
//! answer reported by mask and host; a host that does not take it fails
//! the run. Confirmation on a terminal: `n` sends nothing.

use std::{fs, process::Stdio, time::Duration};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::verify_server::{Reply, Request, Server, assert_no_key, assert_no_key_in_urls};

/// The pace the tests set (milliseconds) instead of 6.5 s.
const PACE_MS: u64 = 300;

fn leaky(seed: u64, n: usize) -> (Vec<String>, tempfile::TempDir) {
    let mut keygen = KeyGen::new(seed);
    let keys: Vec<String> = (0..n).map(|_| keygen.key("phx", Era::Current)).collect();
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in ["a.log", "b.log"].iter().enumerate() {
        let lines: String = keys.iter().map(|k| format!("{i} {k}\n")).collect();
        fs::write(dir.path().join(name), lines).unwrap();
    }
    (keys, dir)
}

fn revoke_cmd(
    dir: &tempfile::TempDir,
    servers: &[&Server],
    more: &[&str],
) -> std::process::Command {
    let mut cmd = crate::common::cmd();
    cmd.args(["--check", "-r", dir.path().to_str().unwrap(), "--revoke"]);
    for server in servers {
        cmd.args(["--posthog-url", &server.url()]);
    }
    cmd.args(more).env("PHX_REDACT_TEST_REVOKE_INTERVAL_MS", PACE_MS.to_string());
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn each_key_goes_once_to_each_host_paced_and_each_answer_is_reported() {
    let (keys, dir) = leaky(41, 3);
    let us = Server::start(|_: &Request, _: &[Request]| {
        Reply::json(200, r#"{"found": true, "type": "personal_api_key"}"#)
    });
    let eu = Server::start(|_: &Request, _: &[Request]| {
        Reply::json(200, r#"{"found": false, "type": null}"#)
    });
    let out = revoke_cmd(&dir, &[&us, &eu], &["--yes"]).stdin(Stdio::null()).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert_eq!(out.status.code(), Some(1), "the audit's verdict: {stderr}");
    let told = stderr.find("emails its owner").expect(&stderr);
    let first_answer = stderr.find("phx-redact: revoke ").expect(&stderr);
    assert!(told < first_answer, "what revoking does is said before: {stderr}");
    for server in [&us, &eu] {
        let seen = server.requests();
        assert_eq!(seen.len(), keys.len(), "one request per key: {seen:?}");
        let sent: Vec<String> = seen.iter().filter_map(Request::key).collect();
        assert_eq!(sent, keys, "each key, in the order found");
        for request in &seen {
            assert_eq!(
                (request.method.as_str(), request.path.as_str()),
                ("POST", "/api/revoke_leaked_key")
            );
            assert_eq!(request.header("content-type"), Some("application/json"));
            assert!(request.header("authorization").is_none());
            let others =
                request.headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect::<String>();
            assert_no_key(&keys, &others, "a header");
        }
        for pair in seen.windows(2) {
            let gap = pair[1].at - pair[0].at;
            assert!(gap >= Duration::from_millis(PACE_MS - 20), "not paced: {gap:?}");
        }
        assert_no_key_in_urls(&keys, &seen);
    }
    for key in &keys {
        let mask = format!("{}...{}", &key[..4], &key[key.len() - 4..]);
        let us_line = format!("revoke {mask} (fingerprint ");
        assert_eq!(stderr.matches(&us_line).count(), 2, "{stderr}");
    }
    assert!(
        stderr
            .contains(&format!("at 127.0.0.1:{}: found true, type \"personal_api_key\"", us.port))
    );
    assert!(stderr.contains(&format!("at 127.0.0.1:{}: found false, type null", eu.port)));
    assert_no_key(&keys, &stdout, "stdout");
    assert_no_key(&keys, &stderr, "stderr");
}

#[test]
fn a_host_that_does_not_take_the_revocation_fails_the_run() {
    let (keys, dir) = leaky(42, 1);
    let broken = Server::start(|_: &Request, _: &[Request]| Reply::status(500));
    let fine = Server::start(|_: &Request, _: &[Request]| {
        Reply::json(200, r#"{"found": true, "type": "x"}"#)
    });
    let out =
        revoke_cmd(&dir, &[&broken, &fine], &["--yes"]).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("at 127.0.0.1:{}: HTTP 500", broken.port)), "{stderr}");
    assert_no_key(&keys, &stderr, "stderr");
}

/// Runs `--revoke` on a terminal (`script` gives it one), answering
/// `answer`; returns what the terminal showed.
fn on_a_terminal(dir: &tempfile::TempDir, server: &Server, answer: &str) -> String {
    let cmd = revoke_cmd(dir, &[server], &[]);
    let mut line = String::from(crate::common::bin().to_str().unwrap());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(arg.to_str().unwrap());
    }
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    script.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = script.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn on_a_terminal_it_asks_and_no_sends_nothing() {
    let (keys, dir) = leaky(43, 1);
    let server = Server::start(|_: &Request, _: &[Request]| Reply::json(200, r#"{"found": true}"#));
    let shown = on_a_terminal(&dir, &server, "n\n");
    assert!(shown.contains("Revoke them? [y/N]"), "{shown}");
    assert!(shown.contains("not confirmed, nothing sent"), "{shown}");
    assert!(server.requests().is_empty());
    let shown = on_a_terminal(&dir, &server, "y\n");
    assert_eq!(server.requests().len(), 1, "{shown}");
    assert_no_key(&keys, &shown, "the terminal");
}

#[test]
fn a_host_that_echoes_the_key_in_its_answer_never_gets_it_printed() {
    // A legacy key has no prefix: only its name says it is one, and an
    // answer that quotes it alone is not redacted by the message rules.
    let legacy = format!("{}abc", "Zq9-x_W".repeat(40 / 7 + 1))[..43].to_string();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.env"), format!("POSTHOG_PERSONAL_API_KEY={legacy}\n")).unwrap();
    let echo = Server::start(|request: &Request, _: &[Request]| {
        let key = request.key().unwrap_or_default();
        Reply::json(200, &format!(r#"{{"found": "{key}", "type": "{key}"}}"#))
    });
    let out = revoke_cmd(&dir, &[&echo], &["--yes"]).stdin(Stdio::null()).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert_eq!(echo.requests().len(), 1, "the key was sent: {stderr}");
    assert!(stderr.contains("phx-redact: revoke "), "the answer is reported: {stderr}");
    let keys = [legacy];
    assert_no_key(&keys, &stdout, "stdout");
    assert_no_key(&keys, &stderr, "stderr");
}
