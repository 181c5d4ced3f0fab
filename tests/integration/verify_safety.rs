//! Where a key may go with `--verify` and `--revoke`: only to the hosts
//! named, only over HTTPS (plain HTTP to a loopback address only), never
//! after a redirect, never to a host whose certificate does not verify,
//! never through a proxy in the clear; and `--revoke` never sends without
//! a confirmation or `--yes`.

use std::{
    fs,
    io::Read,
    net::TcpListener,
    sync::{Arc, Mutex},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::verify_server::{Reply, Request, Server, assert_no_key, phx};

/// One key in a file; returns (key, folder).
fn one_key(seed: u64) -> (String, tempfile::TempDir) {
    let key = KeyGen::new(seed).key("phx", Era::Current);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.log"), format!("token={key}\n")).unwrap();
    (key, dir)
}

fn verify_args(dir: &tempfile::TempDir, urls: &[String], more: &[&str]) -> Vec<String> {
    let mut args = vec!["--check".to_string(), "-r".into(), dir.path().to_str().unwrap().into()];
    for url in urls {
        args.extend(["--posthog-url".to_string(), url.clone()]);
    }
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

#[test]
fn a_redirect_is_not_followed_and_its_target_gets_nothing() {
    let (key, dir) = one_key(31);
    let elsewhere = Server::start(|_: &Request, _: &[Request]| Reply::status(200));
    let target = format!("{}/api/users/@me/", elsewhere.url());
    let redirecting = Server::start(move |_: &Request, _: &[Request]| {
        Reply::status(302).with_header("Location", &target)
    });
    let dead = Server::start(|_: &Request, _: &[Request]| Reply::status(401));
    let urls = [redirecting.url(), dead.url()];
    let (code, stdout, stderr) = phx(&verify_args(&dir, &urls, &["--verify"]));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(redirecting.requests().len(), 1);
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    let want =
        format!("unknown: 127.0.0.1:{}: redirect (HTTP 302), not followed", redirecting.port);
    assert!(stdout.contains(&want), "{stdout}");
    assert_no_key(&[key], &format!("{stdout}{stderr}"), "the output");
}

/// A TLS stand-in with a self-signed certificate for 127.0.0.1, made now:
/// returns its port and the requests it could read (none, if the client
/// refused the certificate).
fn tls_server() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = made.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    // ring, as the client's: no post-quantum key exchange needed here.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let read = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&read);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let connection = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(connection, stream);
            let mut buf = [0; 4096];
            if let Ok(n @ 1..) = tls.read(&mut buf) {
                record.lock().unwrap().push(buf[..n].to_vec());
            }
        }
    });
    (port, read)
}

#[test]
fn a_self_signed_certificate_is_refused_and_the_key_not_sent() {
    let (key, dir) = one_key(32);
    let (port, read) = tls_server();
    let dead = Server::start(|_: &Request, _: &[Request]| Reply::status(401));
    let urls = [format!("https://127.0.0.1:{port}"), dead.url()];
    let (code, stdout, stderr) = phx(&verify_args(&dir, &urls, &["--verify"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(read.lock().unwrap().is_empty(), "a request went over an unverified TLS connection");
    let want = format!("unknown: 127.0.0.1:{port}: TLS");
    assert!(stdout.contains(&want), "{stdout}");
    assert_no_key(&[key], &format!("{stdout}{stderr}"), "the output");
}

#[test]
fn a_host_that_is_not_https_or_loopback_is_refused_before_any_read() {
    let (_, dir) = one_key(33);
    for url in [
        "http://example.com",
        "http://10.0.0.1:8000",
        "ftp://us.posthog.com",
        "https://us.posthog.com/?token=x",
        "https://user@us.posthog.com",
        "us.posthog.com",
    ] {
        let (code, stdout, stderr) = phx(&verify_args(&dir, &[url.into()], &["--verify"]));
        assert_eq!(code, 2, "{url}: {stderr}");
        assert!(stdout.is_empty() && stderr.contains("--posthog-url"), "{url}: {stderr}");
    }
    let (code, _, stderr) = phx(&verify_args(&dir, &["https://127.0.0.1:9".into()], &[]));
    assert_eq!(code, 2, "--posthog-url alone does nothing: {stderr}");
}

#[test]
fn revoke_without_a_terminal_or_yes_is_refused_and_sends_nothing() {
    let (_, dir) = one_key(34);
    let server = Server::start(|_: &Request, _: &[Request]| Reply::status(200));
    let (code, stdout, stderr) = phx(&verify_args(&dir, &[server.url()], &["--revoke"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(stdout.is_empty() && server.requests().is_empty());
}

#[test]
fn an_https_request_goes_through_the_proxy_as_a_tunnel_and_no_proxy_is_honoured() {
    let (key, dir) = one_key(35);
    // The proxy refuses the tunnel: what it saw is all a proxy sees.
    let proxy = Server::start(|_: &Request, _: &[Request]| Reply::status(403));
    let dead = Server::start(|_: &Request, _: &[Request]| Reply::status(401));
    let args = verify_args(&dir, &["https://127.0.0.1:9".into(), dead.url()], &["--verify"]);
    let run = |no_proxy: &str| {
        let out = crate::common::cmd()
            .args(&args)
            .env("HTTPS_PROXY", proxy.url())
            .env("NO_PROXY", no_proxy)
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap(), text)
    };
    let (code, text) = run("");
    assert_eq!(code, 1, "{text}");
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("CONNECT", "127.0.0.1:9"));
    assert!(seen[0].header("authorization").is_none());
    assert_no_key(std::slice::from_ref(&key), &format!("{:?}", seen[0]), "what the proxy saw");
    assert!(dead.requests().len() == 1, "plain HTTP to a loopback stand-in bypasses the proxy");
    let (code, text) = run("127.0.0.1");
    assert_eq!(code, 1, "{text}");
    assert_eq!(proxy.requests().len(), 1, "NO_PROXY=127.0.0.1 was not honoured");
    assert_no_key(&[key], &text, "the output");
}
