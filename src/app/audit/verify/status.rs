//! What PostHog said about a key: each region's answer (`Answer`) and
//! the key's status over all regions ([`Status`]), as the key list, the
//! JSON and (later) SARIF show it.

use std::fmt;

/// One region's answer to `GET /api/users/@me/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200: the key works.
    Live,
    /// 403: the key works, without the `user:read` scope.
    Scoped,
    /// 401: the region does not know the key, or it was revoked.
    NotLive,
    /// Anything else, with why: the host and the status or the failure.
    Unknown(String),
}

impl Answer {
    /// The answer an HTTP status stands for; `host` names it in a reason.
    pub(crate) fn of_status(host: &str, status: u16) -> Answer {
        match status {
            200 => Answer::Live,
            403 => Answer::Scoped,
            401 => Answer::NotLive,
            300..=399 => Answer::Unknown(format!("{host}: redirect (HTTP {status}), not followed")),
            _ => Answer::Unknown(format!("{host}: HTTP {status}")),
        }
    }
}

/// Whether a key is live, over every region asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Some region accepted it (200).
    Live,
    /// Some region knows it but it lacks the scope to read its user (403).
    LiveScoped,
    /// Every region refused it (401): revoked, or never issued.
    NotLive,
    /// No region said it is live and some could not say: why.
    Unknown(String),
}

impl Status {
    /// The status of a key from each region's answer: live if any region
    /// says so, not live only if every region refuses it.
    pub(crate) fn of_answers(answers: &[Answer]) -> Status {
        if answers.contains(&Answer::Live) {
            return Status::Live;
        }
        if answers.contains(&Answer::Scoped) {
            return Status::LiveScoped;
        }
        let reasons: Vec<&str> = answers
            .iter()
            .filter_map(|a| match a {
                Answer::Unknown(reason) => Some(reason.as_str()),
                _ => None,
            })
            .collect();
        match reasons.is_empty() && !answers.is_empty() {
            true => Status::NotLive,
            false if answers.is_empty() => Status::Unknown("no host asked".into()),
            false => Status::Unknown(reasons.join("; ")),
        }
    }

    /// The status of two keys that share a short fingerprint: live if
    /// either is, not live only if both are not.
    pub(crate) fn worse(self, other: Status) -> Status {
        let rank = |s: &Status| match s {
            Status::Live => 3,
            Status::LiveScoped => 2,
            Status::Unknown(_) => 1,
            Status::NotLive => 0,
        };
        if rank(&other) > rank(&self) { other } else { self }
    }

    /// Whether the key works (`live` or `live (scoped)`).
    pub fn is_live(&self) -> bool {
        matches!(self, Status::Live | Status::LiveScoped)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Live => f.write_str("live"),
            Status::LiveScoped => f.write_str("live (scoped)"),
            Status::NotLive => f.write_str("not live"),
            Status::Unknown(reason) => write!(f, "unknown: {reason}"),
        }
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
