//! A token found, as Python sees it (`Finding`), and the recorder that
//! turns the engine's findings into them, named as the CLI names them (and
//! keeps, in Rust only, each distinct key `verify=` asks about).

use std::{collections::HashSet, sync::Arc};

use phx_redact::{
    Finding as EngineFinding, RuleSet,
    app::{JsonFinding, MessagePolicy, VerifyTarget, rule_names},
};
use pyo3::{prelude::*, types::PyDict};

/// A token found: where it is, which rule found it, PostHog's mask of it
/// and a short fingerprint, never the token itself. The fields are those of
/// a `"finding"` line of `phx-redact --check --json`.
#[pyclass(frozen, get_all, module = "phx_redact")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The input's name as given (through the message policy), or None for
    /// a stream given no name.
    path: Option<String>,
    /// 1-based line of the token's first byte.
    line: u64,
    /// 1-based byte column of the token's first byte.
    column: u64,
    /// Byte offset of the token in the (decompressed) stream.
    offset: u64,
    /// The token's length in bytes.
    length: u64,
    /// The rule that found it (`phx`, ..., `pattern-1`, ..., or `capped`).
    rule: String,
    /// PostHog's mask of the token (`phx_...abcd`).
    mask: String,
    /// Its short fingerprint (keyed with `PHX_REDACT_FINGERPRINT_KEY` when
    /// that is set, as the CLI's).
    pub(crate) fingerprint: String,
    /// With `verify=`: whether the key is live (`live`, `live (scoped)`,
    /// `not live`, `unknown: REASON`), as `--check --verify` says; None
    /// without it, and for a token PostHog does not verify.
    pub(crate) status: Option<String>,
}

#[pymethods]
impl Finding {
    /// The finding as `phx-redact --check --json` prints it: a dict with
    /// `type` (`"finding"`), `path`, `line`, `column`, `offset`, `length`,
    /// `rule`, `mask` and `fingerprint`, and `status` when it was verified.
    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("type", "finding")?;
        dict.set_item("path", &self.path)?;
        dict.set_item("line", self.line)?;
        dict.set_item("column", self.column)?;
        dict.set_item("offset", self.offset)?;
        dict.set_item("length", self.length)?;
        dict.set_item("rule", &self.rule)?;
        dict.set_item("mask", &self.mask)?;
        dict.set_item("fingerprint", &self.fingerprint)?;
        if let Some(status) = &self.status {
            dict.set_item("status", status)?;
        }
        Ok(dict)
    }

    pub(crate) fn __repr__(&self) -> String {
        let path = self.path.as_ref().map_or("None".to_string(), |p| format!("{p:?}"));
        let status = self.status.as_ref().map_or(String::new(), |s| format!(", status={s:?}"));
        format!(
            "Finding(path={path}, line={}, column={}, rule={:?}, mask={:?}, fingerprint={:?}{status})",
            self.line, self.column, self.rule, self.mask, self.fingerprint
        )
    }

    pub(crate) fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Finding>().is_ok_and(|o| *o.get() == *self)
    }

    pub(crate) fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.path, self.offset, self.length, &self.rule, &self.fingerprint).hash(&mut h);
        h.finish()
    }
}

/// Turns engine findings into [`Finding`]s, named as `--check --json`
/// names them.
pub(crate) struct Recorder {
    rules: Arc<RuleSet>,
    /// The input's name through the policy; `None` for an unnamed stream.
    name: Option<String>,
    rule_names: Vec<String>,
    pub(crate) findings: Vec<Finding>,
    /// Each distinct key the findings carried (rules that capture tokens,
    /// for `verify=`), by fingerprint: never handed to Python.
    pub(crate) targets: Vec<VerifyTarget>,
    seen: HashSet<String>,
}

impl Recorder {
    pub(crate) fn new(rules: &Arc<RuleSet>, name: Option<&str>) -> Recorder {
        let policy = MessagePolicy::new(rules);
        Recorder {
            rules: Arc::clone(rules),
            name: name.map(|n| policy.redact_str(n)),
            rule_names: rule_names(rules, &policy),
            findings: Vec::new(),
            targets: Vec::new(),
            seen: HashSet::new(),
        }
    }

    pub(crate) fn add(&mut self, found: &[EngineFinding]) {
        let name = self.name.as_deref().unwrap_or("");
        for f in found {
            let json = JsonFinding::new(name, f, &self.rules, &self.rule_names);
            self.findings.push(Finding {
                path: self.name.clone(),
                line: json.line,
                column: json.column,
                offset: json.offset,
                length: json.length,
                rule: json.rule.to_string(),
                mask: json.mask,
                fingerprint: json.fingerprint,
                status: None,
            });
            if let Some(target) = VerifyTarget::from_finding(f, &self.rules)
                && self.seen.insert(target.fingerprint.clone())
            {
                self.targets.push(target);
            }
        }
    }
}
