//! What a file rewritten in place keeps, or else is refused for: setuid
//! and setgid bits, extended attributes and ACLs, its owner and group, and
//! a size that `stat` tells.

use std::{
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    process::{Command, Output, Stdio},
};

use crate::common::oracle;
use crate::scrub_safety::{dirty_log, os, run_guarded, stderr, wait_guarded};

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
