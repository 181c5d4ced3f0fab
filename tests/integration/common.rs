//! The oracle, input generators and a driver for the real binary.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Arc, OnceLock},
};

use phx_redact::{Redactor, Rule, RuleSet, rules::Options};
use regex::bytes::{Captures, Regex};

/// The definition of a token, written independently of the engine: a
/// prefix, then a run of letters, digits and underscores holding 20 letters
/// or digits in a row that start within its first 21 bytes (up to 20 bytes
/// with an `_` before them do not hide a key, as peer scanners agree; a run
/// with no 20 in a row is never one).
pub const TOKEN: &str = r"(phx|phs|pha|phr)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*";
pub const TOKEN_WITH_PUBLIC: &str =
    r"(phx|phs|pha|phr|phc)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// A token's body in the oracles below.
pub const BODY: &str = r"[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*";

/// A legacy personal API key (before 2021-06-23, no prefix) after one of
/// the names it is given: 43 URL-safe base64 characters, in the group
/// `secret`, that end where a key cannot go on.
pub const LEGACY: &str = concat!(
    r#"(?:personal_api_key(?:"[ \t]{0,8}:[ \t]{0,8}"|[ \t]{0,8}[=:][ \t]{0,8}["']?)"#,
    r#"|POSTHOG_(?:PERSONAL_)?API_KEY"?[ \t]{0,8}[=:][ \t]{0,8}["']?)"#,
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
);

/// A legacy personal API key sent as a bearer token: it counts only on a
/// line that names PostHog's host ([`POSTHOG_HOST`], any case), from the
/// line's start to its end or [`LOOKAHEAD`] bytes past the match.
pub const BEARER: &str = concat!(
    r#"(?:Authorization|authorization)"?[ \t]{0,8}:[ \t]{0,8}"?(?:Bearer|bearer)[ \t]{1,8}"#,
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
);
pub const POSTHOG_HOST: &str = "posthog.com";
pub const LOOKAHEAD: usize = 4096;

/// Whether the line of the match `input[start..end]` names one of `hosts`
/// (ASCII letters in any case) between its start and its end, or
/// [`LOOKAHEAD`] bytes past the match if that comes first.
pub fn line_names(input: &[u8], (start, end): (usize, usize), hosts: &[&str]) -> bool {
    let begins = input[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let ends = input[start..].iter().position(|&b| b == b'\n').map_or(input.len(), |i| start + i);
    let line = input[begins..ends.min(end + LOOKAHEAD)].to_ascii_lowercase();
    hosts.iter().any(|host| contains(&line, host.to_ascii_lowercase().as_bytes()))
}

/// What the output must be: the rules over the whole input at once,
/// leftmost first, the prefixed kinds before the legacy keys, of which only
/// the group `secret` is replaced and the bytes after it scanned again;
/// a bearer token of a legacy key's shape counts only on a line that names
/// `posthog.com`, and where another rule matches at the same start, that
/// one wins.
pub fn oracle(input: &[u8], include_public: bool) -> Vec<u8> {
    oracle_with_hosts(input, include_public, &[POSTHOG_HOST])
}

/// [`oracle`], with the hosts a bearer token's line must name.
pub fn oracle_with_hosts(input: &[u8], include_public: bool, hosts: &[&str]) -> Vec<u8> {
    static RE: OnceLock<[Regex; 3]> = OnceLock::new();
    let [secret, public, bearer] = RE.get_or_init(|| {
        let with = |token: &str| Regex::new(&format!("(?-u){token}|{LEGACY}")).unwrap();
        [with(TOKEN), with(TOKEN_WITH_PUBLIC), Regex::new(&format!("(?-u){BEARER}")).unwrap()]
    });
    let re = if include_public { public } else { secret };
    // The next bearer token from `from` whose line names a host.
    let next_bearer = |mut from: usize| {
        while let Some(c) = bearer.captures_at(input, from) {
            let whole = c.get(0).unwrap();
            if line_names(input, (whole.start(), whole.end()), hosts) {
                return Some((whole.start(), c.name("secret").unwrap()));
            }
            from = whole.start() + 1;
        }
        None
    };
    let mut out = Vec::with_capacity(input.len());
    let mut pos = 0;
    loop {
        let c = re.captures_at(input, pos);
        let b = next_bearer(pos);
        let other_first = match (&c, &b) {
            (Some(c), Some((start, _))) => c.get(0).unwrap().start() <= *start,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if !other_first {
            let (_, key) = b.unwrap();
            out.extend_from_slice(&input[pos..key.start()]);
            out.extend_from_slice(b"[REDACTED:posthog-legacy-bearer]");
            pos = key.end();
            continue;
        }
        let c = c.unwrap();
        let whole = c.get(0).unwrap();
        if let Some(key) = c.name("secret") {
            out.extend_from_slice(&input[pos..key.start()]);
            out.extend_from_slice(b"[REDACTED:posthog-legacy]");
            pos = key.end();
        } else {
            out.extend_from_slice(&input[pos..whole.start()]);
            out.extend_from_slice(&c[1]);
            out.extend_from_slice(b"_[REDACTED]");
            pos = whole.end();
        }
    }
    out.extend_from_slice(&input[pos..]);
    out
}

/// The engine fed `input` in pieces of the given sizes (cycled).
pub fn redact_chunked(input: &[u8], sizes: &[usize], include_public: bool) -> Vec<u8> {
    redact_with(&rules(include_public), input, sizes).0
}

/// Whether `hay` contains `needle`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_phx-redact"))
}

/// A command for the real binary with stdin, stdout and stderr piped.
pub fn cmd() -> Command {
    let mut c = Command::new(bin());
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// The default rules, compiled once per test process.
pub fn rules(include_public: bool) -> Arc<RuleSet> {
    static RULES: OnceLock<[Arc<RuleSet>; 2]> = OnceLock::new();
    let [secret, public] = RULES.get_or_init(|| {
        [Arc::new(RuleSet::default_rules(false)), Arc::new(RuleSet::default_rules(true))]
    });
    Arc::clone(if include_public { public } else { secret })
}

/// Runs the binary with `args` and `stdin`; returns (status, stdout, stderr).
pub fn run(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = cmd().args(args).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().unwrap();
    // A run refused before any input is read (a bad rule, say) ends
    // without reading it: the writer then finds the pipe closed.
    match writer.join().unwrap() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing stdin: {e}"),
        _ => {}
    }
    (out.status.code().unwrap(), out.stdout, String::from_utf8(out.stderr).unwrap())
}

/// Custom rules beside the built-in ones, each kind the engine must handle:
/// a literal prefix of its own, no literal prefix at all, a look-behind.
pub const CUSTOM: [(&str, &str, usize); 3] = [
    ("github", r"ghp_[A-Za-z0-9]{8,}", 4),
    ("digits", r"[0-9]{6,}", 0),
    ("key", r"\bkey=[a-z]{4,}\b", 4),
];

/// The prefixed built-in rules followed by [`CUSTOM`], with `hold_cap`.
pub fn custom_rules(hold_cap: usize) -> Arc<RuleSet> {
    compiled_once(&format!("custom/{hold_cap}"), || {
        let mut rules: Vec<Rule> =
            phx_redact::rules::SECRET_KINDS.iter().map(|k| Rule::posthog(k)).collect();
        rules.extend(CUSTOM.iter().map(|(name, re, _)| Rule::custom(*name, *re)));
        let options = Options { hold_cap, ..Options::default() };
        RuleSet::with_options(rules, options).unwrap()
    })
}

/// The rule set `build` makes, compiled once per test process under
/// `name`: the property tests run thousands of cases over the same rules,
/// and compiling them is most of a case's time.
pub fn compiled_once(name: &str, build: impl FnOnce() -> RuleSet) -> Arc<RuleSet> {
    static SETS: std::sync::Mutex<Vec<(String, Arc<RuleSet>)>> = std::sync::Mutex::new(Vec::new());
    if let Some((_, set)) = SETS.lock().unwrap().iter().find(|(n, _)| n == name) {
        return Arc::clone(set);
    }
    let set = Arc::new(build());
    SETS.lock().unwrap().push((name.to_string(), Arc::clone(&set)));
    set
}

/// The oracle for [`custom_rules`]: one leftmost-first alternation, in rule
/// order, with Unicode off as the engine has it. Returns the regex and, per
/// alternative, the marker's prefix length.
pub fn custom_oracle() -> &'static (Regex, Vec<usize>) {
    static RE: OnceLock<(Regex, Vec<usize>)> = OnceLock::new();
    RE.get_or_init(|| {
        let mut alternatives: Vec<(String, usize)> =
            ["phx", "phs", "pha", "phr"].iter().map(|k| (format!("{k}_{BODY}"), 4)).collect();
        alternatives.extend(CUSTOM.iter().map(|(_, re, n)| (re.to_string(), *n)));
        let pattern: Vec<String> =
            alternatives.iter().enumerate().map(|(i, (re, _))| format!("(?P<r{i}>{re})")).collect();
        let re = Regex::new(&format!("(?-u){}", pattern.join("|"))).unwrap();
        (re, alternatives.into_iter().map(|(_, n)| n).collect())
    })
}

/// Which alternative of [`custom_oracle`] matched.
pub fn custom_rule_of(c: &Captures) -> usize {
    let (_, lens) = custom_oracle();
    (0..lens.len()).find(|i| c.name(&format!("r{i}")).is_some()).unwrap()
}

/// What the output must be under [`custom_rules`] with the default marker.
pub fn oracle_custom(input: &[u8]) -> Vec<u8> {
    let (re, lens) = custom_oracle();
    re.replace_all(input, |c: &Captures| {
        let mut marker = c[0][..lens[custom_rule_of(c)]].to_vec();
        marker.extend_from_slice(b"[REDACTED]");
        marker
    })
    .into_owned()
}

/// `rules` fed `input` in pieces of the given sizes (cycled): the output
/// and the redactor's stats. Checks the hold bound after every piece.
pub fn redact_with(
    rules: &Arc<RuleSet>,
    input: &[u8],
    sizes: &[usize],
) -> (Vec<u8>, phx_redact::Stats) {
    let max_held = rules.max_held();
    let mut redactor = Redactor::new(Arc::clone(rules));
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        let (chunk, tail) = rest.split_at(n);
        redactor.feed(chunk, &mut out).unwrap();
        assert!(redactor.held() <= max_held, "held {} > bound {max_held}", redactor.held());
        rest = tail;
    }
    redactor.finish(&mut out).unwrap();
    assert_eq!(redactor.held(), 0);
    (out, redactor.stats().clone())
}

/// Whether `text` holds anything the built-in rules (public keys included)
/// would redact: no output of ours may.
pub fn holds_a_token(text: &[u8]) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(TOKEN_WITH_PUBLIC).unwrap()).is_match(text)
}

/// The child's peak resident memory so far, in KiB. VmHWM is the high-water
/// mark of the child's own address space, so it is not inflated by the
/// test process it was spawned from (as `ru_maxrss` is).
#[cfg(target_os = "linux")]
pub fn peak_rss_kib(child: &std::process::Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// An external tool a test needs: its path, or `None` (skip) only when
/// PHX_REDACT_ALLOW_MISSING_TOOLS=1 says a missing tool is acceptable.
pub fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() && std::env::var("PHX_REDACT_ALLOW_MISSING_TOOLS").as_deref() == Ok("1") {
        eprintln!("skipped: {name} is not installed (Debian package {package})");
        return None;
    }
    Some(found.unwrap_or_else(|| {
        panic!(
            "this test needs {name} (Debian package {package}); install it, or set \
             PHX_REDACT_ALLOW_MISSING_TOOLS=1 to skip"
        )
    }))
}

/// The stdout of a real tool (`argv`, from its Debian package) given
/// `input` on its stdin; the test fails if the tool does.
pub fn pipe_through(argv: &[&str], input: &[u8]) -> Vec<u8> {
    let path = tool(argv[0], "gzip, zstd, xz-utils or lz4").expect("tool");
    let mut child = Command::new(path)
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{argv:?}");
    out.stdout
}

/// A sample log big enough to be read in segments on several threads, with
/// `line(k)` written across the `k`-th segment's nominal start (`step`
/// bytes further on each time), read with `-j1`, `-j2` and `-j3`: each
/// output must equal the oracle. Returns it, and the number of segments.
pub fn segments_equal_the_oracle(
    seed: u64,
    step: usize,
    mut line: impl FnMut(usize) -> String,
) -> (Vec<u8>, usize) {
    use phx_redact::testing::{SEGMENT, SEGMENTS_FROM, sample};
    let segments = (SEGMENTS_FROM / SEGMENT + 2) as usize;
    let len = segments * SEGMENT as usize + 999;
    let mut log = sample::log(seed, len / 40, 0);
    log.truncate(len);
    for k in 1..segments {
        let text = line(k);
        let start = k * SEGMENT as usize - (k * step) % text.len();
        log[start..start + text.len()].copy_from_slice(text.as_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    std::fs::write(&path, &log).unwrap();
    let expected = oracle(&log, false);
    for threads in ["1", "2", "3"] {
        let out = cmd().args(["-j", threads]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout == expected, "-j{threads}: output differs from the oracle");
    }
    (expected, segments)
}
