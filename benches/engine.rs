//! Throughput of the engine against the floor: memchr's memmem scanning the
//! same bytes for `phx_` alone.
//!
//! `cargo bench --bench engine`. Every input is generated from a seed, and
//! every redaction is checked once against the regex oracle before timing.

use std::{io, sync::Arc};

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use memchr::memmem;
use phx_redact::{
    Redactor, RuleSet,
    testing::{
        READ_SIZE,
        sample::{self, KeyGen},
    },
};
use regex::bytes::Regex;

const SIZE: usize = 16 << 20;

fn lines(one_in: usize) -> Vec<u8> {
    let mut log = sample::log(7, SIZE / 100, one_in);
    log.truncate(SIZE);
    log
}

/// One line of 16 MiB: words, a key every 10 KB or so, no newline.
fn huge_line() -> Vec<u8> {
    let mut keys = KeyGen::new(8);
    let mut line = Vec::with_capacity(SIZE + 100);
    while line.len() < SIZE {
        for _ in 0..100 {
            line.extend_from_slice(keys.alnum(99).as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(keys.secret().as_bytes());
        line.push(b' ');
    }
    line
}

/// What the filter does with a file: read-sized chunks, into a sink.
fn redact(rules: &Arc<RuleSet>, data: &[u8], out: &mut impl io::Write) {
    let mut redactor = Redactor::new(Arc::clone(rules));
    for chunk in data.chunks(READ_SIZE) {
        redactor.feed(chunk, out).unwrap();
    }
    redactor.finish(out).unwrap();
}

fn oracle(data: &[u8]) -> Vec<u8> {
    let re =
        Regex::new(r"(phx|phs|pha|phr)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*").unwrap();
    re.replace_all(data, |c: &regex::bytes::Captures| [&c[1], b"_[REDACTED]"].concat()).into_owned()
}

fn engine(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::default_rules(false));
    let finder = memmem::Finder::new("phx_");
    let inputs = [
        ("clean", lines(0)),
        ("realistic", lines(100)),
        ("dense", lines(1)),
        ("huge_line", huge_line()),
    ];
    for (name, data) in &inputs {
        let mut out = Vec::new();
        redact(&rules, data, &mut out);
        assert_eq!(out, oracle(data), "{name}: the engine disagrees with the oracle");

        let mut group = c.benchmark_group(*name);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.sample_size(20);
        group.bench_function("memmem_floor", |b| {
            b.iter(|| finder.find_iter(black_box(data)).count())
        });
        group.bench_function("redact", |b| {
            b.iter(|| redact(&rules, black_box(data), &mut io::sink()))
        });
        // What --check adds: line and column, mask and hash of each token.
        group.bench_function("record_findings", |b| {
            b.iter(|| {
                let mut redactor = Redactor::new(Arc::clone(&rules)).record_findings();
                let mut found = 0;
                for chunk in black_box(data).chunks(READ_SIZE) {
                    redactor.feed(chunk, &mut io::sink()).unwrap();
                    found += redactor.take_findings().len();
                }
                redactor.finish(&mut io::sink()).unwrap();
                found + redactor.take_findings().len()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
