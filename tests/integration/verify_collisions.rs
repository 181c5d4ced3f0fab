//! `--check --verify` when two distinct keys share a short fingerprint (8
//! hex digits, 32 bits: among 65,536 keys, two share one about every other
//! audit): each key is asked about, and the run's verdict is that of the
//! live one, never the status of the other key.

use std::{collections::HashMap, fs};

use phx_redact::fingerprint::Fingerprinter;

use crate::verify_server::{Reply, Request, Server, assert_no_key, phx};

/// Two `phx_` keys whose short (unkeyed) fingerprints are the same, found
/// by the birthday bound: about 80,000 keys hashed.
fn colliding_keys() -> (String, String) {
    let fingerprints = Fingerprinter::unkeyed();
    let mut seen: HashMap<String, String> = HashMap::new();
    for n in 0u64.. {
        let key = format!("phx_{:040x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n);
        let short = fingerprints.short(&fingerprints.hash(key.as_bytes()));
        if let Some(other) = seen.insert(short, key.clone()) {
            return (other, key);
        }
    }
    unreachable!()
}

#[test]
fn a_live_key_sharing_a_short_fingerprint_with_a_dead_one_is_still_asked_about() {
    let (dead, live) = colliding_keys();
    let region = |live: String| {
        Server::start(move |request: &Request, _: &[Request]| {
            Reply::status(if request.key() == Some(live.clone()) { 200 } else { 401 })
        })
    };
    let (us, eu) = (region(live.clone()), region(live.clone()));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.log"), format!("k={dead}\nk={live}\n")).unwrap();
    let mut args: Vec<String> = vec!["--check".into(), dir.path().to_str().unwrap().into()];
    args.extend(["-r".into(), "--verify".into(), "--fail-on".into(), "live".into()]);
    for server in [&us, &eu] {
        args.extend(["--posthog-url".into(), server.url()]);
    }
    let (code, stdout, stderr) = phx(&args);
    let keys = [dead.clone(), live.clone()];
    assert_no_key(&keys, &stdout, "stdout");
    assert_no_key(&keys, &stderr, "stderr");
    let asked: Vec<Option<String>> = us.requests().iter().map(Request::key).collect();
    for key in [&dead, &live] {
        assert!(asked.contains(&Some(key.clone())), "a key was never asked about");
    }
    assert_eq!(code, 1, "a live key fails the run with --fail-on live:\n{stdout}\n{stderr}");
}

#[test]
fn a_key_no_region_could_say_anything_about_still_fails_the_run_with_fail_on_live() {
    // A CI run whose calls are refused (a 5xx, a rate limit, a network
    // that blocks PostHog) must not pass a key that may be live.
    let key = format!("phx_{}", "q7W".repeat(15));
    let down = || Server::start(|_: &Request, _: &[Request]| Reply::status(503));
    let dead = Server::start(|_: &Request, _: &[Request]| Reply::status(401));
    let (us, eu) = (down(), down());
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.log"), format!("k={key}\n")).unwrap();
    let run = |servers: &[&Server]| {
        let mut args: Vec<String> = vec!["--check".into(), dir.path().to_str().unwrap().into()];
        args.extend(["-r".into(), "--verify".into(), "--fail-on".into(), "live".into()]);
        for server in servers {
            args.extend(["--posthog-url".into(), server.url()]);
        }
        phx(&args)
    };
    let (code, stdout, stderr) = run(&[&us, &eu]);
    assert!(stdout.contains("unknown: "), "{stdout}");
    assert_eq!(code, 1, "an unknown status is no clean bill:\n{stdout}\n{stderr}");
    let (code, _, stderr) = run(&[&us, &dead]);
    assert_eq!(code, 1, "nor is one region's refusal while the other cannot say: {stderr}");
    let (code, _, stderr) = run(&[&dead]);
    assert_eq!(code, 0, "a key every region refuses passes: {stderr}");
}
