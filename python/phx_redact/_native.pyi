"""Type stubs for phx_redact._native, the compiled engine (re-exported by
phx_redact)."""

import array
import mmap
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union, final, overload

__all__ = [
    "RULESET_VERSION",
    "Finding",
    "RedactError",
    "Redactor",
    "Verifier",
    "_RecordScan",
    "check",
    "check_stream",
    "redact",
    "redact_file",
    "redact_stream",
    "rules",
]

_Path = Union[str, "os.PathLike[str]"]

# Any object with the buffer protocol: bytes, bytearray, memoryview, array,
# mmap (collections.abc.Buffer from Python 3.12; the module takes any).
if sys.version_info >= (3, 12):
    from collections.abc import Buffer as _BytesLike
else:
    _BytesLike = Union[bytes, bytearray, memoryview, "array.array[Any]", mmap.mmap]

RULESET_VERSION: str
"""The version of the built-in rules' definition (as ``phx-redact --version``)."""

class _Reader(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...

class _Writer(Protocol):
    def write(self, data: bytes, /) -> Any: ...

class RedactError(Exception):
    """An input phx-redact refuses: corrupt or truncated compressed data, a
    format it cannot read, or content a rewrite would break. The message
    names the input and what to do; it never holds a key."""

@final
class Finding:
    """A token found, as a ``"finding"`` line of ``phx-redact --check --json``."""

    @property
    def path(self) -> Optional[str]:
        """The input's name as given (keys in it redacted), or None."""
    @property
    def line(self) -> int:
        """1-based line of the token's first byte."""
    @property
    def column(self) -> int:
        """1-based byte column of the token's first byte."""
    @property
    def offset(self) -> int:
        """Byte offset of the token in the (decompressed) stream."""
    @property
    def length(self) -> int:
        """The token's length in bytes."""
    @property
    def rule(self) -> str:
        """The rule that found it: phx, phs, pha, phr, phc, pattern-N or capped."""
    @property
    def mask(self) -> str:
        """PostHog's mask of the token (``phx_...abcd``)."""
    @property
    def fingerprint(self) -> str:
        """The token's short fingerprint."""
    @property
    def status(self) -> Optional[str]:
        """With ``verify=``: ``live``, ``live (scoped)``, ``not live`` or
        ``unknown: REASON``; None otherwise."""
    def to_dict(self) -> Dict[str, Any]:
        """The finding as ``--check --json`` prints it (``type`` is ``"finding"``)."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Verifier:
    """Asks PostHog whether keys are live, and remembers each answer."""

    def __new__(
        cls,
        *,
        posthog_urls: Optional[Sequence[str]] = None,
        timeout: float = 10.0,
    ) -> "Verifier": ...
    def statuses(self) -> Dict[str, str]:
        """The status of each key asked about so far, by fingerprint."""

@final
class _RecordScan:
    """The logging filter's native half: renders a record, redacts its
    message and tells whether any other field may need redacting, in one
    call."""

    def __new__(
        cls,
        *,
        include_public: bool = False,
        patterns: Sequence[str] = (),
        posthog_hosts: Sequence[str] = (),
        marker: str = "default",
        slow: Optional[Callable[[Any], object]] = None,
    ) -> "_RecordScan": ...
    def filter(self, record: Any) -> bool:
        """Renders ``record``'s message into ``msg`` (``args`` cleared),
        redacted as ``redact(msg, ...)`` would; when another field may hold
        a key, or the record has an exception or a message that does not
        render, calls ``slow(record)``. Returns True."""
    def needs_redaction(self, fields: Dict[str, Any]) -> bool:
        """True when a name or value of ``fields`` holds a key, or is a value
        it cannot judge (anything but str, int, float, None, ``()``)."""

@final
class Redactor:
    """A streaming redactor: feed it chunks of any size.

    It may be shared by threads: calls take turns (none raises, no chunk is
    lost), each ``feed`` applied whole in the order the calls get the
    redactor. When threads race, that order, and the interleaving of their
    chunks in the one stream, is theirs to decide; a call returns what it
    decided, which may include bytes another thread's chunk left held back.
    """

    def __new__(
        cls,
        *,
        path: Optional[str] = None,
        include_public: bool = False,
        patterns: Sequence[str] = (),
        posthog_hosts: Sequence[str] = (),
        marker: str = "default",
    ) -> "Redactor": ...
    def feed(self, data: _BytesLike) -> bytes:
        """Redacts the next chunk (bytes-like); returns what can be written
        out so far."""
    def finish(self) -> bytes:
        """Ends the stream; returns the bytes held back."""
    def findings(self, *, clear: bool = False) -> List[Finding]:
        """The findings so far, in stream order; ``clear=True`` forgets them."""

@overload
def redact(
    data: str,
    *,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
    marker: str = "default",
) -> str:
    """Redacts ``data`` (str, or bytes or any bytes-like object: bytearray,
    memoryview, array, mmap): str for str, bytes otherwise."""

@overload
def redact(
    data: _BytesLike,
    *,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
    marker: str = "default",
) -> bytes: ...

def rules(
    *,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
) -> List[Tuple[str, str]]:
    """The compiled rules as (name, regex) pairs, in priority order.
    ``posthog-legacy-bearer`` counts only on lines naming ``posthog.com``
    or one of ``posthog_hosts``, which its regex does not say."""

def redact_file(
    src: _Path,
    dst: _Path,
    *,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
    marker: str = "default",
) -> Dict[str, Any]:
    """Writes a redacted copy of ``src`` to ``dst``, as ``phx-redact --output-dir``."""

def check(
    path: _Path,
    *,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
    verify: Union[bool, Verifier, None] = False,
    posthog_urls: Optional[Sequence[str]] = None,
    verify_timeout: Optional[float] = 10.0,
) -> List[Finding]:
    """The tokens in the file at ``path``, as ``phx-redact --check --json``."""

def redact_stream(
    reader: _Reader,
    writer: _Writer,
    *,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
    marker: str = "default",
) -> Dict[str, Any]:
    """Redacts a binary stream into another, as :func:`redact_file` would.

    Every byte reaches ``writer`` or an exception is raised: short writes are
    completed, and a non-blocking reader or writer that is not ready is
    waited on (``select.poll`` on its ``fileno()``); ``writer.flush()`` is
    called at the end if it exists."""

def check_stream(
    reader: _Reader,
    *,
    path: Optional[str] = None,
    include_public: bool = False,
    patterns: Sequence[str] = (),
    posthog_hosts: Sequence[str] = (),
    verify: Union[bool, Verifier, None] = False,
    posthog_urls: Optional[Sequence[str]] = None,
    verify_timeout: Optional[float] = 10.0,
) -> List[Finding]:
    """The tokens in a binary stream, as :func:`check` would find them."""
