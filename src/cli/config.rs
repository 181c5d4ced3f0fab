//! The configuration of a run: the arguments validated and the rules
//! compiled, before any byte is read.

use std::{path::PathBuf, sync::Arc};

use super::args::Args;
use super::checks::{check_followable, check_state_is_not_followed};
use crate::app::Error;
use crate::{
    RuleSet,
    app::RuleOptions,
    app::SarifOptions,
    app::filter::{STDIN_ARG, is_stdin},
    app::follow::{self, FollowOptions},
    app::formats::Levels,
    app::records::{InputFormat, Kind},
    app::rsyslog::Interface,
    app::scrub::Dest,
    app::scrub::batch::BatchOptions,
    app::scrub::walk::WalkOptions,
};

/// What to do, checked.
#[derive(Debug)]
pub enum Config {
    /// Redact these inputs to standard output, in order.
    Filter {
        /// As given: `-` is standard input, folders are walked with `-r`.
        paths: Vec<PathBuf>,
        /// How to walk folders.
        walk: WalkOptions,
        /// Compiled and checked.
        rules: Arc<RuleSet>,
        /// Threads that read and scan a big file's segments at once.
        threads: usize,
        /// Print counts and timing at the end.
        stats: bool,
        /// Bytes, or a runtime's records.
        format: InputFormat,
    },
    /// Audit inputs without rewriting them.
    Check {
        /// As given: `-` is standard input, folders are walked with `-r`.
        paths: Vec<PathBuf>,
        /// How to walk folders.
        walk: WalkOptions,
        /// Compiled and checked.
        rules: Arc<RuleSet>,
        /// JSON lines rather than text.
        json: bool,
        /// A SARIF log rather than text or JSON lines.
        sarif: Option<SarifOptions>,
        /// The inputs are unified diffs: only their added lines count.
        diff: bool,
        /// Inputs checked at once.
        threads: usize,
        /// Print nothing on standard output.
        quiet: bool,
        /// Where to write the keys to rotate, as JSON lines.
        keys_out: Option<PathBuf>,
        /// Bytes, or a runtime's records.
        format: InputFormat,
        /// `--verify` and `--revoke`, when given.
        plan: Option<super::verify_args::VerifyPlan>,
    },
    /// Print the rules and exit.
    ListRules {
        /// Compiled and checked.
        rules: Arc<RuleSet>,
    },
    /// Scrub files in place or into a mirror, in parallel.
    Batch {
        /// As given; folders are walked with `-r`.
        paths: Vec<PathBuf>,
        /// How to walk folders.
        walk: WalkOptions,
        /// Compiled and checked.
        rules: Arc<RuleSet>,
        /// Where the files go and how.
        options: BatchOptions,
        /// Where to write the keys to rotate, as JSON lines, before any
        /// file is written.
        keys_out: Option<PathBuf>,
    },
    /// Follow files through rotation.
    Follow {
        /// The files to follow.
        paths: Vec<PathBuf>,
        /// Compiled and checked.
        rules: Arc<RuleSet>,
        /// Where to start, where to keep positions.
        options: FollowOptions,
    },
    /// Answer rsyslog's `mmexternal`, message by message.
    Rsyslog {
        /// Compiled and checked.
        rules: Arc<RuleSet>,
        /// What each line is (`interface.input`).
        interface: Interface,
    },
    /// Print a shell's completion script and exit.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page and exit.
    Man,
    /// Write a sample log.
    Sample {
        /// How many lines.
        lines: usize,
        /// The generator's seed.
        seed: u64,
        /// One line in this many holds a secret.
        one_in: usize,
    },
}

impl Config {
    /// The rules of the run, if it applies any: what its messages are
    /// redacted with too (see `app::policy`).
    pub fn rules(&self) -> Option<&Arc<RuleSet>> {
        match self {
            Config::Filter { rules, .. }
            | Config::Check { rules, .. }
            | Config::ListRules { rules }
            | Config::Batch { rules, .. }
            | Config::Follow { rules, .. }
            | Config::Rsyslog { rules, .. } => Some(rules),
            Config::Sample { .. } | Config::Completions { .. } | Config::Man => None,
        }
    }
}

impl Args {
    /// The rules the arguments ask for, compiled.
    fn rule_set(&self) -> Result<RuleSet, Error> {
        let args = RuleOptions {
            names: self.rules.clone(),
            include_public: self.include_public,
            posthog_hosts: self.posthog_hosts.clone(),
            patterns: self.patterns.clone(),
            rules_file: self.rules_file.clone(),
            marker: self.marker.clone(),
            fingerprint_key: self.fingerprint_key.clone(),
        };
        // An audit writes no marker (--check alone: with --in-place or
        // --output-dir the arguments are refused further on).
        if self.check && !self.list_rules && !self.in_place && self.output_dir.is_none() {
            let rules = args.audit_rule_set()?;
            // --verify and --revoke need the keys themselves.
            return Ok(match self.verify.wanted() {
                true => rules.capture_tokens(crate::app::verify::VERIFIABLE),
                false => rules,
            });
        }
        args.rule_set()
    }

    /// Validates the arguments and compiles the rules.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when the rules are refused, [`Error::Usage`] when the
    /// arguments do not go together.
    pub fn into_config(self) -> Result<Config, Error> {
        if let Some(shell) = self.completions {
            return Ok(Config::Completions { shell });
        }
        if self.man {
            return Ok(Config::Man);
        }
        self.refuse_flags_of_other_modes()?;
        if let Some(lines) = self.generate_sample {
            return Ok(Config::Sample { lines, seed: self.seed, one_in: self.secret_every });
        }
        let rules = Arc::new(self.rule_set()?);
        if self.list_rules {
            return Ok(Config::ListRules { rules });
        }
        self.check_side_files()?;
        if let Some(input) = &self.rsyslog {
            return Ok(Config::Rsyslog { rules, interface: Interface::from_arg(input)? });
        }
        if self.follow {
            return self.follow_config(rules);
        }
        let threads = self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        );
        if self.in_place || self.output_dir.is_some() {
            return self.batch_config(rules, threads);
        }
        self.stream_config(rules, threads)
    }

    /// `--input-format`, as given (clap offers only these).
    /// `--format sarif`: where the URIs start. Not with `--diff`, whose
    /// findings are on the new side of a diff, not in a file.
    fn sarif_options(&self) -> Result<Option<SarifOptions>, Error> {
        if self.format.as_deref() != Some("sarif") {
            return match self.sarif_root {
                Some(_) => Err(Error::Usage("--sarif-root goes with --format sarif".into())),
                None => Ok(None),
            };
        }
        if self.diff {
            return Err(Error::Usage("--format sarif does not go with --diff".into()));
        }
        SarifOptions::new(self.sarif_root.as_deref())
            .map(Some)
            .map_err(|e| Error::Usage(format!("--format sarif: the current folder: {e}")))
    }

    fn format(&self) -> InputFormat {
        match self.input_format.as_str() {
            "cri" => InputFormat::Records(Kind::Cri),
            "docker-json" => InputFormat::Records(Kind::DockerJson),
            _ => InputFormat::Plain,
        }
    }

    /// `--follow`: the files, checked followable, and the state file.
    fn follow_config(self, rules: Arc<RuleSet>) -> Result<Config, Error> {
        if self.files.is_empty() || self.files.iter().any(|f| is_stdin(f)) {
            return Err(Error::Usage("--follow needs the files to follow (not -)".into()));
        }
        let folder = self.folder_follow()?;
        if folder.is_none() {
            check_followable(&self.files)?;
        }
        if let Some(state) = &self.state {
            follow::check_state_folder(state)?;
            check_state_is_not_followed(state, &self.files)?;
        }
        let format = self.format();
        let options = FollowOptions {
            from_start: self.from_start,
            state: self.state,
            rotate_wait: self.rotate_wait.unwrap_or(follow::ROTATE_WAIT),
            refuse_links: self.refuse_links,
            findings: self.findings,
            format,
            folder,
        };
        Ok(Config::Follow { paths: self.files, rules, options })
    }

    /// The filter or `--check`: inputs read in order, standard input when
    /// none is named.
    fn stream_config(self, rules: Arc<RuleSet>, threads: usize) -> Result<Config, Error> {
        let walk = WalkOptions { recursive: self.recursive, follow_links: self.follow_links };
        let format = self.format();
        let sarif = if self.check { self.sarif_options()? } else { None };
        let paths = if self.files.is_empty() { vec![PathBuf::from(STDIN_ARG)] } else { self.files };
        if self.check {
            let plan = verify_plan(&self.verify, &self.posthog_hosts)?;
            let json = self.json || self.format.as_deref() == Some("json");
            let (quiet, diff, keys_out) = (self.quiet, self.diff, self.keys_out);
            return Ok(Config::Check {
                paths,
                walk,
                rules,
                json,
                sarif,
                diff,
                threads,
                quiet,
                keys_out,
                format,
                plan,
            });
        }
        if self.keys_out.is_some() {
            return Err(Error::Usage(
                "--keys-out goes with --check, --in-place or --output-dir".into(),
            ));
        }
        Ok(Config::Filter { paths, walk, rules, stats: self.stats, threads, format })
    }

    /// `--in-place` or `--output-dir`: files or folders, never standard
    /// input.
    fn batch_config(self, rules: Arc<RuleSet>, threads: usize) -> Result<Config, Error> {
        let walk = WalkOptions { recursive: self.recursive, follow_links: self.follow_links };
        let dest = match self.output_dir {
            Some(root) if !self.in_place => Dest::Mirror { root },
            _ => Dest::InPlace,
        };
        if self.input_format != "plain" {
            return Err(Error::Usage(format!(
                "--input-format {} does not apply to {} (a scrub reads files as they are); \
                 with --follow --recursive, --output-dir mirrors records redacted",
                self.input_format,
                if self.in_place { "--in-place" } else { "--output-dir" }
            )));
        }
        if self.files.is_empty() {
            return Err(Error::Usage(
                "--in-place and --output-dir need files or folders to scrub".into(),
            ));
        }
        if self.files.iter().any(|f| is_stdin(f)) {
            return Err(Error::Usage(
                "standard input (-) cannot be scrubbed in place or mirrored".into(),
            ));
        }
        let levels = Levels { gzip: self.gzip_level, zstd: self.zstd_level, ..Levels::default() };
        let options = BatchOptions { dest, threads, progress: !self.quiet, levels };
        Ok(Config::Batch { paths: self.files, walk, rules, options, keys_out: self.keys_out })
    }
}

/// What `--verify` and `--revoke` ask for. A bearer token counted
/// for a line that names a self-hosted host (`--posthog-host`) is that
/// instance's key: PostHog Cloud, their default, must not receive it,
/// so with such a host they ask for the instance's `--posthog-url`.
fn verify_plan(
    verify: &super::verify_args::VerifyArgs,
    posthog_hosts: &[String],
) -> Result<Option<super::verify_args::VerifyPlan>, Error> {
    let plan = verify.plan()?;
    if plan.is_some() && !posthog_hosts.is_empty() && verify.posthog_urls.is_empty() {
        return Err(Error::Usage(
            "--posthog-host names a self-hosted PostHog, whose keys --verify and \
             --revoke would send to PostHog Cloud: name the instance with --posthog-url \
             (add https://us.posthog.com and https://eu.posthog.com to ask the cloud too)"
                .into(),
        ));
    }
    Ok(plan)
}
