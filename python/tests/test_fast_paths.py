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
        # A key in the message only: redacted in the same native call.
        key = keys.key()
        log.warning("request with %s", key, extra={"user": "ann"})
        assert counting.calls == 0
        # A key elsewhere: the walk over every field.
        other = keys.key("phs")
        log.warning("request", extra={"user": [other]})
        assert counting.calls > 0
        lines = stream.getvalue().splitlines()
        assert lines[0] == (
            "WARNING fast.path.clean test_a_record_with_no_key_is_decided_in_one_native_call "
            "request 0 from 10.0.0.7, phx_short"
        )
        assert lines[-2].endswith("request with phx_[REDACTED]")
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


# Filters of several options, shared by the examples of a property test.
OPTIONS = {
    "default": {},
    "public": {"include_public": True},
    "pattern": {"patterns": [r"zq![0-9]{3}"]},
    "marker": {"marker": "literal:[R]"},
}
FILTERS = {name: redacting.RedactingFilter(**o) for name, o in OPTIONS.items()}

# The fast path's own ways to get a record wrong: each test below fails if
# it lets a record through that holds a key (or redacts it otherwise than
# the walk would).


def filtered(filt: logging.Filter, msg, args=(), extra=None, warm: int = 3) -> logging.LogRecord:
    """The record `log.warning(msg, *args, extra=extra)` makes, after the
    filter: `warm` clean records from the same call site first, so that
    what the filter remembers of them is in play."""
    log = logging.getLogger("fast.path.site")

    def make(msg, args, extra):
        return log.makeRecord("fast.path.site", logging.WARNING, "/srv/app.py", 7, msg, args, None,
                              "handler", extra)

    for i in range(warm):
        filt.filter(make("request %d", (i,), {"user": "ann"} if extra else None))
    record = make(msg, args, extra)
    filt.filter(record)
    return record


def shown(record: logging.LogRecord) -> str:
    """Everything a formatter or a JSON handler could print of `record`."""
    fields = [k for k in record.__dict__ if k not in ("msg", "args", "message")]
    return repr(record.__dict__) + logging.Formatter(every_attribute_format(fields)).format(record)


def test_a_key_split_between_the_message_and_its_arguments(keys: Keys):
    # Neither the format nor the argument holds a key: only the rendered
    # message does.
    key = keys.key("phx", 43)
    for msg, args in (("token phx_%s", (key[4:],)), ("token %s%s", ("ph", key[2:])),
                      ("token %(p)s_%(b)s", ({"p": "phx", "b": key[4:]},))):
        record = filtered(redacting.RedactingFilter(), msg, args)
        assert record.msg == "token phx_[REDACTED]" and record.args == ()
        assert key not in shown(record)


def test_a_key_in_the_message_and_elsewhere_is_redacted_everywhere(keys: Keys):
    # The message alone is redacted natively: only when no other field
    # holds a key.
    key, other = keys.key("phx"), keys.key("phr")
    filt = redacting.RedactingFilter()
    record = filtered(filt, "with %s", (key,), extra={"user": other})
    assert record.msg == "with phx_[REDACTED]" and record.user == "phr_[REDACTED]"
    # The same str object as the message and as an extra value.
    text = f"with {key}"
    record = filtered(filt, text, (), extra={"copy": text})
    assert record.msg == record.copy == "with phx_[REDACTED]"
    # A key only in an extra field, after clean records.
    record = filtered(filt, "clean", (), extra={"user": other})
    assert record.msg == "clean" and record.user == "phr_[REDACTED]"


@pytest.mark.parametrize(
    "patterns, secret",
    [
        # Prefixes the built-in rules do not begin with: a prefilter that
        # looked for `ph?_` only would let them through.
        ([r"zq![0-9]{6}"], "zq!123456"),
        (["ét[0-9]{4}"], "ét1234"),
        # No literal prefix at all: every digit may begin a token.
        ([r"[0-9]{12}"], "123456789012"),
        # Anchored to the text's end: the message's end, not the record's.
        ([r"tok[0-9]{3}$"], "tok123"),
    ],
)
def test_custom_rules_in_the_message_are_redacted_as_redact_does(patterns, secret):
    filt = redacting.RedactingFilter(patterns=patterns, marker="literal:[R]")
    for msg, args in ((f"at {secret}", ()), ("at %s", (secret,)), ("at %s", (f"{secret} and more",))):
        record = filtered(filt, msg, args)
        rendered = msg % args if args else msg
        expected = phx_redact.redact(rendered, patterns=patterns, marker="literal:[R]")
        assert record.msg == expected
        if rendered.endswith(secret) or not patterns[0].endswith("$"):
            assert secret not in record.msg
    # A custom rule's secret in another field goes to the walk.
    record = filtered(filt, "clean", (), extra={"where": f"at {secret}"})
    if not patterns[0].endswith("$"):
        assert secret not in record.where


def test_include_public_redacts_phc_in_the_message(keys: Keys):
    public = keys.key("phc", 43)
    record = filtered(redacting.RedactingFilter(include_public=True), "project %s", (public,))
    assert record.msg == "project phc_[REDACTED]"
    record = filtered(redacting.RedactingFilter(), "project %s", (public,))
    assert record.msg == f"project {public}"


def test_the_message_is_redacted_with_the_filter_s_marker(keys: Keys):
    key = keys.key("phx", 43)
    for marker in ("literal:[R]", "posthog", "same-length", "{rule}:{last4}"):
        record = filtered(redacting.RedactingFilter(marker=marker), "key %s", (key,))
        assert record.msg == phx_redact.redact(f"key {key}", marker=marker)
        assert key not in record.msg


def test_non_ascii_messages(keys: Keys):
    key = keys.key("pha", 30)
    filt = redacting.RedactingFilter()
    record = filtered(filt, "café ✓ %s 日本", (key,))
    assert record.msg == "café ✓ pha_[REDACTED] 日本"
    record = filtered(filt, f"😀 {key}", ())
    assert record.msg == "😀 pha_[REDACTED]"
    record = filtered(filt, "naïve %s", ("clean ✓",))
    assert record.msg == "naïve clean ✓"
    # Lone surrogates (a name decoded with surrogateescape): the walk's.
    record = filtered(filt, "file \udce9 %s", (key,))
    assert key not in record.msg and "pha_[REDACTED]" in record.msg


class Sneaky(str):
    """A str whose str() is another text: logging renders str(msg)."""

    def __str__(self) -> str:
        return self.secret

    secret = ""


def test_a_message_that_subclasses_str_goes_by_what_it_renders(keys: Keys):
    key = keys.key("phs", 43)
    msg = Sneaky("nothing here %s")
    msg.secret = f"rendered {key} %s"
    record = filtered(redacting.RedactingFilter(), msg, ("ok",))
    assert record.msg == "rendered phs_[REDACTED] ok"
    # Without arguments too.
    msg = Sneaky("nothing here")
    msg.secret = f"rendered {key}"
    record = filtered(redacting.RedactingFilter(), msg, ())
    assert record.msg == "rendered phs_[REDACTED]"


class ArgsStr(str):
    """Arguments of an odd type: `msg % args` may call its __rmod__."""

    def __rmod__(self, other):
        return f"{other} and {self}"


def test_records_logging_renders_otherwise_go_through_get_message(keys: Keys):
    key = keys.key("phx", 43)

    class Record(logging.LogRecord):
        def getMessage(self) -> str:
            return f"{super().getMessage()} {key}"

    record = Record("r", logging.WARNING, "/srv/app.py", 7, "clean %s", ("ok",), None)
    redacting.RedactingFilter().filter(record)
    assert record.msg == "clean ok phx_[REDACTED]"
    record = filtered(redacting.RedactingFilter(), "clean", ArgsStr(key))
    assert record.msg == "clean and phx_[REDACTED]"


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(["phx_", "phc_", "ph", "_", " ", "é", "✓", "%", "zq!", "tok", "\n"]),
            st.text(alphabet=ALNUM, min_size=0, max_size=24),
            st.builds("{}_{}".format, st.sampled_from(["phx", "phs", "pha", "phr", "phc"]),
                      st.text(alphabet=ALNUM, min_size=20, max_size=30)),
        ),
        max_size=12,
    ),
    split=st.integers(0, 200),
    options=st.sampled_from(sorted(FILTERS)),
)
def test_any_message_is_redacted_as_redact_would(parts, split, options):
    # The native path against `redact` itself, the message split into a
    # format and an argument anywhere (or given whole, with no argument).
    text = "".join(parts)
    head, tail = text[:split], text[split:]
    msg, args = (text, ()) if split > len(text) else (head.replace("%", "%%") + "%s", (tail,))
    record = filtered(FILTERS[options], msg, args, warm=1)
    assert record.msg == phx_redact.redact(text, **OPTIONS[options])
