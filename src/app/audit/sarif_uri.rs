//! Where a SARIF result is: the input's URI, relative to the folder the log
//! names `%SRCROOT%` (the current folder, or `--sarif-root`), with its
//! bytes percent-encoded as RFC 3986 says, after the message policy has
//! redacted any key in the name. A name that is not UTF-8 keeps its exact
//! bytes (`%FF`); a name outside the root is an absolute `file://` URI.

use std::{
    ffi::OsStr,
    os::unix::ffi::OsStrExt,
    path::{Component, Path, PathBuf},
};

use crate::app::policy::MessagePolicy;

/// The most results in one run: GitHub code scanning's limit.
pub const MAX_RESULTS: usize = 25_000;

/// The gzipped size of the head and results past which further results are
/// left out. The tail adds at most 100 short notifications, so the whole
/// log stays under GitHub's 10 MB, gzipped.
pub const MAX_GZIPPED: u64 = 8 * 1024 * 1024;

/// How to print SARIF (`--check --format sarif`).
#[derive(Clone, Debug)]
pub struct SarifOptions {
    /// The folder the URIs are relative to, absolute.
    pub root: PathBuf,
    /// The folder relative input names start from, absolute.
    pub cwd: PathBuf,
    /// The most results in the run ([`MAX_RESULTS`] but in tests).
    pub max_results: usize,
    /// The most bytes the head and results take, gzipped (8 MiB but in
    /// tests), so that the whole log stays under 10 MB gzipped.
    pub max_gzipped: u64,
    /// The inputs a walk passed over before the check, each with why:
    /// failures the invocation names too.
    pub passed_over: Vec<(PathBuf, String)>,
}

impl SarifOptions {
    /// URIs relative to `root` (relative to the current folder), or to the
    /// current folder itself.
    ///
    /// # Errors
    ///
    /// When the current folder cannot be known.
    pub fn new(root: Option<&Path>) -> std::io::Result<SarifOptions> {
        let cwd = std::env::current_dir()?;
        let root = normalize(&cwd.join(root.unwrap_or(Path::new("."))));
        // Only for the tests of the limits, which would otherwise need
        // 25,000 findings, or megabytes of them.
        let max_results = test_limit("PHX_REDACT_TEST_SARIF_MAX_RESULTS").unwrap_or(MAX_RESULTS);
        let max_gzipped = test_limit("PHX_REDACT_TEST_SARIF_MAX_GZIPPED").unwrap_or(MAX_GZIPPED);
        let passed_over = Vec::new();
        Ok(SarifOptions { root, cwd, max_results, max_gzipped, passed_over })
    }

    /// The URI of the input named `name` (its exact bytes).
    pub(crate) fn uri_of(&self, name: &[u8], policy: &MessagePolicy) -> Uri {
        if name == b"<stdin>" {
            return Uri { uri: "stdin".into(), relative: false };
        }
        let path = normalize(&self.cwd.join(Path::new(OsStr::from_bytes(name))));
        match path.strip_prefix(&self.root) {
            Ok(relative) => Uri {
                uri: percent_encode(&policy.redact(relative.as_os_str().as_bytes())),
                relative: true,
            },
            Err(_) => Uri { uri: file_uri(&path, policy), relative: false },
        }
    }

    /// The root's own URI, ending in `/`, for `originalUriBaseIds`.
    pub(crate) fn root_uri(&self, policy: &MessagePolicy) -> Uri {
        let mut uri = file_uri(&self.root, policy);
        if !uri.ends_with('/') {
            uri.push('/');
        }
        Uri { uri, relative: false }
    }
}

/// A limit set by the tests, in the environment variable `name`.
fn test_limit<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|n| n.parse().ok())
}

/// An input's URI, and whether it is relative to `%SRCROOT%`.
pub(crate) struct Uri {
    pub(crate) uri: String,
    pub(crate) relative: bool,
}

/// `path` (absolute) as a `file://` URI, redacted.
fn file_uri(path: &Path, policy: &MessagePolicy) -> String {
    format!("file://{}", percent_encode(&policy.redact(path.as_os_str().as_bytes())))
}

/// `path` without `.` and with each `..` taking off the component before
/// it, as written (the links it may go through are not followed).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `bytes` percent-encoded (RFC 3986): every byte but the unreserved
/// characters and `/`, the separator of the path's segments.
fn percent_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_all_but_unreserved_and_slashes() {
        assert_eq!(percent_encode(b"a b/%c\xff~.txt"), "a%20b/%25c%FF~.txt");
        assert_eq!(percent_encode("é#?".as_bytes()), "%C3%A9%23%3F");
    }

    #[test]
    fn normalizes_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
