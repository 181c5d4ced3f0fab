//! One redaction policy for every byte the program prints about its work:
//! messages, findings, file names, summaries, argument errors, and the
//! names of the files it writes.
//!
//! The data passes through the active rules only; what the program says
//! about the data passes through them and through every built-in rule,
//! `phc_` included, so that a key in a file name or an argument never
//! shows, whichever rules the run applies.
//!
//! ```
//! use phx_redact::{RuleSet, app::MessagePolicy};
//! use std::sync::Arc;
//!
//! // The run redacts phx_ keys only; its messages still hide a phc_ key.
//! let rules = Arc::new(RuleSet::new(vec![phx_redact::Rule::posthog("phx")])?);
//! let policy = MessagePolicy::new(&rules);
//! let message = format!("cannot read phc_{}.log", "w".repeat(40));
//! assert_eq!(policy.redact_str(&message), "cannot read phc_[REDACTED].log");
//! # Ok::<(), phx_redact::Error>(())
//! ```

use std::{
    ffi::OsString,
    os::unix::ffi::{OsStrExt, OsStringExt},
    path::{Component, Path, PathBuf},
    sync::{Arc, OnceLock},
};

use crate::{
    RuleSet,
    engine::rules::{Options, Rule, literal_starts},
};

/// Redacts what the program prints: the built-in rules (`phc_` included)
/// and the rules of the run.
#[derive(Clone, Debug)]
pub struct MessagePolicy {
    /// The run's rules, with their own markers; `None` before they are
    /// known.
    active: Option<Arc<RuleSet>>,
    /// Every built-in rule, marking each key with its fingerprint, for the
    /// names of files written: two names that differ only in their key
    /// stay two files. Compiled when first needed.
    builtin_paths: Arc<OnceLock<Arc<RuleSet>>>,
}

impl MessagePolicy {
    /// The policy for when the run's rules are not known (the arguments
    /// could not be parsed): the built-in rules only.
    pub fn builtin() -> MessagePolicy {
        MessagePolicy { active: None, builtin_paths: Arc::default() }
    }

    /// The policy of a run that applies `active`.
    pub fn new(active: &Arc<RuleSet>) -> MessagePolicy {
        MessagePolicy { active: Some(Arc::clone(active)), ..MessagePolicy::builtin() }
    }

    /// `text` with every token of either rule set replaced by its marker.
    pub fn redact(&self, text: &[u8]) -> Vec<u8> {
        // The run's rules first, so that their markers (a fingerprint, say)
        // show where they apply; the built-in rules then catch the rest.
        // No marker is a built-in token, so the second pass leaves the
        // first's markers alone.
        let text = match &self.active {
            Some(active) => crate::redact(active, text),
            None => text.to_vec(),
        };
        if !builtin_may_match(&text) {
            return text;
        }
        crate::redact(&builtin(), &text)
    }

    /// [`MessagePolicy::redact`] for text (invalid UTF-8 is replaced).
    pub fn redact_str(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.redact(text.as_bytes())).into_owned()
    }

    /// `path` with each component that holds a token redacted on its own:
    /// the name to give a file written after one whose name holds a key
    /// (a mirror's copy), and the name to print for it. The result has as
    /// many components as `path`; a built-in key becomes its fingerprint
    /// marker, so that two names that differ only in their key stay apart.
    pub fn redact_path(&self, path: &Path) -> PathBuf {
        let paths = || {
            self.builtin_paths.get_or_init(|| {
                let fingerprints = self.active.as_ref().map(|a| a.fingerprints.clone());
                let options = Options {
                    marker: "fingerprint".into(),
                    fingerprints: fingerprints.unwrap_or_default(),
                    ..Options::default()
                };
                Arc::new(
                    RuleSet::with_options(Rule::defaults(true), options)
                        .expect("the built-in rules take the fingerprint marker"),
                )
            })
        };
        path.components()
            .map(|component| match component {
                Component::Normal(name) => {
                    // The built-in keys first, to get their fingerprint
                    // markers rather than the run's markers for them.
                    let name = match builtin_may_match(name.as_bytes()) {
                        true => crate::redact(paths(), name.as_bytes()),
                        false => name.as_bytes().to_vec(),
                    };
                    let mut name = match &self.active {
                        Some(active) => crate::redact(active, &name),
                        None => name,
                    };
                    // A marker of the user's could hold a separator, or
                    // be nothing at all: the component stays one name.
                    for byte in &mut name {
                        if *byte == b'/' || *byte == 0 {
                            *byte = b'_';
                        }
                    }
                    if name.is_empty() || name == b"." || name == b".." {
                        name = b"[REDACTED]".to_vec();
                    }
                    OsString::from_vec(name)
                }
                other => other.as_os_str().to_os_string(),
            })
            .collect()
    }
}

/// A name (a file's, a rule's) as the program prints it, redacted first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrintedName {
    /// For text output and messages: escaped by [`escape_name`], so that
    /// it cannot forge a line nor drive a terminal, and two names never
    /// print alike.
    pub text: String,
    /// For JSON: the name as text, exact when it is UTF-8 (JSON escapes
    /// the rest), with U+FFFD for bytes that are not.
    pub json: String,
    /// For JSON, when the name is not UTF-8: its exact bytes in base64, so
    /// that two names that [`PrintedName::json`] shows alike stay apart.
    pub json_base64: Option<String>,
}

impl MessagePolicy {
    /// `name` redacted byte for byte (never through a lossy conversion
    /// first), in each printed form.
    pub fn printed_name(&self, name: &[u8]) -> PrintedName {
        use base64::Engine;
        let redacted = self.redact(name);
        let json_base64 = std::str::from_utf8(&redacted)
            .is_err()
            .then(|| base64::engine::general_purpose::STANDARD.encode(&redacted));
        PrintedName {
            text: escape_name(&redacted),
            json: String::from_utf8_lossy(&redacted).into_owned(),
            json_base64,
        }
    }
}

/// `name` as text output prints it, as `ls` and ripgrep escape names: a
/// backslash, a control character (a newline would forge a line, an
/// escape sequence would drive the terminal), a bidirectional override
/// (which reorders what a reader sees) and a byte that is not UTF-8 are
/// each written as an escape (`\\`, `\n`, `\u{1b}`, `\u{202e}`, `\xff`),
/// so that the exact bytes can be read back.
pub fn escape_name(name: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                push_escaped(&mut out, c);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// `line` with its control characters and bidirectional overrides escaped
/// (backslashes kept as they are): the last guard of every message, where
/// a name was formatted into the text before it got here.
pub fn escape_controls(line: &str) -> String {
    if !line.chars().any(needs_escape) {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Control characters (C0, DEL, C1) and the bidirectional formatting
/// characters that can reorder a line on screen.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Whether a built-in rule could match in `text`: whether one of the
/// literals that each of their matches starts with is in it. Most names and
/// messages hold none, and then the built-in rules need not be compiled (a
/// third of an audit's start-up).
fn builtin_may_match(text: &[u8]) -> bool {
    static STARTS: OnceLock<Option<Vec<Vec<u8>>>> = OnceLock::new();
    match STARTS.get_or_init(|| literal_starts(&Rule::defaults(true))) {
        Some(starts) => starts.iter().any(|start| memchr::memmem::find(text, start).is_some()),
        None => true,
    }
}

/// Every built-in rule, compiled once per process, when first needed: a
/// run that prints no message does not pay for it.
fn builtin() -> Arc<RuleSet> {
    static BUILTIN: OnceLock<Arc<RuleSet>> = OnceLock::new();
    Arc::clone(BUILTIN.get_or_init(|| Arc::new(RuleSet::default_rules(true))))
}

/// The policy for messages about rules that may not compile (an error in
/// one of them): the built-in rules and each of `rules` that compiles on
/// its own, so that one bad rule does not drop the others. None when none
/// compiles.
pub(crate) fn patterns_policy(rules: Vec<Rule>) -> Option<MessagePolicy> {
    let rules: Vec<Rule> =
        rules.into_iter().filter(|rule| RuleSet::new(vec![rule.clone()]).is_ok()).collect();
    let rules = RuleSet::new(rules).ok()?;
    Some(MessagePolicy::new(&Arc::new(rules)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Rule,
        app::sample::{Era, KeyGen},
    };

    fn policy() -> MessagePolicy {
        let mut list = Rule::defaults(false);
        list.push(Rule::custom("pattern-1", "SECRET[0-9]{8}"));
        MessagePolicy::new(&Arc::new(RuleSet::new(list).unwrap()))
    }

    #[test]
    fn a_path_keeps_its_shape_and_loses_its_keys() {
        let mut keys = KeyGen::new(5);
        let (phx, phc) = (keys.key("phx", Era::Current), keys.key("phc", Era::Current));
        let path = PathBuf::from(format!("logs/{phc}/SECRET12345678-{phx}.log"));
        let redacted = policy().redact_path(&path);
        let text = redacted.to_str().unwrap();
        assert_eq!(redacted.components().count(), 3, "{text}");
        assert!(text.starts_with("logs/phc_[REDACTED:"), "{text}");
        assert!(text.contains("[REDACTED]-phx_[REDACTED:"), "{text}");
        assert!(text.ends_with("].log"), "{text}");
        for secret in [&phx[4..], &phc[4..], "12345678"] {
            assert!(!text.contains(secret), "{text}");
        }
        // A clean path is left as it is, root and dots included.
        let clean = Path::new("/var/log/app/../app.log");
        assert_eq!(policy().redact_path(clean), clean);
    }

    #[test]
    fn names_print_escaped_and_recoverable() {
        assert_eq!(escape_name(b"a\nb:1:1: phx: x"), "a\\nb:1:1: phx: x");
        assert_eq!(escape_name("\u{1b}[31m\\\u{202e}".as_bytes()), "\\u{1b}[31m\\\\\\u{202e}");
        assert_eq!(escape_name(b"caf\xe9.log"), "caf\\xe9.log");
        assert_eq!(escape_name("café.log".as_bytes()), "café.log");
        let (a, b) = (policy().printed_name(b"x\xff"), policy().printed_name(b"x\xfe"));
        assert_eq!(a.json, b.json);
        assert_ne!(a.json_base64, b.json_base64);
        assert_eq!(policy().printed_name(b"plain").json_base64, None);
        assert_eq!(escape_controls("a\tb\\c"), "a\\tb\\c");
    }

    #[test]
    fn two_names_that_differ_only_in_their_key_stay_apart() {
        let mut keys = KeyGen::new(6);
        let (a, b) = (keys.key("phx", Era::Current), keys.secret());
        let b = format!("phx_{}", &b[4..]);
        let policy = MessagePolicy::builtin();
        let (a, b) = (Path::new(&a), Path::new(&b));
        assert_ne!(policy.redact_path(a), policy.redact_path(b));
    }
}
