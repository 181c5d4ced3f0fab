//! tar headers read: whether a block is one (its checksum holds), and the
//! numbers it records, in octal or GNU's base-256.

/// Whether `head`, the first bytes of a file's content (decompressed),
/// is a tar archive, V7, POSIX or GNU: a first header whose checksum holds,
/// for a V7 tar has no `ustar` magic. Its text can be scanned, but a marker
/// of another length than the token would break the sizes in its headers.
pub fn is_tar(head: &[u8]) -> bool {
    head.get(..512).is_some_and(|h| tar_header_ok(h.try_into().unwrap()))
}

/// Whether a 512-byte block is a tar header: not all zeros (the end of the
/// archive), and its checksum (the sum of its bytes, the checksum field
/// counted as spaces; old tars summed signed bytes) is the one it records.
pub(crate) fn tar_header_ok(block: &[u8; 512]) -> bool {
    if block.iter().all(|&b| b == 0) {
        return false;
    }
    let Some(stored) = tar_octal(&block[148..156]) else { return false };
    let field = |i: usize| (148..156).contains(&i);
    let unsigned: i64 =
        block.iter().enumerate().map(|(i, &b)| if field(i) { 32 } else { i64::from(b) }).sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if field(i) { 32 } else { i64::from(b as i8) })
        .sum();
    i64::try_from(stored).is_ok_and(|stored| stored == unsigned || stored == signed)
}

/// A tar header's octal number: leading spaces, digits, then a NUL or a
/// space. No digits at all is 0.
fn tar_octal(field: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &b in field.iter().skip_while(|&&b| b == b' ').take_while(|&&b| b != 0 && b != b' ') {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// A tar member's size: octal, or GNU's base-256 (first bit set) for
/// sizes octal cannot hold.
pub(crate) fn tar_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 == 0 {
        return tar_octal(field);
    }
    let mut value = u64::from(field[0] & 0x7f);
    for &b in &field[1..] {
        value = value.checked_mul(256)?.checked_add(u64::from(b))?;
    }
    Some(value)
}
