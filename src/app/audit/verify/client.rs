//! The HTTP client: ureq over rustls (the webpki roots, so a self-signed
//! certificate is refused), a timeout on the whole call, no redirect
//! followed (a key goes only to the host named), proxies from
//! `HTTPS_PROXY`/`NO_PROXY` (ureq's default). The key goes in a header or
//! a JSON body, never in a URL; no error made here holds it.

use std::time::Duration;

use super::hosts::Host;

/// The longest answer read: PostHog's are a few hundred bytes.
const MAX_BODY: u64 = 64 * 1024;

/// The longest wait a `Retry-After` gets, and the tries a 429 gets.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
const TRIES: usize = 3;

/// What a host answered: its status, its `Retry-After` and its body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    retry_after: Option<Duration>,
}

/// An agent for PostHog's API.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// For plain HTTP to a loopback address (a test's stand-in): never
    /// through a proxy, which would see the key in the clear.
    direct: ureq::Agent,
}

impl Client {
    /// A client whose calls each end within `timeout`.
    pub(crate) fn new(timeout: Duration) -> Client {
        let config = || {
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .max_redirects(0)
                .http_status_as_error(false)
                .user_agent(concat!("phx-redact/", env!("CARGO_PKG_VERSION")))
        };
        let direct = config().proxy(None).build().into();
        Client { agent: config().build().into(), direct }
    }

    fn agent(&self, host: &Host) -> &ureq::Agent {
        if host.is_plain() { &self.direct } else { &self.agent }
    }

    /// `GET /api/users/@me/` on `host`, with `key` as the bearer token,
    /// retried after a 429 as its `Retry-After` says (bounded).
    pub(crate) fn whoami(&self, host: &Host, key: &[u8]) -> Result<Reply, String> {
        let key = as_text(key)?;
        let url = host.url("/api/users/@me/");
        with_retries(|| {
            let request =
                self.agent(host).get(&url).header("Authorization", format!("Bearer {key}"));
            reply(request.call(), host, key)
        })
    }

    /// `POST /api/revoke_leaked_key` on `host`, `{"token": KEY}`.
    pub(crate) fn revoke(&self, host: &Host, key: &[u8]) -> Result<Reply, String> {
        let key = as_text(key)?;
        let url = host.url("/api/revoke_leaked_key");
        let body = serde_json::json!({ "token": key }).to_string();
        with_retries(|| {
            let request = self.agent(host).post(&url).header("Content-Type", "application/json");
            reply(request.send(body.as_str()), host, key)
        })
    }
}

/// The key as text: PostHog's keys are ASCII.
fn as_text(key: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(key).map_err(|_| "the key is not text".to_string())
}

/// Calls `call` again after a 429, waiting as its `Retry-After` says (at
/// most [`MAX_RETRY_WAIT`]), up to [`TRIES`] times in all.
fn with_retries(mut call: impl FnMut() -> Result<Reply, String>) -> Result<Reply, String> {
    let mut tries = 1;
    loop {
        let reply = call()?;
        if reply.status != 429 || tries == TRIES {
            return Ok(reply);
        }
        let wait = reply.retry_after.unwrap_or(Duration::from_secs(1)).min(MAX_RETRY_WAIT);
        std::thread::sleep(wait);
        tries += 1;
    }
}

/// The reply to a call, or why there is none: the host and the failure,
/// never the request (and, checked, never the key).
fn reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    host: &Host,
    key: &str,
) -> Result<Reply, String> {
    let mut response = result.map_err(|e| printable(&without_key(&reason(&e, host), key)))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body =
        response.body_mut().with_config().limit(MAX_BODY).read_to_string().unwrap_or_default();
    Ok(Reply { status, body, retry_after })
}

/// Why a call failed, by kind: the host, then what went wrong.
fn reason(error: &ureq::Error, host: &Host) -> String {
    let host = host.name();
    match error {
        ureq::Error::Timeout(_) => format!("{host}: timeout"),
        ureq::Error::HostNotFound => format!("{host}: DNS: host not found"),
        ureq::Error::ConnectionFailed => format!("{host}: connection failed"),
        ureq::Error::Tls(what) => format!("{host}: TLS: {what}"),
        ureq::Error::Rustls(e) => format!("{host}: TLS: {e}"),
        ureq::Error::Io(e) if is_tls(e) => format!("{host}: TLS: {e}"),
        // The resolver's failure comes as an I/O error.
        ureq::Error::Io(e) if e.to_string().contains("lookup address") => {
            format!("{host}: DNS: {e}")
        }
        ureq::Error::Io(e) => format!("{host}: {e}"),
        other => format!("{host}: {other}"),
    }
}

/// Whether an I/O error is rustls's (a certificate refused, a handshake
/// failed): rustls reports through `io::Error`s of kind `InvalidData`.
fn is_tls(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::InvalidData
}

/// `message` as one printable line of at most 200 characters: an error's
/// text may quote what a host sent, which must not forge output.
fn printable(message: &str) -> String {
    message.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `message`, or a stand-in if it somehow holds the key.
fn without_key(message: &str, key: &str) -> String {
    match message.contains(key) {
        true => "the request failed (its message is not shown: it held the key)".to_string(),
        false => message.to_string(),
    }
}
