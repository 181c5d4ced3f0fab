//! The checks that refuse arguments before any byte is read: a flag of
//! another mode, a side file (`--state`, `--keys-out`, `--findings`) that
//! is an input or a device, a path `--follow` cannot follow.

use std::path::{Path, PathBuf};

use super::args::Args;
use crate::app::Error;
use crate::app::follow::{FolderOptions, MAX_FILES};
use crate::{app::filter::is_stdin, app::inputs::FileId};

impl Args {
    /// Refuses a `--keys-out` or `--findings` file that would be written
    /// over something else: a device, a FIFO or a link (a keys file is
    /// renamed into place, so `--keys-out /dev/null` would replace the
    /// device; a findings FIFO with no reader would block the follower), an
    /// input or the output, another file the run reads or writes (the state,
    /// the fingerprint key, the rules file, the other side file), or a path
    /// inside the mirror, which the scrub would then write over.
    pub(super) fn check_side_files(&self) -> Result<(), Error> {
        let id = FileId::of_path;
        let findings = self.findings.as_deref().filter(|p| !is_stdin(p));
        let named: [(&str, Option<&Path>); 5] = [
            ("--state", self.state.as_deref()),
            ("--fingerprint-key", self.fingerprint_key.as_deref()),
            ("--rules-file", self.rules_file.as_deref()),
            ("--keys-out", self.keys_out.as_deref()),
            ("--findings", findings),
        ];
        for (flag, path) in [("--keys-out", self.keys_out.as_deref()), ("--findings", findings)] {
            let Some(path) = path else { continue };
            let refuse = |what: String| {
                Err(Error::Usage(format!(
                    "{flag} {}: {what}; give it a file of its own",
                    path.display()
                )))
            };
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                if meta.file_type().is_symlink() {
                    return refuse("is a symbolic link, not a regular file".into());
                }
                if !meta.file_type().is_file() {
                    let kind = crate::app::scrub::kind_name(meta.file_type());
                    return refuse(format!("is a {kind}, not a regular file"));
                }
            }
            if let Some(this) = id(path) {
                let others = named.iter().filter(|(f, _)| *f != flag);
                if let Some((other, _)) = others.clone().find(|(_, p)| p.and_then(id) == Some(this))
                {
                    return refuse(format!("is the {other} file too"));
                }
                if self.files.iter().any(|f| id(f) == Some(this)) {
                    return refuse("is one of the inputs".into());
                }
                if FileId::of_stdout() == Some(this) {
                    return refuse("is the standard output too".into());
                }
            }
            if let Some(root) = &self.output_dir {
                let inside = std::path::absolute(path)
                    .ok()
                    .zip(std::path::absolute(root).ok())
                    .is_some_and(|(path, root)| path.starts_with(root));
                if inside {
                    return refuse("is inside --output-dir, which the scrub writes".into());
                }
            }
        }
        Ok(())
    }
}

/// The flags that choose what to rules to apply, which every mode but
/// `--generate-sample` takes.
const RULE_FLAGS: [&str; 7] = [
    "--rule",
    "--include-public",
    "--posthog-host",
    "--pattern",
    "--rules-file",
    "--marker",
    "--fingerprint-key",
];

impl Args {
    /// The run's mode, and the flags it takes besides the rule flags.
    fn mode(&self) -> (&'static str, &'static [&'static str]) {
        const INPUTS: [&str; 4] = ["FILE", "--recursive", "--follow-links", "--threads"];
        match () {
            () if self.generate_sample.is_some() => {
                ("--generate-sample", &["--seed", "--secret-every"])
            }
            () if self.list_rules => ("--list-rules", &[]),
            () if self.rsyslog.is_some() => ("--rsyslog", &[]),
            () if self.follow => (
                "--follow",
                &[
                    "FILE",
                    "--from-start",
                    "--state",
                    "--rotate-wait",
                    "--refuse-links",
                    "--findings",
                    "--recursive",
                    "--output-dir",
                    "--include",
                    "--max-files",
                ],
            ),
            () if self.in_place || self.output_dir.is_some() => (
                if self.in_place { "--in-place" } else { "--output-dir" },
                &[
                    "FILE",
                    "--recursive",
                    "--follow-links",
                    "--threads",
                    "--quiet",
                    "--gzip-level",
                    "--zstd-level",
                    "--in-place",
                    "--output-dir",
                    "--keys-out",
                ],
            ),
            () if self.check && self.diff => ("--check --diff", &["FILE", "--json", "--quiet"]),
            () if self.check => (
                "--check",
                &[INPUTS[0], INPUTS[1], INPUTS[2], INPUTS[3], "--json", "--quiet", "--keys-out"],
            ),
            () => (
                "redacting to standard output",
                &[INPUTS[0], INPUTS[1], INPUTS[2], INPUTS[3], "--stats"],
            ),
        }
    }

    /// Each flag, and whether it was given (a value other than its default).
    fn given(&self) -> [(&'static str, bool); 26] {
        [
            ("FILE", !self.files.is_empty()),
            ("--recursive", self.recursive),
            ("--follow-links", self.follow_links),
            ("--seed", self.seed != 1),
            ("--secret-every", self.secret_every != 10),
            ("--rule", !self.rules.is_empty()),
            ("--include-public", self.include_public),
            ("--posthog-host", !self.posthog_hosts.is_empty()),
            ("--pattern", !self.patterns.is_empty()),
            ("--rules-file", self.rules_file.is_some()),
            ("--marker", self.marker != "default"),
            ("--fingerprint-key", self.fingerprint_key.is_some()),
            ("--json", self.json),
            ("--stats", self.stats),
            ("--quiet", self.quiet),
            ("--threads", self.threads.is_some()),
            ("--gzip-level", self.gzip_level != 6),
            ("--zstd-level", self.zstd_level != 3),
            ("--from-start", self.from_start),
            ("--state", self.state.is_some()),
            ("--rotate-wait", self.rotate_wait.is_some()),
            ("--refuse-links", self.refuse_links),
            ("--findings", self.findings.is_some()),
            ("--include", !self.include.is_empty()),
            ("--max-files", self.max_files.is_some()),
            ("--keys-out", self.keys_out.is_some()),
        ]
    }

    /// Refuses a flag the run's mode would not use: never ignored.
    pub(super) fn refuse_flags_of_other_modes(&self) -> Result<(), Error> {
        let (mode, takes) = self.mode();
        let rules = self.generate_sample.is_none();
        let unused = self.given().into_iter().find(|&(flag, given)| {
            given && !takes.contains(&flag) && !(rules && RULE_FLAGS.contains(&flag))
        });
        let Some((flag, _)) = unused else { return Ok(()) };
        let hint = match (mode, flag) {
            ("--follow", "--json") => "; --findings FILE (or -) writes each finding as JSON",
            ("--follow", "--quiet") => "; a follower prints nothing but its output and notices",
            _ => "",
        };
        let flag = if flag == "FILE" { "a FILE" } else { flag };
        Err(Error::Usage(format!("{flag} does not apply to {mode}, which would ignore it{hint}")))
    }
}

/// Refuses, before anything is read, a path `--follow` cannot follow.
pub(super) fn check_followable(files: &[PathBuf]) -> Result<(), Error> {
    // A folder opens, and reads as nothing, for ever: say so now.
    if let Some(folder) = files.iter().find(|f| f.is_dir()) {
        return Err(Error::Usage(format!(
            "--follow {}: is a folder; name the files in it to follow (e.g. {}/*.log)",
            folder.display(),
            folder.display()
        )));
    }
    // A FIFO, a socket or a device does not grow as a log does: its
    // bytes are gone once read (nothing to resume, nothing to tell a
    // rotation by), and opening a FIFO waits for a writer.
    let special = files.iter().find_map(|f| {
        let kind = std::fs::metadata(f).ok()?.file_type();
        (!kind.is_file()).then(|| (f, crate::app::scrub::kind_name(kind)))
    });
    if let Some(path) = files.iter().find(|f| is_pseudo_file(f)) {
        return Err(Error::Usage(format!(
            "--follow {}: is a kernel pseudo-file (/proc, /sys), whose size says nothing of \
             what it holds: it cannot be followed. Pipe it into phx-redact instead \
             (phx-redact < {})",
            path.display(),
            path.display()
        )));
    }
    if let Some((path, kind)) = special {
        return Err(Error::Usage(format!(
            "--follow {}: is a {kind}, not a log file; follow reads files that grow. \
             Pipe it into phx-redact instead (phx-redact < {})",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Refuses a `--state` file that is a followed file or the output: each
/// save would replace the log (after setting it aside as a state file that
/// cannot be read), and the follower would then follow its own saves, or
/// read back its own output, without end.
pub(super) fn check_state_is_not_followed(
    state: &std::path::Path,
    files: &[PathBuf],
) -> Result<(), Error> {
    let Some(state_id) = FileId::of_path(state) else { return Ok(()) };
    let clash = files
        .iter()
        .find(|f| FileId::of_path(f) == Some(state_id))
        .cloned()
        .or_else(|| (FileId::of_stdout() == Some(state_id)).then(|| PathBuf::from("<stdout>")));
    match clash {
        Some(clash) => Err(Error::Usage(format!(
            "--state {}: it is {} itself; give the state a file of its own",
            state.display(),
            clash.display()
        ))),
        None => Ok(()),
    }
}

/// Whether `path` is on procfs, sysfs, debugfs or tracefs, whose files say
/// size 0 however much they hold: a follower would take each read for a
/// truncation and read it again without end.
fn is_pseudo_file(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    const PSEUDO: [i64; 4] = [0x9fa0, 0x6265_6572, 0x6462_6720, 0x7472_6163];
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    let mut fs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated path and `fs` a buffer statfs
    // fills; it is read only when the call succeeds.
    if unsafe { libc::statfs(c_path.as_ptr(), fs.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: statfs succeeded, so `fs` is filled.
    let kind = unsafe { fs.assume_init() }.f_type;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    PSEUDO.contains(&(kind as i64))
}

impl Args {
    /// `--follow --recursive DIR --output-dir OUT`: one folder, followed
    /// into a mirror that is neither in it nor around it, a state and
    /// findings outside both. `None` when following files.
    pub(super) fn folder_follow(&self) -> Result<Option<FolderOptions>, Error> {
        let (root, out) = match (self.recursive, &self.output_dir, self.files.as_slice()) {
            (false, None, _) => return Ok(None),
            (true, Some(out), [root]) if root.is_dir() => (root, out),
            (true, Some(_), [root]) => {
                return Err(Error::Usage(format!(
                    "--follow --recursive {}: not a folder; name the one folder to follow \
                     (e.g. /var/log/pods)",
                    root.display()
                )));
            }
            _ => {
                return Err(Error::Usage(
                    "--follow over a folder takes --recursive, --output-dir OUT and one folder \
                     (--follow --recursive --output-dir OUT DIR)"
                        .into(),
                ));
            }
        };
        let abs = resolved;
        let (root_abs, out_abs) = (abs(root).map_err(Error::Read)?, abs(out).map_err(Error::Read)?);
        if out_abs.starts_with(&root_abs) || root_abs.starts_with(&out_abs) {
            return Err(Error::Usage(format!(
                "--output-dir {}: is in {} or holds it; the mirror must be apart from the \
                 followed folder (it would follow its own copies)",
                out.display(),
                root.display()
            )));
        }
        let side = [("--state", self.state.as_deref()), ("--findings", self.findings.as_deref())];
        for (flag, path) in side {
            let Some(path) = path.filter(|p| !is_stdin(p)) else { continue };
            let parent =
                abs(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
            if parent.is_ok_and(|p| p.starts_with(&root_abs) || p.starts_with(&out_abs)) {
                return Err(Error::Usage(format!(
                    "{flag} {}: is in the followed folder or the mirror; give it a place of \
                     its own",
                    path.display()
                )));
            }
        }
        Ok(Some(FolderOptions {
            output_dir: out.clone(),
            include: self.include.clone(),
            max_files: self.max_files.map_or(MAX_FILES, |n| n as usize),
        }))
    }
}

/// `path` absolute, with the links in its longest existing part resolved:
/// an output folder not made yet, in a folder that is a link into the
/// followed one, is still seen to be in it.
fn resolved(path: &Path) -> std::io::Result<PathBuf> {
    let abs = std::path::absolute(path)?;
    let (mut base, mut rest) = (abs.as_path(), Vec::new());
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            return Ok(rest.iter().rev().fold(real, |p, name| p.join(name)));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => return Ok(abs),
        }
    }
}
