//! A format phx-redact cannot read (zip, 7z, lzma, UTF-16 text, ...) is
//! an error naming it, never "clean" and never rewritten; a file shorter
//! than a magic, or only like one, is plain text.

use std::{fs, path::Path};

use phx_redact::testing::sample;

use crate::common::contains;
use crate::formats_tools::{pipe, run, stderr, unreadable};

#[test]
fn a_format_that_cannot_be_read_is_an_error_naming_it_never_clean_nor_rewritten() {
    let key = format!("phx_{}", "Qw3rTy7u9I".repeat(4));
    let cases: [(&str, &[u8]); 8] = [
        ("zip", b"PK\x03\x04"),
        ("zip", b"PK\x05\x06"),
        ("7z", &[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]),
        ("rar", b"Rar!\x1a\x07\x01\x00"),
        ("lzip", b"LZIP\x01"),
        ("compress (.Z)", &[0x1f, 0x9d, 0x90]),
        ("lzop", &[0x89, b'L', b'Z', b'O', 0, 0x0d, 0x0a, 0x1a, 0x0a]),
        ("lz4 legacy", &[0x02, 0x21, 0x4c, 0x18]),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (format, magic)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("archive{i}"));
        let stored = unreadable(magic, &key);
        fs::write(&file, &stored).unwrap();
        let message = format!("{}: {format} data", file.display());
        let mirror = dir.path().join(format!("mirror{i}"));
        for args in [
            vec![file.as_path()],
            vec![Path::new("--check"), &file],
            vec![Path::new("--in-place"), &file],
            vec![Path::new("--output-dir"), &mirror, &file],
        ] {
            let out = run(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{format} {args:?}: {err}");
            assert!(err.contains(&message), "{format} {args:?}: {err}");
            assert!(!contains(&out.stdout, key.as_bytes()), "{format} {args:?}: key on stdout");
            assert!(!err.contains(&key), "{format} {args:?}: key on stderr");
            assert_eq!(fs::read(&file).unwrap(), stored, "{format} {args:?}: rewritten");
        }
        assert!(!mirror.join(format!("archive{i}")).exists(), "{format}: mirrored");
    }
}

#[test]
fn an_lzma_alone_file_is_an_error_naming_it() {
    let log = sample::log(96, 300, 3);
    let Some(stored) = pipe(&["xz", "--format=lzma", "-c"], &log) else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.lzma");
    fs::write(&file, &stored).unwrap();
    for args in [vec![Path::new("--check"), &file], vec![Path::new("--in-place"), &file]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("{}: lzma data", file.display())), "{args:?}");
        assert_eq!(fs::read(&file).unwrap(), stored);
    }
}

#[test]
fn files_shorter_than_a_magic_or_only_like_one_are_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in [&b"B"[..], b"BZ", b"BZh", b"BZh9 is not a stream\n", b"PK", b"\xfd7z", b"7"]
        .iter()
        .enumerate()
    {
        let file = dir.path().join(format!("short{i}"));
        fs::write(&file, text).unwrap();
        let out = run(&[&file]);
        assert!(out.status.success(), "{text:?}: {}", stderr(&out));
        assert_eq!(&out.stdout, text);
        let out = run(&[Path::new("--check"), &file]);
        assert_eq!(out.status.code(), Some(0), "{text:?}: {}", stderr(&out));
    }
}

/// A log in UTF-16 (PowerShell's `>` writes it, with a byte-order mark):
/// a key there is `p\0h\0x\0_\0…`, which no rule sees. Never clean, never
/// rewritten: an error that says how to convert it.
#[test]
fn utf16_text_is_never_called_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut keys = sample::KeyGen::new(91);
    let key = keys.key("phx", sample::Era::Current);
    let text = format!("\u{feff}token {key}\r\n");
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let path = dir.path().join("ps.log");
    fs::write(&path, &utf16).unwrap();
    for args in [&[Path::new("--check"), &path][..], &[Path::new("--in-place"), &path], &[&path]] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("UTF-16 or UTF-32 text"), "{args:?}: {err}");
        assert_eq!(fs::read(&path).unwrap(), utf16, "{args:?}");
    }
    let (code, _, err) = crate::common::run(&["--check", "-"], &utf16);
    assert_eq!(code, 2, "{err}");
}
