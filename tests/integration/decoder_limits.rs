//! A compressed file cannot make phx-redact take the memory it asks for:
//! an xz header declaring a 4 GiB dictionary, a zstd frame declaring a
//! 2 GiB window are refused (exit 2, the limit named, the file left as it
//! was), with the peak memory measured; a small gzip that expands a
//! thousand times streams through in little memory.

use std::{fs, path::Path, process::Command};

use phx_redact::testing::sample::{Era, KeyGen};

use crate::common::tool;

/// Runs phx-redact with `args` under `/usr/bin/time`: exit code, stdout,
/// stderr (time's line removed) and the peak resident memory in KiB.
fn measured(args: &[&Path]) -> (Option<i32>, String, String, u64) {
    let time = tool("time", "time").expect("time");
    let out = Command::new(time)
        .args(["-f", "peak-kib=%M"])
        .arg(crate::common::bin())
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let (rest, peak) = err.trim_end().rsplit_once("peak-kib=").expect("time's line");
    let peak = peak.trim().parse().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // time exits with its child's status, or says it was killed.
    (out.status.code(), stdout, rest.to_string(), peak)
}

/// A log holding a key, so that a file that is decoded is not clean.
fn leaky_log() -> Vec<u8> {
    format!("token={}\n", KeyGen::new(181).key("phx", Era::Current)).repeat(100).into_bytes()
}

/// A varint of xz's headers, from `at`: its length.
fn varint_len(bytes: &[u8], at: usize) -> usize {
    bytes[at..].iter().position(|b| b & 0x80 == 0).unwrap() + 1
}

/// An xz file as `xz -0` writes it, whose first block's LZMA2 filter is
/// made to declare a 4 GiB dictionary (property 40), its header CRC
/// mended: liblzma would fill as much of that dictionary as the content
/// is long (160 MiB of zeros here, 25 KiB compressed) before a window of
/// its own would wrap.
fn xz_with_a_4_gib_dictionary() -> Vec<u8> {
    let mut log = vec![0; 160 << 20];
    log.extend_from_slice(&leaky_log());
    let mut xz = crate::common::pipe_through(&["xz", "-0", "-T1", "-c"], &log);
    let block = 12; // after the stream header
    let header_len = (usize::from(xz[block]) + 1) * 4;
    let flags = xz[block + 1];
    assert_eq!(flags & 3, 0, "one filter");
    let mut at = block + 2;
    for size_present in [0x40, 0x80] {
        if flags & size_present != 0 {
            at += varint_len(&xz, at);
        }
    }
    assert_eq!(&xz[at..at + 2], [0x21, 1], "LZMA2, one property byte");
    xz[at + 2] = 40;
    let crc_at = block + header_len - 4;
    let mut crc = flate2::Crc::new();
    crc.update(&xz[block..crc_at]);
    xz[crc_at..crc_at + 4].copy_from_slice(&crc.sum().to_le_bytes());
    xz
}

/// A zstd frame of `log` that declares a 2 GiB window (its content size
/// left out, so that its header holds a window descriptor).
fn zstd_with_a_2_gib_window(log: &[u8]) -> Vec<u8> {
    let mut zstd = crate::common::pipe_through(&["zstd", "-q", "-c", "--no-content-size"], log);
    let descriptor = zstd[4];
    assert_eq!(descriptor & 0x20, 0, "not single-segment: a window descriptor follows");
    zstd[5] = 21 << 3; // 2^(10 + 21)
    zstd
}

/// Refused, the limit named, the original unchanged, the memory bounded,
/// in every mode.
fn refused(stored: &[u8], format: &str, limit: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log.1");
    fs::write(&file, stored).unwrap();
    let mirror = dir.path().join("mirror");
    let modes: [&[&Path]; 4] = [
        &[Path::new("--check"), &file],
        &[Path::new("--in-place"), &file],
        &[Path::new("--output-dir"), &mirror, &file],
        &[&file],
    ];
    for args in modes {
        let (code, _, err, peak) = measured(args);
        assert_eq!(code, Some(2), "{format} {args:?}: {err}");
        let want = format!("phx-redact: {}: {format} data ", file.display());
        assert!(err.contains(&want), "{format} {args:?}: {err}");
        assert!(err.contains(&format!("phx-redact's limit of {limit}")), "{err}");
        assert!(peak < 64 * 1024, "{format} {args:?}: peak RSS {peak} KiB");
        assert_eq!(fs::read(&file).unwrap(), stored, "{format}: the original changed");
        assert!(!mirror.join("app.log.1").exists(), "{format}: mirrored");
    }
}

#[test]
fn an_xz_header_declaring_a_4_gib_dictionary_is_refused_in_bounded_memory() {
    refused(&xz_with_a_4_gib_dictionary(), "xz", "96 MiB");
}

#[test]
fn a_zstd_frame_declaring_a_2_gib_window_is_refused_naming_the_limit() {
    refused(&zstd_with_a_2_gib_window(&leaky_log()), "zstd", "128 MiB");
}

#[test]
fn the_largest_dictionaries_and_windows_the_tools_write_by_default_still_decode() {
    let log = leaky_log().repeat(50);
    let dir = tempfile::tempdir().unwrap();
    let xz9 = crate::common::pipe_through(&["xz", "-9", "-c"], &log);
    let ultra = crate::common::pipe_through(&["zstd", "-q", "-c", "--long=27"], &log);
    for (name, stored) in [("xz9", xz9), ("ultra.zst", ultra)] {
        let file = dir.path().join(name);
        fs::write(&file, stored).unwrap();
        let (code, found, err, _) = measured(&[Path::new("--check"), &file]);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(found.contains("5000 findings"), "{name}: {found}");
    }
}

#[test]
fn a_gzip_that_expands_a_thousand_times_streams_in_bounded_memory() {
    // 64 MiB of zeros and a key at the end, about 64 KiB compressed.
    let key = KeyGen::new(182).key("phs", Era::Current);
    let mut log = vec![0u8; 64 << 20];
    log.extend_from_slice(format!("\ntoken={key}\n").as_bytes());
    let gz = crate::common::pipe_through(&["gzip", "-c"], &log);
    assert!(gz.len() < 256 << 10);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bomb.gz");
    fs::write(&file, gz).unwrap();
    let (code, found, err, peak) = measured(&[Path::new("--check"), &file]);
    assert_eq!(code, Some(1), "{err}");
    assert!(found.contains("1 finding"), "{found}");
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB");
}
