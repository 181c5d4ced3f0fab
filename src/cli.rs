//! Command-line arguments, parsed into a plain struct, then validated into
//! a [`Config`] before any byte is read.

use std::{path::PathBuf, sync::Arc};

use clap::Parser;

use crate::{Error, RuleSet, filter::Input};

/// Redact PostHog secret keys (phx_, phs_, pha_, phr_) from logs and streams.
///
/// Reads the FILEs in order (standard input when none is given, or for
/// `-`), and writes them to standard output with every secret token
/// replaced by a marker such as `phx_[REDACTED]`. Every other byte passes
/// through unchanged.
#[derive(Debug, Parser)]
#[command(name = "phx-redact", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Files to redact, in order; `-` is standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Also redact public project keys (phc_), which are public by design.
    #[arg(long)]
    pub include_public: bool,

    /// Write a synthetic log of N lines holding fake keys, to try phx-redact
    /// on, and exit.
    #[arg(long, value_name = "N", conflicts_with = "files")]
    pub generate_sample: Option<usize>,

    /// Seed for --generate-sample: the same seed gives the same log.
    #[arg(long, default_value_t = 1, requires = "generate_sample")]
    pub seed: u64,

    /// For --generate-sample: one line in N holds a secret, and as many a
    /// look-alike (1: every other line a secret; 0: none).
    #[arg(long, value_name = "N", default_value_t = 10, requires = "generate_sample")]
    pub secret_every: usize,
}

const AFTER_HELP: &str = "\
A token is a secret prefix followed by at least 20 ASCII letters or digits,
then any further letters, digits or underscores:
    (phx|phs|pha|phr)_[A-Za-z0-9]{20}[A-Za-z0-9_]*

Exit status: 0 when every input was redacted, 2 when an input failed (the
others are still processed). A closed output (`| head`) ends quietly with 0.";

/// What to do, checked.
#[derive(Debug)]
pub enum Config {
    /// Redact these inputs to standard output.
    Filter {
        /// In order; each is its own stream.
        inputs: Vec<Input>,
        /// Compiled and checked.
        rules: Arc<RuleSet>,
    },
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

impl Args {
    /// Validates the arguments and compiles the rules.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when the rules are refused.
    pub fn into_config(self) -> Result<Config, Error> {
        if let Some(lines) = self.generate_sample {
            return Ok(Config::Sample { lines, seed: self.seed, one_in: self.secret_every });
        }
        let rules = Arc::new(RuleSet::new(crate::rules::default_rules(self.include_public))?);
        let inputs = if self.files.is_empty() {
            vec![Input::Stdin]
        } else {
            self.files.into_iter().map(Input::from_arg).collect()
        };
        Ok(Config::Filter { inputs, rules })
    }
}
