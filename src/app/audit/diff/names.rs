//! The names of files in a diff's header lines: `diff --git a/NAME
//! b/NAME`, `+++ NAME`, quoted as git quotes them.

/// The name in `diff --git a/NAME b/NAME` when both sides are the same
/// (as for a file added), git's `a/` and `b/` dropped.
pub(super) fn git_name(names: &[u8]) -> Option<Vec<u8>> {
    // The same name twice, quoted alike: the space in the middle splits.
    let mid = names.len() / 2;
    if names.len().is_multiple_of(2) || names[mid] != b' ' {
        return None;
    }
    let side = |half: &[u8], prefix: &[u8]| {
        let name = half.strip_prefix(b"\"").map_or(half.to_vec(), unquote);
        name.strip_prefix(prefix).map_or(name.clone(), <[u8]>::to_vec)
    };
    let new = side(&names[mid + 1..], b"b/");
    (side(&names[..mid], b"a/") == new).then_some(new)
}

/// The new side's name in a `+++ ` header, or `None` for `/dev/null` (a
/// file deleted). A quoted name (`"b/caf\303\251"`) is unquoted; a tab ends
/// an unquoted one (what follows is a timestamp); git's `b/` is dropped.
pub(super) fn new_name(field: &[u8]) -> Option<Vec<u8>> {
    let name = match field.strip_prefix(b"\"") {
        Some(quoted) => unquote(quoted),
        None => field.split(|&b| b == b'\t').next().unwrap_or(field).to_vec(),
    };
    if name == b"/dev/null" {
        return None;
    }
    Some(name.strip_prefix(b"b/").map_or(name.clone(), <[u8]>::to_vec))
}

/// A C-quoted name's bytes, up to its closing quote: `\"`, `\\`, `\t`,
/// `\n` and octal escapes (`\303`), as git writes them.
pub(super) fn unquote(quoted: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        match quoted[i] {
            b'"' => break,
            b'\\' if i + 1 < quoted.len() => {
                let next = quoted[i + 1];
                let octal = quoted
                    .get(i + 1..i + 4)
                    .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
                if let Some(digits) = octal {
                    let value = digits.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                    name.push(u8::try_from(value).unwrap_or(u8::MAX));
                    i += 4;
                    continue;
                }
                name.push(match next {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'v' => 11,
                    other => other,
                });
                i += 2;
            }
            byte => {
                name.push(byte);
                i += 1;
            }
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use crate::app::audit::diff::names::{git_name, new_name};

    #[test]
    fn names_are_unquoted_and_lose_their_prefix() {
        assert_eq!(
            new_name(b"\"b/caf\\303\\251 \\\"x\\\".log\"").unwrap(),
            "café \"x\".log".as_bytes()
        );
        assert_eq!(new_name(b"b/a b.log\t").unwrap(), b"a b.log");
        assert_eq!(new_name(b"new.log\t2024-01-01 00:00:00").unwrap(), b"new.log");
        assert_eq!(new_name(b"/dev/null"), None);
    }

    #[test]
    fn git_names_are_read_when_both_sides_agree() {
        assert_eq!(git_name(b"a/x and /dev/null b/x and /dev/null").unwrap(), b"x and /dev/null");
        assert_eq!(
            git_name(b"\"a/caf\\303\\251\" \"b/caf\\303\\251\"").unwrap(),
            "café".as_bytes()
        );
        assert_eq!(git_name(b"a/x b/y"), None);
    }
}
