//! Every stored format, checked with the real tools that write it: pzstd
//! (skippable frames), xz, bzip2 and lz4 are read and written back in their
//! format, several streams one after another included; a file cut short is
//! an error, and its original stays.

use std::{fs, path::Path};

use phx_redact::testing::sample;

use crate::common::oracle;
use crate::formats_tools::{BZIP2, LZ4, PZSTD, TOOLS, Tool, XZ, pipe, run, stderr};

/// Skips the skippable frames (pzstd's, 0x184D2A50..5F) at the start.
fn past_skippable_frames(mut data: &[u8]) -> &[u8] {
    while data.len() >= 8 && data[0] & 0xf0 == 0x50 && data[1..4] == [0x2a, 0x4d, 0x18] {
        let len = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
        data = &data[8 + len..];
    }
    data
}

/// Reading, checking and scrubbing one file the tool wrote, in every mode.
fn every_mode(tool: Tool, log: &[u8], stored: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log.1"); // no suffix: found by magic bytes
    fs::write(&file, stored).unwrap();
    let want = oracle(log, false);

    let out = run(&[&file]);
    assert!(out.status.success(), "{}: {}", tool.format, stderr(&out));
    assert!(out.stdout == want, "{}: the filter did not decompress and redact", tool.format);

    let out = run(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(1), "{}: --check must find the keys", tool.format);
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(findings.starts_with(&format!("{}:", file.display())), "{findings}");

    let mirror = dir.path().join("mirror");
    let out = run(&[Path::new("--output-dir"), &mirror, &file]);
    assert!(out.status.success(), "{}: {}", tool.format, stderr(&out));
    let mirrored = fs::read(mirror.join("app.log.1")).unwrap();
    assert!(past_skippable_frames(&mirrored).starts_with(tool.magic), "{}", tool.format);
    assert!(tool.decompress(&mirrored) == want, "{}: the mirror is not redacted", tool.format);
    assert_eq!(fs::read(&file).unwrap(), stored, "{}: the original changed", tool.format);

    let out = run(&[Path::new("--in-place"), &file]);
    assert!(out.status.success(), "{}: {}", tool.format, stderr(&out));
    let scrubbed = fs::read(&file).unwrap();
    assert!(
        past_skippable_frames(&scrubbed).starts_with(tool.magic),
        "{}: no longer in its format",
        tool.format
    );
    assert!(tool.decompress(&scrubbed) == want, "{}: not redacted in place", tool.format);
    let out = run(&[Path::new("--check"), &file]);
    assert_eq!(out.status.code(), Some(0), "{}: {}", tool.format, stderr(&out));
}

#[test]
fn pzstd_xz_bzip2_and_lz4_files_are_read_checked_and_scrubbed_in_their_format() {
    let log = sample::log(91, 2_000, 5);
    for tool in TOOLS {
        let Some(stored) = tool.compress(&log) else { continue };
        every_mode(tool, &log, &stored);
    }
}

#[test]
fn concatenated_streams_and_frames_are_read_to_their_end() {
    let (a, b) = (sample::log(92, 1_500, 5), sample::log(93, 1_500, 5));
    let whole = [a.clone(), b.clone()].concat();
    for tool in [XZ, BZIP2, LZ4, PZSTD] {
        let (Some(x), Some(y)) = (tool.compress(&a), tool.compress(&b)) else { continue };
        every_mode(tool, &whole, &[x, y].concat());
    }
    // pzstd splits a large input into frames of its own, each behind a
    // skippable frame that tells its size.
    let big = sample::log(94, 60_000, 50);
    assert!(big.len() > 6 << 20);
    let Some(stored) = pipe(&["pzstd", "-q", "-c", "-p", "2", "-1"], &big) else { return };
    let mut frames = 0;
    let mut rest = &stored[..];
    while rest.len() >= 12 && rest[0] == 0x50 && rest[1..4] == [0x2a, 0x4d, 0x18] {
        frames += 1;
        let len = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        rest = &rest[12 + len..];
    }
    assert!(frames >= 2, "pzstd wrote {frames} frame(s)");
    every_mode(PZSTD, &big, &stored);
}

#[test]
fn a_truncated_archive_is_an_error_and_its_original_stays() {
    let log = sample::log(95, 3_000, 5);
    for tool in TOOLS {
        let Some(mut stored) = tool.compress(&log) else { continue };
        stored.truncate(stored.len() * 2 / 3);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cut");
        fs::write(&file, &stored).unwrap();
        let message = format!("{}: corrupt or truncated {} data", file.display(), tool.format);
        for mode in ["--check", "--in-place", "--filter"] {
            let args: Vec<&Path> = match mode {
                "--filter" => vec![&file],
                _ => vec![Path::new(mode), &file],
            };
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{} {mode}: {}", tool.format, stderr(&out));
            assert!(stderr(&out).contains(&message), "{} {mode}: {}", tool.format, stderr(&out));
            assert_eq!(fs::read(&file).unwrap(), stored, "{} {mode}", tool.format);
        }
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(names, std::slice::from_ref(&file), "no temporary file is left");
    }
}

#[test]
fn a_pzstd_file_cut_after_a_skippable_frame_is_truncated() {
    // libzstd reads a skippable frame with nothing after it as a whole
    // stream: cut there, a pzstd file would lose its tail unnoticed.
    let (a, b) = (sample::log(100, 500, 5), sample::log(101, 500, 5));
    let (Some(x), Some(y)) = (PZSTD.compress(&a), PZSTD.compress(&b)) else { return };
    let dir = tempfile::tempdir().unwrap();
    for (i, stored) in [y[..12].to_vec(), [&x[..], &y[..12]].concat()].iter().enumerate() {
        let file = dir.path().join(format!("cut{i}.zst"));
        fs::write(&file, stored).unwrap();
        for args in [vec![file.as_path()], vec![Path::new("--check"), &file]] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains("corrupt or truncated zstd data"), "{}", stderr(&out));
        }
    }
}

#[test]
fn an_lz4_frame_cut_between_two_blocks_is_truncated_not_short() {
    // 64 KiB blocks, so that the cut can fall where a block ends: where
    // the decoder would otherwise see a clean end of input.
    let log = sample::log(99, 3_000, 5);
    assert!(log.len() > 3 * 65_536);
    let Some(stored) = pipe(&["lz4", "-q", "-c", "-B4"], &log) else { return };
    let flags = stored[4];
    let mut at = 7 + if flags & 0x08 != 0 { 8 } else { 0 };
    for _ in 0..2 {
        let size = u32::from_le_bytes(stored[at..at + 4].try_into().unwrap()) & 0x7fff_ffff;
        at += 4 + size as usize + if flags & 0x10 != 0 { 4 } else { 0 };
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.lz4");
    fs::write(&file, &stored[..at]).unwrap();
    for args in [vec![file.as_path()], vec![Path::new("--check"), &file]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("corrupt or truncated lz4 data"), "{}", stderr(&out));
    }
}
