//! `--check --verify` and `--revoke` send only PostHog's keys: a custom
//! rule given a built-in kind's name (`phx`, `posthog-legacy`, with
//! `--rule none`) still has its tokens kept from PostHog, which would
//! otherwise receive another service's secret.

use std::{fs, process::Stdio};

use crate::verify_server::{Reply, Request, Server, phx};

#[test]
fn a_custom_rule_named_like_a_built_in_kind_sends_nothing_to_posthog() {
    let aws = format!("AKIA{}", "QZ7X".repeat(4));
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let file =
        |name: &str| format!("[[rule]]\nname = \"{name}\"\nregex = \"AKIA[A-Z0-9]{{16}}\"\n");
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    fs::write(logs.join("a.log"), format!("aws={aws}\n")).unwrap();
    for name in ["phx", "posthog-legacy"] {
        fs::write(&rules, file(name)).unwrap();
        let server = Server::start(|_: &Request, _: &[Request]| Reply::status(200));
        let mut args: Vec<String> = vec!["--check".into(), "-r".into()];
        args.push(logs.to_str().unwrap().into());
        args.extend(["--rule".into(), "none".into(), "--rules-file".into()]);
        args.extend([rules.to_str().unwrap().into(), "--verify".into()]);
        args.extend(["--posthog-url".into(), server.url()]);
        let (code, stdout, stderr) = phx(&args);
        assert_eq!(code, 1, "the key is found all the same: {stdout}{stderr}");
        let sent: Vec<Option<String>> = server.requests().iter().map(Request::key).collect();
        assert!(sent.is_empty(), "rule {name}: sent to PostHog: {sent:?}");
        // --revoke: nothing to send.
        let out = crate::common::cmd()
            .args(&args[..args.len() - 3])
            .args(["--revoke", "--yes", "--posthog-url", &server.url()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(server.requests().is_empty(), "rule {name}: revoked: {out:?}");
    }
}

/// A bearer token found because its line names a self-hosted PostHog
/// (`--posthog-host`) is that instance's key: `--verify` and `--revoke`
/// refuse to send it to PostHog Cloud, their default, and ask for the
/// instance's `--posthog-url`; given one, the key goes there alone.
#[test]
fn a_self_hosted_bearer_key_is_not_sent_to_posthog_cloud_by_default() {
    let key = phx_redact::testing::sample::KeyGen::new(49).legacy_personal();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    fs::write(&log, format!("GET https://ph.corp.example/api/ Authorization: Bearer {key}\n"))
        .unwrap();
    let base: Vec<String> = ["--check", "--posthog-host", "ph.corp.example", "--verify-timeout"]
        .iter()
        .map(|s| s.to_string())
        .chain(["1".into(), log.to_str().unwrap().into()])
        .collect();
    for flags in [&["--verify"][..], &["--revoke", "--yes"]] {
        let mut args = base.clone();
        if flags[0] == "--revoke" {
            args.drain(3..5);
        }
        args.extend(flags.iter().map(|s| s.to_string()));
        let (code, stdout, stderr) = phx(&args);
        assert_eq!(code, 2, "{flags:?}: {stdout}{stderr}");
        assert!(stderr.contains("--posthog-url"), "{stderr}");
        assert!(!stdout.contains(&key) && !stderr.contains(&key));
    }
    let server = Server::start(|_: &Request, _: &[Request]| Reply::status(401));
    let mut args = base.clone();
    args.extend(["--verify".into(), "--posthog-url".into(), server.url()]);
    let (code, stdout, stderr) = phx(&args);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let sent: Vec<Option<String>> = server.requests().iter().map(Request::key).collect();
    assert_eq!(sent, [Some(key)], "asked the instance named");
}
