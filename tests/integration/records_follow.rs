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

/// Where the follower has read `path` up to (its descriptor's position).
fn read_up_to(follower: &Follower, path: &std::path::Path) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{}/fd", follower.pid())).ok()?;
    let fd = fds
        .filter_map(Result::ok)
        .find(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == path))?;
    let info = std::fs::read_to_string(format!(
        "/proc/{}/fdinfo/{}",
        follower.pid(),
        fd.file_name().to_str()?
    ))
    .ok()?;
    info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|p| p.trim().parse().ok())
}

/// `--follow --input-format docker-json`: a stdout key cut across two
/// records written apart (the follower has read the first before the
/// second comes), a stderr record between, then the file rotated and the
/// same in the new one: each comes out as the joined oracle says.
#[test]
fn docker_records_with_a_key_across_two_writes_and_a_rotation_are_followed() {
    use crate::follow_harness::wait_until;
    use crate::records_oracle::{Rec, docker_expected, docker_file};
    let mut keys = phx_redact::testing::sample::KeyGen::new(4002);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-json.log");
    std::fs::write(&path, b"").unwrap();
    let format = std::path::Path::new("--input-format=docker-json");
    let follower = Follower::start(&[format, std::path::Path::new("--from-start"), &path]);
    for round in 0..2 {
        let key = keys.secret();
        let rec = |stream, content: String, partial| Rec {
            stream,
            content: content.into_bytes(),
            partial,
        };
        let recs = [
            rec("stdout", format!("round {round} key={}", &key[..9]), true),
            rec("stderr", "between\n".to_string(), false),
            rec("stdout", format!("{} end\n", &key[9..]), false),
        ];
        let (first, second) = (docker_file(&recs[..2]), docker_file(&recs[2..]));
        let mut file = OpenOptions::new().append(true).create(true).open(&path).unwrap();
        let before = file.metadata().unwrap().len();
        file.write_all(&first).unwrap();
        let read_to = before + first.len() as u64;
        wait_until("the first write read", || read_up_to(&follower, &path) == Some(read_to));
        file.write_all(&second).unwrap();
        let expected = String::from_utf8(docker_expected(&recs)).unwrap();
        let want: Vec<&str> = expected.lines().collect();
        let got = follower.lines(want.len());
        assert!(got == want, "round {round}: {got:?}");
        assert!(!got.concat().contains(&key[9..]), "a key's rest went out");
        if round == 0 {
            std::fs::rename(&path, dir.path().join("c-json.log.1")).unwrap();
        }
    }
    let (status, rest, _) = follower.stop();
    assert!(status.success() && rest.is_empty(), "{status:?} {rest:?}");
}
