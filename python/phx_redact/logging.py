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

import logging
from typing import Iterable

from ._native import redact

__all__ = ["RedactingFilter"]

# What every record has; anything else came in through `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class RedactingFilter(logging.Filter):
    """Redacts each record's message, its arguments, its traceback and its
    stack information, and lets every record through.

    - The message is rendered with its arguments (``record.getMessage()``),
      redacted, and stored in ``record.msg``; ``record.args`` is cleared, so
      no formatter can render a raw argument again.
    - An exception (``logger.exception(...)``, ``exc_info=True``) is
      formatted into ``record.exc_text`` and redacted, and ``record.exc_info``
      is cleared (unless ``keep_exc_info``): the exception object still holds
      the key, and a formatter that renders ``exc_info`` itself would show
      it. The standard :class:`logging.Formatter` prints ``exc_text`` as it
      would have printed the traceback.
    - ``record.stack_info`` (``stack_info=True``) is redacted.
    - Fields given with ``extra=`` that are strings are redacted too: a
      JSON formatter prints them all. (Other values are left as they are.)

    :param include_public: also redact public project keys (``phc_``).
    :param patterns: extra regexes to redact, as the CLI's ``--pattern``.
    :param marker: what a key becomes, as the CLI's ``--marker``.
    :param keep_exc_info: leave ``record.exc_info`` in place (for a handler
        that needs the exception object, at the risk above).
    :param name: as :class:`logging.Filter`'s: only records of that logger
        and its children are redacted (and all pass).
    :raises ValueError: a pattern or the marker is refused (the message
        never quotes the pattern).
    """

    def __init__(
        self,
        include_public: bool = False,
        patterns: Iterable[str] = (),
        marker: str = "default",
        keep_exc_info: bool = False,
        name: str = "",
    ) -> None:
        super().__init__(name)
        self.include_public = include_public
        self.patterns = tuple(patterns)
        self.marker = marker
        self.keep_exc_info = keep_exc_info
        # Compiles the rules now: a bad pattern fails at configuration,
        # not at the first record.
        self._redact("")

    def _redact(self, text: str) -> str:
        return redact(
            text,
            include_public=self.include_public,
            patterns=self.patterns,
            marker=self.marker,
        )

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacts ``record`` in place; returns True (the record is kept)."""
        if not super().filter(record):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001: logging would report it with the raw args
            message = f"{record.msg!s} (arguments that do not format: {record.args!r})"
        record.msg = self._redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if not self.keep_exc_info:
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD and isinstance(value, str):
                record.__dict__[name] = self._redact(value)
        return True
