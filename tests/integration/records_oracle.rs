//! Container runtimes' log files made as the runtimes make them (lines
//! split into records of 16 KiB), and the oracle for `--input-format`:
//! each stream's records joined into lines first, the joined text's tokens
//! found by the regex, and each record's piece cut from that: its bytes
//! that are not a token's, and the marker of each token that starts in it.

use regex::bytes::Regex;

use crate::common::TOKEN;

/// Where a runtime splits a line.
pub(crate) const SPLIT: usize = 16 * 1024;

pub(crate) const TIME: &str = "2024-05-06T07:08:09.123456789Z";

/// One record: its stream, its content, whether a line goes on after it.
#[derive(Clone, Debug)]
pub(crate) struct Rec {
    pub(crate) stream: &'static str,
    pub(crate) content: Vec<u8>,
    pub(crate) partial: bool,
}

/// A line as a runtime writes it: records of [`SPLIT`] bytes, the last
/// one full (an empty line is one full record).
pub(crate) fn split(stream: &'static str, line: &[u8]) -> Vec<Rec> {
    let mut chunks: Vec<&[u8]> = line.chunks(SPLIT).collect();
    if chunks.is_empty() {
        chunks.push(b"");
    }
    let last = chunks.len() - 1;
    let rec = |(i, c): (usize, &&[u8])| Rec { stream, content: c.to_vec(), partial: i < last };
    chunks.iter().enumerate().map(rec).collect()
}

/// The records as a CRI file.
pub(crate) fn cri_file(recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in recs {
        let tag = if r.partial { "P" } else { "F" };
        out.extend_from_slice(format!("{TIME} {} {tag} ", r.stream).as_bytes());
        out.extend_from_slice(&r.content);
        out.push(b'\n');
    }
    out
}

/// The records as a docker json-file (a full record's log ends in a
/// newline, which is then part of its content here).
pub(crate) fn docker_file(recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in recs {
        out.extend_from_slice(&docker_line(r.stream, &r.content));
    }
    out
}

/// One json-file line, as the runtime encodes it, but with `/` and `é`
/// escaped (`\/`, `\u00e9`), as other encoders write them.
pub(crate) fn docker_line(stream: &str, log: &[u8]) -> Vec<u8> {
    let value = serde_json::to_string(&String::from_utf8_lossy(log)).unwrap();
    let value = value.replace('/', "\\/").replace('\u{e9}', "\\u00e9");
    format!("{{\"log\":{value},\"stream\":\"{stream}\",\"time\":\"{TIME}\"}}\n").into_bytes()
}

/// Each record's redacted piece: the streams joined (a CRI full record
/// ends its line with a newline that is not stored), tokens found by the
/// regex on the joined text, each record keeping its bytes outside them
/// and the marker of those that start in it.
pub(crate) fn pieces(recs: &[Rec], newline_after_full: bool) -> Vec<Vec<u8>> {
    let re = Regex::new(TOKEN).unwrap();
    let mut pieces = vec![Vec::new(); recs.len()];
    for stream in ["stdout", "stderr"] {
        let mine: Vec<usize> = (0..recs.len()).filter(|&i| recs[i].stream == stream).collect();
        let (mut joined, mut starts) = (Vec::new(), Vec::new());
        for &i in &mine {
            starts.push(joined.len());
            joined.extend_from_slice(&recs[i].content);
            if newline_after_full && !recs[i].partial {
                joined.push(b'\n');
            }
        }
        // For each byte of the joined text: the token it is in, if any.
        let mut inside = vec![None; joined.len()];
        let mut markers = Vec::new();
        for (t, c) in re.captures_iter(&joined).enumerate() {
            inside[c.get(0).unwrap().range()].fill(Some(t));
            markers.push((c.get(0).unwrap().start(), [&c[1], b"_[REDACTED]"].concat()));
        }
        for (k, &i) in mine.iter().enumerate() {
            for (at, &byte) in recs[i].content.iter().enumerate() {
                let pos = starts[k] + at;
                match inside[pos] {
                    Some(t) if markers[t].0 == pos => pieces[i].extend_from_slice(&markers[t].1),
                    Some(_) => {}
                    None => pieces[i].push(byte),
                }
            }
        }
    }
    pieces
}

/// What `--input-format cri` must write for `recs`.
pub(crate) fn cri_expected(recs: &[Rec]) -> Vec<u8> {
    let pieces = pieces(recs, true);
    let out: Vec<Rec> =
        recs.iter().zip(pieces).map(|(r, p)| Rec { content: p, ..r.clone() }).collect();
    cri_file(&out)
}

/// What `--input-format docker-json` must write for `recs`: a record
/// untouched as it was, a touched one with its log encoded anew.
pub(crate) fn docker_expected(recs: &[Rec]) -> Vec<u8> {
    let pieces = pieces(recs, false);
    let mut out = Vec::new();
    for (r, piece) in recs.iter().zip(pieces) {
        if piece == r.content {
            out.extend_from_slice(&docker_line(r.stream, &r.content));
        } else {
            let value = serde_json::to_string(&String::from_utf8_lossy(&piece)).unwrap();
            let rest = format!(",\"stream\":\"{}\",\"time\":\"{TIME}\"}}\n", r.stream);
            out.extend_from_slice(format!("{{\"log\":{value}{rest}").as_bytes());
        }
    }
    out
}
