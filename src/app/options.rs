//! The options that choose and shape the rules, for every job and every
//! front end: the command line's arguments become a [`RuleOptions`], and
//! the Python module builds one directly, so that both get the same rules,
//! names, order and refusals.

use std::path::PathBuf;

use crate::{
    Rule, RuleSet,
    app::{Error, MessagePolicy, policy::patterns_policy},
    engine::{
        fingerprint::Fingerprinter,
        rules::{
            BEARER_KIND, BUILTIN_KINDS, DEFAULT_KINDS, HOLD_CAP, LEGACY_BEARER_KIND, Options,
            PUBLIC_KIND, load_rules_file,
        },
    },
};

/// Which rules to run and what to write in a token's place: what
/// `--rule`, `--include-public`, `--pattern`, `--rules-file`, `--marker`
/// and `--fingerprint-key` say on the command line.
///
/// # Examples
///
/// ```
/// use phx_redact::app::RuleOptions;
///
/// // The default rules (phx_, phs_, pha_, phr_) and phc_, with a marker.
/// let options = RuleOptions {
///     include_public: true,
///     marker: "{prefix}[HIDDEN]".into(),
///     ..RuleOptions::default()
/// };
/// let rules = std::sync::Arc::new(options.rule_set()?);
/// let line = format!("key=phc_{}", "k".repeat(40));
/// assert_eq!(phx_redact::redact(&rules, line.as_bytes()), b"key=phc_[HIDDEN]");
/// # Ok::<(), phx_redact::app::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RuleOptions {
    /// Built-in rule names (`phx`, `phs`, `pha`, `phr`, `phc`, `all`,
    /// `none`, ...: see `DEFAULT_KINDS` and `BUILTIN_KINDS`); empty for the
    /// default ([`DEFAULT_KINDS`]).
    pub names: Vec<String>,
    /// Add `phc` (project keys, public by design).
    pub include_public: bool,
    /// Self-hosted PostHog hosts: a bearer token of a legacy key's shape
    /// on a line naming one is redacted, as on one naming `posthog.com`.
    pub posthog_hosts: Vec<String>,
    /// Custom regexes, named pattern-1, pattern-2, ... in order.
    pub patterns: Vec<String>,
    /// A TOML rules file.
    pub rules_file: Option<PathBuf>,
    /// A marker preset (`default`, `posthog`, `fingerprint`,
    /// `same-length`), a template, or `literal:TEXT`.
    pub marker: String,
    /// The fingerprint key's file (else the `PHX_REDACT_FINGERPRINT_KEY`
    /// environment variable, else unkeyed).
    pub fingerprint_key: Option<PathBuf>,
}

impl Default for RuleOptions {
    fn default() -> RuleOptions {
        RuleOptions {
            names: Vec::new(),
            include_public: false,
            posthog_hosts: Vec::new(),
            patterns: Vec::new(),
            rules_file: None,
            marker: "default".into(),
            fingerprint_key: None,
        }
    }
}

impl RuleOptions {
    /// The policy for a message about these options' rules when they may
    /// not compile (the error [`RuleOptions::rule_set`] returns): the
    /// built-in rules and each custom pattern that compiles on its own, so
    /// that a message never shows a pattern's secret.
    pub fn error_policy(&self) -> MessagePolicy {
        let custom = self.patterns.iter().map(|p| Rule::custom("pattern", p.clone()));
        patterns_policy(custom.collect()).unwrap_or_else(MessagePolicy::builtin)
    }

    /// The rules these options ask for, compiled.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an unknown rule name, no rules at all or a
    /// fingerprint key that cannot be read; [`Error::Rule`] when a rule or
    /// the marker is refused. No message quotes a custom rule's regex.
    pub fn rule_set(&self) -> Result<RuleSet, Error> {
        Ok(RuleSet::with_options(self.rules()?, self.options()?)?)
    }

    /// The rules asked for, in order: the built-in ones, then the
    /// `--pattern` rules, then the rules file's.
    fn rules(&self) -> Result<Vec<Rule>, Error> {
        let mut names: Vec<&str> = if self.names.is_empty() {
            DEFAULT_KINDS.to_vec()
        } else {
            let mut names = Vec::new();
            for name in &self.names {
                match name.as_str() {
                    "all" => names.extend(BUILTIN_KINDS),
                    "none" => {}
                    name if BUILTIN_KINDS.contains(&name) => names.push(name),
                    other => {
                        return Err(Error::Usage(format!(
                            "--rule {other}: no such rule; known: {}, all, none",
                            BUILTIN_KINDS.join(", ")
                        )));
                    }
                }
            }
            names
        };
        if self.include_public {
            names.push(PUBLIC_KIND);
        }
        let mut seen = Vec::new();
        names.retain(|n| {
            !seen.contains(n) && {
                seen.push(*n);
                true
            }
        });
        // Every bearer token of a legacy key's shape covers those on lines
        // that name PostHog.
        if names.contains(&BEARER_KIND) {
            names.retain(|&n| n != LEGACY_BEARER_KIND);
        }
        let mut rules: Vec<Rule> = names.into_iter().filter_map(Rule::builtin).collect();
        self.check_hosts()?;
        for rule in rules.iter_mut().filter(|r| r.name == LEGACY_BEARER_KIND) {
            rule.on_lines_naming.extend(self.posthog_hosts.iter().cloned());
        }
        for (i, pattern) in self.patterns.iter().enumerate() {
            rules.push(Rule::custom(format!("pattern-{}", i + 1), pattern.clone()));
        }
        if let Some(file) = &self.rules_file {
            rules.extend(load_rules_file(file)?);
        }
        if rules.is_empty() {
            return Err(Error::Usage(
                "no rules: --rule none needs --pattern or --rules-file".into(),
            ));
        }
        Ok(rules)
    }

    /// Refuses a `--posthog-host` no line could name, as the engine would,
    /// but in the option's name, with the host's place, not its text (a
    /// key pasted by mistake).
    fn check_hosts(&self) -> Result<(), Error> {
        let n = self.posthog_hosts.len();
        for (i, host) in self.posthog_hosts.iter().enumerate() {
            if let Some(why) = crate::engine::rules::unnameable(host) {
                let at = i + 1;
                return Err(Error::Usage(format!(
                    "--posthog-host: host {at} of {n} {why}: no line could name it"
                )));
            }
        }
        Ok(())
    }

    /// The marker, the fingerprint key and the hold cap.
    fn options(&self) -> Result<Options, Error> {
        Ok(Options {
            marker: self.marker.clone(),
            fingerprints: Fingerprinter::from_file_or_env(self.fingerprint_key.as_deref())?,
            hold_cap: HOLD_CAP,
            markers_written: true,
        })
    }

    /// The rules for an audit, which writes no marker: a marker a second
    /// run could match is no reason to refuse them.
    ///
    /// # Errors
    ///
    /// As [`RuleOptions::rule_set`], but for a marker's second run.
    pub fn audit_rule_set(&self) -> Result<RuleSet, Error> {
        let rules = self.rules()?;
        let options = Options { markers_written: false, ..self.options()? };
        Ok(RuleSet::with_options(rules, options)?)
    }
}
