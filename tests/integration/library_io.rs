//! The `std::io` adapters: a flush is not the end of a stream; the end is
//! explicit, or the drop.

use std::io::{Read, Write};

use phx_redact::{
    RedactReader, RedactWriter,
    testing::sample::{Era, KeyGen},
};

use crate::common::{contains, rules};

/// A writer that counts flushes, to see that they pass through.
#[derive(Default)]
struct Sink {
    bytes: Vec<u8>,
    flushes: usize,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flushes += 1;
        Ok(())
    }
}

#[test]
fn a_flush_in_the_middle_of_a_key_keeps_it_one_token() {
    let key = KeyGen::new(90).key("phx", Era::Current);
    // Both halves fall short of a token: only the whole is one.
    let (head, tail) = key.split_at(12);
    let mut writer = RedactWriter::new(Sink::default(), rules(false));
    write!(writer, "token={head}").unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.get_ref().flushes, 1, "the flush reaches the inner writer");
    assert!(!contains(&writer.get_ref().bytes, &head.as_bytes()[4..]), "half a key went out");
    write!(writer, "{tail} done").unwrap();
    writer.finish().unwrap();
    assert_eq!(writer.get_ref().bytes, b"token=phx_[REDACTED] done");
    // After `finish`, a new stream: a key split across it is two pieces
    // that each fall short of a token.
    write!(writer, "\nnext {head}").unwrap();
    let out = writer.into_inner().unwrap().bytes;
    assert!(out.ends_with(format!("\nnext {head}").as_bytes()));
}

#[test]
fn dropping_the_writer_ends_its_stream() {
    let key = KeyGen::new(91).key("phs", Era::Legacy);
    let mut out = Vec::new();
    {
        let mut writer = RedactWriter::new(&mut out, rules(false));
        write!(writer, "last {key}").unwrap();
        writer.flush().unwrap();
    }
    assert_eq!(out, b"last phs_[REDACTED]");
}

#[test]
fn the_reader_ends_the_stream_at_the_end_of_its_input_only() {
    let key = KeyGen::new(92).key("pha", Era::Current);
    let input = format!("a {key}");
    // One byte at a time: every read of the inner reader is a piece.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut reader = RedactReader::new(Trickle(input.as_bytes()), rules(false));
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"a pha_[REDACTED]");
}

/// Each event is one stream, ended when its writer is dropped: what a rule
/// holds back at the end of an event comes out with that event, not with
/// the next one or never.
#[cfg(feature = "tracing")]
#[test]
fn each_tracing_event_is_one_stream_ended_at_its_end() {
    use std::sync::{Arc, Mutex};

    use phx_redact::{RedactMakeWriter, Rule, RuleSet};

    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);
    impl Write for Logs {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // A rule that holds everything from BEGIN until it sees END.
    let mut list = Rule::defaults(false);
    list.push(Rule::custom("block", "BEGIN[^!]*END"));
    let rules = Arc::new(RuleSet::new(list).unwrap());
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(RedactMakeWriter::new(move || sink.clone(), rules))
        .with_ansi(false)
        .without_time()
        .finish();
    let key = KeyGen::new(93).key("phr", Era::Current);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("first BEGIN open");
        let written = logs.0.lock().unwrap().clone();
        assert!(contains(&written, b"first BEGIN open\n"), "{}", String::from_utf8_lossy(&written));
        tracing::info!("second {key}");
    });
    let written = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(written.contains("second phr_[REDACTED]\n"), "{written}");
    assert!(!written.contains(&key));
}

/// A writer that refuses every other call, all or nothing, as a
/// non-blocking socket or a full pipe does.
#[derive(Default)]
struct Flaky {
    bytes: Vec<u8>,
    calls: usize,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 1 {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_the_inner_writer_refuses_can_be_retried_without_a_leak() {
    let mut keys = KeyGen::new(91);
    let text: String = (0..200).map(|i| format!("line {i} Bearer {}\n", keys.secret())).collect();
    for piece in [1, 3, 7, 16, 64] {
        let mut writer = RedactWriter::new(Flaky::default(), rules(false));
        for chunk in text.as_bytes().chunks(piece) {
            // Retry what was refused, as BufWriter and every caller of an
            // interrupted or would-block write do.
            let mut rest = chunk;
            while !rest.is_empty() {
                match writer.write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        let out = loop {
            match writer.finish() {
                Ok(()) => break std::mem::take(&mut writer.get_mut().bytes),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(out, crate::common::oracle(text.as_bytes(), false), "pieces of {piece}");
    }
}
