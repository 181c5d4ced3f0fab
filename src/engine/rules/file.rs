//! Custom rules read from a TOML file.

#[cfg(feature = "rules-file")]
use super::rule::Rule;
#[cfg(feature = "rules-file")]
use crate::{engine::small_file::read_small_file, error::Error};

#[cfg(feature = "rules-file")]
/// The largest rules file read: far more than any set of rules that
/// compiles within the limits.
pub const RULES_FILE_LIMIT: u64 = 1024 * 1024;

#[cfg(feature = "rules-file")]
/// A rules file: `[[rule]]` tables with `name`, `regex` and an optional
/// `marker`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<FileRule>,
}

#[cfg(feature = "rules-file")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    name: String,
    regex: String,
    marker: Option<String>,
}

#[cfg(feature = "rules-file")]
/// Reads custom rules from a TOML file:
///
/// ```toml
/// [[rule]]
/// name = "github"
/// regex = "gh[pousr]_[A-Za-z0-9]{36}"
/// marker = "{prefix}[REDACTED:{fingerprint}]"   # optional
/// ```
///
/// # Errors
///
/// [`Error::Rule`] when the file cannot be read, is not a regular file, is
/// larger than [`RULES_FILE_LIMIT`], is not such TOML, or holds no rule.
pub fn load_rules_file(path: &std::path::Path) -> Result<Vec<Rule>, Error> {
    let text = read_small_file(path, RULES_FILE_LIMIT)
        .and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
        })
        .map_err(|e| Error::Rule(format!("cannot read {}: {e}", path.display())))?;
    let file: RulesFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(0, |span| text[..span.start].matches('\n').count() + 1);
        Error::Rule(format!("{}:{line}: {}", path.display(), e.message()))
    })?;
    if file.rule.is_empty() {
        return Err(Error::Rule(format!("{}: no [[rule]] in it", path.display())));
    }
    Ok(file
        .rule
        .into_iter()
        .map(|r| Rule { marker: r.marker, ..Rule::custom(r.name, r.regex) })
        .collect())
}
