//! Keys in the bytes of a compressed file that are not its content: gzip's
//! header fields (FNAME, as `gzip` writes it for a named file, FCOMMENT,
//! FEXTRA), in any member, and zstd's and lz4's skippable frames. Each is
//! found by `--check` (file and standard input), named by its field, and
//! not carried on by `--output-dir` or `--in-place`, which rewrite the
//! file without it.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::{cmd, contains, run, tool};

/// A clean log, as the content of every file here.
const LOG: &[u8] = b"2026-11-28 GET /health 200\n2026-11-28 GET /ready 200\n";

fn output(args: &[&Path]) -> Output {
    cmd().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A skippable frame (zstd's and lz4's magic 0x184D2A5n) holding `payload`.
fn skippable(n: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x50 | n, 0x2a, 0x4d, 0x18];
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A gzip member of [`LOG`] (written by `gzip -n`: no name, no time), its
/// header given `flag` and `field` (FEXTRA: its length first; FNAME and
/// FCOMMENT: NUL-terminated).
fn gzip_with(flag: u8, field: &[u8]) -> Vec<u8> {
    let plain = crate::common::pipe_through(&["gzip", "-n", "-c"], LOG);
    assert_eq!(plain[3], 0, "gzip -n writes no optional field");
    let mut out = plain[..10].to_vec();
    out[3] = flag;
    if flag == 0x04 {
        out.extend_from_slice(&u16::try_from(field.len()).unwrap().to_le_bytes());
        out.extend_from_slice(field);
    } else {
        out.extend_from_slice(field);
        out.push(0);
    }
    out.extend_from_slice(&plain[10..]);
    out
}

/// A gzip file written by `gzip` itself from a file named `name`: it stores
/// the name (FNAME), as it does by default.
fn gzip_named(dir: &Path, name: &str) -> Vec<u8> {
    let named = dir.join(name);
    fs::write(&named, LOG).unwrap();
    let gzip = tool("gzip", "gzip").expect("gzip");
    assert!(Command::new(gzip).arg(&named).status().unwrap().success());
    let gz = dir.join(format!("{name}.gz"));
    let bytes = fs::read(&gz).unwrap();
    fs::remove_file(gz).unwrap();
    assert!(bytes[3] & 0x08 != 0, "gzip stored no name");
    bytes
}

/// A key, built at run time.
fn key(seed: u64) -> String {
    KeyGen::new(seed).key("phx", Era::Current)
}

/// The masked form `--check` shows of `key`.
fn mask(key: &str) -> String {
    format!("{}...{}", &key[..4], &key[key.len() - 4..])
}

/// Checks, mirrors and scrubs `stored`, whose content is [`LOG`] and
/// whose only key, `key`, is in the field `place`: found every way,
/// never carried on; `decompress` reads what was written.
fn found_and_dropped(stored: &[u8], key: &str, place: &str, decompress: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log.1");
    fs::write(&file, stored).unwrap();
    let what = format!("{place} ({})", file.display());

    let out = output(&[Path::new("--check"), &file]);
    let found = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{what}: --check called it clean: {found}");
    let line = format!("{}:{place}: phx: {}\n", file.display(), mask(key));
    assert!(found.starts_with(&line), "{what}: {found}");
    assert!(found.contains("1 finding, 1 distinct key to rotate"), "{what}: {found}");
    assert!(!found.contains(key), "{what}: the key was printed");

    let out = output(&[Path::new("--check"), Path::new("--json"), &file]);
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains(&format!("\"place\":\"{place}\"")), "{what}: {json}");

    let out = output(&[Path::new("--check"), Path::new("-q"), &file]);
    assert_eq!(out.status.code(), Some(1), "{what}: --check -q called it clean");

    let (code, found, _) = run(&["--check", "-"], stored);
    assert_eq!(code, 1, "{what}: --check - called it clean");
    assert!(contains(&found, format!("<stdin>:{place}: ").as_bytes()), "{what}");

    let mirror = dir.path().join("mirror");
    let out = output(&[Path::new("--output-dir"), &mirror, &file]);
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    let mirrored = fs::read(mirror.join("app.log.1")).unwrap();
    assert!(!contains(&mirrored, key.as_bytes()), "{what}: the mirror carries the key on");
    assert_eq!(
        crate::common::pipe_through(decompress, &mirrored),
        LOG,
        "{what}: the mirror's content"
    );
    assert_eq!(fs::read(&file).unwrap(), stored, "{what}: the original changed");

    let out = output(&[Path::new("--in-place"), &file]);
    assert!(out.status.success(), "{what}: {}", stderr(&out));
    let scrubbed = fs::read(&file).unwrap();
    assert!(!contains(&scrubbed, key.as_bytes()), "{what}: --in-place left the key");
    assert_eq!(
        crate::common::pipe_through(decompress, &scrubbed),
        LOG,
        "{what}: the content changed"
    );
    let out = output(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stdout));
}

const GUNZIP: &[&str] = &["gzip", "-d", "-c"];

#[test]
fn a_key_in_the_name_gzip_stores_is_found_and_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let key = key(171);
    let stored = gzip_named(dir.path(), &format!("{key}.log"));
    found_and_dropped(&stored, &key, "gzip header FNAME", GUNZIP);
}

#[test]
fn a_key_in_a_gzip_comment_or_extra_field_is_found_and_not_kept() {
    let key = key(172);
    let comment = gzip_with(0x10, format!("uploaded with {key}").as_bytes());
    found_and_dropped(&comment, &key, "gzip header FCOMMENT", GUNZIP);
    let mut extra = b"PX".to_vec();
    let data = format!("token={key}");
    extra.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
    extra.extend_from_slice(data.as_bytes());
    found_and_dropped(&gzip_with(0x04, &extra), &key, "gzip header FEXTRA", GUNZIP);
}

#[test]
fn every_gzip_member_header_is_scanned_not_just_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let key = key(173);
    // A clean first member with a clean name, the key in the second's.
    let mut stored = gzip_named(dir.path(), "app.log");
    stored.extend(gzip_named(dir.path(), &format!("{key}.log")));
    let dir2 = tempfile::tempdir().unwrap();
    let file = dir2.path().join("two.gz");
    fs::write(&file, &stored).unwrap();
    let out = output(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let out = output(&[Path::new("--in-place"), &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scrubbed = fs::read(&file).unwrap();
    assert!(!contains(&scrubbed, key.as_bytes()));
    assert_eq!(crate::common::pipe_through(GUNZIP, &scrubbed), [LOG, LOG].concat());
}

#[test]
fn a_clean_gzip_name_is_kept_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let stored = gzip_named(dir.path(), "app.log");
    let file = dir.path().join("app.log.1.gz");
    fs::write(&file, &stored).unwrap();
    let out = output(&[Path::new("--in-place"), &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), stored, "a clean file is left as it was");
}

#[test]
fn a_key_in_a_zstd_or_lz4_skippable_frame_is_found_and_not_kept() {
    let key = key(174);
    let payload = format!("meta {key}\n");
    let zstd = crate::common::pipe_through(&["zstd", "-q", "-c"], LOG);
    let unzstd: &[&str] = &["zstd", "-q", "-d", "-c"];
    let place = "zstd skippable frame";
    // Before the frame, after it, and among pzstd's own (which hold sizes).
    found_and_dropped(
        &[skippable(0, payload.as_bytes()), zstd.clone()].concat(),
        &key,
        place,
        unzstd,
    );
    found_and_dropped(
        &[zstd.clone(), skippable(15, payload.as_bytes())].concat(),
        &key,
        place,
        unzstd,
    );
    let pzstd = crate::common::pipe_through(&["pzstd", "-q", "-c", "-p", "2"], LOG);
    found_and_dropped(&[pzstd, skippable(3, payload.as_bytes())].concat(), &key, place, unzstd);

    let lz4 = crate::common::pipe_through(&["lz4", "-q", "-c"], LOG);
    let unlz4: &[&str] = &["lz4", "-q", "-d", "-c"];
    let place = "lz4 skippable frame";
    found_and_dropped(
        &[skippable(0, payload.as_bytes()), lz4.clone()].concat(),
        &key,
        place,
        unlz4,
    );
    found_and_dropped(&[lz4, skippable(7, payload.as_bytes())].concat(), &key, place, unlz4);
}

#[test]
fn pzstd_and_clean_skippable_frames_are_read_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log.zst");
    let pzstd = crate::common::pipe_through(&["pzstd", "-q", "-c", "-p", "2"], &LOG.repeat(20_000));
    let stored = [skippable(1, b"built by ci #4411"), pzstd].concat();
    fs::write(&file, &stored).unwrap();
    let out = output(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = output(&[&file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == LOG.repeat(20_000));
}

#[test]
fn a_key_in_a_gzip_name_inside_zstd_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = key(175);
    let gz = gzip_named(dir.path(), &format!("{key}.log"));
    let file: PathBuf = dir.path().join("twice.zst");
    fs::write(&file, crate::common::pipe_through(&["zstd", "-q", "-c"], &gz)).unwrap();
    let out = output(&[Path::new("--check"), &file]);
    let found = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{found}");
    assert!(found.contains(":gzip header FNAME: phx: "), "{found}");
}

#[test]
fn a_key_in_a_tar_member_name_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = key(176);
    let inner = dir.path().join("inner");
    fs::create_dir(&inner).unwrap();
    fs::write(inner.join(format!("{key}.log")), LOG).unwrap();
    let tar = dir.path().join("logs.tar");
    let status = Command::new(tool("tar", "tar").expect("tar"))
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&inner)
        .arg(format!("{key}.log"))
        .status()
        .unwrap();
    assert!(status.success());
    let tar_gz = dir.path().join("logs.tar.gz");
    fs::write(
        &tar_gz,
        crate::common::pipe_through(&["gzip", "-n", "-c"], &fs::read(&tar).unwrap()),
    )
    .unwrap();
    for file in [&tar, &tar_gz] {
        let out = output(&[Path::new("--check"), file]);
        let found = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}: {found}", file.display());
        assert!(found.starts_with(&format!("{}:1:1: phx: ", file.display())), "{found}");
    }
}
