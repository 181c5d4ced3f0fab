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
//! use phx_redact::{RuleSet, policy::MessagePolicy};
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
    engine::rules::{Options, Rule},
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
        let paths = self.builtin_paths.get_or_init(|| {
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
        });
        path.components()
            .map(|component| match component {
                Component::Normal(name) => {
                    // The built-in keys first, to get their fingerprint
                    // markers rather than the run's markers for them.
                    let name = crate::redact(paths, name.as_bytes());
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

/// Every built-in rule, compiled once per process, when first needed: a
/// run that prints no message does not pay for it.
fn builtin() -> Arc<RuleSet> {
    static BUILTIN: OnceLock<Arc<RuleSet>> = OnceLock::new();
    Arc::clone(BUILTIN.get_or_init(|| Arc::new(RuleSet::default_rules(true))))
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
    fn two_names_that_differ_only_in_their_key_stay_apart() {
        let mut keys = KeyGen::new(6);
        let (a, b) = (keys.key("phx", Era::Current), keys.secret());
        let b = format!("phx_{}", &b[4..]);
        let policy = MessagePolicy::builtin();
        let (a, b) = (Path::new(&a), Path::new(&b));
        assert_ne!(policy.redact_path(a), policy.redact_path(b));
    }
}
