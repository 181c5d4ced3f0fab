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
