//! What `--in-place`, `--output-dir` and `--check` must refuse or keep, so
//! that no secret is left behind silently and no original is lost: hard
//! links, files a live process writes, mirror collisions, FIFOs, special
//! mode bits, extended attributes and ACLs, absurd `-j` values, and
//! folders swapped for links while a file is scrubbed.

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

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary with `args`, killing it (and failing) if it has not
/// ended within a minute: a run that blocks on a FIFO must fail the test,
/// not hang it.
fn run_guarded(args: &[&std::ffi::OsStr]) -> Output {
    let child = cmd().args(args).stdin(Stdio::null()).spawn().unwrap();
    wait_guarded(child)
}

fn wait_guarded(child: Child) -> Output {
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

fn os(s: &str) -> &std::ffi::OsStr {
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

fn dirty_log(seed: u64) -> Vec<u8> {
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
fn mirror_collisions_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir_all(a.join("sub")).unwrap();
    fs::create_dir_all(b.join("sub")).unwrap();
    let (log_a, log_b) = (dirty_log(103), dirty_log(104));
    for (folder, log) in [(&a, &log_a), (&b, &log_b)] {
        fs::write(folder.join("app.log"), log).unwrap();
        fs::write(folder.join("sub/app.log"), log).unwrap();
    }
    let mirror = dir.path().join("mirror");
    let originals_stay = || {
        for (folder, log) in [(&a, &log_a), (&b, &log_b)] {
            assert_eq!(&fs::read(folder.join("app.log")).unwrap(), log);
            assert_eq!(&fs::read(folder.join("sub/app.log")).unwrap(), log);
        }
    };

    // Two files of the same name.
    let (a_app, b_app) = (a.join("app.log"), b.join("app.log"));
    let out = run_guarded(&[
        os("--output-dir"),
        mirror.as_os_str(),
        a_app.as_os_str(),
        b_app.as_os_str(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{} and {}", a_app.display(), b_app.display())), "{err}");
    assert!(err.contains(&format!("{}", mirror.join("app.log").display())), "{err}");
    assert!(!mirror.exists(), "nothing written");

    // Two folders sharing a relative path.
    let out = run_guarded(&[
        os("-r"),
        os("--output-dir"),
        mirror.as_os_str(),
        a.as_os_str(),
        b.as_os_str(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{} and {}", a_app.display(), b_app.display())), "{err}");
    assert!(!mirror.exists(), "nothing written");

    // The output folder is an input folder, or inside one.
    for root in [a.clone(), a.join("sub"), a.join("new")] {
        let out = run_guarded(&[os("-r"), os("--output-dir"), root.as_os_str(), a.as_os_str()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("is the input folder {} or inside it", a.display())),
            "{err}"
        );
        assert!(!a.join("new").exists(), "nothing written");
        originals_stay();
    }

    // The output of one file is another input (or itself).
    let out =
        run_guarded(&[os("--output-dir"), b.as_os_str(), a_app.as_os_str(), b_app.as_os_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{} would be written over the input {}",
            a_app.display(),
            b_app.display()
        )),
        "{err}"
    );
    let out = run_guarded(&[os("--output-dir"), a.as_os_str(), a_app.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    originals_stay();
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
fn wait_until_open(pid: u32, path: &Path) {
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
fn in_place_keeps_setuid_setgid_extended_attributes_and_acls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tool.log");
    let log = dirty_log(105);
    fs::write(&path, &log).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o6750)).unwrap();
    xattr::set(&path, "user.origin", b"collector-7").unwrap();
    // An access ACL in the kernel's xattr form (as `setfacl -m u:4242:r`
    // writes it): version 2, then (tag, perm, id) entries in tag order.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 4242),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    xattr::set(&path, "system.posix_acl_access", &acl).unwrap();
    let mode = fs::metadata(&path).unwrap().mode() & 0o7777;
    let acl = xattr::get(&path, "system.posix_acl_access").unwrap().unwrap();
    // A file without an ACL, in a folder that has since been given a
    // default ACL, which a new file there inherits: the copy must not.
    let plain = dir.path().join("plain.log");
    fs::write(&plain, &log).unwrap();
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o640)).unwrap();
    xattr::set(dir.path(), "system.posix_acl_default", &acl).unwrap();

    let out = run_guarded(&[os("--in-place"), path.as_os_str(), plain.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&path).unwrap(), oracle(&log, false));
    let after = fs::metadata(&path).unwrap();
    assert_eq!(after.mode() & 0o7777, mode, "{:o} != {mode:o}", after.mode() & 0o7777);
    assert_eq!(xattr::get(&path, "user.origin").unwrap().as_deref(), Some(&b"collector-7"[..]));
    assert_eq!(xattr::get(&path, "system.posix_acl_access").unwrap(), Some(acl));
    assert_eq!(fs::read(&plain).unwrap(), oracle(&log, false));
    assert_eq!(fs::metadata(&plain).unwrap().mode() & 0o7777, 0o640);
    assert_eq!(xattr::list(&plain).unwrap().count(), 0, "no ACL inherited by the copy");
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

/// Every file below `dir`, with its bytes, links as their targets.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let kind = entry.file_type();
        let bytes = if kind.is_symlink() {
            fs::read_link(entry.path()).unwrap().as_os_str().as_bytes().to_vec()
        } else if kind.is_file() {
            fs::read(entry.path()).unwrap()
        } else {
            continue;
        };
        all.push((entry.path().to_path_buf(), bytes));
    }
    all
}

#[test]
fn a_folder_link_inside_the_mirror_is_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let outside = dir.path().join("outside");
    fs::create_dir_all(input.join("logs")).unwrap();
    fs::create_dir_all(outside.join("logs")).unwrap();
    fs::write(input.join("logs/app.log"), dirty_log(106)).unwrap();
    fs::write(outside.join("logs/app.log"), b"someone else's file\n").unwrap();
    // A link into the inputs, and one to a folder elsewhere, where the
    // mirror's `logs` folder goes.
    for target in [input.join("logs"), outside.join("logs")] {
        let mirror = dir.path().join("mirror");
        let _ = fs::remove_dir_all(&mirror);
        fs::create_dir(&mirror).unwrap();
        std::os::unix::fs::symlink(&target, mirror.join("logs")).unwrap();
        let (inputs, others) = (snapshot(&input), snapshot(&outside));
        let out =
            run_guarded(&[os("-r"), os("--output-dir"), mirror.as_os_str(), input.as_os_str()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        let link = mirror.join("logs");
        assert!(err.contains(&format!("{} is a symbolic link", link.display())), "{err}");
        assert!(!crate::common::holds_a_token(err.as_bytes()), "{err}");
        assert_eq!(snapshot(&input), inputs, "the inputs are as they were");
        assert_eq!(snapshot(&outside), others, "the folder outside is as it was");
    }
}

#[test]
fn a_link_made_inside_the_mirror_during_a_run_is_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(input.join("z")).unwrap();
    // A first file big enough to see its temporary file, then one in `z/`.
    let big = sample::log(107, 600_000, 50);
    fs::write(input.join("a.log"), &big).unwrap();
    fs::write(input.join("z/app.log"), dirty_log(108)).unwrap();
    let mirror = dir.path().join("mirror");
    fs::create_dir(&mirror).unwrap();
    let inputs = snapshot(&input);
    let child = cmd()
        .args([os("-j1"), os("-r"), os("--output-dir"), mirror.as_os_str(), input.as_os_str()])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fs::read_dir(&mirror).unwrap().any(|e| {
        e.unwrap().file_name().to_string_lossy().starts_with(phx_redact::testing::TEMP_PREFIX)
    }) {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::yield_now();
    }
    // The check before the run saw no link: this one comes after it.
    std::os::unix::fs::symlink(input.join("z"), mirror.join("z")).unwrap();
    let out = wait_guarded(child);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{} is a symbolic link", mirror.join("z").display())), "{err}");
    assert_eq!(snapshot(&input), inputs, "the inputs are as they were");
    assert_eq!(fs::read(mirror.join("a.log")).unwrap(), oracle(&big, false));
}

#[test]
fn a_link_at_a_mirror_file_path_is_replaced_not_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let log = dirty_log(109);
    fs::write(input.join("app.log"), &log).unwrap();
    let elsewhere = dir.path().join("elsewhere.log");
    fs::write(&elsewhere, b"someone else's file\n").unwrap();
    let mirror = dir.path().join("mirror");
    fs::create_dir(&mirror).unwrap();
    std::os::unix::fs::symlink(&elsewhere, mirror.join("app.log")).unwrap();
    // And one to the input itself, under a second name.
    fs::write(input.join("b.log"), &log).unwrap();
    std::os::unix::fs::symlink(input.join("b.log"), mirror.join("b.log")).unwrap();
    let out = run_guarded(&[os("-r"), os("--output-dir"), mirror.as_os_str(), input.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&elsewhere).unwrap(), b"someone else's file\n");
    assert_eq!(fs::read(input.join("b.log")).unwrap(), log);
    for name in ["app.log", "b.log"] {
        let meta = fs::symlink_metadata(mirror.join(name)).unwrap();
        assert!(meta.is_file(), "{name}: the link was replaced by the copy");
        assert_eq!(fs::read(mirror.join(name)).unwrap(), oracle(&log, false));
    }
}

#[test]
fn a_file_whose_size_stat_gets_wrong_is_mirrored_as_read_and_refused_in_place() {
    // /proc/version says 0 bytes, and holds a line that does not change.
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    let out = run_guarded(&[os("--output-dir"), mirror.as_os_str(), os("/proc/version")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = fs::read("/proc/version").unwrap();
    assert!(!read.is_empty());
    assert_eq!(fs::read(mirror.join("version")).unwrap(), read);
    let out =
        run_guarded(&[os("--check"), mirror.join("version").as_os_str(), os("/proc/version")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // One that holds a key: the domain name, in a UTS namespace of its own
    // (as root; `unshare` from util-linux).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped the key in /proc: not root");
        return;
    }
    let key = format!("phx_{}", "q".repeat(30));
    let script = format!(
        r#"echo {key} > /proc/sys/kernel/domainname || exit 9
        "$1" --output-dir "$2" /proc/sys/kernel/domainname; echo "mirror=$?"
        "$1" --in-place /proc/sys/kernel/domainname; echo "in-place=$?"
        cat /proc/sys/kernel/domainname"#
    );
    let out = Command::new("unshare")
        .args(["--uts", "sh", "-c", &script, "sh"])
        .arg(crate::common::bin())
        .arg(&mirror)
        .output()
        .unwrap();
    let (text, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{text}{err}");
    assert!(text.starts_with("mirror=0\nin-place=2\n"), "{text}{err}");
    assert!(text.ends_with(&format!("{key}\n")), "in place, left as it was: {text}");
    assert!(err.contains("its size says 0 bytes but 35 were read"), "{err}");
    assert!(!err.contains(&key), "{err}");
    assert_eq!(fs::read(mirror.join("domainname")).unwrap(), b"phx_[REDACTED]\n");
}

/// Runs the binary as uid and gid 65534 (nobody), with no other group.
fn run_as_nobody(args: &[&std::ffi::OsStr]) -> Output {
    let child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(crate::common::bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_guarded(child)
}

#[test]
fn in_place_by_a_user_who_cannot_keep_the_owner_or_group_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root, to run as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A folder the user may make files and rename in.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let log = dirty_log(110);
    // Another user's file, readable by all; then the user's own file in a
    // group they are not in.
    for (name, uid, gid) in [("syslog.log", 4242, 4242), ("own.log", 65534, 4242)] {
        let path = dir.path().join(name);
        fs::write(&path, &log).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let out = run_as_nobody(&[os("--in-place"), path.as_os_str()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "{}: the rewritten copy cannot keep the original's owner and group ({uid}:{gid})",
                path.display()
            )),
            "{err}"
        );
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (uid, gid, 0o644));
        assert_eq!(fs::read(&path).unwrap(), log);
        // The summary counts the bytes read, though the file failed.
        let summary = format!(
            "1 files scanned, 0 changed, 0 tokens redacted, {} bytes read, 1 failed",
            log.len()
        );
        assert!(err.contains(&summary), "{err}");
        let left: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 1, "no temporary file: {left:?}");

        // Root may give the copy its owner: rewritten, owner and group kept.
        let out = run_guarded(&[os("--in-place"), path.as_os_str()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(fs::read(&path).unwrap(), oracle(&log, false));
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (uid, gid, 0o644));
        fs::remove_file(&path).unwrap();
    }
}

/// A big clean file with a secret at its end (so the first pass reads all
/// of it, a window a swap can be made in), on tmpfs where there is one.
fn big_dirty_file(path: &Path, seed: u64) -> Vec<u8> {
    use std::io::Write;
    let line = b"2024-05-01T12:00:00Z INFO request served in 12 ms, nothing to see\n";
    let chunk = line.repeat((1 << 20) / line.len());
    let mut out = std::io::BufWriter::new(fs::File::create(path).unwrap());
    for _ in 0..(180 << 20) / chunk.len() {
        out.write_all(&chunk).unwrap();
    }
    let tail = dirty_log(seed);
    out.write_all(&tail).unwrap();
    out.flush().unwrap();
    tail
}

fn temps_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(phx_redact::testing::TEMP_PREFIX))
        .collect()
}

/// Swaps `tree/sub` for a link to `victim/` once the run has the file
/// open, and swaps it back when a temporary file shows up in `victim/` (as
/// a write redirected there would need to get past the check before the
/// rename) or the run ends. Nothing may be written in `victim/`, and the
/// file asked for is scrubbed through the folder opened before the read.
fn swap_folder_during_in_place(args: &[&std::ffi::OsStr]) {
    let base =
        if Path::new("/dev/shm").is_dir() { Path::new("/dev/shm") } else { Path::new("/tmp") };
    let dir = tempfile::tempdir_in(base).unwrap();
    let (tree, victim) = (dir.path().join("tree"), dir.path().join("victim"));
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::create_dir(&victim).unwrap();
    let target = tree.join("sub/target.conf");
    let tail = big_dirty_file(&target, 211);
    let size = fs::metadata(&target).unwrap().len() as usize;
    let victim_bytes = b"root:x:0:0:root:/root:/bin/sh\n".to_vec();
    fs::write(victim.join("target.conf"), &victim_bytes).unwrap();
    let (sub, real) = (tree.join("sub"), tree.join("sub.real"));

    let mut child = cmd()
        .current_dir(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_open(child.id(), &target);
    fs::rename(&sub, &real).unwrap();
    std::os::unix::fs::symlink(&victim, &sub).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen_in_victim = false;
    while child.try_wait().unwrap().is_none() {
        if !seen_in_victim && !temps_in(&victim).is_empty() {
            seen_in_victim = true;
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("phx-redact ran for two minutes");
        }
        std::thread::yield_now();
    }
    // Back as it was, whether the run is still going (its temporary file
    // was seen in `victim/`) or over.
    fs::remove_file(&sub).unwrap();
    fs::rename(&real, &sub).unwrap();
    let out = wait_guarded(child);
    let err = stderr(&out);

    assert!(!seen_in_victim, "a temporary file was made in the folder swapped in: {err}");
    assert_eq!(fs::read(victim.join("target.conf")).unwrap(), victim_bytes, "{err}");
    assert_eq!(temps_in(&victim), Vec::<String>::new());
    assert_eq!(temps_in(&sub), Vec::<String>::new());
    // The swap came while the keys were listed (the scrub reads every
    // file once for the list before it rewrites any): the folder then
    // opened names another file, which is refused as changed, and the
    // file asked for is left as it was. Or it came during the rewrite's
    // read, and the file was scrubbed through the folder held open.
    let scrubbed = fs::read(&target).unwrap();
    let redacted = oracle(&tail, false);
    match out.status.code() {
        Some(2) => {
            assert!(err.contains("changed while being scrubbed"), "{err}");
            assert_eq!(scrubbed.len(), size, "left as it was: {err}");
        }
        _ => {
            assert_eq!(out.status.code(), Some(0), "{err}");
            assert_eq!(scrubbed.len(), size - tail.len() + redacted.len(), "{err}");
            assert!(scrubbed.ends_with(&redacted), "{err}");
        }
    }
}

#[test]
fn in_place_never_writes_through_a_folder_swapped_for_a_link_while_the_file_is_read() {
    swap_folder_during_in_place(&[os("--in-place"), os("tree/sub/target.conf")]);
}

#[test]
fn in_place_walk_never_writes_through_a_folder_swapped_for_a_link_while_the_file_is_read() {
    swap_folder_during_in_place(&[os("--in-place"), os("-r"), os("tree")]);
}
