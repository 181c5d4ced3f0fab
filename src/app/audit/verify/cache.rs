//! One status per key fingerprint ([`Statuses`], what the printers look
//! up), and the [`Cache`] that fills it: each key not yet known is asked
//! once per host, a few calls at a time, whatever number of inputs it was
//! found in.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use super::{
    client::Client,
    options::VerifyOptions,
    status::{Answer, Status},
    target::Target,
};

/// The status of each key asked about, by its short fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statuses(HashMap<String, Status>);

impl Statuses {
    /// The status of the key with short fingerprint `fingerprint`, if it
    /// was asked about.
    pub fn get(&self, fingerprint: &str) -> Option<&Status> {
        self.0.get(fingerprint)
    }

    /// Whether some key is live.
    pub fn any_live(&self) -> bool {
        self.0.values().any(Status::is_live)
    }

    /// Whether some key may be live: live, or unknown (no region could
    /// say), which `--fail-on live` must not pass as clean.
    pub fn any_may_be_live(&self) -> bool {
        self.0.values().any(|s| s.is_live() || matches!(s, Status::Unknown(_)))
    }

    /// How many keys have a status.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no key has one.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each key's short fingerprint and status, by fingerprint.
    pub fn sorted(&self) -> Vec<(&str, &Status)> {
        let mut all: Vec<(&str, &Status)> = self.0.iter().map(|(f, s)| (f.as_str(), s)).collect();
        all.sort_unstable_by_key(|&(f, _)| f);
        all
    }
}

/// The statuses found so far in a run: a key already asked about is not
/// asked again.
#[derive(Debug, Default)]
pub struct Cache {
    statuses: Statuses,
    /// The keys asked about, by the hash of their bytes: two keys may
    /// share a short fingerprint (32 bits), and each must be asked.
    asked: HashSet<[u8; 32]>,
}

impl Cache {
    /// Asks about each key of `targets` not yet known, on each host of
    /// `options`, and returns the statuses of all keys asked about so far.
    pub fn verify(&mut self, targets: &[Target], options: &VerifyOptions) -> &Statuses {
        let new: Vec<&Target> = targets
            .iter()
            .filter(|t| self.asked.insert(*blake3::hash(t.secret.expose()).as_bytes()))
            .collect();
        let answers = ask_all(&new, options);
        for (target, answers) in new.iter().zip(answers) {
            let status = Status::of_answers(&answers);
            // Keys that share a short fingerprint share its status: the
            // worse of theirs (live wins), never the first one's alone.
            let merged = match self.statuses.0.remove(&target.fingerprint) {
                Some(known) => known.worse(status),
                None => status,
            };
            self.statuses.0.insert(target.fingerprint.clone(), merged);
        }
        &self.statuses
    }

    /// The statuses found so far.
    pub fn statuses(&self) -> &Statuses {
        &self.statuses
    }
}

/// Each host's answer about each target, in order: one call per target
/// and host, at most `options.concurrency` in flight.
fn ask_all(targets: &[&Target], options: &VerifyOptions) -> Vec<Vec<Answer>> {
    let hosts = &options.hosts;
    let calls = targets.len() * hosts.len();
    let answers: Vec<Mutex<Option<Answer>>> = (0..calls).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let client = Client::new(options.timeout);
    let workers = options.concurrency.clamp(1, calls.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let call = next.fetch_add(1, Ordering::Relaxed);
                    if call >= calls {
                        break;
                    }
                    let (target, host) = (targets[call / hosts.len()], &hosts[call % hosts.len()]);
                    let answer = match client.whoami(host, target.secret.expose()) {
                        Ok(reply) => Answer::of_status(host.name(), reply.status),
                        Err(reason) => Answer::Unknown(reason),
                    };
                    *answers[call].lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
                }
            });
        }
    });
    let mut answers =
        answers.into_iter().map(|a| a.into_inner().unwrap_or_else(|e| e.into_inner()));
    targets
        .iter()
        .map(|_| (0..hosts.len()).filter_map(|_| answers.next().flatten()).collect())
        .collect()
}
