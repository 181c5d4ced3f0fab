//! Runs of printable ASCII in a json-file line, found in wide steps: these
//! run over every byte of a json-file log. With AVX2 (where the CPU has
//! it) they step 32 bytes at a time and leave their loop once a record, at
//! the byte that stops them: an exit a record whose place the CPU cannot
//! guess costs more than the steps (and one loop a run of 64, one of 16,
//! then one of bytes, would be three such exits). Elsewhere, loops the
//! compiler makes vector ones.

use super::escapes::{Tally, decode_to_quote};

/// How many bytes `text` starts with that are printable ASCII (a space to
/// DEL) but `"` and `\\`: a JSON string's text, up to the first byte that
/// ends it, escapes it, or needs a check (control bytes are no JSON, others
/// must be UTF-8); and whether those bytes hold one `b` with `b | 0x20 ==
/// mark`.
pub(super) fn printable_len(text: &[u8], mark: u8) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as just asked.
        return unsafe { avx2::printable_len(text, mark) };
    }
    run::<true>(text, mark)
}

/// Decodes onto `log` the JSON string's text `body` starts with, as
/// [`decode_to_quote`] does, when its bytes (escapes aside) are printable
/// ASCII; `None` also when one is not (a control byte is no JSON; a byte
/// of UTF-8 is the other paths').
pub(super) fn decode_printable(body: &[u8], log: &mut Vec<u8>) -> Option<(usize, bool, bool)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as just asked.
        return unsafe { avx2::decode_printable(body, log) };
    }
    let (end, full, simple) = decode_to_quote(body, log)?;
    let printable = run::<false>(&body[..end], 0).0 == end;
    printable.then_some((end, full, simple))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Tally, run};

    /// 32 bytes of `bytes` from `at`, which must be in it.
    #[inline(always)]
    fn load(bytes: &[u8], at: usize) -> __m256i {
        assert!(at + 32 <= bytes.len());
        // SAFETY: the 32 bytes are in `bytes`, as just checked.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().add(at).cast()) }
    }

    /// The bits of the bytes of `v` that end a run: a control byte or one
    /// past ASCII (below a space as signed bytes, both), `"` and `\\`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn stops(v: __m256i) -> u32 {
        let control = _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v);
        let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
        let backslash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
        _mm256_movemask_epi8(_mm256_or_si256(control, _mm256_or_si256(quote, backslash))) as u32
    }

    /// The bits below the lowest of `bits` (all of them, if none is).
    #[inline(always)]
    fn below_first(bits: u32) -> u32 {
        bits.wrapping_sub(1) & !bits
    }

    /// See [`super::printable_len`].
    #[target_feature(enable = "avx2")]
    pub(super) fn printable_len(text: &[u8], mark: u8) -> (usize, bool) {
        let (mut at, mut marks) = (0, 0u32);
        let marked = _mm256_set1_epi8(mark as i8);
        while text.len() - at >= 32 {
            let v = load(text, at);
            let stop = stops(v);
            let lower = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
            marks |=
                _mm256_movemask_epi8(_mm256_cmpeq_epi8(lower, marked)) as u32 & below_first(stop);
            if stop != 0 {
                return (at + stop.trailing_zeros() as usize, marks != 0);
            }
            at += 32;
        }
        // The last few bytes of the input (never of a record with its
        // line after it): one at a time.
        let (len, marked) = run::<true>(&text[at..], mark);
        (at + len, marks != 0 || marked)
    }

    /// See [`super::decode_printable`]: the text's runs between escapes
    /// are found and copied 32 bytes a step (all 32 stored, the run's
    /// kept), with no call to search or copy.
    #[target_feature(enable = "avx2")]
    pub(super) fn decode_printable(body: &[u8], log: &mut Vec<u8>) -> Option<(usize, bool, bool)> {
        log.clear();
        let (mut at, mut tally) = (0, Tally::default());
        let end = loop {
            if body.len() - at >= 32 {
                let v = load(body, at);
                let stop = stops(v);
                let run = stop.trailing_zeros() as usize;
                log.reserve(32);
                // SAFETY: `reserve` left room for 32 bytes past the end,
                // and `run` of them (at most 32) are the text's.
                unsafe {
                    _mm256_storeu_si256(log.as_mut_ptr().add(log.len()).cast(), v);
                    log.set_len(log.len() + run);
                }
                at += run;
                if stop == 0 {
                    continue;
                }
            } else {
                // The last few bytes of the input: one at a time.
                let run = run::<true>(&body[at..], 0).0;
                log.extend_from_slice(&body[at..at + run]);
                at += run;
            }
            match body.get(at) {
                Some(b'"') => break at,
                Some(b'\\') => {}
                // A control byte, one past ASCII, or no closing quote.
                _ => return None,
            }
            at += tally.decode(body, at, log)?;
        };
        tally.finish(log, end)
    }
}

/// How many bytes `text` starts with that are printable ASCII (but `"` and
/// `\\`, with `QUOTES`), and whether those hold one `b` with `b | 0x20 ==
/// mark`: the portable way, in loops the compiler makes vector ones.
#[inline(always)]
fn run<const QUOTES: bool>(text: &[u8], mark: u8) -> (usize, bool) {
    // Bytes below a space wrap to the top: one compare finds both kinds.
    let stop = |b: u8| b.wrapping_sub(0x20) >= 0x60 || (QUOTES && (b == b'"' || b == b'\\'));
    let any_stop = |chunk: &[u8]| chunk.iter().fold(false, |any, &b| any | stop(b));
    let any_mark = |chunk: &[u8]| chunk.iter().fold(false, |any, &b| any | (b | 0x20 == mark));
    let (mut at, mut marked) = (0, false);
    // Steps of 64 bytes while none stops, then of 16, then of one.
    for chunk in text.as_chunks::<64>().0 {
        if any_stop(chunk) {
            break;
        }
        // The chunk is in the cache: a second look costs little.
        marked |= QUOTES && any_mark(chunk);
        at += 64;
    }
    for chunk in text[at..].as_chunks::<16>().0 {
        if any_stop(chunk) {
            break;
        }
        marked |= QUOTES && any_mark(chunk);
        at += 16;
    }
    let len = at + text[at..].iter().position(|&b| stop(b)).unwrap_or(text.len() - at);
    (len, marked || (QUOTES && any_mark(&text[at..len])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wide steps find what a byte-at-a-time look finds, wherever the
    /// stopping byte and the marked one are.
    #[test]
    fn the_wide_steps_agree_with_a_byte_at_a_time() {
        let printable = |b: u8| (0x20..0x80).contains(&b);
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 100, 200] {
            for stop_at in (0..=len).step_by(7).chain([len]) {
                for byte in [b'"', b'\\', b'\n', 0x00, 0x1f, 0x7f, 0x80, 0xe9, b'x'] {
                    for mark_at in [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))] {
                        let mut text = vec![b'a'; len];
                        if stop_at < len {
                            text[stop_at] = byte;
                        }
                        if let Some(m) = mark_at.filter(|&m| m < len && m != stop_at) {
                            text[m] = b'P';
                        }
                        let quoted = |b: u8| printable(b) && b != b'"' && b != b'\\';
                        let want = text.iter().position(|&b| !quoted(b)).unwrap_or(len);
                        let marked = text[..want].iter().any(|&b| b | 0x20 == b'p');
                        assert_eq!(printable_len(&text, b'p'), (want, marked), "{text:?}");
                        assert_eq!(run::<true>(&text, b'p'), (want, marked), "{text:?}");
                        let all = text.iter().all(|&b| printable(b));
                        assert_eq!(run::<false>(&text, 0).0 == len, all, "{text:?}");
                    }
                }
            }
        }
    }

    /// The wide-step decoder reads every text as the portable one does:
    /// the same end, newline, escapes and decoded bytes, and refuses the
    /// same ones, wherever its steps of 32 fall (in runs, escapes and the
    /// input's last bytes).
    #[test]
    fn the_wide_step_decoder_agrees_with_the_portable_one() {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => "[ -~&&[^\"\\\\]]{0,40}".prop_map(String::into_bytes),
            2 => prop::sample::select(vec![
                &br#"\""#[..], br"\\", br"\/", br"\n", br"\t", br"\r", br"\b", br"\f",
                br"\u0041", br"\u005c", br"\u000a", br"\u00e9", br"\u2028", br"\x", br"\u00g1", br"\",
            ]).prop_map(<[u8]>::to_vec),
            1 => prop::sample::select(vec![0u8, b'\t', b'\n', 0x1f, 0x7f, 0x80, 0xc3, 0xff])
                .prop_map(|b| vec![b]),
        ];
        let end = prop::sample::select(vec![
            &br#"","stream":"stdout","time":"2024-05-06T07:08:09.123456789Z"}"#[..],
            br#"""#,
            b"",
        ]);
        let config = ProptestConfig { cases: 4000, ..ProptestConfig::default() };
        proptest!(config, |(pieces in prop::collection::vec(piece, 0..12), end in end)| {
            let mut body: Vec<u8> = pieces.concat();
            body.extend_from_slice(end);
            let (mut wide, mut portable) = (Vec::new(), b"left over".to_vec());
            let want = decode_to_quote(&body, &mut portable)
                .filter(|&(at, ..)| run::<false>(&body[..at], 0).0 == at);
            let got = decode_printable(&body, &mut wide);
            prop_assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&body));
            if got.is_some() {
                prop_assert_eq!(&wide, &portable);
            }
        });
    }
}
