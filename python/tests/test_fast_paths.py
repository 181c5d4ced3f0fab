"""The paths that make the module as fast as the engine: a text with
nothing to redact comes back as it is (no copy), a large buffer is copied
once into its output, and a log record with no key costs one native call.
Each is checked against the oracle or the slow path it skips."""

from __future__ import annotations

import io
import logging
import multiprocessing
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import phx_redact
import phx_redact.logging as redacting
from conftest import ALNUM, Keys, run_cli
from test_logging import every_attribute_format
from test_redact import oracle


def big_log(keys: Keys, mib: int, every: int) -> bytes:
    """`mib` MiB of log lines, one in `every` with a key, non-ASCII text in
    each."""
    lines = []
    size, i = 0, 0
    while size < mib << 20:
        key = keys.key(("phx", "phs", "pha", "phr")[i % 4], 20 + i % 40) if i % every == 0 else "none"
        line = f"{i} café GET /a?id={i * 7919} ✓ k={key} ph_x phx_short\n"
        lines.append(line)
        size += len(line.encode())
        i += 1
    return "".join(lines).encode()


def test_nothing_to_redact_gives_the_same_object_back(keys: Keys):
    clean = b"2026-11-28 GET /static/app.js 200 phx_short ph" * 3000
    assert phx_redact.redact(clean) is clean
    text = "naïve 日本語 only, phx_short " * 3000
    assert phx_redact.redact(text) is text
    short = "no key here"
    assert phx_redact.redact(short) is short
    # Not for what must become a new object: a bytes-like object gives new
    # bytes, a subclass of str or bytes a plain one.
    array = bytearray(clean)
    out = phx_redact.redact(array)
    assert type(out) is bytes and out == clean

    class Text(str):
        pass

    sub = Text(text)
    out = phx_redact.redact(sub)
    assert type(out) is str and out == text

    class Data(bytes):
        pass

    out = phx_redact.redact(Data(clean))
    assert type(out) is bytes and out == clean
    # With a key, a new object, as before.
    key = keys.key()
    assert phx_redact.redact(text + key) == text + "phx_[REDACTED]"


@pytest.mark.parametrize("every", [1, 97, 10**9])
def test_large_buffers_are_the_oracle_as_bytes_str_and_fed(keys: Keys, every: int):
    # 24 MiB: past the sizes where the GIL is released and huge pages are
    # asked for; keys in every line, in one in 97, or none.
    data = big_log(keys, 24, every)
    expected = oracle(data)
    assert phx_redact.redact(data) == expected
    assert phx_redact.redact(data.decode()) == expected.decode()
    assert phx_redact.redact(memoryview(data)) == expected
    redactor = phx_redact.Redactor()
    half = len(data) // 2 + 3
    out = redactor.feed(data[:half]) + redactor.feed(data[half:]) + redactor.finish()
    assert out == expected
    assert len(redactor.findings()) == len(expected.split(b"_[REDACTED]")) - 1


def test_outputs_longer_than_the_input_and_held_back_ends(keys: Keys):
    # A marker longer than its token makes the output longer than the
    # input; a buffer that ends in a partial prefix or in a token ends in
    # bytes the engine held back. Each as the command line gives it.
    key = keys.key("phx", 20)
    body = ("x" * 70_000 + f" {key}\n") * 40
    marker = "<a long marker for rule {rule}, {len} bytes, ending {last4}>"
    for text in (body, body + "ph", body + key, body + key[:10]):
        for options, args in (({}, []), ({"marker": marker}, ["--marker", marker])):
            cli = run_cli(*args, stdin=text.encode())
            assert cli.returncode == 0, cli.stderr
            assert phx_redact.redact(text.encode(), **options) == cli.stdout
            assert phx_redact.redact(text, **options) == cli.stdout.decode()


def test_a_pattern_that_cuts_a_character_gives_a_replacement_character():
    # A custom rule may match part of a character's UTF-8: the rest of it
    # becomes U+FFFD, as errors="replace" does, in a large text as in a
    # short one.
    for pad in (0, 100_000):
        text = "a" * pad + "x\u00e9y"
        out = phx_redact.redact(text, patterns=["(?-u:x\\xC3)"], marker="literal:[R]")
        assert out == "a" * pad + "[R]\ufffdy"


class CountingRedact:
    """`phx_redact.logging.redact`, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return phx_redact.redact(*args, **kwargs)


def test_a_record_with_no_key_is_decided_in_one_native_call(monkeypatch, keys: Keys):
    counting = CountingRedact()
    filt = redacting.RedactingFilter()
    monkeypatch.setattr(redacting, "redact", counting)
    log = logging.getLogger("fast.path.clean")
    log.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(funcName)s %(message)s"))
    handler.addFilter(filt)
    log.addHandler(handler)
    try:
        for i in range(50):
            log.warning("request %d from %s, phx_short", i, "10.0.0.7", extra={"user": "ann", "n": i})
        assert counting.calls == 0
        key = keys.key()
        log.warning("request with %s", key, extra={"user": "ann"})
        assert counting.calls > 0
        lines = stream.getvalue().splitlines()
        assert lines[0] == (
            "WARNING fast.path.clean test_a_record_with_no_key_is_decided_in_one_native_call "
            "request 0 from 10.0.0.7, phx_short"
        )
        assert lines[-1].endswith("request with phx_[REDACTED]")
        assert key not in stream.getvalue()
    finally:
        log.removeHandler(handler)


@pytest.mark.parametrize(
    "extra",
    [
        {"where": "at the end tok123"},  # a pattern anchored at the end of the text
        {"tok456": "a name"},
        {"nested": ["tok789"]},  # a value it cannot judge: walked by the filter
        {"raw": b"tok321"},
    ],
)
def test_every_field_is_still_covered_with_custom_patterns(extra):
    # The fast path scans each field as a text of its own where rules are
    # custom: an anchored pattern matches where it would in that field.
    log = logging.getLogger("fast.path.custom")
    log.propagate = False
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(redacting.RedactingFilter(patterns=[r"tok[0-9]{3}$"], marker="literal:[R]"))
    log.addHandler(handler)
    try:
        log.warning("message", extra=extra)
    finally:
        log.removeHandler(handler)
    shown = repr(records[0].__dict__)
    assert "tok" not in shown.replace("[R]", "")


# Where a key can sit in a record: each a way to build it with
# makeRecord (and a thread or process renamed), so that the same call site
# logs clean records first (their names then known clean by identity) and
# then one whose field holds the key.
FIELDS = ("msg", "arg", "name", "pathname", "func", "sinfo", "extra value", "extra name",
          "thread", "process", "mapping arg")


def make_record(log: logging.Logger, field: str, text: str) -> logging.LogRecord:
    """A record whose `field` is `text`, every other field clean and the
    same objects as at the previous call (names from constants)."""
    name, path, func, msg, args = "cache.site", "/srv/app.py", "handler", "request %s", ("ok",)
    extra, sinfo = {"user": "ann"}, None
    if field == "msg":
        msg = f"request {text} %s"
    elif field == "arg":
        args = (text,)
    elif field == "mapping arg":
        msg, args = "request %(v)s", ({"v": text},)
    elif field == "name":
        name = text
    elif field == "pathname":
        path = f"/srv/{text}.py"
    elif field == "func":
        func = text
    elif field == "sinfo":
        sinfo = f"Stack (most recent call last):\n  {text}"
    elif field == "extra value":
        extra = {"user": text}
    elif field == "extra name":
        extra = {text: "ann"}
    return log.makeRecord(name, logging.WARNING, path, 7, msg, args, None, func, extra, sinfo)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(FIELDS),
    prefix=st.sampled_from(("phx", "phs", "pha", "phr")),
    body=st.text(alphabet=ALNUM, min_size=20, max_size=64),
    before=st.text(alphabet="ab é✓/=_-.:", max_size=12),
    warm=st.integers(0, 3),
    long_name=st.booleans(),
)
def test_a_key_in_any_field_is_redacted_after_clean_records(
    field, prefix, body, before, warm, long_name
):
    # One filter for every example: what it remembers of the clean
    # records (names known clean by identity) must never hide a key that
    # comes later, in a field that was clean before.
    filt = SHARED_FILTER
    log = logging.getLogger("cache.site")
    key = f"{prefix}_{body}"
    text = f"{before} {key} " + ("x" * 600 if long_name else "")
    thread, process = threading.current_thread(), multiprocessing.current_process()
    names = (thread.name, process.name)
    try:
        for _ in range(warm):
            clean = make_record(log, field, "clean")
            filt.filter(clean)
            assert clean.getMessage().startswith("request ")
        if field == "thread":
            thread.name = text
        elif field == "process":
            process.name = text
        record = make_record(log, field, text)
    finally:
        thread.name, process.name = names
    filt.filter(record)
    shown = repr(record.__dict__) + logging.Formatter(every_attribute_format([])).format(record)
    assert key not in shown and body not in shown
    assert f"{prefix}_[REDACTED]" in shown


SHARED_FILTER = redacting.RedactingFilter()
