"""RedactingFilter with the standard library's logging: a key in the
message, in its arguments, in an exception's traceback, in stack_info; on
a handler, on a logger, and through dictConfig."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import threading

import pytest

from conftest import Keys, string_logger
from phx_redact.logging import RedactingFilter


@pytest.fixture
def logger(request):
    """A fresh logger writing to a StringIO (see `string_logger`), with the
    standard Formatter."""
    with string_logger(f"test.{request.node.name}", "%(levelname)s %(name)s %(message)s") as log:
        yield log


def test_a_key_in_the_message_and_in_its_arguments(logger, keys: Keys):
    logger.handler.addFilter(RedactingFilter())
    key, other = keys.key("phx", 43), keys.key("phs", 20)
    logger.info(f"calling with {key}")
    logger.warning("auth=%s user=%s n=%d", other, "é", 3)
    logger.error("mapping %(k)s", {"k": key})
    out = logger.output()
    assert key[4:] not in out and other[4:] not in out
    assert out.splitlines() == [
        f"INFO {logger.name} calling with phx_[REDACTED]",
        f"WARNING {logger.name} auth=phs_[REDACTED] user=é n=3",
        f"ERROR {logger.name} mapping phx_[REDACTED]",
    ]


def test_a_key_in_an_exception_traceback(logger, keys: Keys):
    logger.addFilter(RedactingFilter())
    key = keys.key("pha", 40)
    try:
        raise RuntimeError(f"PostHog refused the key {key}")
    except RuntimeError:
        logger.exception("request failed")
    out = logger.output()
    assert key[4:] not in out
    assert "request failed\nTraceback (most recent call last):" in out
    assert "RuntimeError: PostHog refused the key pha_[REDACTED]" in out
    # A formatter that renders exc_info itself finds none to render.
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logger.addHandler(keep)
    try:
        try:
            raise ValueError(key)
        except ValueError:
            logger.error("again", exc_info=True)
    finally:
        logger.removeHandler(keep)
    [record] = records
    assert record.exc_info is None
    assert key[4:] not in record.exc_text and record.exc_text.endswith("ValueError: pha_[REDACTED]")


def test_keep_exc_info_leaves_the_exception_for_a_handler_that_needs_it(logger, keys: Keys):
    logger.addFilter(RedactingFilter(keep_exc_info=True))
    key = keys.key()
    try:
        raise KeyError(key)
    except KeyError:
        logger.exception("lookup")
    assert key[4:] not in logger.output()
    assert "KeyError: 'phx_[REDACTED]'" in logger.output()


def test_a_key_in_stack_info(logger, keys: Keys):
    logger.handler.addFilter(RedactingFilter())
    key = keys.key("phr", 30)
    # A function whose name and file name are the key: the stack shows both.
    code = compile(f"def {key}(log):\n    log.info('here', stack_info=True)\n", f"/srv/{key}.py", "exec")
    scope: dict = {}
    exec(code, scope)
    scope[key](logger)
    out = logger.output()
    assert key[4:] not in out
    assert "Stack (most recent call last):" in out
    assert 'File "/srv/phr_[REDACTED].py", line 2, in phr_[REDACTED]' in out


def test_dict_config_with_options(keys: Keys):
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "redact": {
                    "()": "phx_redact.logging.RedactingFilter",
                    "include_public": True,
                    "patterns": ["ghp_[A-Za-z0-9]{36}"],
                    "marker": "{prefix}<hidden>",
                }
            },
            "handlers": {
                "mem": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "filters": ["redact"],
                    "formatter": "plain",
                }
            },
            "formatters": {"plain": {"format": "%(message)s"}},
            "loggers": {"dictconfig.test": {"handlers": ["mem"], "level": "INFO", "propagate": False}},
        }
    )
    log = logging.getLogger("dictconfig.test")
    github = "ghp_" + keys.body(36)
    public = keys.key("phc", 43)
    log.info("keys %s %s %s", keys.key(), public, github)
    assert stream.getvalue() == "keys phx_<hidden> phc_<hidden> ghp_<hidden>\n"
    log.handlers.clear()


def test_a_bad_pattern_fails_at_configuration_without_quoting_it(keys: Keys):
    secret = "tok" + keys.body(30)
    with pytest.raises(ValueError) as refused:
        RedactingFilter(patterns=[secret + "("])
    assert secret[3:] not in str(refused.value)


def test_arguments_that_do_not_format_are_still_redacted(logger, keys: Keys):
    logger.handler.addFilter(RedactingFilter())
    key = keys.key()
    logger.info("two %s %s", key)  # one argument short
    out = logger.output()
    assert key[4:] not in out and "phx_[REDACTED]" in out


def test_the_filter_lets_every_record_through_and_redacts_once(logger, keys: Keys):
    both = RedactingFilter()
    logger.addFilter(both)
    logger.handler.addFilter(both)
    key = keys.key()
    logger.debug("%s", key)
    assert logger.output() == f"DEBUG {logger.name} phx_[REDACTED]\n"


def test_on_a_handler_it_sees_child_loggers_records_on_a_logger_only_its_own(keys: Keys):
    # What the README says of where to install it: logging runs a logger's
    # filters only for records logged through that logger.
    parent = logging.getLogger("placement")
    child = logging.getLogger("placement.child")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    parent.propagate = False
    key = keys.key()
    try:
        on_logger = RedactingFilter()
        parent.addFilter(on_logger)
        child.info("child %s", key)
        parent.info("parent %s", key)
        assert stream.getvalue() == f"child {key}\nparent phx_[REDACTED]\n"
        parent.removeFilter(on_logger)
        handler.addFilter(RedactingFilter())
        child.info("child %s", key)
        assert stream.getvalue().endswith("child phx_[REDACTED]\n")
    finally:
        parent.removeHandler(handler)


def test_string_fields_given_with_extra_are_redacted(logger, keys: Keys):
    # A JSON formatter prints every field of a record.
    logger.handler.setFormatter(logging.Formatter("%(message)s token=%(token)s n=%(n)s"))
    logger.handler.addFilter(RedactingFilter())
    key = keys.key("phs", 43)
    logger.info("login", extra={"token": key, "n": 3})
    assert logger.output() == "login token=phs_[REDACTED] n=3\n"


class JsonHandler(logging.Handler):
    """What a JSON formatter prints: every field of the record."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps(record.__dict__, default=str))


class Shows:
    """An object given with `extra=` whose str() holds what it is given."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"Shows({self.text})"


def every_attribute_format(extra: list[str]) -> str:
    """A format string printing every attribute a record has, and `extra`."""
    fields = sorted(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
    fields = [f for f in fields if f not in ("msg", "args", "exc_info")] + ["message", "asctime"]
    return " ".join(f"{f}=%({f})s" for f in fields + extra)


def test_every_field_a_formatter_or_json_prints_is_redacted(keys: Keys):
    import multiprocessing

    k = [keys.key(p, 30) for p in ("phx", "phs", "pha", "phr", "phx", "phs", "phx", "pha", "phr")]
    log = logging.getLogger(f"svc.{k[0]}")
    log.setLevel(logging.INFO)
    log.propagate = False
    stream = io.StringIO()
    text = logging.StreamHandler(stream)
    extras = ["token", "blob", "nested", "obj", "n"]
    text.setFormatter(logging.Formatter(every_attribute_format(extras)))
    as_json = JsonHandler()
    for handler in (text, as_json):
        handler.addFilter(RedactingFilter())
        log.addHandler(handler)
    nested = {"list": [k[4], b"b=" + k[5].encode()], "tuple": (1, {k[6]: "v"})}
    process = multiprocessing.current_process()
    old_process_name = process.name
    # A function and a file named by keys: funcName, module, filename and
    # pathname come from the code.
    code = compile(
        f"def {k[7]}(log, extra):\n    log.info('hello', extra=extra)\n", f"/srv/{k[8]}.py", "exec"
    )
    scope: dict = {}
    exec(code, scope)
    extra = {"token": k[1], "blob": k[2].encode(), "nested": nested, "obj": Shows(k[3]), "n": 7}
    try:
        process.name = k[2]
        worker = threading.Thread(target=scope[k[7]], args=(log, extra), name=f"worker-{k[3]}")
        worker.start()
        worker.join()
    finally:
        process.name = old_process_name
        log.handlers.clear()
    out = stream.getvalue() + "\n".join(as_json.lines)
    leaked = [i for i, key in enumerate(k) if key[4:] in out]
    assert leaked == [], out
    assert f"name=svc.phx_[REDACTED] " in out
    assert "threadName=worker-phr_[REDACTED] " in out
    assert "processName=pha_[REDACTED] " in out
    assert "funcName=pha_[REDACTED] " in out and " module=phr_[REDACTED] " in out
    assert "pathname=/srv/phr_[REDACTED].py " in out
    assert "blob=b'pha_[REDACTED]' " in out and "obj=Shows(phr_[REDACTED]) n=7" in out
    [line] = as_json.lines
    record = json.loads(line)
    assert record["nested"] == {
        "list": ["phx_[REDACTED]", str(b"b=phs_[REDACTED]")],
        "tuple": [1, {"phx_[REDACTED]": "v"}],
    }
    # The caller's own objects are left as they were.
    assert nested["list"][0] == k[4] and extra["token"] == k[1]


def test_a_message_an_earlier_handler_cached_is_redacted(keys: Keys):
    # The first handler (say, a local audit file) sees the raw record and
    # its formatter caches record.message and record.exc_text; the second
    # handler's filter must not let those through.
    log = logging.getLogger("cached.message")
    log.setLevel(logging.INFO)
    log.propagate = False
    first = logging.StreamHandler(io.StringIO())
    first.setFormatter(logging.Formatter("%(message)s"))
    second = JsonHandler()
    second.addFilter(RedactingFilter())
    log.addHandler(first)
    log.addHandler(second)
    key = keys.key("phs", 40)
    try:
        try:
            raise RuntimeError(key)
        except RuntimeError:
            log.exception("login %s", key)
    finally:
        log.handlers.clear()
    [line] = second.lines
    assert key[4:] not in line
    record = json.loads(line)
    assert record["message"] == "login phs_[REDACTED]"
    assert record["exc_text"].endswith("RuntimeError: phs_[REDACTED]")


def test_an_extra_field_named_by_a_key_and_deep_or_odd_values(keys: Keys):
    key = keys.key("phx", 40)
    handler = JsonHandler()
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("extra.odd")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    deep: list = [key]
    for _ in range(20):
        deep = [deep]
    loop: list = [key]
    loop.append(loop)

    class Unshowable:
        def __str__(self) -> str:
            raise ValueError(key)

        __repr__ = __str__

    try:
        log.info(
            "odd",
            extra={key: 1, "deep": deep, "loop": loop, "raw": bytearray(key.encode()), "bad": Unshowable()},
        )
    finally:
        log.handlers.clear()
    [line] = handler.lines
    assert key[4:] not in line
    record = json.loads(line)
    assert record["phx_[REDACTED]"] == 1
    assert record["bad"] == "<Unshowable that cannot be shown>"
    # Past 8 levels, and in a list that holds itself, the str() of what is
    # left, redacted.
    assert "phx_[REDACTED]" in json.dumps(record["deep"]) and "phx_[REDACTED]" in str(record["loop"])
    assert record["raw"] == str(b"phx_[REDACTED]")


class Unprintable:
    """A message whose __str__ raises, with a key in the exception."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __str__(self) -> str:
        raise ValueError(f"cannot render {self.key}")

    __repr__ = __str__


@pytest.mark.parametrize("where", ["handler", "logger"])
def test_a_message_that_cannot_render_never_raises_into_the_caller(logger, keys: Keys, where, capsys):
    (logger.handler if where == "handler" else logger).addFilter(RedactingFilter())
    key = keys.key("phx", 40)
    logger.info(Unprintable(key))
    logger.info("arg %s", Unprintable(key))
    logger.info("two %s %s", key)
    out, err = logger.output(), capsys.readouterr().err
    assert key[4:] not in out + err
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert "<Unprintable whose str() raises>" in lines[0]
    assert "ValueError: cannot render phx_[REDACTED]" in lines[0]
    assert lines[1].startswith(f"INFO {logger.name} arg %s (a message that does not format: ")
    assert "<Unprintable whose repr() raises>" in lines[1]
    assert "TypeError" in lines[2] and "'phx_[REDACTED]'" in lines[2]


def test_logging_s_own_error_report_prints_no_key(logger, keys: Keys, capsys):
    # A formatter that fails at emit: logging's handleError prints the
    # traceback and "Message: %r Arguments: %s" to stderr.
    logger.handler.setFormatter(logging.Formatter("%(message)s %(missing)s"))
    key = keys.key("pha", 40)
    logger.info("auth %s", key)
    assert key in capsys.readouterr().err  # the side door, without the filter
    logger.handler.addFilter(RedactingFilter())
    logger.info("auth %s", key)
    logger.info(Unprintable(key))
    err = capsys.readouterr().err
    assert err.count("--- Logging error ---") == 2
    assert key[4:] not in err and "pha_[REDACTED]" in err


def test_extra_values_that_subclass_str_or_int_go_by_what_they_print(keys: Keys):
    # A subclass prints what its own __str__/__repr__ say, not its data.
    key = keys.key("phx", 40)

    class Shown(str):
        def __str__(self) -> str:
            return key

    class Counted(int):
        def __str__(self) -> str:
            return key

        __repr__ = __str__

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(s)s %(i)s %(i)r"))
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("extra.subclass")
    log.propagate = False
    log.addHandler(handler)
    log.warning("x", extra={"s": Shown("clean"), "i": Counted(3)})
    out = stream.getvalue()
    assert key[4:] not in out, out
    assert out.count("phx_[REDACTED]") == 3, out
