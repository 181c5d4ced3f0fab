//! `--follow --input-format cri`: records appended in pieces (a record cut
//! mid-line, a key cut mid-record) come out as the joined oracle says,
//! and SIGTERM ends the follower with nothing lost.

use std::{fs::OpenOptions, io::Write};

use crate::follow_harness::Follower;
use crate::records_cri::keys_around_splits;
use crate::records_oracle::{cri_expected, cri_file};

#[test]
fn records_appended_in_pieces_are_followed_as_the_joined_oracle() {
    let (recs, _) = keys_around_splits(4001);
    let input = cri_file(&recs[..39]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    std::fs::write(&path, b"").unwrap();
    let format = std::path::Path::new("--input-format=cri");
    let follower = Follower::start(&[format, std::path::Path::new("--from-start"), &path]);
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    // Pieces that cut records, and keys, anywhere (whole lines in all:
    // a line a stream has not finished waits for its end).
    for piece in input.chunks(7919) {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
    }
    let expected = String::from_utf8(cri_expected(&recs[..39])).unwrap();
    let want: Vec<&str> = expected.lines().collect();
    let got = follower.lines(want.len());
    let (status, rest, _) = follower.stop();
    assert!(status.success() && rest.is_empty(), "{status:?} {}", rest.len());
    assert!(got == want, "not the joined oracle, record for record");
}

/// The lines that were not records are counted in both formats, and the
/// follower says how many when it stops (SIGTERM), as the filter does at
/// its end: once a path, not once a round.
#[test]
fn the_follower_says_at_exit_how_many_lines_were_not_records() {
    let time = crate::records_oracle::TIME;
    for (format, name, record) in [
        ("cri", "CRI", format!("{time} stdout F a record\n").into_bytes()),
        (
            "docker-json",
            "docker json-file",
            crate::records_oracle::docker_line("stdout", b"a record\n"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        let mut input = record.clone();
        input.extend_from_slice(b"not a record\nnor this\n");
        input.extend_from_slice(&record);
        std::fs::write(&path, &input).unwrap();
        let arg = format!("--input-format={format}");
        let args = [std::path::Path::new(&arg), std::path::Path::new("--from-start"), &path];
        let follower = Follower::start(&args);
        let got = follower.lines(4);
        assert_eq!(got[1], "not a record");
        let (status, _, notices) = follower.stop();
        assert!(status.success(), "{status:?}");
        let said = format!("2 lines were not {name} records");
        let matching: Vec<&String> = notices.iter().filter(|n| n.contains(&said)).collect();
        assert_eq!(matching.len(), 1, "{format}: {notices:?}");
        assert!(matching[0].contains(&*path.to_string_lossy()), "{}", matching[0]);
    }
}
