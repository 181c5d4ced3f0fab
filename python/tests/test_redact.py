"""redact() and Redactor against the regex oracle the Rust tests use, over
random chunkings; bytes and str round trips with non-ASCII text."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import phx_redact
from conftest import REPO, Keys, run_cli

# The oracle of tests/integration/common.rs, in Python's `re`: a key's body
# and the alternation of the built-in prefixes. (Python's alternation is
# leftmost-first and its repeats greedy, as the regex crate's are.)
BODY = r"[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*"
TOKEN = r"(phx|phs|pha|phr)_" + BODY
TOKEN_WITH_PUBLIC = r"(phx|phs|pha|phr|phc)_" + BODY
SECRET_KINDS = ["phx", "phs", "pha", "phr"]
# Legacy personal API keys (no prefix), after the names they are given: only
# the group `secret` is replaced, and the byte after it is scanned again.
LEGACY = (
    r"""(?:personal_api_key(?:"[ \t]{0,8}:[ \t]{0,8}"|[ \t]{0,8}[=:][ \t]{0,8}["']?)"""
    r"""|POSTHOG_(?:PERSONAL_)?API_KEY"?[ \t]{0,8}[=:][ \t]{0,8}["']?)"""
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)"
)
# A legacy key sent as a bearer token: it counts only on a line that names
# posthog.com, and the set tries it last. The inputs below never hold
# `Authorization`, so the oracle need not spell out that condition; the rule
# itself is checked against the module's.
BEARER = (
    r"""(?:Authorization|authorization)"?[ \t]{0,8}:[ \t]{0,8}"?(?:Bearer|bearer)[ \t]{1,8}"""
    r"(?P<secret>[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)"
)
# Python's `re` writes the end of the input `\Z`.
_LEGACY_PY = LEGACY.replace(r"\z", r"\Z")

_RE = {
    public: re.compile(f"{token}|{_LEGACY_PY}".encode())
    for public, token in ((False, TOKEN), (True, TOKEN_WITH_PUBLIC))
}


def oracle_tokens(data: bytes, include_public: bool = False) -> list[tuple[int, int, str]]:
    """Each token the regexes find from the left, as (offset, length, rule):
    a legacy key's token is its group `secret`, and the search goes on
    right after it."""
    tokens, pos = [], 0
    while (m := _RE[include_public].search(data, pos)) is not None:
        if m.group("secret") is not None:
            start, end = m.span("secret")
            tokens.append((start, end - start, "posthog-legacy"))
            pos = end
        else:
            tokens.append((m.start(), m.end() - m.start(), m.group(1).decode()))
            pos = m.end()
    return tokens


def oracle(data: bytes, include_public: bool = False) -> bytes:
    """What the output must be: the regexes over the whole input at once."""
    out, pos = [], 0
    for start, length, rule in oracle_tokens(data, include_public):
        marker = b"[REDACTED:posthog-legacy]" if rule == "posthog-legacy" else rule.encode() + b"_[REDACTED]"
        out += [data[pos:start], marker]
        pos = start + length
    out.append(data[pos:])
    return b"".join(out)


def rust_const(name: str) -> str:
    """A raw-string constant of the Rust tests' oracle, as written there."""
    text = (REPO / "tests" / "integration" / "common.rs").read_text()
    found = re.search(rf'pub const {name}: &str =\s*r"([^"]*)";', text)
    assert found, f"{name} not found in tests/integration/common.rs"
    return found.group(1)


def test_the_oracle_is_the_rust_tests_oracle_and_the_engines_rules():
    # The same text as the Rust tests' oracle...
    assert rust_const("BODY") == BODY
    assert rust_const("TOKEN") == TOKEN
    assert rust_const("TOKEN_WITH_PUBLIC") == TOKEN_WITH_PUBLIC
    # ...and the same as the regexes the compiled module runs.
    legacy = ("posthog-legacy", LEGACY)
    bearer = ("posthog-legacy-bearer", BEARER)
    assert phx_redact.rules() == [(k, f"{k}_{BODY}") for k in SECRET_KINDS] + [legacy, bearer]
    public = phx_redact.rules(include_public=True)
    kinds = [(k, f"{k}_{BODY}") for k in SECRET_KINDS]
    assert public == kinds + [legacy, ("phc", f"phc_{BODY}"), bearer]


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

# Pieces that make tokens, near misses and glued keys likely.
pieces = st.one_of(
    st.sampled_from([b"phx_", b"phs_", b"pha_", b"phr_", b"phc_", b"ph", b"x_", b"_", b"\n", b" "]),
    st.sampled_from([b"personal_api_key=", b'{"personal_api_key": "', b"POSTHOG_API_KEY=", b"-"]),
    st.text(alphabet=ALNUM + "_-", min_size=42, max_size=44).map(str.encode),
    st.text(alphabet=ALNUM, min_size=1, max_size=45).map(str.encode),
    st.text(alphabet=ALNUM + "_", min_size=30, max_size=50).map(str.encode),
    st.binary(max_size=6),
)
inputs = st.lists(pieces, max_size=30).map(b"".join)
chunkings = st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=8)


def feed_chunked(redactor: phx_redact.Redactor, data: bytes, sizes: list[int]) -> bytes:
    out = []
    i = 0
    rest = data
    while rest:
        n = min(sizes[i % len(sizes)], len(rest))
        i += 1
        out.append(redactor.feed(rest[:n]))
        rest = rest[n:]
    out.append(redactor.finish())
    return b"".join(out)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inputs, sizes=chunkings, include_public=st.booleans())
def test_feed_over_any_chunking_is_the_oracle(data, sizes, include_public):
    redactor = phx_redact.Redactor(include_public=include_public)
    assert feed_chunked(redactor, data, sizes) == oracle(data, include_public)
    # The findings are where the oracle's matches are, in order.
    found = [(f.offset, f.length, f.rule) for f in redactor.findings()]
    assert found == oracle_tokens(data, include_public)
    # One call over the whole input gives the same.
    assert phx_redact.redact(data, include_public=include_public) == oracle(data, include_public)


@settings(max_examples=100, deadline=None)
@given(data=inputs)
def test_one_byte_chunks_are_the_oracle(data):
    assert feed_chunked(phx_redact.Redactor(), data, [1]) == oracle(data)


def test_bytes_and_str_round_trip_with_non_ascii_text(keys: Keys):
    key, other = keys.key("phx", 43), keys.key("phs", 20)
    text = f"naïve café ✓ 日本語 🙂 {key}\nΩ≈ç√ token={other}é\n"
    expected = "naïve café ✓ 日本語 🙂 phx_[REDACTED]\nΩ≈ç√ token=phs_[REDACTED]é\n"
    out = phx_redact.redact(text)
    assert type(out) is str and out == expected
    out = phx_redact.redact(text.encode())
    assert type(out) is bytes and out == expected.encode()
    # Bytes that are not UTF-8 pass through as they are.
    latin1 = b"caf\xe9 \xff\xfe " + key.encode() + b" \x80"
    assert phx_redact.redact(latin1) == b"caf\xe9 \xff\xfe phx_[REDACTED] \x80"
    # A str with a lone surrogate (a file name decoded with surrogateescape)
    # keeps it.
    odd = "log-\udcff " + key
    assert phx_redact.redact(odd) == "log-\udcff phx_[REDACTED]"
    # A bytearray gives bytes, to feed() as to redact().
    assert phx_redact.redact(bytearray(text.encode())) == expected.encode()
    redactor = phx_redact.Redactor()
    assert redactor.feed(bytearray(text.encode())) + redactor.finish() == expected.encode()
    # Nothing to redact: the same text back.
    assert phx_redact.redact("日本語 only") == "日本語 only"


def test_options_are_the_clis(keys: Keys):
    public, key = keys.key("phc", 43), keys.key("phx", 43)
    custom = "ghp_" + keys.body(36)
    text = f"k={public} t={custom} s={key}\n"
    assert phx_redact.redact(text) == f"k={public} t={custom} s=phx_[REDACTED]\n"
    assert phx_redact.redact(key, marker="<{rule}:{last4}>") == f"<phx:{key[-4:]}>"
    # Each option as the command line's, on the same text.
    cases = [
        ({"include_public": True}, ["--include-public"]),
        ({"patterns": ["ghp_[A-Za-z0-9]{36}"]}, ["--pattern", "ghp_[A-Za-z0-9]{36}"]),
        ({"patterns": ["t=", "[0-9]{3}"]}, ["--pattern", "t=", "--pattern", "[0-9]{3}"]),
        ({"marker": "same-length"}, ["--marker", "same-length"]),
        ({"marker": "posthog"}, ["--marker", "posthog"]),
        ({"marker": "fingerprint", "include_public": True}, ["--marker", "fingerprint", "--include-public"]),
        ({"marker": "{rule}/{len}/{stars}"}, ["--marker", "{rule}/{len}/{stars}"]),
    ]
    for options, args in cases:
        cli = run_cli(*args, stdin=text.encode())
        assert cli.returncode == 0, cli.stderr
        assert phx_redact.redact(text.encode(), **options) == cli.stdout, options
        assert phx_redact.redact(text, **options) == cli.stdout.decode(), options


def test_findings_have_the_fields_of_check_json(keys: Keys):
    key = keys.key("pha", 50)
    redactor = phx_redact.Redactor(path="app.log")
    out = redactor.feed(f"one\ntwo {key[:7]}".encode()) + redactor.feed(f"{key[7:]}\n".encode())
    out += redactor.finish()
    assert out == b"one\ntwo pha_[REDACTED]\n"
    [finding] = redactor.findings()
    assert finding.to_dict() == {
        "type": "finding",
        "path": "app.log",
        "line": 2,
        "column": 5,
        "offset": 8,
        "length": len(key),
        "rule": "pha",
        "mask": f"pha_...{key[-4:]}",
        "fingerprint": finding.fingerprint,
    }
    assert re.fullmatch(r"[0-9a-f]{8,}", finding.fingerprint)
    assert key not in repr(finding) and key[4:] not in str(finding.to_dict())
    assert redactor.findings(clear=True) == [finding]
    assert redactor.findings() == []
    assert phx_redact.Redactor().feed(key.encode()) == b""  # held until finish
    with pytest.raises(ValueError):
        redactor.feed(b"more")


def test_type_errors_say_what_is_expected():
    with pytest.raises(TypeError, match="bytes, a bytes-like object or str, not int"):
        phx_redact.redact(12)
    with pytest.raises(TypeError):
        phx_redact.redact("x", patterns="phx")  # a str is not a list of patterns


def test_any_bytes_like_object_is_redacted_as_bytes(keys: Keys, tmp_path):
    import array
    import mmap

    data = "".join(f"{i} é key={keys.key()}\n" for i in range(200)).encode()
    expected = oracle(data)
    path = tmp_path / "mapped.log"
    path.write_bytes(data)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mapped:
        for obj in (bytearray(data), memoryview(data), array.array("B", data), mapped):
            assert phx_redact.redact(obj) == expected, type(obj)
            redactor = phx_redact.Redactor()
            view = memoryview(data)
            head = redactor.feed(obj[:1000] if not isinstance(obj, mmap.mmap) else view[:1000])
            assert head + redactor.feed(view[1000:]) + redactor.finish() == expected
        # No export of the mapping is left open: it can still be resized.
        mapped.resize(len(data) + 1)
    # A strided view is its bytes in order; a typed array its raw bytes.
    assert phx_redact.redact(memoryview(data)[::2]) == oracle(data[::2])
    wide = array.array("H", data[: len(data) // 2 * 2])
    assert phx_redact.redact(wide) == oracle(wide.tobytes())
    with pytest.raises(TypeError, match="not str"):
        phx_redact.Redactor().feed("text")  # type: ignore[arg-type]
