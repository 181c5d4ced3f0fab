//! `--check --diff`: only what a diff adds is checked, placed on the new
//! side; driven with a real git repository and the real pre-commit
//! framework.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::common::{bin, contains, peak_rss_kib, pipe_through, run, tool};

fn key(c: char) -> String {
    format!("phx_{}", c.to_string().repeat(40))
}

/// A git repository in a temporary folder, with an author and no user
/// configuration read.
struct Repo {
    dir: tempfile::TempDir,
    git: PathBuf,
}

impl Repo {
    fn new() -> Option<Repo> {
        let git = tool("git", "git")?;
        let repo = Repo { dir: tempfile::tempdir().unwrap(), git };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.email", "test@example.org"]);
        repo.git(&["config", "user.name", "test"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        Some(repo)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.git);
        c.args(args).current_dir(self.path()).env("GIT_CONFIG_GLOBAL", "/dev/null");
        c.env("GIT_CONFIG_NOSYSTEM", "1");
        c
    }

    fn git(&self, args: &[&str]) -> Vec<u8> {
        let out = self.command(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    fn write(&self, name: &str, content: &str) {
        self.write_bytes(name, content.as_bytes());
    }

    fn write_bytes(&self, name: &str, content: &[u8]) {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// The staged diff, as the hook reads it.
    fn staged(&self) -> Vec<u8> {
        self.git(&["diff", "--cached", "--text", "--no-color", "-U0"])
    }
}

#[test]
fn removing_a_key_passes_and_adding_one_fails_in_a_real_git_repository() {
    let Some(repo) = Repo::new() else { return };
    let k = key('k');
    repo.write("app.cfg", &format!("a\nkey={k}\nb\n"));
    repo.write("old.log", &format!("token {k}\n"));
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "one"]);

    // Remove the key: edit one file, delete the other.
    repo.write("app.cfg", "a\nb\n");
    repo.git(&["rm", "-q", "old.log"]);
    repo.git(&["add", "app.cfg"]);
    let diff = repo.staged();
    assert!(contains(&diff, k.as_bytes()), "the diff shows the deleted key");
    // The README's old hook blocks this commit.
    assert_eq!(run(&["--check"], &diff).0, 1);
    let (code, out, err) = run(&["--check", "--diff"], &diff);
    assert_eq!((code, out.as_slice(), err.as_str()), (0, &b""[..], ""));
    repo.git(&["commit", "-qm", "remove the leaked key"]);

    // Add one back, below other lines, and in a new file.
    repo.write("app.cfg", &format!("a\nb\nc\n  {k}\n"));
    repo.write("new.txt", &format!("{k}\n"));
    repo.git(&["add", "."]);
    let (code, out, err) = run(&["--check", "--diff"], &repo.staged());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.starts_with("app.cfg:4:3: phx: phx_...kkkk\nnew.txt:1:1: phx: phx_...kkkk\n"),
        "{out}"
    );
    assert!(out.contains("1 distinct key to rotate"), "{out}");
    assert!(!out.contains(&k) && !err.contains(&k));
}

#[test]
fn findings_are_placed_on_the_new_side_through_hunks_and_context() {
    let Some(repo) = Repo::new() else { return };
    let lines: Vec<String> = (1..=40).map(|i| format!("line {i}")).collect();
    repo.write("f.txt", &(lines.join("\n") + "\n"));
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "one"]);
    // A key replacing line 5, one after line 30 (with a deleted line
    // between), one on a line that starts with `++` (shown as `+++`), and
    // one on a last line with no newline.
    let mut new = lines.clone();
    new[4] = format!("five {}", key('a'));
    new.remove(20);
    new.insert(29, format!("++ {}", key('b')));
    let mut text = new.join("\n");
    text.push_str(&format!("\nend {}", key('c')));
    repo.write("f.txt", &text);
    repo.git(&["add", "."]);
    let expect =
        "f.txt:5:6: phx: phx_...aaaa\nf.txt:30:4: phx: phx_...bbbb\nf.txt:41:5: phx: phx_...cccc\n";
    for context in ["-U0", "-U3", "-U10"] {
        let diff = repo.git(&["diff", "--cached", "--text", context]);
        let (code, out, err) = run(&["--check", "--diff"], &diff);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(code, 1, "{context}: {err}");
        assert!(out.starts_with(expect), "{context}:\n{out}");
        // JSON: the same places, the offset is the token's in the diff.
        let (_, json, _) = run(&["--check", "--diff", "--json"], &diff);
        let json = String::from_utf8(json).unwrap();
        let first = json.lines().next().unwrap();
        assert!(first.contains(r#""path":"f.txt","line":5,"column":6"#), "{first}");
        let offset: usize =
            first.split(r#""offset":"#).nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
        assert_eq!(&diff[offset..offset + 44], key('a').as_bytes());
    }
}

#[test]
fn a_binary_file_added_is_not_called_clean_and_one_deleted_passes() {
    let Some(repo) = Repo::new() else { return };
    let mut bytes = vec![0u8, 1, 2];
    bytes.extend_from_slice(key('z').as_bytes());
    std::fs::write(repo.path().join("blob.bin"), &bytes).unwrap();
    repo.git(&["add", "."]);
    let plain = repo.git(&["diff", "--cached"]);
    let (code, out, err) = run(&["--check", "--diff"], &plain);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("binary file") && err.contains("--text"), "{err}");
    // With --text git shows its bytes: the key is found.
    let (code, out, _) = run(&["--check", "--diff"], &repo.staged());
    assert_eq!(code, 1);
    assert!(contains(&out, b"blob.bin:1:4: phx: phx_...zzzz"));
    repo.git(&["commit", "-qm", "blob"]);
    repo.git(&["rm", "-q", "blob.bin"]);
    let (code, _, err) = run(&["--check", "--diff"], &repo.git(&["diff", "--cached"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn input_that_is_not_a_whole_diff_is_exit_2() {
    let k = key('k');
    let diff = format!("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n a\n+{k}\n b\n");
    assert_eq!(run(&["--check", "--diff"], diff.as_bytes()).0, 1);
    let cases: [(&str, String); 4] = [
        ("not a diff", format!("just a log line {k}\n")),
        ("cut short", diff[..diff.len() - 3].to_string()),
        ("coloured", diff.replace("\n a\n", "\n\x1b[m a\n")),
        ("fewer lines than its header", diff.replace("+1,3", "+1,4") + "diff --git a/y b/y\n"),
    ];
    for (what, input) in cases {
        let (code, out, err) = run(&["--check", "--diff"], input.as_bytes());
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.starts_with("phx-redact: <stdin>: "), "{what}: {err}");
        assert!(!contains(&out, k.as_bytes()) && !err.contains(&k), "{what}");
    }
    // Nothing staged: an empty diff is clean.
    assert_eq!(run(&["--check", "--diff"], b"").0, 0);
}

#[test]
fn names_in_a_diff_are_unquoted_redacted_and_escaped() {
    let k = key('k');
    let name_key = format!("phs_{}", "n".repeat(40));
    // git quotes names with a newline or bytes outside ASCII.
    let diff = format!(
        "diff --git a/x b/x\n--- /dev/null\n+++ \"b/caf\\303\\251\\n{name_key}.log\"\n@@ -0,0 +1 @@\n+{k}\n"
    );
    let (code, out, err) = run(&["--check", "--diff"], diff.as_bytes());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 1, "{err}");
    // The name of a file added is committed too: its key is a finding.
    let expect = "café\\nphs_[REDACTED].log:name: phs: phs_...nnnn\n\
                  café\\nphs_[REDACTED].log:1:1: phx: phx_...kkkk\n";
    assert!(out.starts_with(expect), "{out}");
    assert!(!out.contains(&name_key));
    // A key in a binary file's header line is not printed either.
    let binary = format!(
        "diff --git a/{name_key} b/{name_key}\nBinary files /dev/null and b/{name_key} differ\n"
    );
    let (code, _, err) = run(&["--check", "--diff"], binary.as_bytes());
    assert_eq!(code, 2);
    assert!(!err.contains(&name_key) && err.contains("phs_[REDACTED]"), "{err}");
}

#[test]
fn an_added_line_longer_than_memory_is_streamed() {
    let mut child = crate::common::cmd().args(["--check", "--diff"]).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"--- a/big\n+++ b/big\n@@ -0,0 +1 @@\n+").unwrap();
    let filler = vec![b'x'; 1 << 20];
    for _ in 0..200 {
        stdin.write_all(&filler).unwrap();
    }
    let peak = peak_rss_kib(&child);
    stdin.write_all(format!(" {}\n", key('k')).as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let expect = format!("big:1:{}: phx: phx_...kkkk\n", 200 * (1 << 20) + 2);
    assert!(out.stdout.starts_with(expect.as_bytes()), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(peak < 64 * 1024, "peak {peak} KiB after a 200 MiB line");
}

/// The pre-commit framework: from PATH, or the venv tests/run.sh makes.
fn pre_commit() -> Option<PathBuf> {
    let target = bin().parent()?.parent()?.to_path_buf();
    let venv = target.join("pre-commit-venv/bin/pre-commit");
    if venv.is_file() {
        return Some(venv);
    }
    tool("pre-commit", "pre-commit (pip install pre-commit; tests/run.sh does)")
}

#[test]
fn the_pre_commit_framework_hook_passes_a_removal_and_refuses_an_addition() {
    let (Some(pre_commit), Some(repo)) = (pre_commit(), Repo::new()) else { return };
    // This repository's hooks file, in a clone tagged as a release is.
    let hooks = Repo::new().unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    std::fs::copy(manifest, hooks.path().join(".pre-commit-hooks.yaml")).unwrap();
    hooks.git(&["add", "."]);
    hooks.git(&["commit", "-qm", "hooks"]);
    hooks.git(&["tag", "-a", "v0.1.0", "-m", "v0.1.0"]);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: v0.1.0\n    hooks:\n      - id: phx-redact\n",
        hooks.path().display()
    );
    repo.write(".pre-commit-config.yaml", &config);
    let k = key('k');
    repo.write("app.cfg", &format!("a\nkey={k}\n"));
    repo.git(&["add", "."]);
    repo.git(&["commit", "-qm", "before the hook"]);
    let home = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}:{}",
        bin().parent().unwrap().display(),
        pre_commit.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let with_env = |mut c: Command| {
        c.env("PATH", &path).env("PRE_COMMIT_HOME", home.path());
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };
    let mut install = with_env(Command::new(&pre_commit));
    install.args(["install"]).current_dir(repo.path());
    let out = install.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A real `git commit` runs the hook: removing the key passes.
    repo.write("app.cfg", "a\n");
    repo.git(&["add", "."]);
    let out = with_env(repo.command(&["commit", "-m", "remove the leaked key"])).output().unwrap();
    let shown =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("Passed"), "{shown}");

    // Adding one fails, naming where.
    repo.write("app.cfg", &format!("a\nb\nnew={k}\n"));
    repo.git(&["add", "."]);
    let out = with_env(repo.command(&["commit", "-m", "add a key"])).output().unwrap();
    let shown =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("app.cfg:3:5: phx: phx_...kkkk"), "{shown}");
    assert!(!shown.contains(&k));
    let head = repo.git(&["log", "-1", "--format=%s"]);
    assert_eq!(head, b"remove the leaked key\n");
}

/// `--check --diff` of `diff`: (status, stdout, stderr), with no key in
/// what is printed.
fn check_diff(diff: &[u8], k: &str) -> (i32, String, String) {
    let (code, out, err) = run(&["--check", "--diff"], diff);
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains(k) && !err.contains(k), "{out}{err}");
    (code, out, err)
}

#[test]
fn compressed_or_wide_content_added_is_refused_not_called_clean() {
    let Some(repo) = Repo::new() else { return };
    if tool("gzip", "gzip").is_none() {
        return;
    }
    let k = key('k');
    let text = format!("a {k}\n");
    let utf16: Vec<u8> =
        [0xff, 0xfe].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let cases = [
        ("k.log.gz", pipe_through(&["gzip", "-c"], text.as_bytes()), "gzip"),
        ("w.txt", utf16, "UTF-16"),
    ];
    for (name, bytes, format) in cases {
        // A new file, and a file whose first line changes.
        for step in ["new", "changed"] {
            let mut content = bytes.clone();
            if step == "changed" {
                repo.write(name, "plain\nsecond\n");
                repo.git(&["add", "-A"]);
                repo.git(&["commit", "-qm", "plain"]);
                content.extend_from_slice(b"\nsecond\n");
            }
            repo.write_bytes(name, &content);
            repo.git(&["add", "-A"]);
            let (code, _, err) = check_diff(&repo.staged(), &k);
            assert_eq!(code, 2, "{name} {step}: {err}");
            assert!(err.contains(format) && err.contains("--check"), "{name} {step}: {err}");
            assert!(err.contains(name), "{name} {step}: {err}");
            repo.git(&["rm", "-qrf", "--cached", "."]);
            std::fs::remove_file(repo.path().join(name)).unwrap();
            if step == "changed" {
                repo.git(&["commit", "-qm", "gone"]);
            }
        }
    }
    // Binary bytes that are no format keep being scanned, as --check does.
    let mut bin = vec![0u8, 1, 2, b'\n'];
    bin.extend_from_slice(format!("{k}\n").as_bytes());
    repo.write_bytes("b.bin", &bin);
    repo.git(&["add", "-A"]);
    let (code, out, err) = check_diff(&repo.staged(), &k);
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("b.bin:2:1: phx: phx_...kkkk\n"), "{out}");
}

#[test]
fn a_diff_that_does_not_hold_what_it_adds_is_refused() {
    let k = key('k');
    // diff -ru: a new file is an "Only in" line, its content not shown.
    if let Some(diff) = tool("diff", "diffutils") {
        let dir = tempfile::tempdir().unwrap();
        for (d, name, content) in
            [("od", "a", "a\n"), ("nd", "a", "b\n"), ("nd", "s.txt", &format!("{k}\n")[..])]
        {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
            std::fs::write(dir.path().join(d).join(name), content).unwrap();
        }
        let out = Command::new(diff).args(["-ru", "od", "nd"]).current_dir(dir.path()).output();
        let out = out.unwrap().stdout;
        assert!(contains(&out, b"Only in nd: s.txt"));
        let (code, _, err) = check_diff(&out, &k);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("Only in") && err.contains("diff -ruN"), "{err}");
    }
    let head = "--- a/f\n+++ b/f\n";
    let cases = [
        (
            "a context diff",
            format!("*** f\n--- f\n***************\n*** 0 ****\n--- 1 ----\n+ {k}\n"),
        ),
        ("more added lines than counted", format!("{head}@@ -1,0 +1,1 @@\n+ok\n+{k}\n")),
        ("no lines counted", format!("{head}@@ -1,0 +1,0 @@\n+{k}\n")),
        ("a context line past the counts", format!("{head}@@ -0,0 +1 @@\n+ok\n {k}\n")),
        ("a backslash line that is not git's", format!("{head}@@ -0,0 +1 @@\n\\{k}\n+ok\n")),
        (
            "a backslash line with no line before",
            format!("{head}@@ -0,0 +1 @@\n+ok\n\\ No newline at end of file\n\\ {k}\n"),
        ),
    ];
    for (what, diff) in cases {
        let (code, _, err) = check_diff(diff.as_bytes(), &k);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.starts_with("phx-redact: <stdin>: "), "{what}: {err}");
    }
    // git's own marker, after the last line of a hunk, is fine.
    let diff = format!("{head}@@ -0,0 +1 @@\n+ok\n\\ No newline at end of file\n");
    assert_eq!(check_diff(diff.as_bytes(), &k).0, 0);
}

#[test]
fn format_patch_and_log_output_are_still_read() {
    let Some(repo) = Repo::new() else { return };
    let k = key('k');
    repo.write("a.txt", "one\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "base"]);
    // Messages with lines that look like hunk lines: bullets, indents.
    repo.write("a.txt", "one\ntwo\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "two\n\n- a bullet\n+ a plus\n  indented\n*** stars ***\n"]);
    repo.write("b.txt", &format!("x\n{k}\n"));
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "three\n\n- another bullet\n"]);
    let series = repo.git(&["format-patch", "--stdout", "--cover-letter", "HEAD~2"]);
    let (code, out, err) = check_diff(&series, &k);
    assert_eq!((code, err.as_str()), (1, ""), "{out}");
    assert!(out.starts_with("b.txt:2:1: phx: phx_...kkkk\n"), "{out}");
    let (code, out, err) = check_diff(&repo.git(&["log", "-p", "HEAD~2.."]), &k);
    assert_eq!((code, err.as_str()), (1, ""), "{out}");
    // Without the key: clean.
    let clean = repo.git(&["format-patch", "--stdout", "HEAD~2..HEAD~1"]);
    assert_eq!(check_diff(&clean, &k), (0, String::new(), String::new()));
}

#[test]
fn a_binary_file_is_deleted_by_its_header_not_by_its_name() {
    let Some(repo) = Repo::new() else { return };
    let k = key('k');
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(format!("{k}\n").as_bytes());
    repo.write_bytes("x and /dev/null", &bytes);
    repo.git(&["add", "-A"]);
    let diff = repo.git(&["diff", "--cached"]);
    assert!(contains(&diff, b"and /dev/null differ"));
    let (code, _, err) = check_diff(&diff, &k);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("binary file"), "{err}");
}

#[test]
fn a_key_in_an_added_file_name_is_a_finding() {
    let Some(repo) = Repo::new() else { return };
    let n = format!("phs_{}", "n".repeat(40));
    repo.write("old.txt", "hi\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "base"]);
    // Added (with content, and empty), and renamed to.
    repo.write(&format!("n_{n}.txt"), "hi\n");
    repo.write(&format!("e_{n}.txt"), "");
    repo.git(&["mv", "old.txt", &format!("r_{n}.txt")]);
    repo.git(&["add", "-A"]);
    let (code, out, err) = check_diff(&repo.staged(), &n);
    assert_eq!(code, 1, "{err}");
    for name in ["e", "n", "r"] {
        let line = format!("{name}_phs_[REDACTED].txt:name: phs: phs_...nnnn\n");
        assert!(out.contains(&line), "{name}:\n{out}");
    }
    assert!(out.contains("1 distinct key to rotate"), "{out}");
    // A file named so that is only changed adds no name.
    repo.git(&["commit", "-qm", "names"]);
    repo.write(&format!("n_{n}.txt"), "hi\nthere\n");
    repo.git(&["add", "-A"]);
    assert_eq!(check_diff(&repo.staged(), &n), (0, String::new(), String::new()));
    // Removing it passes too.
    repo.git(&["rm", "-qf", &format!("n_{n}.txt")]);
    assert_eq!(check_diff(&repo.staged(), &n).0, 0);
}

#[test]
fn the_hook_command_sees_the_whole_commit_from_a_subdirectory() {
    let Some(repo) = Repo::new() else { return };
    let k = key('k');
    // diff.relative shows only what is below the folder git runs in.
    repo.git(&["config", "diff.relative", "true"]);
    repo.write("sub/a.txt", "a\n");
    repo.write("top.txt", &format!("{k}\n"));
    repo.git(&["add", "-A"]);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    let entries: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("entry: bash -o pipefail -c '"))
        .collect();
    assert_eq!(entries.len(), 2);
    for entry in entries {
        let script = entry.strip_suffix('\'').unwrap();
        let path = format!(
            "{}:{}",
            bin().parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", script])
            .current_dir(repo.path().join("sub"))
            .env("PATH", path)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert!(shown.starts_with("top.txt:1:1: phx: phx_...kkkk"), "{shown}");
    }
}
