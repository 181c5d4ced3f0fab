//! The list of keys to rotate: what an audit (`--check`) and a scrub
//! (`--in-place`, `--output-dir`) both end with, and what `--keys-out`
//! writes.
//!
//! A key is shown by PostHog's mask of it (`phx_...abcd`) and a short
//! fingerprint, never by the key. Memory holds one entry per distinct key,
//! at most [`MAX_KEYS`] of them, each naming at most [`MAX_FILES`] inputs:
//! a stream of ever new keys must not grow it without bound.
//!
//! The list is sorted by what matters to whoever rotates: the kind (the
//! most powerful first: `phx`, `posthog-legacy`, `posthog-legacy-bearer`,
//! `phs`, `pha`, `phr`, `phc`, `bearer-43`, then the custom rules, then
//! `capped`), then how often each key was found, then where
//! it was found first.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    io::{self, Write},
    path::Path,
};

use serde::Serialize;

use crate::{
    RuleSet, Secret,
    app::atomic::temp_in,
    app::audit::verify::{Statuses, Target},
    app::policy::PrintedName,
    engine::marker::Mask,
    engine::rules::{BEARER_KIND, BUILTIN_KINDS, CAPPED, LEGACY_BEARER_KIND, LEGACY_KIND},
};

/// The most distinct keys listed. Findings of further keys are counted, not
/// kept.
pub const MAX_KEYS: usize = 10_000;

/// The most inputs listed for one key; further inputs are counted.
pub const MAX_FILES: usize = 100;

/// One distinct key found, for the list of keys to rotate.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Key {
    /// The rule that found it.
    pub rule: String,
    /// PostHog's mask of it.
    pub mask: String,
    /// Its short fingerprint.
    pub fingerprint: String,
    /// How many times it was found.
    pub count: u64,
    /// The inputs it was found in, in order, at most [`MAX_FILES`].
    pub files: Vec<String>,
    /// How many more inputs it was found in.
    pub more_files: u64,
}

/// The keys to rotate, sorted (see the module's notes), and the findings
/// of keys beyond the first [`MAX_KEYS`], which are not listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyList {
    /// The distinct keys, at most [`MAX_KEYS`]. Two findings are the same
    /// key when their whole hashes are equal.
    pub keys: Vec<Key>,
    /// Findings of keys that did not fit in the list.
    pub unlisted: u64,
}

impl KeyList {
    /// Whether any key was found, listed or not.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.unlisted == 0
    }
}

/// A finding, as much as the key list needs of it.
pub(crate) struct Found {
    pub(crate) hash: [u8; 32],
    pub(crate) rule: Option<usize>,
    pub(crate) mask: Mask,
    /// The key itself, when its rule is to be verified.
    pub(crate) secret: Option<Secret>,
}

/// A key as it is tallied: the rule by index, the files by input index,
/// names and hex only at the end.
struct Tally {
    hash: [u8; 32],
    rule: Option<usize>,
    mask: Mask,
    count: u64,
    files: Vec<usize>,
    /// The last input it was found in, listed or not.
    last_input: usize,
    more_files: u64,
    /// The key itself, when its rule is to be verified.
    secret: Option<Secret>,
}

/// The distinct keys, by whole hash, in the order first found.
#[derive(Default)]
pub(crate) struct Keys {
    tallies: Vec<Tally>,
    index: HashMap<[u8; 32], usize, BuildHasherDefault<HashPrefix>>,
    /// Findings of keys that did not fit in the list.
    unlisted: u64,
}

impl Keys {
    /// Counts `found`, the findings of input `input`.
    pub(crate) fn add(&mut self, found: &[Found], input: usize) {
        for f in found {
            let i = match self.index.get(&f.hash) {
                Some(&i) => i,
                None if self.tallies.len() < MAX_KEYS => {
                    self.tallies.push(Tally {
                        hash: f.hash,
                        rule: f.rule,
                        mask: f.mask,
                        count: 0,
                        files: Vec::new(),
                        last_input: usize::MAX,
                        more_files: 0,
                        secret: None,
                    });
                    self.index.insert(f.hash, self.tallies.len() - 1);
                    self.tallies.len() - 1
                }
                None => {
                    self.unlisted += 1;
                    continue;
                }
            };
            let tally = &mut self.tallies[i];
            tally.count += 1;
            if tally.secret.is_none() {
                tally.secret.clone_from(&f.secret);
            }
            if tally.last_input != input {
                tally.last_input = input;
                if tally.files.len() < MAX_FILES {
                    tally.files.push(input);
                } else {
                    tally.more_files += 1;
                }
            }
        }
    }

    /// The list, sorted, with each rule named by `rule_names` (through the
    /// message policy) and each input by `names`, for JSON or for text.
    pub(crate) fn list(
        &self,
        rules: &RuleSet,
        rule_names: &[String],
        names: &[PrintedName],
        json: bool,
    ) -> KeyList {
        let mut order: Vec<&Tally> = self.tallies.iter().collect();
        // Stable: keys of one kind and count stay in the order first found.
        order.sort_by_key(|t| (kind_rank(rules, t.rule), std::cmp::Reverse(t.count)));
        let keys = order
            .into_iter()
            .map(|t| Key {
                rule: rule_name(rule_names, t.rule).to_string(),
                mask: t.mask.to_string(),
                fingerprint: rules.fingerprints.short(&t.hash),
                count: t.count,
                files: t
                    .files
                    .iter()
                    .map(|&i| if json { &names[i].json } else { &names[i].text }.clone())
                    .collect(),
                more_files: t.more_files,
            })
            .collect();
        KeyList { keys, unlisted: self.unlisted }
    }
}

impl Keys {
    /// The keys whose findings carried them, to ask PostHog about: each
    /// once, in the order first found.
    pub(crate) fn targets(&self, rules: &RuleSet) -> Vec<Target> {
        self.tallies
            .iter()
            .filter_map(|t| {
                Some(Target {
                    fingerprint: rules.fingerprints.short(&t.hash),
                    mask: t.mask.to_string(),
                    secret: t.secret.clone()?,
                })
            })
            .collect()
    }
}

/// Where a rule's keys go in the list: the built-in kinds in the order of
/// [`BUILTIN_KINDS`] (the most powerful first), then the custom rules, then
/// runs cut at the hold cap.
fn kind_rank(rules: &RuleSet, rule: Option<usize>) -> usize {
    let Some(i) = rule else { return BUILTIN_KINDS.len() + 1 };
    let name = rules.rules()[i].name.as_str();
    BUILTIN_KINDS.iter().position(|&k| k == name).unwrap_or(BUILTIN_KINDS.len())
}

/// A rule's name as printed (`rule_names`), or `capped`.
pub(crate) fn rule_name(rule_names: &[String], rule: Option<usize>) -> &str {
    rule.map_or(CAPPED, |i| rule_names[i].as_str())
}

/// What to do about a key that rule `rule` found (its printed name).
pub(crate) fn advice(rule: &str) -> &'static str {
    match rule {
        // A legacy key (before 2021-06-23, no prefix) is a personal API key.
        "phx" | LEGACY_KIND | LEGACY_BEARER_KIND => {
            "personal API key: roll it in PostHog, Settings → Personal API keys (it acts as \
             its user, with its scopes, in the projects it is scoped to)"
        }
        BEARER_KIND => {
            "a bearer token of a legacy personal API key's shape: if it was sent to PostHog, \
             roll it in PostHog, Settings → Personal API keys; else rotate it where it was issued"
        }
        "phs" => {
            "project secret API key (feature flags secure API key): roll it in PostHog, \
             Project → Settings, then give the new one to the servers that use it"
        }
        "pha" | "phr" => {
            "OAuth tokens: revoke the OAuth app's grant (the user's authorized apps in \
             PostHog); a refresh token (phr_) mints new access tokens until it is revoked"
        }
        "phc" => "public project key, public by design: no action",
        CAPPED => "text cut at 64 KiB before any rule matched: look at where it was found",
        _ => "rotate it where it was issued",
    }
}

/// Hashes a BLAKE3 output by its first 8 bytes, which are already uniform:
/// SipHash over 32 bytes for every finding would cost more than the rest.
#[derive(Default)]
struct HashPrefix(u64);

impl Hasher for HashPrefix {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, &b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(b) << (8 * i);
        }
    }
}

/// One key as a JSON line.
#[derive(Serialize)]
struct JsonKey<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    key: &'a Key,
    /// Whether PostHog takes it, when it was asked (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a crate::app::audit::verify::Status>,
}

/// Findings of keys beyond the list, as a JSON line after the keys.
#[derive(Serialize)]
struct JsonUnlisted {
    #[serde(rename = "type")]
    kind: &'static str,
    findings: u64,
    listed_keys: usize,
}

/// Writes the list of keys to rotate: JSON lines (`{"type":"key",...}`,
/// then `{"type":"unlisted",...}` when the list is full), or text, with
/// what to do for each kind found. Nothing when no key was found.
pub fn write_keys<W: Write + ?Sized>(out: &mut W, list: &KeyList, json: bool) -> io::Result<()> {
    write_keys_with(out, list, json, &Statuses::default())
}

/// As [`write_keys`], each key with its status in `statuses` (by
/// fingerprint) when it has one (`--verify`).
pub fn write_keys_with<W: Write + ?Sized>(
    out: &mut W,
    list: &KeyList,
    json: bool,
    statuses: &Statuses,
) -> io::Result<()> {
    if json {
        write_json(out, list, statuses)?;
    } else if !list.is_empty() {
        write_text(out, list, statuses)?;
    }
    out.flush()
}

fn write_json<W: Write + ?Sized>(
    out: &mut W,
    list: &KeyList,
    statuses: &Statuses,
) -> io::Result<()> {
    for key in &list.keys {
        let status = statuses.get(&key.fingerprint);
        serde_json::to_writer(&mut *out, &JsonKey { kind: "key", key, status })?;
        out.write_all(b"\n")?;
    }
    if list.unlisted > 0 {
        let line =
            JsonUnlisted { kind: "unlisted", findings: list.unlisted, listed_keys: MAX_KEYS };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_text<W: Write + ?Sized>(
    out: &mut W,
    list: &KeyList,
    statuses: &Statuses,
) -> io::Result<()> {
    let (keys, unlisted) = (&list.keys, list.unlisted);
    let findings: u64 = keys.iter().map(|k| k.count).sum::<u64>() + unlisted;
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let distinct = if unlisted > 0 {
        format!("more than {MAX_KEYS} distinct keys to rotate; the first {MAX_KEYS}")
    } else {
        format!("{} distinct key{} to rotate", keys.len(), plural(keys.len() as u64))
    };
    writeln!(out, "\n{findings} finding{}, {distinct}:", plural(findings))?;
    for key in keys {
        let more = match key.more_files {
            0 => String::new(),
            n => format!(" and {n} more input{}", plural(n)),
        };
        let status = match statuses.get(&key.fingerprint) {
            Some(status) => format!("  {status}"),
            None => String::new(),
        };
        writeln!(
            out,
            "  {}  {}  fingerprint {}{status}  {} time{}  in {}{more}",
            key.rule,
            key.mask,
            key.fingerprint,
            key.count,
            plural(key.count),
            key.files.join(", "),
        )?;
    }
    if unlisted > 0 {
        writeln!(
            out,
            "  and {unlisted} more finding{} of keys not listed (the list stops at {MAX_KEYS} keys)",
            plural(unlisted)
        )?;
    }
    writeln!(out, "What to do:")?;
    // One line per piece of advice, naming the rules it is for, in the
    // order of the list.
    let mut said: Vec<(&str, Vec<&str>)> = Vec::new();
    for key in keys {
        let what = advice(&key.rule);
        match said.iter_mut().find(|(w, _)| *w == what) {
            Some((_, rules)) if rules.contains(&key.rule.as_str()) => {}
            Some((_, rules)) => rules.push(&key.rule),
            None => said.push((what, vec![&key.rule])),
        }
    }
    for (what, rules) in said {
        writeln!(out, "  {}: {what}", rules.join(", "))?;
    }
    Ok(())
}

/// Writes `list` as JSON lines to `path`, atomically (a temporary file
/// beside it, synced, then renamed over it, and the folder synced), mode
/// 0600: once this returns, the whole list is on disk, and until then the
/// file is as it was. It holds masks and fingerprints, never a key.
///
/// # Errors
///
/// When the file cannot be written.
pub fn write_keys_file(path: &Path, list: &KeyList) -> io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile makes it 0600, and the rename keeps that.
    let mut temp = temp_in(folder)?;
    let mut out = io::BufWriter::new(temp.as_file_mut());
    write_json(&mut out, list, &Statuses::default())?;
    out.flush()?;
    drop(out);
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}
