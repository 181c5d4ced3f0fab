//! What a token is replaced with: marker templates and their presets.
//!
//! A marker is a template such as `{prefix}[REDACTED:{fingerprint}]`. The
//! engine writes it when a token ends, so placeholders that need the whole
//! token are computed on the fly from a `Seen`: a running hash and the
//! first and last few bytes, never the token itself. A token of any length
//! costs constant memory, whatever the marker.

use std::io::{self, Write};

use crate::{engine::fingerprint::Fingerprinter, error::Error};

/// The presets `--marker` accepts by name, with the templates they stand for.
pub const PRESETS: [(&str, &str); 4] = [
    ("default", "{prefix}[REDACTED]"),
    ("posthog", "{mask}"),
    ("fingerprint", "{prefix}[REDACTED:{fingerprint}]"),
    ("same-length", "{prefix}{stars}"),
];

/// The placeholders a template may use, for messages.
pub const PLACEHOLDERS: &str =
    "{prefix}, {rule}, {mask}, {last4}, {fingerprint}, {stars}, {len} ({{ and }} for braces)";

/// What starts a marker that is a fixed text, with no placeholder
/// (`literal:[HIDDEN]`): one without the prefix is refused, as a typo of a
/// preset's name would be.
pub const LITERAL: &str = "literal:";

/// Why a marker with no placeholder is refused, and the closest preset.
fn no_placeholder(spec: &str) -> String {
    let closest = PRESETS
        .iter()
        .map(|(name, _)| (edit_distance(spec, name), *name))
        .min()
        .filter(|(distance, name)| *distance <= name.len() / 2)
        .map(|(_, name)| format!("did you mean --marker {name}? "))
        .unwrap_or_default();
    let presets: Vec<&str> = PRESETS.iter().map(|(name, _)| *name).collect();
    // Quoted only when too short to hold a secret: a marker can be
    // anything pasted, a key included.
    let (shown, fixed) = match spec.chars().count() <= 16 {
        true => (format!("marker {spec:?}"), format!("{LITERAL}{spec}")),
        false => ("the marker".to_string(), format!("{LITERAL}TEXT")),
    };
    format!(
        "{shown} is neither a preset ({}) nor a template with a placeholder \
         ({PLACEHOLDERS}); {closest}for a fixed text, write {fixed}",
        presets.join(", ")
    )
}

/// The Levenshtein distance between two short texts, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Tokens shorter than this are never partly shown by `{mask}` or `{last4}`:
/// four bytes at each end would reveal too much of a short secret.
pub const MIN_REVEAL_LEN: u64 = 16;

/// A compiled marker template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    template: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(Vec<u8>),
    /// The token's first bytes, as many as its rule's literal prefix has.
    Prefix,
    /// The rule's name.
    Rule,
    /// PostHog's own mask: the first and last four bytes (`phx_...abcd`).
    Mask,
    /// The last four bytes.
    Last4,
    /// A short keyed hash of the whole token.
    Fingerprint,
    /// A `*` for each byte of the token after the prefix.
    Stars,
    /// The token's length in bytes.
    Len,
}

/// The shape of one run of a rendered marker, for checking that no rule
/// can match a marker, whatever token it stands for.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    /// The bytes each position may hold.
    pub(crate) bytes: Box<[bool; 256]>,
    pub(crate) min: usize,
    /// `None`: any number.
    pub(crate) max: Option<usize>,
}

impl Segment {
    fn literal(byte: u8) -> Segment {
        let mut bytes = Box::new([false; 256]);
        bytes[usize::from(byte)] = true;
        Segment { bytes, min: 1, max: Some(1) }
    }

    fn of(set: impl Fn(u8) -> bool, min: usize, max: Option<usize>) -> Segment {
        let mut bytes = Box::new([false; 256]);
        for b in 0..=255u8 {
            bytes[usize::from(b)] = set(b);
        }
        Segment { bytes, min, max }
    }
}

impl Marker {
    /// Parses `--marker`'s value: a preset's name or a template.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] for an unknown placeholder or an unmatched brace.
    pub fn parse(spec: &str) -> Result<Marker, Error> {
        // A fixed text, asked for in so many words: a preset's name with a
        // typo in it must not become the marker.
        if let Some(text) = spec.strip_prefix(LITERAL) {
            let pieces = if text.is_empty() { Vec::new() } else { vec![Piece::Text(text.into())] };
            return Ok(Marker { template: spec.to_string(), pieces });
        }
        let template =
            PRESETS.iter().find(|(name, _)| *name == spec).map_or(spec, |(_, template)| template);
        let marker = Marker::parse_template(template)?;
        if marker.pieces.iter().all(|p| matches!(p, Piece::Text(_))) {
            return Err(Error::Rule(no_placeholder(spec)));
        }
        Ok(marker)
    }

    /// Parses a template: text and placeholders.
    fn parse_template(template: &str) -> Result<Marker, Error> {
        let mut pieces = Vec::new();
        let mut text = Vec::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            text.extend_from_slice(&rest.as_bytes()[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{") {
                text.push(b'{');
                rest = after;
                continue;
            }
            if let Some(after) = tail.strip_prefix("}}") {
                text.push(b'}');
                rest = after;
                continue;
            }
            let close = tail.find('}').filter(|_| tail.starts_with('{')).ok_or_else(|| {
                Error::Rule(format!("marker {template:?}: unmatched brace; write {{{{ or }}}}"))
            })?;
            let piece = match &tail[1..close] {
                "prefix" => Piece::Prefix,
                "rule" => Piece::Rule,
                "mask" => Piece::Mask,
                "last4" => Piece::Last4,
                "fingerprint" => Piece::Fingerprint,
                "stars" => Piece::Stars,
                "len" => Piece::Len,
                other => {
                    return Err(Error::Rule(format!(
                        "marker {template:?}: unknown placeholder {{{other}}}; known: {PLACEHOLDERS}"
                    )));
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &tail[close + 1..];
        }
        text.extend_from_slice(rest.as_bytes());
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Marker { template: template.to_string(), pieces })
    }

    /// This marker for a rule that replaces only its group `secret`, whose
    /// tokens have no prefix to keep: the presets that would show one say
    /// the rule instead (`[REDACTED:posthog-legacy]`), as every marker of
    /// a key with no prefix of its own should, to tell it from a `phx_`.
    pub(crate) fn without_prefix(&self) -> Result<Marker, Error> {
        let template = match self.template.as_str() {
            "{prefix}[REDACTED]" => "[REDACTED:{rule}]",
            "{prefix}[REDACTED:{fingerprint}]" => "[REDACTED:{rule}:{fingerprint}]",
            _ => return Ok(self.clone()),
        };
        Marker::parse_template(template)
    }

    /// The template, presets spelled out.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Whether rendering needs the token's hash.
    pub(crate) fn needs_hash(&self) -> bool {
        self.pieces.contains(&Piece::Fingerprint)
    }

    /// Whether rendering needs the token's first and last bytes.
    pub(crate) fn needs_ends(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Mask | Piece::Last4))
    }

    /// The marker, if it is the same for every token of its rule: rendered
    /// once, written with one call.
    pub(crate) fn fixed(&self, rule: &str, prefix: &[u8]) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => bytes.extend_from_slice(text),
                Piece::Prefix => bytes.extend_from_slice(prefix),
                Piece::Rule => bytes.extend_from_slice(rule.as_bytes()),
                _ => return None,
            }
        }
        Some(bytes)
    }

    /// Writes the marker for a token of rule `rule`, which every token of
    /// the rule starts with `prefix`, as `seen` saw it.
    pub(crate) fn render<W: Write + ?Sized>(
        &self,
        rule: &str,
        prefix: &[u8],
        seen: &Seen,
        fingerprints: &Fingerprinter,
        out: &mut W,
    ) -> io::Result<()> {
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.write_all(text)?,
                Piece::Prefix => out.write_all(prefix)?,
                Piece::Rule => out.write_all(rule.as_bytes())?,
                Piece::Mask => seen.write_mask(out)?,
                Piece::Last4 => {
                    if seen.len >= MIN_REVEAL_LEN {
                        out.write_all(seen.last4())?;
                    }
                }
                Piece::Fingerprint => {
                    out.write_all(fingerprints.short(&seen.hash()).as_bytes())?;
                }
                Piece::Stars => {
                    const STARS: [u8; 256] = [b'*'; 256];
                    let mut n = seen.len.saturating_sub(prefix.len() as u64);
                    while n > 0 {
                        let k = n.min(STARS.len() as u64) as usize;
                        out.write_all(&STARS[..k])?;
                        n -= k as u64;
                    }
                }
                Piece::Len => write!(out, "{}", seen.len)?,
            }
        }
        Ok(())
    }

    /// Every shape a rendered marker can take, as runs of possible bytes.
    /// Over-approximates: a token's bytes may be any bytes.
    pub(crate) fn shapes(&self, rule: &str, prefix: &[u8]) -> Vec<Vec<Segment>> {
        let any = |min, max| Segment::of(|_| true, min, max);
        let mut shapes: Vec<Vec<Segment>> = vec![Vec::new()];
        for piece in &self.pieces {
            let alternatives: Vec<Vec<Segment>> = match piece {
                Piece::Text(text) => vec![text.iter().map(|&b| Segment::literal(b)).collect()],
                Piece::Rule => vec![rule.bytes().map(Segment::literal).collect()],
                Piece::Prefix => vec![prefix.iter().map(|&b| Segment::literal(b)).collect()],
                Piece::Mask => vec![
                    b"...".iter().map(|&b| Segment::literal(b)).collect(),
                    [any(4, Some(4))]
                        .into_iter()
                        .chain(b"...".iter().map(|&b| Segment::literal(b)))
                        .chain([any(4, Some(4))])
                        .collect(),
                ],
                Piece::Last4 => vec![vec![any(0, Some(4))]],
                Piece::Fingerprint => {
                    vec![vec![Segment::of(|b| b.is_ascii_hexdigit(), 8, Some(8))]]
                }
                Piece::Stars => vec![vec![Segment::of(|b| b == b'*', 0, None)]],
                Piece::Len => vec![vec![Segment::of(|b| b.is_ascii_digit(), 1, Some(20))]],
            };
            shapes = shapes
                .iter()
                .flat_map(|shape| {
                    alternatives.iter().map(move |alt| {
                        let mut longer = shape.clone();
                        longer.extend(alt.iter().cloned());
                        longer
                    })
                })
                .collect();
        }
        shapes
    }
}

/// What the engine keeps of a token while it streams past: its length, and
/// when a marker or a finding needs them, its first and last four bytes and
/// a running hash. Its `Debug` shows only the
/// length.
#[derive(Clone, Default)]
pub(crate) struct Seen {
    pub(crate) len: u64,
    head: [u8; 4],
    tail: [u8; 4],
    /// Whether `head` and `tail` are kept.
    ends: bool,
    /// Boxed and reused from token to token: a BLAKE3 hasher is about 2 KB,
    /// too much to move for every token of a dense log.
    hasher: Option<Box<blake3::Hasher>>,
    hashing: bool,
    /// The token's bytes, while they fit in
    /// [`CAPTURE_MAX`](crate::CAPTURE_MAX), when its rules may be carried
    /// in findings (`None` otherwise). Boxed: a redactor stays small.
    captured: Option<Box<Captured>>,
}

/// The bytes of the current token, kept for [`Seen::secret`].
#[derive(Clone, Default)]
struct Captured(Vec<u8>);

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seen").field("len", &self.len).finish_non_exhaustive()
    }
}

impl Seen {
    /// Starts a new token, hashed when `hashing` (with a hasher from `new`
    /// the first time; all tokens of a stream must use the same kind), its
    /// first and last bytes kept when `ends`.
    #[inline]
    pub(crate) fn start(
        &mut self,
        ends: bool,
        hashing: bool,
        new: impl FnOnce() -> blake3::Hasher,
    ) {
        self.len = 0;
        if let Some(captured) = &mut self.captured {
            captured.0.clear();
        }
        self.ends = ends;
        self.hashing = hashing;
        if hashing {
            match &mut self.hasher {
                Some(hasher) => {
                    hasher.reset();
                }
                None => self.hasher = Some(Box::new(new())),
            }
        }
    }

    /// The next bytes of the token.
    #[inline]
    pub(crate) fn absorb(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.ends {
            for (i, &b) in (self.len as usize..4).zip(bytes) {
                self.head[i] = b;
            }
            if let Some(last4) = bytes.last_chunk::<4>() {
                self.tail = *last4;
            } else {
                self.tail.rotate_left(bytes.len());
                self.tail[4 - bytes.len()..].copy_from_slice(bytes);
            }
        }
        if let Some(hasher) = self.hasher.as_mut().filter(|_| self.hashing) {
            hasher.update(bytes);
        }
        if let Some(Captured(captured)) = self.captured.as_deref_mut()
            && captured.len() + bytes.len() <= crate::CAPTURE_MAX
        {
            captured.extend_from_slice(bytes);
        }
        self.len += bytes.len() as u64;
    }

    /// Keeps the bytes of the tokens from now on, for
    /// [`Seen::secret`].
    pub(crate) fn capture(&mut self) {
        self.captured
            .get_or_insert_with(|| Box::new(Captured(Vec::with_capacity(crate::CAPTURE_MAX))));
    }

    /// The token's bytes, when they were kept whole.
    pub(crate) fn secret(&self) -> Option<crate::Secret> {
        let Captured(captured) = self.captured.as_deref()?;
        (captured.len() as u64 == self.len).then(|| crate::Secret::new(captured))
    }

    fn last4(&self) -> &[u8] {
        &self.tail[4 - self.len.min(4) as usize..]
    }

    /// The token's hash (all zeros if it was not hashed).
    pub(crate) fn hash(&self) -> [u8; 32] {
        self.hasher.as_ref().filter(|_| self.hashing).map_or([0; 32], |h| *h.finalize().as_bytes())
    }

    /// PostHog's mask, `phx_...abcd`: the first four and last four bytes.
    /// A token too short for that to hide most of it shows as `...`.
    pub(crate) fn write_mask<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        if self.len < MIN_REVEAL_LEN {
            return out.write_all(b"...");
        }
        out.write_all(&self.head[..4])?;
        out.write_all(b"...")?;
        out.write_all(&self.tail)
    }

    /// [`Seen::write_mask`] as a value.
    pub(crate) fn mask(&self) -> Mask {
        let mut mask = Mask { bytes: [0; 11], len: 0 };
        let mut out = &mut mask.bytes[..];
        let _ = self.write_mask(&mut out);
        mask.len = (11 - out.len()) as u8;
        mask
    }
}

/// PostHog's mask of a token, `phx_...abcd`: at most 11 bytes, kept inline
/// so that recording a finding allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mask {
    bytes: [u8; 11],
    len: u8,
}

impl Mask {
    /// The mask's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The mask as text; bytes that are not UTF-8 are replaced.
    pub fn to_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }
}

impl std::fmt::Display for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_str())
    }
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_str())
    }
}
