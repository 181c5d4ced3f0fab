//! What the format tests share: the compressors they run (pzstd, xz,
//! bzip2, lz4), phx-redact run on files, and a file in a format it cannot
//! read.

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use crate::common::cmd;

/// A compressor as its command line runs it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// What the file is called in messages (`corrupt or truncated xz data`).
    pub format: &'static str,
    /// The program, and its arguments to compress stdin to stdout.
    pub compress: &'static [&'static str],
    /// Its arguments to decompress stdin to stdout.
    pub decompress: &'static [&'static str],
    /// The first bytes of what it writes, once any skippable frame is past.
    pub magic: &'static [u8],
}

pub const PZSTD: Tool = Tool {
    format: "zstd",
    compress: &["pzstd", "-q", "-c", "-p", "2"],
    decompress: &["pzstd", "-q", "-d", "-c"],
    magic: &[0x28, 0xb5, 0x2f, 0xfd],
};
pub const XZ: Tool = Tool {
    format: "xz",
    compress: &["xz", "-c"],
    decompress: &["xz", "-d", "-c"],
    magic: &[0xfd, b'7', b'z', b'X', b'Z', 0],
};
pub const BZIP2: Tool = Tool {
    format: "bzip2",
    compress: &["bzip2", "-c"],
    decompress: &["bzip2", "-d", "-c"],
    magic: b"BZh",
};
pub const LZ4: Tool = Tool {
    format: "lz4",
    compress: &["lz4", "-q", "-c"],
    decompress: &["lz4", "-q", "-d", "-c"],
    magic: &[0x04, 0x22, 0x4d, 0x18],
};
pub const TOOLS: [Tool; 4] = [PZSTD, XZ, BZIP2, LZ4];

/// Runs `argv` with `input` on stdin; its stdout. None when the program is
/// missing and PHX_REDACT_ALLOW_MISSING_TOOLS=1 says that may be.
pub fn pipe(argv: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var_os("PHX_REDACT_ALLOW_MISSING_TOOLS").is_some_and(|v| v == "1") {
                eprintln!("{} is not installed: test skipped", argv[0]);
                return None;
            }
            panic!(
                "{} is not installed (Debian packages zstd, xz-utils, bzip2, lz4); \
                 PHX_REDACT_ALLOW_MISSING_TOOLS=1 skips the tests that need it",
                argv[0]
            );
        }
        Err(e) => panic!("{}: {e}", argv[0]),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
    Some(out.stdout)
}

impl Tool {
    pub fn compress(&self, data: &[u8]) -> Option<Vec<u8>> {
        pipe(self.compress, data)
    }

    pub fn decompress(&self, data: &[u8]) -> Vec<u8> {
        pipe(self.decompress, data).unwrap()
    }
}

pub fn run(args: &[&Path]) -> Output {
    cmd().args(args).output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file in a format phx-redact cannot read, holding `key` in the clear
/// after its magic (as a stored zip member or an uncompressed block would).
pub fn unreadable(magic: &[u8], key: &str) -> Vec<u8> {
    let mut data = magic.to_vec();
    data.extend_from_slice(&[0; 24]);
    data.extend_from_slice(format!("token={key}\n").as_bytes());
    data
}
