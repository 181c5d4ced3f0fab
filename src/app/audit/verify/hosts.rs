//! The hosts a key may be sent to: PostHog's two cloud regions, or those
//! the user names (`--posthog-url`, self-hosted). HTTPS only; plain HTTP
//! only to a loopback address (a stand-in server in the tests). A host is
//! checked when it is given, before any input is read.

use std::net::IpAddr;

/// PostHog's cloud regions, US and EU: a key lives in one of them.
pub const CLOUD_HOSTS: [&str; 2] = ["https://us.posthog.com", "https://eu.posthog.com"];

/// A host to ask: its base URL (scheme, authority and any path prefix, no
/// trailing slash) and its name for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    base: String,
    name: String,
}

impl Host {
    /// Checks `url`: `https://HOST[:PORT][/PREFIX]`, or `http://` to a
    /// loopback address; no user, query or fragment.
    ///
    /// # Errors
    ///
    /// Why the URL is refused.
    pub fn parse(url: &str) -> Result<Host, String> {
        let (scheme, rest) = url.split_once("://").ok_or("not a URL: https://HOST expected")?;
        let scheme = scheme.to_ascii_lowercase();
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err("no host in the URL".into());
        }
        if authority.contains('@') || url.contains(['?', '#']) {
            return Err("a user, query or fragment in the URL is refused".into());
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a space or control character in the URL is refused".into());
        }
        match scheme.as_str() {
            "https" => {}
            "http" if is_loopback(authority) => {}
            "http" => return Err("plain http:// only to a loopback address; use https://".into()),
            _ => return Err(format!("scheme {scheme} refused: https:// expected")),
        }
        let base = format!("{scheme}://{authority}{}", path.trim_end_matches('/'));
        Ok(Host { base, name: authority.to_string() })
    }

    /// The cloud regions ([`CLOUD_HOSTS`]).
    pub fn cloud() -> Vec<Host> {
        CLOUD_HOSTS.iter().map(|url| Host::parse(url).expect("a valid URL")).collect()
    }

    /// The URL of `path` (which starts with `/`) on this host.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Whether it is plain HTTP (to a loopback address).
    pub(crate) fn is_plain(&self) -> bool {
        self.base.starts_with("http://")
    }

    /// The host's name (and port), for messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Whether `authority` (`HOST[:PORT]`) is a loopback IP address.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
