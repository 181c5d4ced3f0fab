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
    /// Prefixes that share no pair, in groups that each do (`phx_` and
    /// `personal_api_key`): one search per group, the nearest hit wins.
    Groups(Vec<Prefilter>),
    /// One to three bytes that every token begins with.
    Bytes(Vec<u8>),
    /// Anything else: the positions of the bytes a token may begin with.
    FirstBytes(Box<[bool; 256]>),
}

/// The most groups of prefixes searched apart: past them, one scan for
/// their first bytes costs less.
pub(crate) const MAX_GROUPS: usize = 4;

/// Where each group's search found its next hit in the buffer being
/// scanned, so that the nearest of them is found without searching every
/// group again from each candidate: one per [`Redactor::scan`] call.
///
/// [`Redactor::scan`]: crate::Redactor
#[derive(Default)]
pub(crate) struct Cursor {
    /// `Some(at)`: the group's next hit at or after the last search is
    /// `at` (`usize::MAX`: none in the rest of the buffer).
    next: [Option<usize>; MAX_GROUPS],
}

impl Prefilter {
    /// A prefilter for the given non-empty prefixes: one search if they
    /// share a pair of bytes at fixed offsets, else one per group of them
    /// that does, else a scan for their first bytes.
    pub(crate) fn new(prefixes: &[&[u8]]) -> Prefilter {
        if let Some(one) = Prefilter::one_search(prefixes) {
            return one;
        }
        let groups = groups(prefixes);
        if groups.len() <= MAX_GROUPS {
            let searches: Option<Vec<Prefilter>> =
                groups.iter().map(|group| Prefilter::one_search(group)).collect();
            if let Some(searches) = searches {
                return Prefilter { kind: Kind::Groups(searches) };
            }
        }
        let mut table = [false; 256];
        for p in prefixes {
            table[usize::from(p[0])] = true;
        }
        Prefilter::first_bytes(&table)
    }

    /// One search for all of `prefixes`, if they are one literal or share
    /// two bytes at fixed offsets.
    fn one_search(prefixes: &[&[u8]]) -> Option<Prefilter> {
        let first = prefixes[0];
        if prefixes.iter().all(|p| *p == first) {
            let finder = memmem::Finder::new(first).into_owned();
            return Some(Prefilter { kind: Kind::Memmem(finder) });
        }
        let shortest = prefixes.iter().map(|p| p.len()).min().unwrap_or(0);
        // Offsets where every prefix has the same byte; use the first and
        // the last of them, which for `ph?_` are `p` and `_`, a pair that is
        // rare in logs.
        let shared = shared_offsets(prefixes);
        if let (Some(&i1), Some(&i2)) = (shared.first(), shared.last()) {
            let needle = &first[..shortest];
            if let Some(pair) = Pair::with_indices(needle, i1 as u8, i2 as u8) {
                let scalar = packedpair::Finder::with_pair(needle, pair)
                    .expect("a pair inside the needle is valid");
                return Some(Prefilter {
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
                });
            }
        }
        None
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
            Kind::Groups(groups) => groups.iter().filter_map(|g| g.find(hay)).min(),
            Kind::FirstBytes(table) => hay.iter().position(|&b| table[usize::from(b)]),
        }
    }

    /// [`Prefilter::find`] in `buf[pos..]`, as a position in `buf`; within
    /// one buffer, `pos` only grows from call to call with one `cursor`.
    #[inline]
    pub(crate) fn find_at(&self, buf: &[u8], pos: usize, cursor: &mut Cursor) -> Option<usize> {
        let Kind::Groups(groups) = &self.kind else {
            return self.find(&buf[pos..]).map(|i| pos + i);
        };
        let mut nearest = usize::MAX;
        for (group, next) in groups.iter().zip(&mut cursor.next) {
            let at = match *next {
                Some(at) if at >= pos => at,
                _ => {
                    let at = group.find(&buf[pos..]).map_or(usize::MAX, |i| pos + i);
                    *next = Some(at);
                    at
                }
            };
            nearest = nearest.min(at);
        }
        (nearest != usize::MAX).then_some(nearest)
    }
}

/// The offsets at which every prefix of `prefixes` has the first's byte.
fn shared_offsets(prefixes: &[&[u8]]) -> Vec<usize> {
    let shortest = prefixes.iter().map(|p| p.len()).min().unwrap_or(0);
    (0..shortest.min(256)).filter(|&i| prefixes.iter().all(|p| p[i] == prefixes[0][i])).collect()
}

/// `prefixes` in groups that each share two bytes at fixed offsets (or are
/// one literal), in order, each prefix in the first group it fits.
fn groups<'a>(prefixes: &[&'a [u8]]) -> Vec<Vec<&'a [u8]>> {
    let mut groups: Vec<Vec<&[u8]>> = Vec::new();
    for &prefix in prefixes {
        let fits = groups.iter_mut().find(|group| {
            let mut with: Vec<&[u8]> = group.to_vec();
            with.push(prefix);
            with.iter().all(|p| *p == prefix) || shared_offsets(&with).len() >= 2
        });
        match fits {
            Some(group) => group.push(prefix),
            None => groups.push(vec![prefix]),
        }
    }
    groups
}
