//! The findings side channel (`--findings`): what the followed files'
//! redactors found, each as a JSON line as `--check --json` writes it, to
//! a file appended to or to standard error; never the output itself.

use std::{
    fs,
    io::{self, Write},
    mem,
    os::unix::{ffi::OsStrExt, fs::OpenOptionsExt},
    path::Path,
    sync::Arc,
};

use super::tail::Tail;
use crate::RuleSet;
use crate::app::Error;
use crate::app::audit::{JsonFinding, rule_names};
use crate::app::policy::MessagePolicy;

/// Where `--findings` writes: each finding as a JSON line, as `--check
/// --json` writes it.
pub(super) struct Findings {
    out: Box<dyn Write>,
    rules: Arc<RuleSet>,
    policy: MessagePolicy,
    rule_names: Vec<String>,
}

impl Findings {
    /// Opens `path` to append to (`-`: standard error), if findings are
    /// asked for.
    pub(super) fn open(
        path: Option<&Path>,
        rules: &Arc<RuleSet>,
    ) -> Result<Option<Findings>, Error> {
        let Some(path) = path else { return Ok(None) };
        let out: Box<dyn Write> = if path.as_os_str() == "-" {
            Box::new(io::stderr())
        } else {
            let file = fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(path)
                .map_err(Error::Write)?;
            Box::new(file)
        };
        let policy = MessagePolicy::new(rules);
        let rule_names = rule_names(rules, &policy);
        Ok(Some(Findings { out, rules: Arc::clone(rules), policy, rule_names }))
    }

    /// Writes what `tail`'s readers found since the last drain, in one
    /// write (lines of two followers on one file never mix).
    pub(super) fn drain(&mut self, tail: &mut Tail) -> Result<(), Error> {
        let mut found = mem::take(&mut tail.found);
        for reader in tail.rotated.iter_mut().chain(&mut tail.current) {
            found.extend(reader.redactor.take_findings());
        }
        if found.is_empty() {
            return Ok(());
        }
        let name = self.policy.printed_name(tail.path.as_os_str().as_bytes());
        let mut text = Vec::new();
        for f in &found {
            let mut line = JsonFinding::new(&name.json, f, &self.rules, &self.rule_names);
            line.path_base64 = name.json_base64.as_deref();
            serde_json::to_writer(&mut text, &line).map_err(|e| Error::Write(e.into()))?;
            text.push(b'\n');
        }
        self.out.write_all(&text).and_then(|()| self.out.flush()).map_err(Error::Write)
    }
}
