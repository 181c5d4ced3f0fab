//! Command-line arguments, parsed into a plain struct (then validated into
//! a [`Config`](super::Config) before any byte is read, in `config`).

use std::{path::PathBuf, sync::LazyLock, time::Duration};

use clap::Parser;

use crate::engine::rules::RULESET_VERSION;

/// Redact PostHog secret keys (phx_, phs_, pha_, phr_) from logs and streams.
///
/// Reads the FILEs in order (standard input when none is given, or for
/// `-`), and writes them to standard output with every secret token
/// replaced by a marker such as `phx_[REDACTED]`. Every other byte passes
/// through unchanged.
#[derive(Debug, Parser)]
#[command(name = "phx-redact", version = version(), after_help = AFTER_HELP)]
pub struct Args {
    /// Files to redact, in order; `-` is standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Walk folders named on the command line, in sorted order.
    #[arg(help_heading = "Input", short, long)]
    pub recursive: bool,

    /// Follow symbolic links found while walking folders.
    #[arg(help_heading = "Input", long)]
    pub follow_links: bool,

    /// Write a synthetic log of N lines holding fake keys, to try phx-redact
    /// on, and exit.
    #[arg(help_heading = "Input", long, value_name = "N", conflicts_with = "files")]
    pub generate_sample: Option<usize>,

    /// How the inputs are written: plain (bytes), cri (containerd's and
    /// CRI-O's records in /var/log/pods) or docker-json (Docker's json-file
    /// records). A line a runtime split into partial records is scanned
    /// whole, and each record written back with its own redacted piece. For
    /// the filter, the audit and --follow.
    #[arg(
        help_heading = "Input",
        long,
        value_name = "FORMAT",
        default_value = "plain",
        value_parser = ["plain", "cri", "docker-json"],
        conflicts_with_all = ["in_place", "diff"]
    )]
    pub input_format: String,

    /// Seed for --generate-sample: the same seed gives the same log.
    #[arg(help_heading = "Input", long, default_value_t = 1, requires = "generate_sample")]
    pub seed: u64,

    /// Also redact public project keys (phc_), which are public by design.
    #[arg(help_heading = "Rules and markers", long)]
    pub include_public: bool,

    /// Built-in rules to apply, comma-separated: phx, phs, pha, phr, phc,
    /// posthog-legacy, posthog-legacy-bearer, bearer-43, all, none
    /// [default: phx,phs,pha,phr,posthog-legacy,posthog-legacy-bearer].
    #[arg(
        help_heading = "Rules and markers",
        long = "rule",
        value_name = "NAMES",
        value_delimiter = ',',
        value_parser = Offered(&[
            "phx", "phs", "pha", "phr", "phc", "posthog-legacy", "posthog-legacy-bearer",
            "bearer-43", "all", "none",
        ]),
        hide_possible_values = true
    )]
    pub rules: Vec<String>,

    /// A self-hosted PostHog's host (posthog.example.net; repeatable): an
    /// `Authorization: Bearer` token of a legacy personal API key's shape
    /// on a line that names it is redacted, as on one that names
    /// posthog.com.
    #[arg(help_heading = "Rules and markers", long = "posthog-host", value_name = "HOST")]
    pub posthog_hosts: Vec<String>,

    /// Also redact matches of REGEX (`regex` crate syntax; repeatable). Its
    /// rule is named pattern-1, pattern-2, ...
    #[arg(help_heading = "Rules and markers", long = "pattern", value_name = "REGEX")]
    pub patterns: Vec<String>,

    /// Also apply the rules in FILE (TOML: `[[rule]]` tables with name, regex and an
    /// optional marker).
    #[arg(help_heading = "Rules and markers", long, value_name = "FILE")]
    pub rules_file: Option<PathBuf>,

    /// What a token is replaced with: a preset (default, posthog,
    /// fingerprint, same-length), a template with at least one of
    /// {prefix}, {rule}, {mask}, {last4}, {fingerprint}, {stars}, {len}, or
    /// a fixed text written `literal:TEXT`. Anything else (a preset's name
    /// mistyped) is refused.
    #[arg(
        help_heading = "Rules and markers",
        long,
        value_name = "TEMPLATE",
        default_value = "default",
        value_parser = Offered(&["default", "posthog", "fingerprint", "same-length"]),
        hide_possible_values = true
    )]
    pub marker: String,

    /// Key fingerprints with the key in FILE (else with the
    /// PHX_REDACT_FINGERPRINT_KEY environment variable, else unkeyed).
    #[arg(help_heading = "Rules and markers", long, value_name = "FILE")]
    pub fingerprint_key: Option<PathBuf>,

    /// Print the rules (name, regex, marker) and how many bytes they may
    /// hold back, and exit.
    #[arg(help_heading = "Rules and markers", long)]
    pub list_rules: bool,

    /// Audit: rewrite nothing, print where each token is (PATH:LINE:COLUMN:
    /// RULE: MASK) and the distinct keys to rotate. Exit status 0: none
    /// found, 1: found, 2: error.
    #[arg(help_heading = "Audit", long, conflicts_with_all = ["follow", "in_place", "output_dir", "stats"])]
    pub check: bool,

    /// With --check: JSON lines, one per finding, then one per key (as
    /// --format json).
    #[arg(help_heading = "Audit", long, requires = "check", conflicts_with = "format")]
    pub json: bool,

    /// With --check: what to print: text (PATH:LINE:COLUMN: RULE: MASK,
    /// then the keys to rotate), json (as --json) or sarif (a SARIF 2.1.0
    /// log for GitHub code scanning: at most 25,000 results and 10 MB
    /// gzipped; the exit status counts them all).
    #[arg(
        help_heading = "Audit",
        long,
        value_name = "FORMAT",
        requires = "check",
        value_parser = ["text", "json", "sarif"]
    )]
    pub format: Option<String>,

    /// With --check --format sarif: the folder the results' URIs are
    /// relative to (%SRCROOT%; the repository's root), rather than the
    /// current folder.
    #[arg(help_heading = "Audit", long, value_name = "DIR", requires = "format")]
    pub sarif_root: Option<PathBuf>,

    /// With --check: the input is a unified diff (`git diff --cached
    /// --text`); only the lines it adds are checked, each finding placed on
    /// the new side (NEW-PATH:LINE:COLUMN), so a commit that removes a key
    /// passes. A binary file whose bytes the diff does not show, a diff cut
    /// short or input that is not a diff: exit status 2.
    #[arg(help_heading = "Audit", long, requires = "check")]
    pub diff: bool,

    /// Print the tokens redacted by rule, the bytes and the time on standard
    /// error at the end.
    #[arg(help_heading = "Audit", long, conflicts_with_all = ["follow", "in_place", "output_dir"])]
    pub stats: bool,

    /// With --check or a scrub: also write the keys to rotate to FILE, as
    /// JSON lines (what --check --json prints for them: masks and
    /// fingerprints, never a key), atomically, mode 0600. A scrub writes it
    /// before it changes any file.
    #[arg(help_heading = "Audit", long, value_name = "FILE", conflicts_with_all = ["follow", "stats"])]
    pub keys_out: Option<PathBuf>,

    /// No progress bar and no summary (a scrub still ends with the keys to
    /// rotate, if it found any). With --check, nothing on standard output: the exit status is the verdict, errors still go to standard
    /// error (as `grep -q`).
    #[arg(help_heading = "Audit", short, long)]
    pub quiet: bool,

    /// `--verify`, `--revoke` and their options.
    #[command(flatten)]
    pub verify: super::verify_args::VerifyArgs,

    /// Rewrite each file that holds a secret, atomically; a compressed file
    /// stays compressed in its format. Files with nothing to redact are not
    /// touched. Owner, mode (setuid/setgid too), extended attributes, ACLs
    /// and times are kept. Refused, and left as they are (exit status 2): a
    /// file with other names (hard links: find them with `find MOUNT -xdev
    /// -samefile FILE`), a file a process holds open for writing (a live
    /// log), a FIFO or device.
    #[arg(help_heading = "Batch", long, conflicts_with = "output_dir")]
    pub in_place: bool,

    /// Write the scrubbed files to a mirror of the input tree under DIR,
    /// leaving the originals as they are. DIR may not be in an input folder,
    /// and no two inputs may map to one path: checked before any write.
    #[arg(help_heading = "Batch", long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Files scrubbed (or checked) at once with --in-place, --output-dir or
    /// --check; when filtering (or checking one file), threads that read
    /// and scan a big file's parts at once [default: the number of cores].
    #[arg(help_heading = "Batch", short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// gzip level for rewritten .gz files (0-9).
    #[arg(help_heading = "Batch", long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub gzip_level: u32,

    /// zstd level for rewritten .zst files (1-19).
    #[arg(help_heading = "Batch", long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub zstd_level: i32,

    /// Follow the FILEs like `tail -F`: through rotation, until SIGTERM or
    /// SIGINT, writing whole redacted lines. The FILEs are the paths named
    /// at start: a shell glob (`app-*.log`) is expanded once, and a file
    /// made later that it would match is not followed (restart the
    /// follower, or follow a fixed name that rotation reuses). With
    /// --recursive DIR --output-dir OUT: follow every file below DIR whose
    /// name matches --include (files made later too, read from their
    /// start), each appended, redacted, to OUT at the same path.
    #[arg(help_heading = "Follow", short, long, conflicts_with_all = ["in_place"])]
    pub follow: bool,

    /// With --follow --recursive: follow the files whose names match
    /// GLOB (`*` and `?`; repeatable) [default: *.log]. Kubelet's rotated
    /// names (0.log.20260101-000000, .gz) must not match: they are the
    /// same stream, read through the rotation.
    #[arg(help_heading = "Follow", long, value_name = "GLOB", requires = "recursive")]
    pub include: Vec<String>,

    /// With --follow --recursive: follow at most N files at once; the
    /// others wait, said once, and are read from their start once others
    /// are finished [default: 512].
    #[arg(help_heading = "Follow", long, value_name = "N", requires = "recursive", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_files: Option<u32>,

    /// With --follow: write each finding, as a JSON line the shape of
    /// `--check --json`'s (the followed path redacted, line and column
    /// counted from where this run began reading the file), to FILE, or
    /// to standard error for `-`: a sidecar can alert on a key while it
    /// redacts. The FILE is appended to.
    #[arg(help_heading = "Follow", long, value_name = "FILE", requires = "follow")]
    pub findings: Option<PathBuf>,

    /// With --follow: read what the files already hold first, instead of
    /// starting at their end.
    #[arg(help_heading = "Follow", long, requires = "follow")]
    pub from_start: bool,

    /// With --follow: keep the position in each file in FILE, and resume
    /// from it on the next start, so that no line is lost or repeated.
    /// Saved atomically after each batch written (at most 1 MiB per file):
    /// after a SIGKILL, the next start loses nothing and repeats at most
    /// that batch. Each path is matched by its hash, and shown redacted
    /// for a person reading the file: a key in a path never appears. A
    /// file is known by its inode and its first KiB, so a file made again
    /// with an old inode is read from its start. A state file that cannot
    /// be used (empty, cut short, not a state) is reported, renamed to
    /// FILE.corrupt-SECONDS, and each file is followed as on a first start:
    /// from its end (its start with --from-start). A state file is one
    /// follower's: FILE.lock beside it is locked while it runs, and a
    /// second follower given the same FILE exits 2 at once.
    #[arg(help_heading = "Follow", long, value_name = "FILE", requires = "follow")]
    pub state: Option<PathBuf>,

    /// With --follow: after a rotation, keep the old file open and read
    /// what its writer still puts in it until it has been quiet for
    /// SECONDS, then close it [default: 5].
    #[arg(help_heading = "Follow", long, value_name = "SECONDS", requires = "follow", value_parser = parse_seconds)]
    pub rotate_wait: Option<Duration>,

    /// With --follow: never read a followed path that is a symbolic link
    /// or a hard link (a file with more than one name), at start or after
    /// a swap: it is said once on stderr and waited out until a regular
    /// file is back. For a sidecar that can read more than the application
    /// writing the logs. Only the path's last component is checked; its
    /// folders are trusted.
    #[arg(help_heading = "Follow", long, requires = "follow")]
    pub refuse_links: bool,

    /// Answer rsyslog's mmexternal module: one message per line on standard
    /// input, one reply per message on standard output (`{}`, or
    /// `{"msg":"..."}` redacted), flushed at once, until standard input
    /// ends. INPUT is the action's `interface.input`: `msg` (the default)
    /// or `fulljson` (needed for messages that hold newlines).
    #[arg(
        help_heading = "rsyslog",
        long,
        value_name = "INPUT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "msg",
        value_parser = Offered(&["msg", "fulljson"]),
        hide_possible_values = true,
        conflicts_with_all = ["check", "follow", "in_place", "output_dir", "list_rules", "generate_sample"]
    )]
    pub rsyslog: Option<String>,

    /// For --generate-sample: one line in N, on average, holds a key, half
    /// of them secrets and half look-alikes that are not redacted (1: every
    /// line; 0: none).
    #[arg(
        help_heading = "Input",
        long,
        value_name = "N",
        default_value_t = 10,
        requires = "generate_sample"
    )]
    pub secret_every: usize,
    /// Print the completion script for SHELL (bash, zsh, fish, elvish,
    /// powershell) and exit.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print the manual page (roff) and exit.
    #[arg(long, exclusive = true)]
    pub man: bool,
}

pub(crate) const AFTER_HELP: &str = "\
A token is a secret prefix followed by a run of ASCII letters, digits and
underscores with 20 letters or digits in a row starting in its first 21:
    (phx|phs|pha|phr)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*
Custom rules (--pattern, --rules-file) run in the same pass. A candidate
still undecided 64 KiB past its start (a rule such as BEGIN.*END) is cut
there and redacted.

Compressed files (gzip, zstd and pzstd, xz, bzip2, lz4; recognised by their
magic bytes) are decompressed to standard output, and stay compressed in
their format with --in-place or --output-dir. Other compressed or archive
formats (zip, 7z, rar, lzip, lzma, .Z, lzop, ...) are an error, never
scanned as text; a tar holding a secret is checked but not rewritten.
Standard input passes byte for byte; compressed data there cannot be
redacted, so it passes but the run fails (2). --check decompresses it.

Exit status: 0 when every input was redacted, 2 when an input failed (the
others are still processed). With --check: 0 when no token was found, 1
when one was, 2 on an error (which wins over a finding), even when the
reader goes away early (`--check | head -1`). A reader that goes away from
the redacted output (`| head`) ends it quietly with 0. A closed standard
output (`>&-`) is an error.";

/// What `--version` prints: the program's version and the version of the
/// built-in rule set, so that an audit can say which definition it applied.
fn version() -> &'static str {
    static VERSION: LazyLock<String> =
        LazyLock::new(|| format!("{} (rule set {})", env!("CARGO_PKG_VERSION"), RULESET_VERSION));
    VERSION.as_str()
}

/// A value parser that takes any text, and offers `.0` to shell
/// completions (a marker is also a template; a rule name is checked with
/// its own message, in `config`).
#[derive(Clone, Copy)]
struct Offered(&'static [&'static str]);

impl clap::builder::TypedValueParser for Offered {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().map(clap::builder::PossibleValue::new)))
    }
}

/// A number of seconds, such as `5` or `0.5`.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds (such as 5 or 0.5)"))
}
