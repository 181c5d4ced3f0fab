//! `--rsyslog`, driven as rsyslog's `mmexternal` drives it: one message a
//! line written into a pipe, and each reply waited for (with a deadline)
//! before the next message is written, which proves that a reply never
//! waits for more input.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin},
    sync::mpsc::{Receiver, channel},
    time::Duration,
};

use phx_redact::testing::sample::{self, KeyGen};
use serde::Deserialize;

use crate::common::{cmd, contains, holds_a_token, oracle, peak_rss_kib, run};

/// How long a reply may take: far more than it does, far less than a hang.
const DEADLINE: Duration = Duration::from_secs(20);

/// The binary in `--rsyslog` mode, as rsyslog runs it.
struct Plugin {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<Vec<u8>>,
}

impl Plugin {
    fn start(arg: &str) -> Plugin {
        let mut child = cmd().arg(arg).spawn().unwrap();
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, replies) = channel();
        std::thread::spawn(move || {
            loop {
                let mut line = Vec::new();
                if stdout.read_until(b'\n', &mut line).unwrap() == 0 || tx.send(line).is_err() {
                    return;
                }
            }
        });
        Plugin { child, stdin, replies }
    }

    /// Writes one message (its newline added) and waits for its reply.
    fn ask(&mut self, message: &[u8]) -> Vec<u8> {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(&[message, b"\n"].concat()).unwrap();
        stdin.flush().unwrap();
        self.replies.recv_timeout(DEADLINE).expect("no reply before the deadline")
    }

    /// Closes standard input; no reply may be left over. Exit status and
    /// standard error.
    fn end(mut self) -> (i32, String) {
        drop(self.stdin.take());
        let rest: Vec<Vec<u8>> = self.replies.iter().collect();
        assert!(rest.is_empty(), "replies nobody asked for: {}", rest.len());
        let out = self.child.wait_with_output().unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A reply's properties, as bytes (rsyslog's JSON passes bytes that are
/// not UTF-8 as they are).
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Reply {
    #[serde(default, deserialize_with = "bytes")]
    msg: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "bytes")]
    rawmsg: Option<Vec<u8>>,
}

fn bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
    }
    d.deserialize_bytes(Visitor).map(Some)
}

/// A reply checked to be one line of JSON, decoded.
fn decode(reply: &[u8]) -> Reply {
    let body = reply.strip_suffix(b"\n").expect("a reply ends with its newline");
    assert!(!body.contains(&b'\n'), "one line per reply");
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// What rsyslog's message becomes: `expected` after the reply.
fn msg_after(message: &[u8], reply: &[u8]) -> Vec<u8> {
    decode(reply).msg.unwrap_or_else(|| message.to_vec())
}

/// `text` as rsyslog's `fulljson` writes it (json-c: `/` escaped too).
fn fulljson(text: &str) -> Vec<u8> {
    let msg = serde_json::to_string(text).unwrap().replace('/', "\\/");
    format!(
        r#"{{"msg":{msg},"rawmsg":"<13>Jan  1 00:00:00 host app: {}","$!":{{}}}}"#,
        &msg[1..msg.len() - 1]
    )
    .into_bytes()
}

#[test]
fn each_message_is_answered_before_the_next_is_sent_and_nothing_else_changes() {
    let log = sample::log(20, 400, 2);
    for arg in ["--rsyslog", "--rsyslog=msg"] {
        let mut plugin = Plugin::start(arg);
        for line in log.split(|&b| b == b'\n').chain([&b""[..], b"no key here"]) {
            let reply = plugin.ask(line);
            if oracle(line, false) == line {
                assert_eq!(reply, b"{}\n", "a message with nothing to redact");
            } else {
                assert_eq!(msg_after(line, &reply), oracle(line, false));
            }
        }
        assert_eq!(plugin.end(), (0, String::new()));
    }
}

#[test]
fn fulljson_takes_the_message_from_its_json_and_redacts_msg_and_rawmsg() {
    let mut keys = KeyGen::new(21);
    let mut plugin = Plugin::start("--rsyslog=fulljson");
    for text in [
        format!("multi-line\n  at {}\n\tend", keys.secret()),
        format!("quoted \"{}\" \\ slash/ {}", keys.secret(), "\u{2028}é"),
        format!("{{\"token\":\"{}\"}}", keys.secret()),
        format!("nothing {}", keys.decoy()),
        String::new(),
    ] {
        let reply = decode(&plugin.ask(&fulljson(&text)));
        let clean = oracle(text.as_bytes(), false);
        assert_eq!(reply.msg.clone().unwrap_or_else(|| text.clone().into_bytes()), clean);
        let raw = format!("<13>Jan  1 00:00:00 host app: {text}");
        let raw_clean = oracle(raw.as_bytes(), false);
        assert_eq!(reply.rawmsg.unwrap_or_else(|| raw.into_bytes()), raw_clean);
    }
    assert_eq!(plugin.end(), (0, String::new()));
}

#[test]
fn fulljson_decodes_escapes_before_it_scans() {
    let key = KeyGen::new(22).key("phx", sample::Era::Current);
    // The key's `p` and one body byte written as JSON escapes: one key once
    // decoded, which rsyslog would write out whole.
    let escaped = format!("\\u0070{}\\u{:04x}{}", &key[1..10], key.as_bytes()[10], &key[11..]);
    let mut plugin = Plugin::start("--rsyslog=fulljson");
    let reply = plugin.ask(format!(r#"{{"msg":"key {escaped} end"}}"#).as_bytes());
    assert_eq!(decode(&reply).msg.unwrap(), b"key phx_[REDACTED] end");
    // Two halves of a key, each alone: no key in either message.
    let (head, tail) = key.split_at(19);
    for half in [head, tail] {
        assert_eq!(plugin.ask(format!(r#"{{"msg":"{half}"}}"#).as_bytes()), b"{}\n");
    }
    assert_eq!(plugin.end(), (0, String::new()));
}

#[test]
fn bytes_that_are_not_utf8_go_back_as_they_came() {
    let key = KeyGen::new(23).secret();
    let message = [&b"\xff\xfe latin-1 caf\xe9 "[..], key.as_bytes(), b" \xc3"].concat();
    for arg in ["--rsyslog", "--rsyslog=fulljson"] {
        let mut plugin = Plugin::start(arg);
        let line = if arg == "--rsyslog" {
            message.clone()
        } else {
            [&br#"{"msg":""#[..], &message, b"\",\"x\":\"\xff\"}"].concat()
        };
        let reply = plugin.ask(&line);
        assert_eq!(decode(&reply).msg.unwrap(), oracle(&message, false));
        assert!(!contains(&reply, key.as_bytes()));
        assert_eq!(plugin.end(), (0, String::new()));
    }
}

#[test]
fn a_line_that_is_not_rsyslogs_json_is_answered_empty_and_counted_never_echoed() {
    let key = KeyGen::new(24).secret();
    let mut plugin = Plugin::start("--rsyslog=fulljson");
    for bad in ["not json", r#"{"msg":1}"#, "[1]", r#"{"msg":"cut"#, r#"{"rawmsg":"x"}"#, ""] {
        assert_eq!(plugin.ask(bad.as_bytes()), b"{}\n", "{bad}");
    }
    // rsyslog sending the text itself (interface.input left at "msg"): a
    // key in it is not let through.
    let text = format!("plain text {key} here");
    assert_eq!(decode(&plugin.ask(text.as_bytes())).msg.unwrap(), oracle(text.as_bytes(), false));
    let (code, stderr) = plugin.end();
    assert_eq!(code, 0);
    assert!(stderr.contains("7 of 7 lines were not rsyslog's JSON"), "{stderr}");
    assert!(!stderr.contains("not json") && !holds_a_token(stderr.as_bytes()), "{stderr}");
}

#[test]
fn a_message_too_long_to_hold_is_not_passed_and_the_next_is_answered() {
    let key = KeyGen::new(25).secret();
    let mut plugin = Plugin::start("--rsyslog");
    let long = [key.as_bytes(), &vec![b'a'; 40 << 20]].concat();
    let reply = decode(&plugin.ask(&long)).msg.unwrap();
    assert!(String::from_utf8(reply).unwrap().contains("not kept"));
    // Read through, not held: far less than the message in memory.
    let peak = peak_rss_kib(&plugin.child);
    assert!(peak < 36 << 10, "peak {peak} KiB");
    assert_eq!(decode(&plugin.ask(key.as_bytes())).msg.unwrap(), oracle(key.as_bytes(), false));
    let (code, stderr) = plugin.end();
    assert_eq!(code, 0);
    assert!(stderr.contains("1 messages were over"), "{stderr}");
}

#[test]
fn the_last_message_without_its_newline_is_answered_too() {
    let key = KeyGen::new(26).secret();
    let (code, out, _) = run(&["--rsyslog"], format!("a\n{key}").as_bytes());
    let clean = String::from_utf8(oracle(key.as_bytes(), false)).unwrap();
    assert_eq!((code, out), (0, format!("{{}}\n{{\"msg\":\"{clean}\"}}\n").into_bytes()));
}

#[test]
fn flags_that_make_no_sense_with_it_are_refused() {
    for (args, said) in [
        (&["--rsyslog=rawmsg"][..], "use interface.input=\"fulljson\""),
        (&["--rsyslog=json"], "use msg (the default) or fulljson"),
        (&["--rsyslog", "app.log"], "a FILE does not apply to --rsyslog"),
        (&["--rsyslog", "--stats"], "--stats does not apply to --rsyslog"),
        (&["--rsyslog", "--marker", "posthog", "--state", "s"], "--state"),
        (&["--rsyslog", "--follow", "app.log"], "cannot be used with"),
        (&["--rsyslog", "--check"], "cannot be used with"),
        (&["--rsyslog", "--in-place", "app.log"], "cannot be used with"),
    ] {
        let (code, out, err) = run(args, b"");
        assert_eq!((code, out.len()), (2, 0), "{args:?}: {err}");
        assert!(err.contains(said), "{args:?}: {err}");
    }
    // The rule flags go with it.
    let (code, out, _) = run(&["--rsyslog", "--marker", "posthog", "--rule", "phx"], b"x\n");
    assert_eq!((code, out), (0, b"{}\n".to_vec()));
}
