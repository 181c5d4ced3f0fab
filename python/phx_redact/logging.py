"""A :class:`logging.Filter` that redacts secret keys from log records.

Install it on a logger or on a handler, in one line::

    logging.getLogger().addFilter(RedactingFilter())

or through :func:`logging.config.dictConfig`::

    "filters": {"redact": {"()": "phx_redact.logging.RedactingFilter"}}

On a logger, it sees the records logged through that logger (not those
that propagate to it from child loggers); on a handler, every record the
handler emits, whichever logger it came from. A handler is the safer place.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Iterable

from ._native import _RecordScan, redact

__all__ = ["RedactingFilter"]

# How deep lists, tuples and dicts given with `extra=` are walked; a value
# nested deeper is treated as any other object (see `_clean`).
_MAX_DEPTH = 8

# Values that cannot hold a key, left as they are.
_INERT = (int, float, complex, type(None))

# Fields the filter has dealt with before its walk over every field.
_DONE = frozenset({"msg", "args", "exc_info"})

# Fields that repeat from record to record (names of the logger, the
# thread, the code): their redaction is remembered.
_NAMES = frozenset(
    {"name", "levelname", "pathname", "filename", "module", "funcName", "threadName",
     "processName", "taskName"}
)


class RedactingFilter(logging.Filter):
    """Redacts every field of each record a formatter can print, and lets
    every record through.

    - The message is rendered with its arguments (``record.getMessage()``),
      redacted, and stored in ``record.msg``; ``record.args`` is cleared, so
      no formatter can render a raw argument again. A message that cannot be
      rendered (its ``__str__`` raises, or its arguments do not fit) becomes
      a redacted line that says so, with what can be shown of the message
      and its arguments: logging's own error report would print their raw
      ``repr`` to stderr, and a filter must not raise into the caller.
    - An exception (``logger.exception(...)``, ``exc_info=True``) is
      formatted into ``record.exc_text`` and redacted, and ``record.exc_info``
      is cleared (unless ``keep_exc_info``): the exception object still holds
      the key, and a formatter that renders ``exc_info`` itself would show
      it. The standard :class:`logging.Formatter` prints ``exc_text`` as it
      would have printed the traceback.
    - Every other field is redacted too: each string attribute of the
      record (the logger's ``name``, ``threadName``, ``processName``,
      ``taskName``, ``stack_info``, ``funcName``, ``module``, ``filename``,
      ``pathname``, ``levelname``, a ``message`` or ``asctime`` an earlier
      handler's formatter cached, and every ``extra=`` field), so that
      ``%(anything)s`` or ``json.dumps(record.__dict__)`` prints no key.
    - ``extra=`` values that are not strings: bytes and bytearrays are
      redacted (as bytes); lists, tuples and dicts are copied with their
      string and bytes leaves (and keys) redacted, ``_MAX_DEPTH`` (8) levels
      deep (the caller's objects are never changed); numbers and None are
      left. Any other object (or a container nested deeper) whose ``str()``
      or ``repr()`` holds a key is replaced by its redacted ``str()``; one
      whose ``str()`` raises is replaced by a placeholder naming its type.
      Other objects are left as they are. The name of an ``extra=`` field
      that holds a key is redacted too.

    :param include_public: also redact public project keys (``phc_``).
    :param patterns: extra regexes to redact, as the CLI's ``--pattern``.
    :param posthog_hosts: self-hosted PostHog hosts, as the CLI's
        ``--posthog-host``: a legacy personal API key sent as
        ``Authorization: Bearer`` is redacted on a line naming one, as on
        one naming ``posthog.com`` (keyword only).
    :param marker: what a key becomes, as the CLI's ``--marker``.
    :param keep_exc_info: leave ``record.exc_info`` in place (for a handler
        that needs the exception object, at the risk above).
    :param name: as :class:`logging.Filter`'s: only records of that logger
        and its children are redacted (and all pass).
    :raises ValueError: a pattern or the marker is refused (the message
        never quotes the pattern), or a host is empty, over 255 bytes or holds a line end.
    :raises TypeError: ``posthog_hosts`` is a single str, not a sequence.
    """

    def __init__(
        self,
        include_public: bool = False,
        patterns: Iterable[str] = (),
        marker: str = "default",
        keep_exc_info: bool = False,
        name: str = "",
        *,
        posthog_hosts: Iterable[str] = (),
    ) -> None:
        super().__init__(name)
        if isinstance(posthog_hosts, (str, bytes)):
            raise TypeError("posthog_hosts: a sequence of host names, not one str")
        self.include_public = include_public
        self.patterns = tuple(patterns)
        self.posthog_hosts = tuple(posthog_hosts)
        self.marker = marker
        self.keep_exc_info = keep_exc_info
        # The walk over every field, for the records that need it. Kept
        # apart from the filter, so that the native half holding it holds
        # no reference back to the filter (no cycle for the collector).
        self._fields = _FieldRedactor(
            include_public, self.patterns, marker, keep_exc_info, self.posthog_hosts
        )
        # One native call per record renders it, redacts its message and
        # tells whether any other field may hold a key: most records hold
        # none, and are then done; the others go to the walk.
        self._scan = _RecordScan(
            include_public=include_public,
            patterns=self.patterns,
            posthog_hosts=self.posthog_hosts,
            marker=marker,
            slow=self._fields.filter,
        )
        if not name and type(self).filter is RedactingFilter.filter:
            # The native call is the filter itself (logging calls
            # `filter.filter(record)`): no Python frame per record.
            self.filter = self._scan.filter  # type: ignore[method-assign]

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacts ``record`` in place; returns True (the record is kept)."""
        if self.nlen and not super().filter(record):
            return True
        return self._scan.filter(record)


class _FieldRedactor:
    """The filter's walk over every field of a record."""

    def __init__(
        self,
        include_public: bool,
        patterns: tuple[str, ...],
        marker: str,
        keep_exc_info: bool,
        posthog_hosts: tuple[str, ...] = (),
    ) -> None:
        self.include_public = include_public
        self.patterns = patterns
        self.posthog_hosts = posthog_hosts
        self.marker = marker
        self.keep_exc_info = keep_exc_info
        # Compiles the rules now: a bad pattern fails at configuration,
        # not at the first record.
        self._redact("")
        # Names and field names repeat: a call of the engine for each, at
        # each record, would cost several times the record itself.
        self._redact_name = functools.lru_cache(maxsize=1024)(self._redact)

    def _redact(self, text: Any) -> Any:
        return redact(
            text,
            include_public=self.include_public,
            patterns=self.patterns,
            posthog_hosts=self.posthog_hosts,
            marker=self.marker,
        )

    def filter(self, record: logging.LogRecord) -> None:
        """Redacts every field of ``record`` in place."""
        record.msg = _render(record)
        record.args = ()
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if not self.keep_exc_info:
                record.exc_info = None
        self._redact_fields(record)

    def _redact_fields(self, record: logging.LogRecord) -> None:
        """Redacts every field of ``record``: the message, then each other
        name and value."""
        record.msg = self._redact(record.msg)
        fields = record.__dict__
        for name, value in list(fields.items()):
            if name in _DONE:
                continue
            if type(value) in _INERT:
                clean = value
            elif name in _NAMES and type(value) is str:
                clean = self._redact_name(value)
            else:
                clean = self._clean(value, 0)
            clean_name = self._redact_name(name)
            if clean_name != name:
                del fields[name]
            if clean is not value or clean_name != name:
                fields[clean_name] = clean

    def _clean(self, value: Any, depth: int) -> Any:
        """`value` with every key redacted: `value` itself when it holds
        none, else a redacted copy (never a change to the caller's object)."""
        # Exact types only: a subclass of str or int can print anything
        # from its own __str__ or __repr__, and goes by what it prints.
        if type(value) in _INERT:
            return value
        if type(value) is str:
            clean = self._redact(value)
            return value if clean == value else clean
        if type(value) in (bytes, bytearray):
            clean = self._redact(bytes(value))
            return value if clean == value else clean
        if depth < _MAX_DEPTH and type(value) in (list, tuple):
            items = [self._clean(v, depth + 1) for v in value]
            if all(a is b for a, b in zip(items, value)):
                return value
            return type(value)(items)
        if depth < _MAX_DEPTH and type(value) is dict:
            pairs = [(self._clean(k, depth + 1), self._clean(v, depth + 1)) for k, v in value.items()]
            if all(k is a and v is b for (k, v), (a, b) in zip(pairs, value.items())):
                return value
            return dict(pairs)
        try:
            shown = (str(value), repr(value))
        except Exception:  # noqa: BLE001: a formatter would fail on it; it is not shown
            return self._redact(f"<{type(value).__name__} that cannot be shown>")
        if any(self._redact(s) != s for s in shown):
            return self._redact(shown[0])
        return value


def _render(record: logging.LogRecord) -> str:
    """The record's message with its arguments, or, when it cannot be
    rendered, a line that says so (never an exception: a filter that raised
    would raise into the caller's ``logger.info``)."""
    try:
        return record.getMessage()
    except Exception as err:  # noqa: BLE001: logging would report it with the raw args
        return (
            f"{_text(record.msg)} (a message that does not format: "
            f"{type(err).__name__}: {_text(err)}; arguments: {_args(record.args)})"
        )


def _text(value: object) -> str:
    """`str(value)`, or a description of it when its ``__str__`` raises."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001: described instead
        return f"<{type(value).__name__} whose str() raises>"


def _args(args: object) -> str:
    """The ``repr`` of a record's arguments, an argument whose ``__repr__``
    raises described instead."""

    def one(value: object) -> str:
        try:
            return repr(value)
        except Exception:  # noqa: BLE001: described instead
            return f"<{type(value).__name__} whose repr() raises>"

    if isinstance(args, tuple):
        return "(" + ", ".join(one(a) for a in args) + ")"
    if isinstance(args, dict):
        return "{" + ", ".join(f"{one(k)}: {one(v)}" for k, v in args.items()) + "}"
    return one(args)
