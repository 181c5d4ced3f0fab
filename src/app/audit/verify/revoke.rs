//! `--revoke`: each key sent to `POST /api/revoke_leaked_key` of each
//! host, which revokes it (if that region issued it) and emails its owner.
//! Each host gets its own thread and is paced under its limit
//! (`pacing`); each answer is reported as it comes.

use std::sync::mpsc;

use super::{
    Host, Target,
    client::Client,
    pacing::{Pacer, revoke_interval},
};

/// What one host answered about one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeAnswer {
    /// A 2xx with PostHog's JSON: `found` and `type`, each as JSON text
    /// (escaped, so that a hostile host cannot forge output).
    Answered {
        /// `found`, as JSON (`true`, `false`).
        found: String,
        /// `type`, as JSON (`"personal_api_key"`, `null`).
        kind: String,
    },
    /// Another HTTP status (a 429 after its retries, a 5xx, a redirect
    /// not followed).
    Status(u16),
    /// No answer: why (the host and the failure).
    Failed(String),
}

impl RevokeAnswer {
    /// Whether the host took the request (a 2xx).
    pub fn is_answered(&self) -> bool {
        matches!(self, RevokeAnswer::Answered { .. })
    }
}

impl std::fmt::Display for RevokeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevokeAnswer::Answered { found, kind } => write!(f, "found {found}, type {kind}"),
            RevokeAnswer::Status(status) => write!(f, "HTTP {status}"),
            RevokeAnswer::Failed(reason) => write!(f, "no answer: {reason}"),
        }
    }
}

/// One key's revocation at one host.
#[derive(Clone, Debug)]
pub struct RevokeReport {
    /// The key's short fingerprint.
    pub fingerprint: String,
    /// PostHog's mask of it.
    pub mask: String,
    /// The host's name.
    pub host: String,
    /// What it answered.
    pub answer: RevokeAnswer,
}

/// Sends each of `targets` to the revoke endpoint of each of `hosts`,
/// each host paced under its limit, and passes each answer to `on_report`
/// as it comes (on this thread).
pub fn revoke(
    targets: &[Target],
    hosts: &[Host],
    timeout: std::time::Duration,
    mut on_report: impl FnMut(RevokeReport),
) {
    let interval = revoke_interval();
    let client = Client::new(timeout);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for host in hosts {
            let (tx, client) = (tx.clone(), &client);
            scope.spawn(move || {
                let mut pacer = Pacer::new(interval);
                for target in targets {
                    pacer.wait();
                    let key = target.secret.expose();
                    let answer = answer(client.revoke(host, key), key);
                    let report = RevokeReport {
                        fingerprint: target.fingerprint.clone(),
                        mask: target.mask.clone(),
                        host: host.name().to_string(),
                        answer,
                    };
                    if tx.send(report).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for report in rx {
            on_report(report);
        }
    });
}

/// What a reply about `key` says.
fn answer(reply: Result<super::client::Reply, String>, key: &[u8]) -> RevokeAnswer {
    let reply = match reply {
        Ok(reply) => reply,
        Err(reason) => return RevokeAnswer::Failed(reason),
    };
    if !(200..300).contains(&reply.status) {
        return RevokeAnswer::Status(reply.status);
    }
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    let field = |name: &str| {
        let text = body.get(name).map_or_else(|| "null".to_string(), |v| v.to_string());
        // A host may quote the key back: a legacy key has no prefix that
        // the message rules would know it by.
        if memchr::memmem::find(text.as_bytes(), key).is_some() {
            return "(not shown: it holds the key)".to_string();
        }
        // Bounded: a host's answer is not ours to print at length.
        if text.len() > 80 { format!("{}...", &text[..text.floor_char_boundary(77)]) } else { text }
    };
    RevokeAnswer::Answered { found: field("found"), kind: field("type") }
}
