//! Finds where a token could start, at SIMD speed.
//!
//! Most rules begin with a literal prefix, so a position where no prefix
//! begins can be skipped without running the DFA. For rules without one,
//! the prefilter looks for the bytes a token can begin with. The prefilter may report
//! false candidates (the DFA rejects them at once) but never misses a
//! position where a whole prefix begins.
//!
//! For PostHog's prefixes (`phx_`, `phs_`, `pha_`, `phr_`) all prefixes
//! share bytes at fixed offsets (`p` at 0 and `_` at 3), so memchr's
//! packed-pair searcher (the candidate step of its `memmem`) looks for both
//! at once in one SIMD pass, as fast as a `memmem` for a single prefix.

use memchr::{
    arch::all::packedpair::{self, Pair},
    memmem,
};

#[derive(Clone, Debug)]
pub(crate) struct Prefilter {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// One prefix: a plain substring search.
    Memmem(memmem::Finder<'static>),
    /// Several prefixes that agree on two bytes at fixed offsets.
    Pair {
        #[cfg(target_arch = "x86_64")]
        simd: Option<memchr::arch::x86_64::avx2::packedpair::Finder>,
        #[cfg(target_arch = "x86_64")]
        sse2: Option<memchr::arch::x86_64::sse2::packedpair::Finder>,
        scalar: packedpair::Finder,
    },
    /// One to three bytes that every token begins with.
    Bytes(Vec<u8>),
    /// Anything else: the positions of the bytes a token may begin with.
    FirstBytes(Box<[bool; 256]>),
}

impl Prefilter {
    /// A prefilter for the given non-empty prefixes.
    pub(crate) fn new(prefixes: &[&[u8]]) -> Prefilter {
        let first = prefixes[0];
        if prefixes.iter().all(|p| *p == first) {
            let finder = memmem::Finder::new(first).into_owned();
            return Prefilter { kind: Kind::Memmem(finder) };
        }
        let shortest = prefixes.iter().map(|p| p.len()).min().unwrap_or(0);
        // Offsets where every prefix has the same byte; use the first and
        // the last of them, which for `ph?_` are `p` and `_`, a pair that is
        // rare in logs.
        let shared: Vec<usize> =
            (0..shortest.min(256)).filter(|&i| prefixes.iter().all(|p| p[i] == first[i])).collect();
        if let (Some(&i1), Some(&i2)) = (shared.first(), shared.last()) {
            let needle = &first[..shortest];
            if let Some(pair) = Pair::with_indices(needle, i1 as u8, i2 as u8) {
                let scalar = packedpair::Finder::with_pair(needle, pair)
                    .expect("a pair inside the needle is valid");
                return Prefilter {
                    kind: Kind::Pair {
                        #[cfg(target_arch = "x86_64")]
                        simd: memchr::arch::x86_64::avx2::packedpair::Finder::with_pair(
                            needle, pair,
                        ),
                        #[cfg(target_arch = "x86_64")]
                        sse2: memchr::arch::x86_64::sse2::packedpair::Finder::with_pair(
                            needle, pair,
                        ),
                        scalar,
                    },
                };
            }
        }
        let mut table = [false; 256];
        for p in prefixes {
            table[usize::from(p[0])] = true;
        }
        Prefilter::first_bytes(&table)
    }

    /// A prefilter for tokens that may begin with any byte of `table`.
    pub(crate) fn first_bytes(table: &[bool; 256]) -> Prefilter {
        let bytes: Vec<u8> = (0..=255u8).filter(|&b| table[usize::from(b)]).collect();
        if (1..=3).contains(&bytes.len()) {
            return Prefilter { kind: Kind::Bytes(bytes) };
        }
        Prefilter { kind: Kind::FirstBytes(Box::new(*table)) }
    }

    /// The first position in `hay` where a prefix may begin with all of
    /// the prefilter's bytes inside `hay`. Positions too close to the end
    /// for that are the caller's to check.
    #[inline]
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        match &self.kind {
            Kind::Memmem(finder) => finder.find(hay),
            Kind::Pair {
                #[cfg(target_arch = "x86_64")]
                simd,
                #[cfg(target_arch = "x86_64")]
                sse2,
                scalar,
            } => {
                #[cfg(target_arch = "x86_64")]
                {
                    if let Some(f) = simd.as_ref().filter(|f| hay.len() >= f.min_haystack_len()) {
                        return f.find_prefilter(hay);
                    }
                    if let Some(f) = sse2.as_ref().filter(|f| hay.len() >= f.min_haystack_len()) {
                        return f.find_prefilter(hay);
                    }
                }
                scalar.find_prefilter(hay)
            }
            Kind::Bytes(bytes) => match bytes[..] {
                [a] => memchr::memchr(a, hay),
                [a, b] => memchr::memchr2(a, b, hay),
                [a, b, c] => memchr::memchr3(a, b, c, hay),
                _ => unreachable!("one to three bytes"),
            },
            Kind::FirstBytes(table) => hay.iter().position(|&b| table[usize::from(b)]),
        }
    }
}
