//! Content a redaction would corrupt (a tar or an ar archive, a
//! database, binary data) is scanned but never rewritten, and compressed
//! data one level down (a member of an archive, a gzip inside zstd) is
//! never called clean.

use std::{fs, io::Write, path::Path, process::Command};

use crate::formats_tools::{XZ, run, stderr};

#[test]
fn a_tar_holding_a_key_is_scanned_but_not_rewritten() {
    let key = format!("phs_{}", "Zx8Cv6Bn4M".repeat(3));
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner");
    fs::create_dir(&inner).unwrap();
    fs::write(inner.join("app.log"), format!("Authorization: Bearer {key}\n")).unwrap();
    let tar = dir.path().join("logs.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&inner)
        .arg("app.log")
        .status()
        .unwrap();
    assert!(status.success());
    let stored = fs::read(&tar).unwrap();
    let Some(tar_xz) = XZ.compress(&stored) else { return };
    let tar_xz_path = dir.path().join("logs.tar.xz");
    fs::write(&tar_xz_path, &tar_xz).unwrap();

    for (file, bytes) in [(&tar, &stored), (&tar_xz_path, &tar_xz)] {
        let out = run(&[Path::new("--check"), file]);
        assert_eq!(out.status.code(), Some(1), "{}: {}", file.display(), stderr(&out));
        let out = run(&[Path::new("--in-place"), file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("{}: tar archive", file.display())), "{err}");
        assert!(!err.contains(&key));
        assert_eq!(&fs::read(file).unwrap(), bytes, "a tar must not be rewritten");
        let mirror = dir.path().join("mirror");
        let out = run(&[Path::new("--output-dir"), &mirror, file]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(!mirror.join(file.file_name().unwrap()).exists(), "a broken tar was mirrored");
    }
}

/// Runs a tool that must be there (tar, ar, gzip, zstd, python3).
fn tool(argv: &[&str], dir: &Path) {
    let out = Command::new(argv[0]).args(&argv[1..]).current_dir(dir).output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!("{}: {e} (Debian packages tar, binutils, gzip, zstd, python3)", argv[0]),
    };
    assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `file` (holding a key) is scanned by `--check`, and refused by
/// `--in-place` and `--output-dir` with a message naming `what`, the
/// original kept and nothing mirrored.
fn refused_as(dir: &Path, file: &Path, what: &str, key: &str) {
    let bytes = fs::read(file).unwrap();
    let out = run(&[Path::new("--check"), file]);
    assert_eq!(out.status.code(), Some(1), "{}: {}", file.display(), stderr(&out));
    let out = run(&[Path::new("--in-place"), file]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}: {err}", file.display());
    assert!(err.contains(&format!("{}: {what}", file.display())), "{err}");
    assert!(!err.contains(key));
    assert_eq!(fs::read(file).unwrap(), bytes, "{} was rewritten", file.display());
    let mirror = dir.join("mirror");
    let out = run(&[Path::new("--output-dir"), &mirror, file]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!mirror.join(file.file_name().unwrap()).exists(), "{} was mirrored", file.display());
}

#[test]
fn length_framed_and_binary_content_holding_a_key_is_scanned_but_not_rewritten() {
    let key = format!("phx_{}", "q7W3e5R1t9".repeat(5));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.log"), format!("late {key}\n")).unwrap();
    fs::write(d.join("b.log"), "nothing here\n").unwrap();
    // A V7 tar has no "ustar" magic, only its header checksum.
    tool(&["tar", "--format=v7", "-cf", "v7.tar", "a.log", "b.log"], d);
    tool(&["ar", "rc", "l.a", "a.log", "b.log"], d);
    let script = format!(
        "import sqlite3; c = sqlite3.connect('db.sqlite'); c.execute('create table t(v)'); \
         c.execute('insert into t values (?)', ('{key}',)); c.commit()"
    );
    tool(&["python3", "-c", &script], d);
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    binary.extend_from_slice(format!("\0\0{key}\0\0").as_bytes());
    fs::write(d.join("prog.bin"), &binary).unwrap();
    fs::copy(d.join("prog.bin"), d.join("prog2.bin")).unwrap();
    tool(&["gzip", "prog2.bin"], d);

    refused_as(d, &d.join("v7.tar"), "tar archive", &key);
    refused_as(d, &d.join("l.a"), "ar archive", &key);
    refused_as(d, &d.join("db.sqlite"), "SQLite database", &key);
    refused_as(d, &d.join("prog.bin"), "binary data (NUL bytes)", &key);
    refused_as(d, &d.join("prog2.bin.gz"), "binary data (NUL bytes)", &key);
}

#[test]
fn compressed_data_nested_one_level_down_is_never_clean() {
    let key = format!("phx_{}", "m2N4b6V8c0".repeat(5));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.log"), format!("late {key}\n")).unwrap();
    fs::write(d.join("b.log"), "nothing here\n").unwrap();
    tool(&["gzip", "-k", "a.log"], d);
    tool(&["gzip", "-k", "b.log"], d);
    tool(&["tar", "-cf", "gzs.tar", "b.log", "a.log.gz"], d);
    tool(&["tar", "-czf", "gzs.tgz", "b.log", "a.log.gz"], d);
    // Even a clean gzip member cannot be vouched for without reading it.
    tool(&["tar", "-cf", "clean.tar", "b.log", "b.log.gz"], d);
    tool(&["zstd", "-q", "a.log.gz", "-o", "a.log.gz.zst"], d);
    tool(&["ar", "rc", "gzs.a", "b.log", "a.log.gz"], d);

    for (name, message) in [
        ("gzs.tar", "gzip member inside a tar archive"),
        ("gzs.tgz", "gzip member inside a tar archive"),
        ("clean.tar", "gzip member inside a tar archive"),
        ("gzs.a", "gzip member inside an ar archive"),
    ] {
        let file = d.join(name);
        let bytes = fs::read(&file).unwrap();
        for mode in ["--check", "--in-place"] {
            let out = run(&[Path::new(mode), &file]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{mode} {name}: {err}");
            assert!(err.contains(message), "{mode} {name}: {err}");
            assert!(!err.contains(&key));
        }
        assert_eq!(fs::read(&file).unwrap(), bytes, "{name} was rewritten");
        let mirror = d.join("mirror");
        let out = run(&[Path::new("--output-dir"), &mirror, &file]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(!mirror.join(name).exists(), "{name} was mirrored");
    }

    // zstd over gzip: read through both layers, found, never rewritten.
    refused_as(d, &d.join("a.log.gz.zst"), "gzip data inside zstd data", &key);
    let out = run(&[Path::new("--check"), &d.join("a.log.gz.zst")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(":1:6: phx"), "{out:?}");

    // Three layers are read through; a fourth is unreadable, never clean.
    let mut layers = fs::read(d.join("a.log")).unwrap();
    for depth in 1..=4 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&layers).unwrap();
        layers = gz.finish().unwrap();
        let file = d.join(format!("deep{depth}.gz"));
        fs::write(&file, &layers).unwrap();
        let out = run(&[Path::new("--check"), &file]);
        let expected = if depth <= 3 { 1 } else { 2 };
        assert_eq!(out.status.code(), Some(expected), "depth {depth}: {}", stderr(&out));
        if depth == 4 {
            assert!(stderr(&out).contains("deeply nested compressed data"), "{}", stderr(&out));
        }
    }
}
