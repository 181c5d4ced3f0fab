//! A hunk of a unified diff: its header (`@@ -a,b +c,d @@`), and how many
//! of its lines are still to come.

/// A hunk being read: how many of its old and new lines are still to come,
/// and the new-side line of the next one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hunk {
    /// `-0,0`: no old side, as `diff -N` shows a new file.
    pub(super) old_empty: bool,
    pub(super) old_left: u64,
    pub(super) new_left: u64,
    pub(super) new_line: u64,
}

/// `@@ -a[,b] +c[,d] @@ ...`: the hunk's old and new line counts (1 when
/// left out) and its first new line.
pub(super) fn parse_hunk(line: &[u8]) -> Option<Hunk> {
    let text = std::str::from_utf8(line.get(3..)?).ok()?;
    let mut fields = text.split(' ');
    let old = fields.next()?.strip_prefix('-')?;
    let new = fields.next()?.strip_prefix('+')?;
    if fields.next() != Some("@@") {
        return None;
    }
    let range = |r: &str| -> Option<(u64, u64)> {
        match r.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (old_start, old_count) = range(old)?;
    let (new_start, new_count) = range(new)?;
    Some(Hunk {
        old_empty: old_start == 0 && old_count == 0,
        old_left: old_count,
        new_left: new_count,
        new_line: new_start,
    })
}

#[cfg(test)]
mod tests {
    use crate::app::audit::diff::hunk::parse_hunk;

    #[test]
    fn hunk_headers_give_counts_and_the_first_new_line() {
        let h = parse_hunk(b"@@ -5,0 +6,2 @@ fn x()").unwrap();
        assert_eq!((h.old_left, h.new_left, h.new_line), (0, 2, 6));
        let h = parse_hunk(b"@@ -5 +6 @@").unwrap();
        assert_eq!((h.old_left, h.new_left, h.new_line), (1, 1, 6));
        assert!(parse_hunk(b"@@ -x +1 @@").is_none());
    }
}
