//! What the printers share: the names they print (each rule's and each
//! input's, through the [`MessagePolicy`]) and which printer a finding
//! goes to, [`text`](super::text) or [`json`](super::json), as ripgrep's
//! printer crate keeps one printer per output format: [`sarif`](super::sarif)
//! too.

use std::{
    io::{self, Write},
    sync::Arc,
};

use crate::{
    Finding, RuleSet,
    app::audit::keys::rule_name,
    app::audit::sarif_uri::{SarifOptions, Uri},
    app::audit::{json, sarif, text},
    app::policy::{MessagePolicy, PrintedName},
};

/// What the printers need to name things: the rules' names and the
/// messages, through the policy.
pub(crate) struct Names<'a> {
    pub(crate) rules: &'a Arc<RuleSet>,
    pub(crate) policy: &'a MessagePolicy,
    /// Each rule's name, redacted: a rules file names its rules.
    pub(crate) rule_names: &'a [String],
    pub(crate) json: bool,
    /// SARIF rather than text or JSON.
    pub(crate) sarif: Option<&'a SarifOptions>,
    pub(crate) verdict_only: bool,
    /// Whether findings are formatted for the output, or only tallied
    /// (the audit before a scrub).
    pub(crate) print_findings: bool,
    /// How the inputs are read.
    pub(crate) format: crate::app::records::InputFormat,
}

/// Each rule's name as findings show it: through the message policy, for a
/// rules file names its rules.
pub fn rule_names(rules: &RuleSet, policy: &MessagePolicy) -> Vec<String> {
    rules.rules().iter().map(|rule| policy.redact_str(&rule.name)).collect()
}

/// Writes finding `f` of the input printed as `name` (at `uri` in SARIF),
/// as text, as a JSON line or as a SARIF result.
pub(crate) fn write_finding<W: Write + ?Sized>(
    out: &mut W,
    name: &PrintedName,
    uri: Option<&Uri>,
    f: &Finding,
    names_of: &Names<'_>,
) -> io::Result<()> {
    if let Some(uri) = uri {
        sarif::write_result(out, uri, f, names_of.rules, names_of.rule_names)
    } else if names_of.json {
        json::write_finding(out, name, f, names_of.rules, names_of.rule_names)
    } else {
        text::write_finding(out, &name.text, f, rule_name(names_of.rule_names, f.rule))
    }
}
