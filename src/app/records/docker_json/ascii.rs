//! Runs of printable ASCII in a json-file line, found in wide steps: these
//! run over every byte of a json-file log, so they look at many bytes a
//! step, in loops the compiler makes vector ones (AVX2's where the CPU has
//! it).

/// How many bytes `text` starts with that are printable ASCII (a space to
/// DEL) but `"` and `\\`: a JSON string's text, up to the first byte that
/// ends it, escapes it, or needs a check (control bytes are no JSON, others
/// must be UTF-8); and whether those bytes hold one `b` with `b | 0x20 ==
/// mark`.
pub(super) fn printable_len(text: &[u8], mark: u8) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as just asked.
        return unsafe { run_avx2::<true>(text, mark) };
    }
    run::<true>(text, mark)
}

/// Whether every byte of `text` is printable ASCII (a space to DEL).
pub(super) fn all_printable(text: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as just asked.
        return unsafe { run_avx2::<false>(text, 0) }.0 == text.len();
    }
    run::<false>(text, 0).0 == text.len()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_avx2<const QUOTES: bool>(text: &[u8], mark: u8) -> (usize, bool) {
    run::<QUOTES>(text, mark)
}

/// How many bytes `text` starts with that are printable ASCII (but `"` and
/// `\\`, with `QUOTES`), and whether those hold one `b` with `b | 0x20 ==
/// mark`.
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
        for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 100, 200] {
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
                        assert_eq!(all_printable(&text), all, "{text:?}");
                    }
                }
            }
        }
    }
}
