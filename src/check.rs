//! The audit mode: find tokens without rewriting anything, say where each
//! one is, and list the distinct keys that leaked, so that they can be
//! rotated.
//!
//! A finding shows PostHog's mask of a token (`phx_...abcd`) and a short
//! fingerprint, never the token.

use std::{
    collections::HashMap,
    io::{self, Write},
    sync::Arc,
};

use rayon::prelude::*;
use serde::Serialize;

use crate::{
    Error, Finding, Redactor, RuleSet,
    filter::{self, Input, READ_SIZE},
    rules::CAPPED,
};

/// What checking one input found.
#[derive(Debug)]
pub struct Report {
    /// The input, named with any token in its name redacted.
    pub name: String,
    /// The tokens, in order.
    pub findings: Vec<Finding>,
    /// Why the input could not be read to its end, if it could not.
    pub error: Option<Error>,
}

/// Checks `inputs`, `threads` at a time; the reports come in input order.
///
/// # Errors
///
/// [`Error::Read`] when the thread pool cannot be built.
pub fn check_inputs(
    inputs: &[Input],
    rules: &Arc<RuleSet>,
    threads: usize,
) -> Result<Vec<Report>, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Read(io::Error::other(e)))?;
    Ok(pool.install(|| inputs.par_iter().map(|input| check_input(input, rules)).collect()))
}

/// Checks one input.
pub fn check_input(input: &Input, rules: &Arc<RuleSet>) -> Report {
    let mut redactor = Redactor::new(Arc::clone(rules)).record_findings();
    let mut buf = vec![0; READ_SIZE];
    let result = filter::redact_input(&mut redactor, input, &mut io::sink(), &mut buf, false);
    let name = rules.redact(input.display().to_string().as_bytes());
    Report {
        name: String::from_utf8_lossy(&name).into_owned(),
        findings: redactor.take_findings(),
        error: result.err(),
    }
}

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
    /// The inputs it was found in, in order.
    pub files: Vec<String>,
}

/// The distinct keys in `reports`, in the order they were first found. Two
/// findings are the same key when their whole hashes are equal.
pub fn distinct_keys(reports: &[Report], rules: &RuleSet) -> Vec<Key> {
    let mut keys: Vec<Key> = Vec::new();
    let mut index: HashMap<[u8; 32], usize> = HashMap::new();
    for report in reports {
        for finding in &report.findings {
            let i = *index.entry(finding.fingerprint).or_insert_with(|| {
                keys.push(Key {
                    rule: rule_name(rules, finding).to_string(),
                    mask: finding.mask.clone(),
                    fingerprint: rules.fingerprints.short(&finding.fingerprint),
                    count: 0,
                    files: Vec::new(),
                });
                keys.len() - 1
            });
            let key = &mut keys[i];
            key.count += 1;
            if key.files.last() != Some(&report.name) {
                key.files.push(report.name.clone());
            }
        }
    }
    keys
}

fn rule_name<'a>(rules: &'a RuleSet, finding: &Finding) -> &'a str {
    finding.rule.map_or(CAPPED, |i| rules.rules()[i].name.as_str())
}

/// One finding as a JSON line.
#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'a str,
    line: u64,
    column: u64,
    offset: u64,
    length: u64,
    rule: &'a str,
    mask: &'a str,
    fingerprint: String,
}

/// An input that could not be read to its end, as a JSON line.
#[derive(Serialize)]
struct JsonError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    path: &'a str,
    message: String,
}

/// One key as a JSON line.
#[derive(Serialize)]
struct JsonKey<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    key: &'a Key,
}

/// Writes a report's findings, one per line: `PATH:LINE:COLUMN: RULE: MASK`,
/// or JSON lines with `json`, where a failed input also gets an `error`
/// line (in text, errors go to standard error, which is the caller's).
///
/// # Errors
///
/// Those of `out`.
pub fn write_findings<W: Write + ?Sized>(
    out: &mut W,
    report: &Report,
    rules: &Arc<RuleSet>,
    json: bool,
) -> io::Result<()> {
    for f in &report.findings {
        let rule = rule_name(rules, f);
        if json {
            let line = JsonFinding {
                kind: "finding",
                path: &report.name,
                line: f.line,
                column: f.column,
                offset: f.offset,
                length: f.len,
                rule,
                mask: &f.mask,
                fingerprint: rules.fingerprints.short(&f.fingerprint),
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}:{}:{}: {rule}: {}", report.name, f.line, f.column, f.mask)?;
        }
    }
    if let (true, Some(error)) = (json, &report.error) {
        let message = rules.redact(format!("{error:#}").as_bytes());
        let line = JsonError {
            kind: "error",
            path: &report.name,
            message: String::from_utf8_lossy(&message).into_owned(),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes the list of keys to rotate, after the findings.
///
/// # Errors
///
/// Those of `out`.
pub fn write_keys<W: Write + ?Sized>(out: &mut W, keys: &[Key], json: bool) -> io::Result<()> {
    if json {
        for key in keys {
            serde_json::to_writer(&mut *out, &JsonKey { kind: "key", key })?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    if keys.is_empty() {
        return Ok(());
    }
    let findings: u64 = keys.iter().map(|k| k.count).sum();
    writeln!(
        out,
        "\n{findings} finding{}, {} distinct key{} to rotate:",
        if findings == 1 { "" } else { "s" },
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
    )?;
    for key in keys {
        writeln!(
            out,
            "  {}  {}  fingerprint {}  {} time{}  in {}",
            key.rule,
            key.mask,
            key.fingerprint,
            key.count,
            if key.count == 1 { "" } else { "s" },
            key.files.join(", "),
        )?;
    }
    Ok(())
}
