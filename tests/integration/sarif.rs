//! `--check --format sarif`: a SARIF 2.1.0 log that holds masks and never a
//! key, not even one in a file's name; URIs relative to the root and
//! percent-encoded; fingerprints that follow the key and nothing else; the
//! limit of results; the audit's exit status. tests/sarif_schema.sh
//! validates the same kind of log against the official schema.

use std::{
    collections::BTreeMap,
    ffi::OsStr,
    fs,
    io::Write,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use phx_redact::testing::sample::{Era, KeyGen};
use serde_json::Value;

use crate::common::{cmd, contains};

/// The keys a tree holds, to look for in the output.
struct Tree {
    dir: tempfile::TempDir,
    keys: Vec<String>,
}

/// A tree with each kind of input: keys of several kinds on several lines,
/// a gzip file in a folder with a space in its name, a name that is not
/// UTF-8, a name that holds a key, and a gzip file cut short (unreadable).
fn tree(seed: u64) -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let mut keygen = KeyGen::new(seed);
    let keys: Vec<String> =
        ["phx", "phs", "pha", "phr", "phx"].iter().map(|k| keygen.key(k, Era::Current)).collect();
    let p = dir.path();
    fs::write(p.join("a.log"), format!("x {}\ny\n  {} {}\n", keys[0], keys[1], keys[2])).unwrap();
    fs::create_dir(p.join("sub dir")).unwrap();
    fs::write(p.join("sub dir/b#1.log.gz"), gzip(format!("t={}\n", keys[3]).as_bytes())).unwrap();
    fs::write(p.join(OsStr::from_bytes(b"c\xff.log")), format!("{}\n", keys[0])).unwrap();
    fs::write(p.join(format!("{}.log", keys[4])), "clean\n").unwrap();
    fs::write(p.join(format!("n{}.log", keys[4])), format!("{}\n", keys[1])).unwrap();
    let cut = gzip(&[b'z'; 100_000]);
    fs::write(p.join("cut.gz"), &cut[..cut.len() / 2]).unwrap();
    Tree { dir, keys }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Runs `--check --format sarif` with `args` in `dir`: the exit status,
/// the log, standard output and standard error.
fn sarif(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, Vec<u8>, String) {
    let out = cmd()
        .current_dir(dir)
        .args(["--check", "--format", "sarif"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let log = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), log, out.stdout, String::from_utf8(out.stderr).unwrap())
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

fn uri(result: &Value) -> &str {
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap()
}

/// Each result's fingerprint, by URI, line and column.
fn fingerprints(log: &Value) -> BTreeMap<(String, u64, u64), String> {
    results(log)
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            let (line, column) = (region["startLine"].as_u64(), region["startColumn"].as_u64());
            let fp = r["partialFingerprints"]["phxRedactFinding/v1"].as_str().unwrap();
            ((uri(r).to_string(), line.unwrap(), column.unwrap()), fp.to_string())
        })
        .collect()
}

#[test]
fn the_log_shows_masks_never_keys_and_relative_percent_encoded_uris() {
    let t = tree(1);
    let (code, log, stdout, stderr) = sarif(t.dir.path(), &["-r", "."], &[]);
    assert_eq!(code, 2, "an unreadable input wins: {stderr}");
    for key in &t.keys {
        assert!(!contains(&stdout, key.as_bytes()), "key in the log");
        assert!(!stderr.contains(key.as_str()), "key on stderr: {stderr}");
    }
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap();
    assert!(root.starts_with("file:///") && root.ends_with('/'), "{root}");
    let mut uris: Vec<&str> = results(&log).iter().map(uri).collect();
    uris.sort_unstable();
    uris.dedup();
    assert_eq!(uris.len(), 4, "{uris:?}");
    for expected in ["a.log", "c%FF.log", "sub%20dir/b%231.log.gz"] {
        assert!(uris.contains(&expected), "{uris:?}");
    }
    assert!(uris[2].starts_with('n') && uris[2].ends_with(".log"), "{uris:?}");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results(&log) {
        let location = &r["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        let mask = r["properties"]["mask"].as_str().unwrap();
        assert!(r["message"]["text"].as_str().unwrap().contains(mask), "{r}");
        let region = &location["region"];
        let width = region["endColumn"].as_u64().unwrap() - region["startColumn"].as_u64().unwrap();
        assert_eq!(width, r["properties"]["length"].as_u64().unwrap());
    }
    let a = results(&log).iter().find(|r| uri(r) == "a.log" && r["ruleId"] == "pha").unwrap();
    let region = &a["locations"][0]["physicalLocation"]["region"];
    let column = 4 + t.keys[1].len() as u64;
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(3), Some(column))
    );
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(uri(&notes[0]), "cut.gz");
    assert!(stderr.contains("cut.gz"), "{stderr}");
}

#[test]
fn fingerprints_follow_the_key_not_the_run_nor_the_order_of_inputs() {
    let t = tree(2);
    let p = t.dir.path();
    let (forward, backward) = (["a.log", "sub dir"], ["sub dir", "a.log"]);
    let first = fingerprints(&sarif(p, &["-r", forward[0], forward[1]], &[]).1);
    let again = fingerprints(&sarif(p, &["-r", forward[0], forward[1]], &[]).1);
    let reversed = fingerprints(&sarif(p, &["-r", "-j", "2", backward[0], backward[1]], &[]).1);
    assert_eq!(first.len(), 4, "{first:?}");
    assert_eq!(first, again);
    assert_eq!(first, reversed);
    let mut all: Vec<&String> = first.values().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 4, "each finding its own fingerprint");
    // Another key in the same place: another fingerprint there, the same
    // elsewhere.
    let other = KeyGen::new(99).key("phx", Era::Current);
    let text = fs::read_to_string(p.join("a.log")).unwrap().replace(&t.keys[0], &other);
    fs::write(p.join("a.log"), text).unwrap();
    let changed = fingerprints(&sarif(p, &["-r", forward[0], forward[1]], &[]).1);
    let line_one = ("a.log".to_string(), 1, 3);
    assert_ne!(first[&line_one], changed[&line_one]);
    for (place, fp) in &first {
        if *place != line_one {
            assert_eq!(changed[place], *fp, "{place:?}");
        }
    }
}

/// `n` distinct keys of kind `kind`, one a line, in `name`.
fn many_keys(dir: &Path, name: &str, n: usize) -> PathBuf {
    let mut keygen = KeyGen::new(7);
    let text: String = (0..n).map(|_| format!("{}\n", keygen.key("phs", Era::Current))).collect();
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn results_past_the_limit_are_left_out_counted_and_still_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    many_keys(dir.path(), "many.log", 25_010);
    let (code, log, stdout, _) = sarif(dir.path(), &["many.log"], &[]);
    assert_eq!(code, 1);
    assert_eq!(results(&log).len(), 25_000);
    let run = &log["runs"][0];
    assert_eq!(run["properties"]["resultsOmitted"], 10);
    let notes = run["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
    assert!(notes[0]["message"]["text"].as_str().unwrap().starts_with("10 results left out"));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&stdout).unwrap();
    assert!(gz.finish().unwrap().len() < 10_000_000);
    // The tests' own limit, over several inputs.
    many_keys(dir.path(), "more.log", 7);
    let env = [("PHX_REDACT_TEST_SARIF_MAX_RESULTS", "5")];
    let (code, log, ..) = sarif(dir.path(), &["more.log", "more.log"], &env);
    assert_eq!((code, results(&log).len()), (1, 5));
    assert_eq!(log["runs"][0]["properties"]["resultsOmitted"], 9);
}

#[test]
fn exit_status_is_the_audits_and_the_log_stays_whole() {
    let t = tree(3);
    let p = t.dir.path();
    fs::write(p.join("clean.log"), "nothing here\n").unwrap();
    let (code, log, ..) = sarif(p, &["clean.log"], &[]);
    assert_eq!((code, results(&log).len()), (0, 0));
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], true);
    assert_eq!(sarif(p, &["a.log"], &[]).0, 1);
    // A folder without -r, which the walk passes over, and a file that is
    // not there: the invocation names both and did not succeed.
    let (code, log, _, stderr) = sarif(p, &["a.log", "sub dir", "missing.log"], &[]);
    assert_eq!(code, 2, "{stderr}");
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    let said: Vec<(&str, &str)> =
        notes.iter().map(|n| (uri(n), n["message"]["text"].as_str().unwrap())).collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].0 == "sub%20dir" && said[0].1.starts_with("sub dir: not checked"), "{said:?}");
    assert!(said[1].0 == "missing.log" && said[1].1.starts_with("missing.log: cannot"), "{said:?}");
    // No input at all is no clean bill.
    fs::create_dir(p.join("empty")).unwrap();
    let (code, log, ..) = sarif(p, &["-r", "empty"], &[]);
    assert_eq!(code, 2);
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
    let quiet = ["--check", "--format", "sarif", "-q", "a.log"];
    let quiet = cmd().current_dir(p).args(quiet).output().unwrap();
    assert_eq!((quiet.status.code(), quiet.stdout.len()), (Some(1), 0), "quiet prints nothing");
    let diff = cmd().args(["--check", "--diff", "--format", "sarif"]).output().unwrap();
    assert_eq!(diff.status.code(), Some(2));
    let json = |flags: &[&str]| cmd().current_dir(p).args(flags).output().unwrap().stdout;
    let (alias, format) =
        (json(&["--check", "--json", "a.log"]), json(&["--check", "--format", "json", "a.log"]));
    assert!(alias.starts_with(b"{\"type\":\"finding\"") && alias == format);
}

#[test]
fn sarif_root_sets_where_uris_start_and_outside_it_they_are_absolute() {
    let t = tree(4);
    let p = t.dir.path();
    let (_, log, ..) = sarif(p, &["--sarif-root", "sub dir", "-r", "a.log", "sub dir"], &[]);
    let uris: Vec<(&str, &Value)> = results(&log)
        .iter()
        .map(|r| (uri(r), &r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]))
        .collect();
    assert!(uris.contains(&("b%231.log.gz", &Value::from("%SRCROOT%"))), "{uris:?}");
    let outside = uris.iter().find(|(u, _)| u.ends_with("/a.log")).unwrap();
    assert!(outside.0.starts_with("file:///") && outside.1.is_null(), "{uris:?}");
}

/// The official schema and its validator, as tests/sarif_schema.sh (which
/// tests/run.sh runs) leaves them under the target folder.
fn schema_validator() -> Option<(PathBuf, PathBuf)> {
    let target = crate::common::bin().parent()?.parent()?.to_path_buf();
    let python = target.join("sarif-venv/bin/python");
    let schema = target.join("sarif-schema/sarif-schema-2.1.0.json");
    if python.is_file() && schema.is_file() {
        return Some((python, schema));
    }
    if std::env::var("PHX_REDACT_ALLOW_MISSING_TOOLS").as_deref() == Ok("1") {
        eprintln!("skipped: the SARIF schema is not there (bash tests/sarif_schema.sh)");
        return None;
    }
    panic!("this test needs the SARIF schema: run bash tests/sarif_schema.sh (tests/run.sh does)")
}

/// Runs tests/sarif_schema.py on `logs`: its exit status and output.
fn validate(logs: &[PathBuf]) -> Option<(i32, String)> {
    let (python, schema) = schema_validator()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sarif_schema.py");
    let out = std::process::Command::new(python).arg(script).arg(schema).args(logs).output();
    let out = out.unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    Some((out.status.code().unwrap(), text.into_owned()))
}

#[test]
fn the_log_is_valid_against_the_official_schema() {
    let t = tree(5);
    let p = t.dir.path();
    let mut keygen = KeyGen::new(5);
    let public = keygen.key("phc", Era::Current);
    fs::write(p.join("more.log"), format!("{public} AKIA{}\n", "Q".repeat(16))).unwrap();
    let logs = tempfile::tempdir().unwrap();
    let write = |name: &str, args: &[&str], env: &[(&str, &str)]| {
        let path = logs.path().join(name);
        fs::write(&path, sarif(p, args, env).2).unwrap();
        path
    };
    let rules = ["--include-public", "--pattern", "AKIA[A-Z0-9]{16}"];
    let all = write("all.sarif", &[&rules[..], &["-r", "."]].concat(), &[]);
    let capped = [("PHX_REDACT_TEST_SARIF_MAX_RESULTS", "2")];
    let logs_made = [
        all.clone(),
        write("capped.sarif", &["-r", "."], &capped),
        write("failed.sarif", &["cut.gz", "missing"], &[]),
    ];
    let log: Value = serde_json::from_slice(&fs::read(&all).unwrap()).unwrap();
    let ids: Vec<&Value> = results(&log).iter().map(|r| &r["ruleId"]).collect();
    assert!(ids.contains(&&Value::from("phc")) && ids.len() >= 7, "{ids:?}");
    let Some((code, text)) = validate(&logs_made) else { return };
    assert_eq!(code, 0, "{text}");
    // The validator refuses a log that breaks the schema.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] =
        Value::from(0);
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        Value::from("a b");
    let path = logs.path().join("broken.sarif");
    fs::write(&path, serde_json::to_vec(&broken).unwrap()).unwrap();
    let (code, text) = validate(&[path]).unwrap();
    assert_eq!(code, 1, "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn a_key_in_the_root_or_in_a_folder_outside_it_is_not_printed() {
    let t = tree(6);
    let p = t.dir.path();
    let key = &t.keys[0];
    let folder = format!("k{key}");
    fs::create_dir_all(p.join(&folder).join(key)).unwrap();
    fs::copy(p.join("a.log"), p.join(&folder).join(key).join("in.log")).unwrap();
    // The root holds the key; then a folder outside the root does.
    let from_root = ["--sarif-root", folder.as_str(), "-r", folder.as_str()];
    let (code, log, stdout, stderr) = sarif(p, &from_root, &[]);
    let outside = sarif(p, &["--sarif-root", "sub dir", "-r", folder.as_str()], &[]);
    assert_eq!((code, outside.0), (1, 1), "{stderr}");
    for out in [&stdout, &outside.2] {
        assert!(!contains(out, key.as_bytes()), "{}", String::from_utf8_lossy(out));
    }
    let root = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap();
    assert!(root.contains("REDACTED"), "{root}");
    assert!(uri(&results(&outside.1)[0]).starts_with("file:///"));
}

#[test]
fn results_past_the_gzipped_size_are_left_out_and_the_log_stays_under_it() {
    let dir = tempfile::tempdir().unwrap();
    many_keys(dir.path(), "many.log", 6_000);
    let env = [("PHX_REDACT_TEST_SARIF_MAX_GZIPPED", "300000")];
    let (code, log, stdout, _) = sarif(dir.path(), &["many.log"], &env);
    assert_eq!(code, 1);
    let (written, omitted) = (results(&log).len() as u64, &log["runs"][0]["properties"]);
    assert!(written > 100 && omitted["resultsOmitted"] == 6_000 - written, "{omitted}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&stdout).unwrap();
    let size = gz.finish().unwrap().len();
    // Under the limit (the tail is a few hundred bytes, gzipped), and not
    // far under it: what the encoder holds back (64 KiB at most) counts
    // whole.
    assert!((150_000..300_000).contains(&size), "{size} bytes gzipped");
}
