"""RedactingFilter with the standard library's logging: a key in the
message, in its arguments, in an exception's traceback, in stack_info; on
a handler, on a logger, and through dictConfig."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest

from conftest import Keys
from phx_redact.logging import RedactingFilter


@pytest.fixture
def logger(request):
    """A fresh logger with a handler writing to a StringIO, its output in
    `logger.output`; the standard Formatter."""
    log = logging.getLogger(f"test.{request.node.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.output = stream.getvalue  # type: ignore[attr-defined]
    log.handler = handler  # type: ignore[attr-defined]
    yield log
    log.removeHandler(handler)
    for f in list(log.filters):
        log.removeFilter(f)


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
