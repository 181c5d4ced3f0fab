//! `--check --verify`: each distinct secret key asked about once in each
//! region (`GET /api/users/@me/`, the key as the bearer token), against a
//! stand-in for PostHog's two regions on 127.0.0.1; each status in the key
//! list and the JSON; the exit status the audit's, or only live keys' with
//! `--fail-on live`; no key in a URL, an error or any output.

use std::{fs, time::Duration};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::verify_server::{Reply, Request, Server, assert_no_key, assert_no_key_in_urls, phx};

/// A region answering each key by its index in `keys`, as `statuses` says
/// (401 for a key not listed).
fn region(keys: &[String], statuses: Vec<u16>) -> Server {
    let keys = keys.to_vec();
    Server::start(move |request: &Request, _: &[Request]| {
        let i = keys.iter().position(|k| Some(k.clone()) == request.key());
        Reply::status(i.and_then(|i| statuses.get(i).copied()).unwrap_or(401))
    })
}

/// `n` distinct keys of kind `kind`.
fn keys(seed: u64, kinds: &[&str]) -> Vec<String> {
    let mut keygen = KeyGen::new(seed);
    kinds.iter().map(|kind| keygen.key(kind, Era::Current)).collect()
}

/// Writes each key into three files, and returns the folder.
fn leaky(dir: &std::path::Path, keys: &[String]) -> String {
    for n in 0..3 {
        let lines: String = keys.iter().map(|k| format!("n={n} key={k}\n")).collect();
        fs::write(dir.join(format!("app.{n}.log")), lines).unwrap();
    }
    dir.to_str().unwrap().to_string()
}

fn args(dir: &str, servers: &[&Server], more: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["--check".into(), "-r".into(), dir.into(), "--verify".into()];
    for server in servers {
        args.push("--posthog-url".into());
        args.push(server.url());
    }
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

/// The status a key line of the text list shows for the key masked as
/// `mask`.
fn text_status<'a>(stdout: &'a str, key: &str) -> &'a str {
    let mask = format!("{}...{}", &key[..4], &key[key.len() - 4..]);
    let line = stdout.lines().find(|l| l.contains(&mask) && l.contains("fingerprint")).unwrap();
    let after = line.split("fingerprint ").nth(1).unwrap();
    // `FP  STATUS  N times  in ...`
    after.split("  ").nth(1).unwrap()
}

#[test]
fn each_status_from_the_regions_is_shown_and_each_key_asked_once_per_region() {
    let keys = keys(21, &["phx", "phs", "pha", "phr", "phx", "phx"]);
    // live in US; scoped in EU; EU only; 401 in both; a 500; 429 then 200.
    let us = {
        let keys = keys.clone();
        Server::start(move |request: &Request, seen: &[Request]| {
            let i = keys.iter().position(|k| Some(k.clone()) == request.key());
            match i {
                Some(0) => Reply::status(200),
                Some(4) => Reply::status(500),
                Some(5) if seen.iter().filter(|r| r.key() == request.key()).count() == 1 => {
                    Reply::status(429).with_header("Retry-After", "1")
                }
                Some(5) => Reply::status(200),
                _ => Reply::status(401),
            }
        })
    };
    let eu = region(&keys, vec![401, 403, 200, 401, 401, 401]);
    let dir = tempfile::tempdir().unwrap();
    let tree = leaky(dir.path(), &keys);
    let (code, stdout, stderr) = phx(&args(&tree, &[&us, &eu], &[]));
    assert_eq!(code, 1, "{stderr}");
    let want = ["live", "live (scoped)", "live", "not live", "unknown", "live"];
    for (key, want) in keys.iter().zip(want) {
        let status = text_status(&stdout, key);
        assert!(status.starts_with(want), "{key}: {status:?} (want {want})\n{stdout}");
    }
    assert!(
        text_status(&stdout, &keys[4]).contains(&format!("127.0.0.1:{}: HTTP 500", us.port)),
        "{stdout}"
    );
    let (us_seen, eu_seen) = (us.requests(), eu.requests());
    for (i, key) in keys.iter().enumerate() {
        let count =
            |seen: &[Request]| seen.iter().filter(|r| r.key().as_ref() == Some(key)).count();
        // Once per region, though each key is in three files; the 429
        // once more, after its Retry-After.
        assert_eq!(count(&us_seen), if i == 5 { 2 } else { 1 }, "key {i} in US");
        assert_eq!(count(&eu_seen), 1, "key {i} in EU");
    }
    let retried: Vec<&Request> =
        us_seen.iter().filter(|r| r.key() == Some(keys[5].clone())).collect();
    assert!(retried[1].at - retried[0].at >= Duration::from_millis(900), "Retry-After not waited");
    for request in us_seen.iter().chain(&eu_seen) {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/api/users/@me/"));
        assert!(request.header("authorization").unwrap().starts_with("Bearer "));
    }
    assert_no_key_in_urls(&keys, &us_seen);
    assert_no_key_in_urls(&keys, &eu_seen);
    assert_no_key(&keys, &stdout, "stdout");
    assert_no_key(&keys, &stderr, "stderr");
}

#[test]
fn the_json_key_lines_carry_the_status_and_the_findings_none() {
    let keys = keys(22, &["phx", "phs"]);
    let (us, eu) = (region(&keys, vec![200, 401]), region(&keys, vec![401, 401]));
    let dir = tempfile::tempdir().unwrap();
    let tree = leaky(dir.path(), &keys);
    let (code, stdout, stderr) = phx(&args(&tree, &[&us, &eu], &["--json"]));
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let statuses: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "key")
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["live", "not live"]);
    assert!(lines.iter().filter(|l| l["type"] == "finding").all(|l| l.get("status").is_none()));
    assert_no_key(&keys, &stdout, "stdout");
}

#[test]
fn fail_on_live_fails_the_run_only_for_a_live_key() {
    let keys = keys(23, &["phx"]);
    let dir = tempfile::tempdir().unwrap();
    let tree = leaky(dir.path(), &keys);
    let (dead_us, dead_eu) = (region(&keys, vec![401]), region(&keys, vec![401]));
    let (code, _, err) = phx(&args(&tree, &[&dead_us, &dead_eu], &["--fail-on", "live"]));
    assert_eq!(code, 0, "a key no region takes passes with --fail-on live: {err}");
    let (code, _, err) = phx(&args(&tree, &[&dead_us, &dead_eu], &[]));
    assert_eq!(code, 1, "without it, any key found fails the run: {err}");
    let (live_us, live_eu) = (region(&keys, vec![401]), region(&keys, vec![403]));
    let (code, _, err) = phx(&args(&tree, &[&live_us, &live_eu], &["--fail-on", "live"]));
    assert_eq!(code, 1, "a scoped key is live: {err}");
}

#[test]
fn a_region_slower_than_the_timeout_makes_the_status_unknown() {
    let keys = keys(24, &["phx"]);
    let slow = Server::start(|_: &Request, _: &[Request]| {
        Reply::status(200).after(Duration::from_secs(3))
    });
    let dead = region(&keys, vec![401]);
    let dir = tempfile::tempdir().unwrap();
    let tree = leaky(dir.path(), &keys);
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = phx(&args(&tree, &[&slow, &dead], &["--verify-timeout", "0.5"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(started.elapsed() < Duration::from_millis(2500), "the timeout was not kept");
    let status = text_status(&stdout, &keys[0]);
    assert_eq!(status, format!("unknown: 127.0.0.1:{}: timeout", slow.port), "{stdout}");
}

#[test]
fn only_the_secret_kinds_are_asked_about() {
    // A public key (phc_, with --include-public) is found but not sent.
    let mut keygen = KeyGen::new(25);
    let public = keygen.key("phc", Era::Current);
    let secret = keygen.key("phx", Era::Current);
    let (us, eu) = (region(std::slice::from_ref(&secret), vec![200]), region(&[], vec![]));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.log"), format!("{public}\n{secret}\n")).unwrap();
    let tree = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = phx(&args(tree, &[&us, &eu], &["--include-public"]));
    assert_eq!(code, 1, "{stderr}");
    let sent: Vec<String> = us.requests().iter().filter_map(Request::key).collect();
    assert_eq!(sent, std::slice::from_ref(&secret));
    assert_eq!(text_status(&stdout, &secret), "live");
}

#[test]
fn keys_in_a_gzip_header_and_in_split_cri_records_are_asked_about_too() {
    let keys = keys(26, &["phx", "phs", "phx"]);
    let (us, eu) = (region(&keys, vec![200, 200, 200]), region(&keys, vec![401, 401, 401]));
    let dir = tempfile::tempdir().unwrap();
    // The first in the content of a .gz, the second in its FNAME.
    let named = dir.path().join(format!("{}.log", keys[1]));
    fs::write(&named, format!("k={}\n", keys[0])).unwrap();
    let gz = std::process::Command::new("gzip").arg("-N").arg(&named).status().unwrap();
    assert!(gz.success());
    let gz_path = fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
    let archive = dir.path().join("a.gz");
    fs::rename(gz_path, &archive).unwrap();
    let (code, stdout, stderr) = phx(&args(archive.to_str().unwrap(), &[&us, &eu], &[]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(text_status(&stdout, &keys[0]), "live", "{stdout}");
    assert_eq!(text_status(&stdout, &keys[1]), "live", "{stdout}");
    // The third split across two partial CRI records.
    let (head, tail) = keys[2].split_at(10);
    let cri = format!(
        "2026-01-01T00:00:00.000000000Z stdout P k={head}\n\
         2026-01-01T00:00:00.000000001Z stdout F {tail}\n"
    );
    let log = dir.path().join("0.log");
    fs::write(&log, cri).unwrap();
    let mut cri_args = args(log.to_str().unwrap(), &[&us, &eu], &[]);
    cri_args.extend(["--input-format".into(), "cri".into()]);
    let (code, stdout, stderr) = phx(&cri_args);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(text_status(&stdout, &keys[2]), "live", "{stdout}");
    let sent: Vec<String> = us.requests().iter().filter_map(Request::key).collect();
    assert_eq!(sent.len(), 3, "each key once: {sent:?}");
    assert_no_key(&keys, &format!("{stdout}{stderr}"), "the output");
}

#[test]
fn a_sarif_log_carries_each_keys_status_in_the_runs_properties_and_not_in_fingerprints() {
    let keys = keys(27, &["phx", "phs"]);
    let dir = tempfile::tempdir().unwrap();
    let tree = leaky(dir.path(), &keys);
    let sarif = |us: &Server, eu: &Server| {
        let (code, stdout, stderr) = phx(&args(&tree, &[us, eu], &["--format", "sarif"]));
        assert_eq!(code, 1, "{stderr}");
        assert_no_key(&keys, &stdout, "stdout");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let log = sarif(&region(&keys, vec![200, 401]), &region(&keys, vec![401, 401]));
    let run = &log["runs"][0];
    let statuses = run["properties"]["keyStatuses"].as_object().unwrap();
    let mut got: Vec<&str> = statuses.values().map(|s| s.as_str().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, ["live", "not live"]);
    // Each result's key fingerprint is one of them.
    for result in run["results"].as_array().unwrap() {
        let fingerprint = result["properties"]["fingerprint"].as_str().unwrap();
        assert!(statuses.contains_key(fingerprint), "{fingerprint}");
    }
    // The alerts' fingerprints stay when only the status changes.
    let prints = |log: &serde_json::Value| -> Vec<String> {
        let results = log["runs"][0]["results"].as_array().unwrap();
        results.iter().map(|r| r["partialFingerprints"].to_string()).collect()
    };
    let revoked = sarif(&region(&keys, vec![401, 401]), &region(&keys, vec![401, 401]));
    assert_eq!(prints(&log), prints(&revoked));
    let statuses = revoked["runs"][0]["properties"]["keyStatuses"].as_object().unwrap();
    assert!(statuses.values().all(|s| s == "not live"), "{statuses:?}");
}
