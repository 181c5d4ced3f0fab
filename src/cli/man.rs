//! The manual page: clap's sections, then NOTES, EXIT STATUS and EXAMPLES
//! written here (in roff, with nothing left for troff to warn about).

use clap::CommandFactory;

use super::{Args, args::AFTER_HELP};

/// Examples, as (what it does, the command).
const EXAMPLES: [(&str, &str); 7] = [
    ("Redact a log to standard output:", "phx-redact app.log > app.redacted.log"),
    ("Redact a stream:", "kubectl logs -f pod/api | phx-redact"),
    ("Audit a tree; exit status 1 when a key is found:", "phx-redact --check -r /var/log/app"),
    (
        "Check only what a commit adds (a pre-commit hook):",
        "git diff --cached --text | phx-redact --check --diff",
    ),
    ("Scrub a tree in place after a leak:", "phx-redact --in-place -r /var/log/app"),
    (
        "Follow a log as a sidecar, keeping its place and writing findings to stderr:",
        "phx-redact --follow --state /var/lib/phx/state --findings - /var/log/app.log",
    ),
    (
        "Show PostHog's mask of each key instead of a fixed marker:",
        "phx-redact --marker posthog app.log",
    ),
];

/// The whole page, in roff.
///
/// # Errors
///
/// Never in practice: it is written into memory.
pub fn page() -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(Args::command().after_help(None::<&str>));
    let mut page = Vec::new();
    // The page's footer holds the version, which there is the crate's
    // alone: the rule set's version, long enough to push the footer off
    // the line, is in the VERSION section.
    let title = clap_mangen::Man::new(Args::command().version(env!("CARGO_PKG_VERSION")));
    title.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let (notes, exit) = AFTER_HELP.split_once("\n\nExit status: ").unwrap_or((AFTER_HELP, ""));
    page.extend_from_slice(b".SH NOTES\n");
    for paragraph in notes.split("\n\n") {
        page.extend_from_slice(b".PP\n");
        for line in paragraph.lines() {
            // An indented line (the token's regex) is shown as it is:
            // no fill, so that troff has no long word to adjust.
            match line.strip_prefix("    ") {
                Some(code) => page.extend_from_slice(
                    format!(".nf\n.RS 4\n{}\n.RE\n.fi\n", escape(code)).as_bytes(),
                ),
                None => page.extend_from_slice(format!("{}\n", escape(line)).as_bytes()),
            }
        }
    }
    page.extend_from_slice(b".SH \"EXIT STATUS\"\n.PP\n");
    page.extend_from_slice(format!("{}\n", escape(&exit.replace('\n', " "))).as_bytes());
    page.extend_from_slice(b".SH EXAMPLES\n");
    for (what, command) in EXAMPLES {
        let block =
            format!(".PP\n{}\n.PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n", escape(what), escape(command));
        page.extend_from_slice(block.as_bytes());
    }
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// `text` as roff text: backslashes and dashes escaped, and a line that
/// would start with a control character (`.` or `'`) guarded.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.starts_with(['.', '\'']) {
        true => format!("\\&{text}"),
        false => text,
    }
}
