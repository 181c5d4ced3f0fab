//! The SARIF printer (`--check --format sarif`): one SARIF 2.1.0 log, as
//! GitHub code scanning reads it. The log streams: the run's head (the
//! tool and its rules) first, each result as a line the workers format
//! ([`write_result`]), admitted by [`Results`] up to its limits, then the
//! run's tail ([`write_tail`]): the invocation, with the inputs that could
//! not be read, and how many results were left out.
//!
//! A result names its key by PostHog's mask, never by the key; its
//! `partialFingerprints` come from the rule, the URI, the line and the
//! key's own (keyed) fingerprint only, so that an alert keeps its history
//! whatever else a later run adds to the result's `properties`
//! ([`result_properties`]).
//!
//! Columns count bytes, as the text and JSON outputs do: they are the code
//! points SARIF's `columnKind` says wherever the line is ASCII before the
//! key (a key itself is ASCII).

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::{
    Finding, RuleSet,
    app::audit::keys::{advice, rule_name},
    app::audit::sarif_uri::Uri,
    engine::rules::CAPPED,
};

/// Where to read about the tool: the project has no address of its own
/// yet, so PostHog's page on the keys it finds.
const INFORMATION_URI: &str = "https://posthog.com/docs/api#private-endpoint-authentication";

/// The most inputs named in the invocation's notifications; the rest are
/// counted in one more.
pub(crate) const MAX_NOTIFICATIONS: usize = 100;

/// The official schema's address, which the log names.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The name of the fingerprint in `partialFingerprints`; its version
/// changes only with what goes into it.
const FINGERPRINT: &str = "phxRedactFinding/v1";

/// Writes the head of the log: everything before the first result.
pub(crate) fn write_head<W: Write + ?Sized>(
    out: &mut W,
    rule_names: &[String],
    root: &Uri,
) -> io::Result<()> {
    let driver = json!({
        "name": "phx-redact",
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "version": env!("CARGO_PKG_VERSION"),
        "informationUri": INFORMATION_URI,
        "rules": rule_descriptors(rule_names),
    });
    out.write_all(br#"{"$schema":"#)?;
    serde_json::to_writer(&mut *out, SCHEMA)?;
    out.write_all(br#","version":"2.1.0","runs":[{"tool":{"driver":"#)?;
    serde_json::to_writer(&mut *out, &driver)?;
    out.write_all(br#"},"columnKind":"unicodeCodePoints","originalUriBaseIds":"#)?;
    let bases = json!({ "%SRCROOT%": { "uri": root.uri } });
    serde_json::to_writer(&mut *out, &bases)?;
    out.write_all(b",\"results\":[\n")
}

/// One reporting descriptor per rule that can report, in the order of
/// the rules (a result's `ruleIndex`), then `capped`.
fn rule_descriptors(rule_names: &[String]) -> Vec<Value> {
    let names = rule_names.iter().map(String::as_str).chain([CAPPED]);
    names
        .map(|name| {
            let (what, level, severity) = describe(name);
            json!({
                "id": name,
                "shortDescription": { "text": what },
                "fullDescription": { "text": format!("{what}: {}", advice(name)) },
                "help": { "text": advice(name) },
                "defaultConfiguration": { "level": level },
                "properties": { "tags": ["security", "secret"], "security-severity": severity },
            })
        })
        .collect()
}

/// What rule `name` finds, its default level and its security severity
/// (GitHub's 0.0 to 10.0).
fn describe(name: &str) -> (&'static str, &'static str, &'static str) {
    match name {
        "phx" => ("PostHog personal API key (phx_) leaked", "error", "9.0"),
        "phs" => ("PostHog project secret API key (phs_) leaked", "error", "9.0"),
        "pha" => ("PostHog OAuth access token (pha_) leaked", "error", "8.0"),
        "phr" => ("PostHog OAuth refresh token (phr_) leaked", "error", "9.0"),
        "phc" => ("PostHog public project key (phc_), public by design", "note", "0.0"),
        CAPPED => ("Secret-shaped text cut at 64 KiB before any rule matched", "warning", "5.0"),
        _ => ("Secret found by a custom rule", "error", "8.0"),
    }
}

/// Writes finding `f` of the input at `uri` as one line: a result, with
/// no comma ([`Results`] adds them).
pub(crate) fn write_result<W: Write + ?Sized>(
    out: &mut W,
    uri: &Uri,
    f: &Finding,
    rules: &RuleSet,
    rule_names: &[String],
) -> io::Result<()> {
    let rule = rule_name(rule_names, f.rule);
    let short = rules.fingerprints.short(&f.fingerprint);
    let place = f.place.map_or(String::new(), |p| format!(" in the {p}"));
    // The rule's help says what to do: not repeated in 25,000 results.
    let text = format!("{rule} key {}{place} (fingerprint {short})", f.mask);
    let mut location = json!({ "uri": uri.uri });
    if uri.relative {
        location["uriBaseId"] = json!("%SRCROOT%");
    }
    let result = json!({
        "ruleId": rule,
        "ruleIndex": f.rule.unwrap_or(rule_names.len()),
        "level": describe(rule).1,
        "message": { "text": text },
        "locations": [{ "physicalLocation": {
            "artifactLocation": location,
            "region": {
                "startLine": f.line.max(1),
                "startColumn": f.column.max(1),
                "endLine": f.line.max(1),
                "endColumn": f.column.max(1) + f.len,
            },
        }}],
        "partialFingerprints": { FINGERPRINT: fingerprint(rule, &uri.uri, f) },
        "properties": result_properties(f, short),
    });
    serde_json::to_writer(&mut *out, &result)?;
    out.write_all(b"\n")
}

/// The result's fingerprint: a hash of the rule, the URI, the place and
/// line, and the key's own fingerprint (keyed with --fingerprint-key), so
/// that it holds nothing of the key that the audit does not already show,
/// and changes with the key. Nothing else goes in: not the column (an
/// edit before the key on its line keeps the alert), not the input's order,
/// not a verification status.
fn fingerprint(rule: &str, uri: &str, f: &Finding) -> String {
    let mut hash = blake3::Hasher::new();
    hash.update(b"phx-redact sarif fingerprint v1\0");
    for part in [rule.as_bytes(), uri.as_bytes(), f.place.unwrap_or("").as_bytes()] {
        hash.update(&(part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.update(&f.line.to_le_bytes());
    hash.update(&f.fingerprint);
    hash.finalize().to_hex()[..32].to_string()
}

/// A result's property bag: what the audit knows of a finding beyond
/// SARIF's own fields. The one place to add to it (a verification status,
/// say): nothing here goes into the fingerprint.
fn result_properties(f: &Finding, short_fingerprint: String) -> Value {
    let mut properties = json!({
        "mask": f.mask.to_str(),
        "fingerprint": short_fingerprint,
        "offset": f.offset,
        "length": f.len,
    });
    if let Some(place) = f.place {
        properties["place"] = json!(place);
    }
    properties
}

/// The results admitted to the log: at most `max`, and only while the log
/// so far stays under `max_gzipped` bytes once gzipped. The ones left out
/// are counted; they still count for the verdict.
pub(crate) struct Results {
    max: usize,
    max_gzipped: u64,
    written: usize,
    omitted: u64,
    gzipped: flate2::write::GzEncoder<Counter>,
    /// Bytes given to the encoder since it was last flushed: it may hold
    /// them back, and their deflated size is at most theirs and a few
    /// bytes, so they count whole.
    unflushed: u64,
}

/// Counts the bytes written to it.
#[derive(Default)]
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How much the encoder may hold back before it is flushed.
const FLUSH_EVERY: u64 = 64 * 1024;

/// What gzip adds beyond the deflated bytes, with room to spare: its
/// header and trailer, and the end of the last block.
const GZIP_FRAME: u64 = 64;

impl Results {
    /// At most `max` results and `max_gzipped` bytes gzipped, after a head
    /// of `head` bytes.
    pub(crate) fn new(max: usize, max_gzipped: u64, head: &[u8]) -> Results {
        let level = flate2::Compression::default();
        let gzipped = flate2::write::GzEncoder::new(Counter::default(), level);
        let mut results =
            Results { max, max_gzipped, written: 0, omitted: 0, gzipped, unflushed: 0 };
        // Writing to a counter cannot fail.
        let _ = results.meter(head);
        results
    }

    /// Writes the results in `text`, one a line, that fit.
    pub(crate) fn write<W: Write + ?Sized>(&mut self, out: &mut W, text: &[u8]) -> io::Result<()> {
        for line in text.split_inclusive(|&b| b == b'\n') {
            let bound = self.gzipped.get_ref().0 + self.unflushed + line.len() as u64 + GZIP_FRAME;
            if self.written >= self.max || bound > self.max_gzipped {
                self.omitted += 1;
                continue;
            }
            if self.written > 0 {
                out.write_all(b",")?;
            }
            out.write_all(line)?;
            self.meter(line)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Gives `bytes` to the encoder, flushing it now and then so that what
    /// it holds back stays small.
    fn meter(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.gzipped.write_all(bytes)?;
        self.unflushed += bytes.len() as u64;
        if self.unflushed >= FLUSH_EVERY {
            self.gzipped.flush()?;
            self.unflushed = 0;
        }
        Ok(())
    }
}

/// What the tail of the log says of the run.
pub(crate) struct Tail<'a> {
    pub(crate) results: &'a Results,
    /// One notification per input that could not be read, at most
    /// [`MAX_NOTIFICATIONS`].
    pub(crate) notifications: &'a [Value],
    /// Inputs that failed, named or not.
    pub(crate) failures: usize,
    /// What `--verify` found, when it ran: each key's status by its short
    /// fingerprint (the one each result's message and properties hold).
    /// The results are written before the keys can be asked about, so the
    /// statuses go in the run's properties, and never into a fingerprint.
    pub(crate) statuses: Option<&'a crate::app::audit::verify::Statuses>,
}

/// A notification that input `uri` could not be read, for `message`
/// (redacted, as standard error says it).
pub(crate) fn notification(uri: &Uri, message: &str) -> Value {
    let mut location = json!({ "uri": uri.uri });
    if uri.relative {
        location["uriBaseId"] = json!("%SRCROOT%");
    }
    json!({
        "level": "error",
        "message": { "text": message },
        "locations": [{ "physicalLocation": { "artifactLocation": location } }],
    })
}

/// A notification of the run, not of an input.
pub(crate) fn message(text: &str) -> Value {
    json!({ "level": "error", "message": { "text": text } })
}

/// Writes the tail of the log: the end of the results, the invocation and
/// the run's properties.
pub(crate) fn write_tail<W: Write + ?Sized>(out: &mut W, tail: &Tail<'_>) -> io::Result<()> {
    let mut notes = tail.notifications.to_vec();
    let unnamed = tail.failures.saturating_sub(notes.len());
    if unnamed > 0 {
        let text = format!("{unnamed} more inputs could not be checked (see standard error)");
        notes.push(message(&text));
    }
    let omitted = tail.results.omitted;
    if omitted > 0 {
        let text = format!(
            "{omitted} results left out: a run holds at most {} results and 10 MB gzipped; \
             they still count for the exit status (run the text output for all of them)",
            tail.results.max
        );
        notes.push(json!({ "level": "warning", "message": { "text": text } }));
    }
    let invocation = json!({
        "executionSuccessful": tail.failures == 0,
        "toolExecutionNotifications": notes,
    });
    let mut properties = json!({
        "columnUnit": "bytes (the code points of an ASCII line)",
        "resultsWritten": tail.results.written,
        "resultsOmitted": omitted,
    });
    if let Some(statuses) = tail.statuses {
        let statuses: serde_json::Map<String, Value> =
            statuses.sorted().into_iter().map(|(f, s)| (f.to_string(), json!(s))).collect();
        properties["keyStatuses"] = Value::Object(statuses);
    }
    out.write_all(br#"],"invocations":["#)?;
    serde_json::to_writer(&mut *out, &invocation)?;
    out.write_all(br#"],"properties":"#)?;
    serde_json::to_writer(&mut *out, &properties)?;
    out.write_all(b"}]}\n")?;
    out.flush()
}
