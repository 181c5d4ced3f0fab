//! [`DiffCheck`]: the check of diffs, one input after another, as the
//! command line drives it. It hands each diff to the
//! [`Parser`](super::parser::Parser), prints the findings the parser
//! reports, placed on the new side, as `--check` prints them, tallies their
//! keys, and ends with the list of keys.

use std::{
    io::{self, BufRead, Write},
    sync::Arc,
};

use crate::app::Error;
use crate::{
    Finding, Redactor, RuleSet,
    app::audit::check::Outcome,
    app::audit::diff::parser::Parser,
    app::audit::diff::scan::{FileScan, Report},
    app::audit::json,
    app::audit::keys::{Found, Keys, write_keys},
    app::audit::printer::{Names, write_finding},
    app::policy::{MessagePolicy, PrintedName},
};

/// Checks unified diffs, one input after another, writing each finding of
/// an added line to `out` as `--check` does, then the list of keys.
pub struct DiffCheck<'a, W: Write + ?Sized> {
    names_of: Names<'a>,
    out: &'a mut W,
    output_error: Option<io::Error>,
    keys: Keys,
    /// The names of the files with findings, by the index [`Keys`] keeps.
    names: Vec<PrintedName>,
    failures: usize,
}

impl<'a, W: Write + ?Sized> DiffCheck<'a, W> {
    /// A check under `rules` that prints through `policy` (its rules'
    /// names as `rule_names`, see [`rule_names`](crate::app::audit::printer::rule_names)).
    pub fn new(
        rules: &'a Arc<RuleSet>,
        policy: &'a MessagePolicy,
        rule_names: &'a [String],
        json: bool,
        out: &'a mut W,
    ) -> Self {
        let names_of = Names {
            rules,
            policy,
            rule_names,
            json,
            sarif: None,
            verdict_only: false,
            print_findings: true,
            format: crate::app::records::InputFormat::Plain,
        };
        DiffCheck {
            names_of,
            out,
            output_error: None,
            keys: Keys::default(),
            names: Vec::new(),
            failures: 0,
        }
    }

    /// Checks the diff `reader` gives, named `input` in messages. An error
    /// (unreadable, not a diff, a binary file) is passed to `on_error` with
    /// the input's printed name, after the findings before it.
    pub fn check(
        &mut self,
        input: &[u8],
        reader: impl BufRead,
        mut on_error: impl FnMut(&str, &Error),
    ) {
        let mut parser = Parser::default();
        let result = parser.run(reader, self);
        let result = result.and_then(|()| parser.end(self));
        for error in parser.refusals.into_iter().map(Error::Diff).chain(result.err()) {
            self.fail(input, &error, &mut on_error);
        }
    }

    /// Counts a failure of `input` and reports it (a JSON line too, with
    /// `--json`) through `on_error`.
    pub fn fail(&mut self, input: &[u8], error: &Error, mut on_error: impl FnMut(&str, &Error)) {
        let name = self.names_of.policy.printed_name(input);
        self.failures += 1;
        if self.names_of.json {
            let policy = self.names_of.policy;
            self.write(|out| json::write_error(out, &name.json, error, policy));
        }
        self.write(|out| out.flush());
        on_error(&name.text, error);
    }

    /// Writes the list of keys and says what was found.
    pub fn finish(mut self) -> Outcome {
        let json = self.names_of.json;
        let keys = self.keys.list(self.names_of.rules, self.names_of.rule_names, &self.names, json);
        self.write(|out| write_keys(out, &keys, json));
        Outcome {
            keys,
            unrecorded: 0,
            failures: self.failures,
            malformed: 0,
            output_error: self.output_error.map(Error::Write),
            ..Outcome::default()
        }
    }

    /// Once a write fails, nothing more is written; the check goes on, as
    /// `--check` does, for its verdict.
    fn write(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.output_error.is_none() {
            self.output_error = write(self.out).err();
        }
    }

    /// The index of `name` among the names of files with findings: the
    /// last one's again when it is the same file (its name, then its
    /// content).
    fn name_index(&mut self, name: &PrintedName) -> usize {
        if self.names.last().is_none_or(|last| last.text != name.text) {
            self.names.push(name.clone());
        }
        self.names.len() - 1
    }

    /// Prints `finding` in the file `name` and counts its key.
    fn print(&mut self, name: &PrintedName, index: usize, finding: Finding) {
        let mut text = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = write_finding(&mut text, name, None, &finding, &self.names_of);
        self.write(|out| out.write_all(&text).and_then(|()| out.flush()));
        let (hash, rule, mask) = (finding.fingerprint, finding.rule, finding.mask);
        let found = Found { hash, rule, mask, secret: None };
        self.keys.add(&[found], index);
    }
}

impl<W: Write + ?Sized> Report for DiffCheck<'_, W> {
    fn rules(&self) -> &Arc<RuleSet> {
        self.names_of.rules
    }

    fn printed_name(&self, name: &[u8]) -> PrintedName {
        self.names_of.policy.printed_name(name)
    }

    fn report(&mut self, file: &mut FileScan) {
        for mut finding in file.redactor.take_findings() {
            file.place(&mut finding);
            let index = *file.index.get_or_insert_with(|| self.name_index(&file.name));
            self.print(&file.name, index, finding);
        }
    }

    /// Its findings are placed at `name`, within it.
    fn report_name(&mut self, name: &[u8]) {
        let mut scan = Redactor::new(Arc::clone(self.names_of.rules)).record_findings();
        // A sink cannot fail to be written.
        let _ = scan.feed(name, &mut io::sink()).and_then(|()| scan.finish(&mut io::sink()));
        let printed = self.names_of.policy.printed_name(name);
        for mut finding in scan.take_findings() {
            finding.place = Some("name");
            let index = self.name_index(&printed);
            self.print(&printed, index, finding);
        }
    }
}
