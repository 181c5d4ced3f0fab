//! What `--in-place`, `--output-dir` and `--check` must refuse or keep, so
//! that no secret is left behind silently and no original is lost: hard
//! links, files a live process writes, FIFOs and absurd `-j` values. The
//! mirror's links and swapped folders are in `scrub_links`, what a rewrite
//! keeps (mode bits, attributes, owner) in `scrub_metadata`.

use std::{
    ffi::CString,
    fs,
    io::{BufRead, BufReader},
    os::unix::{
        ffi::OsStrExt,
        fs::{FileTypeExt, MetadataExt, PermissionsExt},
        process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use phx_redact::testing::sample;

use crate::common::{cmd, oracle};

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary with `args`, killing it (and failing) if it has not
/// ended within a minute: a run that blocks on a FIFO must fail the test,
/// not hang it.
pub(crate) fn run_guarded(args: &[&std::ffi::OsStr]) -> Output {
    let child = cmd().args(args).stdin(Stdio::null()).spawn().unwrap();
    wait_guarded(child)
}

pub(crate) fn wait_guarded(child: Child) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the output while waiting, so that a full pipe cannot stall it.
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out,
        Err(_) => {
            // SAFETY: kill(2) on the child's id; it is not reaped until it
            // ends, so the id is still its own.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("phx-redact blocked for a minute");
        }
    }
}

pub(crate) fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "{}",
        std::io::Error::last_os_error()
    );
}

/// A log holding secrets, and a line without one.
/// A shell that opens `path` for appending, says `ready`, and once its
/// standard input ends writes one more line and exits: a live log's writer.
fn holding_open(path: &Path) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(r#"exec 3>>"$1"; echo ready; read _; echo "written after the scrub" >&3"#)
        .arg("sh")
        .arg(path);
    shell
}

/// Spawns `command` with piped standard input and output, and waits for
/// it to say `ready` (it holds what it opens by then).
fn spawn_ready(command: &mut Command) -> Child {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    child
}

pub(crate) fn dirty_log(seed: u64) -> Vec<u8> {
    let log = sample::log(seed, 200, 3);
    assert_ne!(oracle(&log, false), log, "the sample holds a secret");
    log
}

#[test]
fn a_hard_linked_file_is_refused_and_every_name_keeps_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let other = dir.path().join("copy-of-app.log");
    let log = dirty_log(101);
    fs::write(&path, &log).unwrap();
    fs::hard_link(&path, &other).unwrap();

    let out = run_guarded(&[os("--in-place"), path.as_os_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}: ", path.display())), "{err}");
    assert!(err.contains("1 other name (hard link) holds this file"), "{err}");
    let resolved = fs::canonicalize(&path).unwrap();
    assert!(err.contains(&format!("-xdev -samefile {}`", resolved.display())), "{err}");
    assert_eq!(fs::read(&path).unwrap(), log);
    assert_eq!(fs::read(&other).unwrap(), log);
    assert_eq!(fs::metadata(&path).unwrap().ino(), fs::metadata(&other).unwrap().ino());

    // A clean file with links is not rewritten, so it is not refused.
    let clean = dir.path().join("clean.log");
    fs::write(&clean, b"nothing to see\n").unwrap();
    fs::hard_link(&clean, dir.path().join("clean-link.log")).unwrap();
    let out = run_guarded(&[os("--in-place"), clean.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_file_open_for_writing_by_another_process_is_refused_and_its_writer_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.log");
    let log = dirty_log(102);
    fs::write(&path, &log).unwrap();
    // A live log: a writer that keeps the file open for appending, and
    // writes one more line once told to (by the end of its standard input).
    let mut writer = spawn_ready(&mut holding_open(&path));

    let out = run_guarded(&[os("--in-place"), path.as_os_str()]);
    drop(writer.stdin.take());
    assert!(writer.wait().unwrap().success());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is open for writing by another process"), "{err}");
    assert!(err.contains("left as it was"), "{err}");
    let after = [&log[..], b"written after the scrub\n"].concat();
    assert_eq!(fs::read(&path).unwrap(), after, "the writer's line is in the file");
}

#[test]
fn a_fifo_is_refused_for_in_place_and_mirror_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.log");
    mkfifo(&fifo);
    let mirror = dir.path().join("mirror");
    for dest in [vec![os("--in-place")], vec![os("--output-dir"), mirror.as_os_str()]] {
        let mut args = dest.clone();
        args.push(fifo.as_os_str());
        let out = run_guarded(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{dest:?}: {err}");
        assert!(err.contains(&format!("{}: not a regular file: FIFO", fifo.display())), "{err}");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(!mirror.join("pipe.log").exists());
    }
}

#[test]
fn check_reads_a_fifo_as_a_stream_and_does_not_block_on_one_without_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.log");
    mkfifo(&fifo);

    // No writer: an error, not a hang and not a clean bill.
    let out = run_guarded(&[os("--check"), fifo.as_os_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}: cannot read: FIFO with no writer", fifo.display())),
        "{err}"
    );

    // A writer that holds it open (read-write, so that its open does not
    // wait for us) and writes a key once told to: read as a stream.
    let key = format!("phx_{}", "a1B2c3D4e5".repeat(5));
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(r#"exec 3<>"$1"; echo ready; read _; echo "token $2" >&3"#);
    let mut writer = spawn_ready(shell.arg("sh").arg(&fifo).arg(&key));
    let check = cmd().arg("--check").arg(&fifo).stdin(Stdio::null()).spawn().unwrap();
    // The FIFO's data lives only while someone has it open: tell the writer
    // to write (and go) once the check holds it.
    wait_until_open(check.id(), &fifo);
    drop(writer.stdin.take());
    assert!(writer.wait().unwrap().success());
    let out = wait_guarded(check);
    let found = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(found.contains(&format!("{}:1:7: phx: phx_...", fifo.display())), "{found}");
    assert!(!found.contains(&key));
}

/// Waits (polling `/proc/PID/fd`, with a deadline) until process `pid` has
/// `path` open.
pub(crate) fn wait_until_open(pid: u32, path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let fds = PathBuf::from(format!("/proc/{pid}/fd"));
    let path = fs::canonicalize(path).unwrap();
    while !fs::read_dir(&fds)
        .unwrap()
        .flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l == path))
    {
        assert!(Instant::now() < deadline, "{} never opened", path.display());
        std::thread::yield_now();
    }
}

#[test]
fn without_a_lease_a_writer_is_found_in_proc_and_the_file_refused() {
    // Unprivileged and not the file's owner, no lease can be had: the
    // writers are looked for in /proc, where one user sees their own.
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test switches to user nobody: run it as root");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.path().join("shared.log");
    let log = dirty_log(108);
    fs::write(&path, &log).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    let as_nobody = |command: &mut Command| {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    };
    let mut writer = holding_open(&path);
    as_nobody(&mut writer);
    let mut writer = spawn_ready(&mut writer);

    let mut scrub = cmd();
    scrub.arg("--in-place").arg(&path).stdin(Stdio::null());
    as_nobody(&mut scrub);
    let out = wait_guarded(scrub.spawn().unwrap());
    drop(writer.stdin.take());
    assert!(writer.wait().unwrap().success());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("is open for writing by another process (PID {} sh)", writer.id())),
        "{err}"
    );
    let after = [&log[..], b"written after the scrub\n"].concat();
    assert_eq!(fs::read(&path).unwrap(), after, "the writer's line is in the file");
}

/// Runs the binary with its address space capped at 4 GiB: room for a
/// sane pool, not for a thread (and its stack) per `-j` asked for.
fn run_with_capped_memory(args: &[PathBuf]) -> Output {
    let mut command = cmd();
    command.args(args).stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 4 << 30, rlim_max: 4 << 30 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    wait_guarded(command.spawn().unwrap())
}

#[test]
fn a_huge_j_does_not_spawn_a_thread_per_count() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("{i}.log"))).collect();
    let logs: Vec<Vec<u8>> = (0..2).map(|i| dirty_log(106 + i)).collect();
    for (file, log) in files.iter().zip(&logs) {
        fs::write(file, log).unwrap();
    }
    let mut args = vec![PathBuf::from("--in-place"), PathBuf::from("-j"), PathBuf::from("65535")];
    args.extend(files.iter().cloned());
    let out = run_with_capped_memory(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    for (file, log) in files.iter().zip(&logs) {
        assert_eq!(fs::read(file).unwrap(), oracle(log, false));
    }

    // --check, with more inputs than a sane pool.
    let one = dir.path().join("one.log");
    fs::write(&one, format!("key phx_{}\n", "a1B2c3D4e5".repeat(5))).unwrap();
    let mut args = vec![PathBuf::from("--check"), PathBuf::from("-j"), PathBuf::from("65535")];
    args.extend(std::iter::repeat_n(one.clone(), 3_000));
    let out = run_with_capped_memory(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = String::from_utf8_lossy(&out.stdout);
    assert!(found.contains("3000 findings, 1 distinct key to rotate"), "{found}");
}
