//! The fast path: whole lines that are records of the exact shape their
//! runtime writes, of [idle](crate::app::records::stream) streams (nothing
//! held back, nothing of them cut), in which no key begins: the rules'
//! prefilter, run once over the raw lines (their prefixes and fields
//! included), sees no possible key start in them, or where it sees one in
//! a record's content, the rules' DFA run from there dies before the
//! content's end. No key can be in them: none begins in them, and none
//! runs into them (their stream holds nothing back). A full record's ends
//! its line, and no prefix holds a newline; a partial record's line goes
//! on in the stream's next record, so the DFA is also run from each of its
//! last bytes where a prefix may begin cut short (`ph` | `x_…`), and must
//! die within it too. They go out as they came, neither parsed further nor
//! fed to the redactor, whose stream state (offset, lines, look-behind
//! byte, what it keeps of the line for the bearer rule) moves on as a feed
//! of them would have moved it.
//!
//! A record after one of its stream that waits, a json-file `log` with an
//! escape (`\u0070` may hide a prefix) or of another layout, and any
//! record the DFA does not decide clean, go the other paths.

use super::{Joiner, MAX_LINE};
use crate::app::records::{cri, docker_json, kind::Kind};
use crate::engine::prefilter::Cursor;

impl Joiner {
    /// Takes the whole lines at `pos` in `lines` (the whole lines of a
    /// chunk fed, searched by the prefilter with `cursor`) that are such
    /// records, and returns the bytes taken (0: the first line is not
    /// one), which the caller writes as they are.
    pub(super) fn fast(&mut self, lines: &[u8], pos: usize, cursor: &mut Cursor) -> usize {
        if !self.fast {
            return 0;
        }
        let rest = &lines[pos..];
        let mut at = 0;
        let mut log = std::mem::take(&mut self.log);
        let mark = self.rules.line_name_mark();
        while let Some(Line { len, stream, text, partial, raw, may_name }) =
            line(self.kind, &rest[at..], &mut log, mark)
        {
            if len > MAX_LINE {
                break;
            }
            let i = self.stream_index(stream);
            if !self.streams[i].idle() {
                break;
            }
            // Where the prefilter sees a possible key start, the DFA
            // decides (most such places hold none).
            let Some(clean) = self.clean_len(lines, pos + at, cursor) else { break };
            let search = clean < len || !raw;
            let stream = &mut self.streams[i];
            if partial {
                // Its last bytes go on in the next record: always tried.
                if !stream.part_is_clean(text, search) {
                    break;
                }
                stream.skip_part(text, self.line_at, may_name);
            } else {
                if search && !stream.line_is_clean(text) {
                    break;
                }
                stream.skip(text.len() as u64 + 1);
            }
            at += len;
            self.line_no += 1;
            self.line_at += len as u64;
        }
        self.log = log;
        at
    }

    /// How many bytes of `lines` from `pos` (which is at `line_at`) hold
    /// no possible key start: the prefilter's first hit from there, kept
    /// (as a place in the input) for the calls after until it is passed.
    /// `None` when the rules let no line be taken unscanned.
    fn clean_len(&mut self, lines: &[u8], pos: usize, cursor: &mut Cursor) -> Option<usize> {
        if self.clean_until <= self.line_at {
            // json-file lines hold escaped text: see `Line::raw`.
            let escaped = self.kind == Kind::DockerJson;
            let hit = self.rules.clean_lines(lines, pos, cursor, escaped)?;
            self.clean_until = self.line_at + (hit - pos) as u64;
        }
        Some((self.clean_until - self.line_at).min((lines.len() - pos) as u64) as usize)
    }
}

/// A whole line that is a record of the exact shape its runtime writes.
struct Line<'a> {
    /// Its length, its newline included.
    len: usize,
    stream: &'a [u8],
    /// Its content, without the newline that ends it (a json-file `log`
    /// with its escapes decoded).
    text: &'a [u8],
    partial: bool,
    /// Whether the prefilter's search of the line's own bytes stands for
    /// one of `text`: it is those bytes, or they differ only by `\"`,
    /// `\\` and `\/` escapes undone (json-file lines are searched with
    /// `RuleSet::escaped_prefilter`, for that).
    raw: bool,
    /// Whether a name the rules look for on a line may begin in `text`
    /// (see `RuleSet::line_name_mark`): false only when it is sure none does.
    may_name: bool,
}

/// The whole line `input` starts with, if it is a record of the exact
/// shape `kind`'s runtime writes (a json-file `log`'s escapes decoded onto
/// `log`).
fn line<'a>(
    kind: Kind,
    input: &'a [u8],
    log: &'a mut Vec<u8>,
    mark: Option<u8>,
) -> Option<Line<'a>> {
    if kind == Kind::DockerJson {
        // Most lines: printable text, read in one pass.
        if let Some(record) = docker_json::plain_record(input, mark) {
            let (text, partial) = (&input[record.text], !record.full);
            let (len, stream, may_name) = (record.len, record.stream, record.marked);
            return Some(Line { len, stream, text, partial, raw: true, may_name });
        }
        // Then those with escapes, read in one pass too.
        if let Some((len, stream, full, raw)) = docker_json::escaped_record(input, log) {
            return Some(Line { len, stream, text: log, partial: !full, raw, may_name: true });
        }
    }
    let line = &input[..=memchr::memchr(b'\n', input)?];
    match kind {
        Kind::Cri => {
            let record = cri::parse(line)?;
            let (stream, text, partial) = (record.stream, record.content, record.partial);
            Some(Line { len: line.len(), stream, text, partial, raw: true, may_name: true })
        }
        Kind::DockerJson => match docker_json::plain_line(line) {
            Some((stream, text, full)) => {
                let (text, partial) = (&line[text], !full);
                Some(Line { len: line.len(), stream, text, partial, raw: true, may_name: true })
            }
            None => {
                let (stream, full, raw) = docker_json::escaped_line(line, log)?;
                Some(Line {
                    len: line.len(),
                    stream,
                    text: log,
                    partial: !full,
                    raw,
                    may_name: true,
                })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Finding, RuleSet, Stats};

    const TIME: &str = "2024-05-06T07:08:09.123456789Z";

    /// A key's body, made at run time.
    fn body(n: usize) -> String {
        format!("{n}{}", "aB3dE".repeat(9))
    }

    /// Records whose contents hold keys a fast path must not skip: a
    /// prefix cut between two partial records, a key's body in the full
    /// record after them, a full record after a partial one (another
    /// stream's between), among clean full records of both streams; each
    /// as `(stream, content, partial)`.
    fn records() -> Vec<(&'static str, String, bool)> {
        let mut recs = Vec::new();
        for n in 0..40 {
            // Between a line's partial records, only the other stream's.
            let stream = if n % 3 == 0 || n % 2 == 0 { "stderr" } else { "stdout" };
            let clean = format!("clean {n} ph, phx, personal_api_key=abc but no key\n");
            recs.push((stream, clean, false));
            if n % 5 == 4 {
                // A key whole in a full record of an idle stream.
                recs.push(("stderr", format!("key phx_{}\n", body(n)), false));
                // Places the prefilter finds where no key begins, and then
                // a key: the DFA tries each, in that order.
                let hits = format!("personal_api_key=x phx_ Authorization: y pha_{}\n", body(n));
                recs.push(("stderr", hits, false));
            }
            match n % 8 {
                1 => recs.push(("stdout", "cut ph".into(), true)),
                2 => recs.push(("stdout", format!("x_{} after\n", body(n)), false)),
                3 => recs.push(("stdout", format!("whole prefix phx_{}", &body(n)[..9]), true)),
                4 => recs.push(("stdout", format!("{} rest\n", &body(n)[9..]), false)),
                5 => recs.push(("stdout", "a partial, no key ".into(), true)),
                6 => recs.push(("stdout", format!("then its end phs_{}\n", body(n)), false)),
                7 => recs.push(("stdout", "a partial, no key either ".into(), true)),
                0 if n > 0 => recs.push(("stdout", "and its clean end\n".into(), false)),
                _ => {}
            }
        }
        recs.extend(split_records());
        // A key left hanging while more than MAX_WAITING bytes of the
        // other stream wait: its stream is cut, and the key's rest, when
        // it comes, still goes.
        recs.push(("stdout", format!("hang phx_{}", &body(1)[..9]), true));
        let long = format!("{}\n", "e".repeat(16 * 1024));
        recs.extend(std::iter::repeat_n(("stderr", long, false), MAX_LINE / (16 * 1024) + 2));
        recs.push(("stdout", format!("{} rest\n", &body(1)[9..]), false));
        recs.push(("stdout", "clean after the cut\n".into(), false));
        recs
    }

    /// Partial records after partial records, which the fast path takes
    /// when clean: a key cut between two of them at every place, a prefix
    /// cut as `p` | `hx_`, and a bearer token in one that counts because
    /// an earlier one of its line names PostHog's host (whole, or itself
    /// cut in two).
    fn split_records() -> Vec<(&'static str, String, bool)> {
        let mut recs = Vec::new();
        let key = format!("phx_{}", body(7));
        for cut in 0..=key.len() {
            recs.push(("stdout", format!("head {}", &key[..cut]), true));
            recs.push(("stdout", format!("{} mid", &key[cut..]), true));
            recs.push(("stdout", " and the end\n".into(), false));
        }
        recs.push(("stdout", "cut \"p".into(), true));
        recs.push(("stdout", format!("hx_{} after\n", body(3)), false));
        let bearer = format!("{:x<43}", "Tq-_9");
        let lines = [
            ["GET https://us.posthog.com/api/ ", "clean, between", "Authorization: Bearer "],
            ["GET https://us.post", "hog.com/api/ -H 'authorization: bearer ", ""],
        ];
        for parts in lines {
            parts.iter().for_each(|&part| recs.push(("stdout", part.into(), true)));
            recs.push(("stdout", format!("{bearer}' done\n"), false));
        }
        // Names whose literal prefix holds a quote, which json-file
        // escapes: `Authorization"`, `POSTHOG_API_KEY"`.
        let url = "{\"url\": \"https://us.posthog.com/i/\"";
        recs.push(("stdout", format!("{url}, \"Authorization\": \"Bearer {bearer}\"}}\n"), false));
        recs.push(("stdout", format!("{{\"POSTHOG_API_KEY\": \"{bearer}\"}}\n"), false));
        recs
    }

    /// The records as a CRI file, with a line that is none.
    fn cri(recs: &[(&str, String, bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (stream, content, partial) in recs {
            let tag = if *partial { "P" } else { "F" };
            let content = content.strip_suffix('\n').unwrap_or(content);
            out.extend_from_slice(format!("{TIME} {stream} {tag} {content}\n").as_bytes());
        }
        out.extend_from_slice(b"not a record\n");
        out
    }

    /// The records as a json-file, with keys that only escapes show
    /// (`\u0070hx_`, `personal\u005fapi_key`), and lines of Docker's
    /// shape that are no records (a raw tab, a byte that is not UTF-8).
    fn docker(recs: &[(&str, String, bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (stream, content, _)) in recs.iter().enumerate() {
            let log = serde_json::to_string(content).unwrap();
            let line = format!("{{\"log\":{log},\"stream\":\"{stream}\",\"time\":\"{TIME}\"}}\n");
            out.extend_from_slice(line.as_bytes());
            let hidden = match i % 9 {
                2 => format!("escaped \\u0070hx_{}", body(i)),
                5 => format!("personal\\u005fapi_key={:a<43}", body(i)),
                7 => "raw\ttab".into(),
                // Escapes the fast path decodes, clean and next to keys.
                3 => r#"clean \/ path \u0041 \"q\" \\ \t ok"#.into(),
                4 => format!(r#"quoted \"phx_{}\" and \\phs_{}"#, body(i), body(i + 1)),
                6 => format!(r#"two\nlines \u0070hx_{} \u00e9"#, body(i)),
                8 => format!(r#"tab\tphx_{}\/ and \u0050hx_ no"#, body(i)),
                _ => continue,
            };
            let line =
                format!("{{\"log\":\"{hidden}\\n\",\"stream\":\"stderr\",\"time\":\"{TIME}\"}}\n");
            out.extend_from_slice(line.as_bytes());
        }
        let line = format!("{{\"log\":\"#\\n\",\"stream\":\"stdout\",\"time\":\"{TIME}\"}}\n");
        out.extend(line.bytes().map(|b| if b == b'#' { 0xff } else { b }));
        out
    }

    /// What a joiner writes after each chunk, where it would resume after
    /// each, its findings, counts and lines that were not records.
    type Seen = (Vec<Vec<u8>>, Vec<u64>, Vec<Finding>, Stats, u64);

    fn read(kind: Kind, input: &[u8], chunk: usize, fast: bool) -> Seen {
        let rules = Arc::new(RuleSet::default_rules(false));
        let mut joiner = Joiner::new(kind, &rules, true);
        joiner.fast = fast;
        let (mut outs, mut unwritten) = (Vec::new(), Vec::new());
        for piece in input.chunks(chunk) {
            let mut out = Vec::new();
            joiner.feed(piece, &mut out).unwrap();
            outs.push(out);
            unwritten.push(joiner.unwritten());
        }
        let mut out = Vec::new();
        joiner.finish(&mut out).unwrap();
        outs.push(out);
        (outs, unwritten, joiner.take_findings(), joiner.stats(), joiner.malformed())
    }

    /// The fast path changes nothing that can be seen: the output after
    /// each chunk, the resume offsets, the findings (their lines and
    /// columns), the counts, the lines that were not records.
    #[test]
    fn the_fast_path_is_the_other_paths_to_the_byte() {
        let recs = records();
        let bearer = format!("{:x<43}", "Tq-_9");
        for (kind, input) in [(Kind::Cri, cri(&recs)), (Kind::DockerJson, docker(&recs))] {
            for chunk in [1, 7, 64, 333, 4096, input.len()] {
                let slow = read(kind, &input, chunk, false);
                let fast = read(kind, &input, chunk, true);
                let found = (fast.2.len(), fast.4);
                assert!(found.0 >= 20 && found.1 >= 1, "{kind:?}: {found:?} found");
                assert!(slow == fast, "{kind:?} in chunks of {chunk}");
                let out = fast.0.concat();
                assert!(!out.windows(43).any(|w| w == bearer.as_bytes()), "{kind:?}: bearer");
            }
        }
    }
}
