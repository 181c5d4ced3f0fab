"""What a run is made of, shared by every part of the job: its rules, the
files it found, the rows it returns, and how a path may be shown (with
any key in it redacted)."""

from __future__ import annotations

import collections
import dataclasses
import urllib.parse
from typing import Optional

import phx_redact

#: One row per file. ``status`` is ``written`` (a scrubbed copy, or a file
#: rewritten in place), ``clean`` (in place: nothing to redact, left as it
#: was), ``skipped`` (passed over in a folder: a link, a socket, a leftover
#: temporary file; ``error`` says why) or ``error``. ``bytes`` counts bytes
#: read after decompression. ``output`` is where the copy went; ``note``
#: says where the store made the result weaker than a local rename.
SCRUB_SCHEMA = (
    "path string, bytes long, tokens long, status string, error string, "
    "output string, note string"
)

#: One row per line of ``phx-redact --check --json``: ``type`` is
#: ``finding`` (the other columns as the CLI prints them) or ``error``
#: (``path`` and ``message`` only), for a file that could not be checked.
#: ``status``: with ``verify=True``, whether the key is live (``live``,
#: ``live (scoped)``, ``not live``, ``unknown: REASON``), as
#: ``--check --verify`` says; None otherwise.
AUDIT_SCHEMA = (
    "type string, path string, line long, column long, offset long, length long, "
    "rule string, mask string, fingerprint string, message string, status string"
)

_ScrubRow = collections.namedtuple(
    "_ScrubRow", [f.split()[0] for f in SCRUB_SCHEMA.split(", ")]
)
_AuditRow = collections.namedtuple(
    "_AuditRow", [f.split()[0] for f in AUDIT_SCHEMA.split(", ")]
)


@dataclasses.dataclass(frozen=True)
class _Rules:
    """The rule options of a run, as the engine takes them."""

    include_public: bool = False
    patterns: tuple = ()
    marker: str = "default"
    # Self-hosted PostHog hosts (the CLI's --posthog-host).
    posthog_hosts: tuple = ()

    def for_redact(self) -> dict:
        return {**self.for_check(), "marker": self.marker}

    def for_check(self) -> dict:
        return {
            "include_public": self.include_public,
            "patterns": self.patterns,
            "posthog_hosts": self.posthog_hosts,
        }


@dataclasses.dataclass(frozen=True)
class _Item:
    """One input file, as the driver found it."""

    # What the task opens: an absolute local path, or a URL.
    url: str
    # What the rows say: the path as the user named it (as the CLI prints it).
    display: str
    # Its name below the output folder (the CLI's mirror layout).
    rel: str
    size: int
    local: bool
    # Why it is passed over, if it is: (reason, whether that is a failure).
    skip: Optional[tuple] = None
    # The folder it was found in (walked), resolved (a URL for a store);
    # None if named directly.
    under: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class _Verify:
    """``verify=True``: the hosts to ask (None: PostHog's two regions) and
    the timeout of one call."""

    posthog_urls: Optional[tuple] = None
    timeout: float = 10.0

    def verifier(self) -> "phx_redact.Verifier":
        return phx_redact.Verifier(posthog_urls=self.posthog_urls, timeout=self.timeout)


def _verify(verify: bool, posthog_urls, timeout: float) -> Optional[_Verify]:
    """The verify options of a run, or None; a URL or timeout refused
    here, on the driver, before any task starts (ValueError)."""
    if not verify:
        return None
    urls = None if posthog_urls is None else tuple(posthog_urls)
    options = _Verify(urls, float(timeout))
    options.verifier()
    return options


@dataclasses.dataclass(frozen=True)
class _Job:
    rules: _Rules
    mode: str  # "mirror", "in_place" or "check"
    output_dir: Optional[str] = None
    output_local: bool = True
    storage_options: Optional[dict] = None
    verify: Optional[_Verify] = None


def _rules(rule_options: dict) -> _Rules:
    unknown = set(rule_options) - {"include_public", "patterns", "posthog_hosts", "marker"}
    if unknown:
        raise TypeError(f"unknown rule options: {', '.join(sorted(unknown))}")
    hosts = rule_options.get("posthog_hosts", ())
    if isinstance(hosts, (str, bytes)):
        raise TypeError("posthog_hosts: a sequence of host names, not one str")
    rules = _Rules(
        include_public=bool(rule_options.get("include_public", False)),
        patterns=tuple(rule_options.get("patterns", ())),
        marker=rule_options.get("marker", "default"),
        posthog_hosts=tuple(hosts),
    )
    # Parse, then validate: a bad pattern or marker is refused here, on the
    # driver, before any task starts.
    phx_redact.redact(b"", **rules.for_redact())
    return rules


def _refuse_cloud(rules: _Rules, verify: Optional[_Verify]) -> None:
    """A bearer token counted for a line naming one of ``posthog_hosts`` is
    that self-hosted instance's key: verify must not send it to PostHog
    Cloud, its default (ValueError, on the driver), as the CLI's
    ``--posthog-host`` with ``--verify`` and no ``--posthog-url``."""
    if verify is not None and verify.posthog_urls is None and rules.posthog_hosts:
        raise ValueError(
            "posthog_hosts names a self-hosted PostHog, whose keys verify=True would send "
            "to PostHog Cloud: name the instance with posthog_urls= (add "
            "https://us.posthog.com and https://eu.posthog.com to ask the cloud too)"
        )


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _local_path(url: str) -> str:
    if url.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlparse(url).path)
    return url


def _say(text: str, rules: _Rules) -> str:
    """``text`` as it may be shown: the run's rules, then every built-in
    rule (``phc_`` too), as the CLI's messages are."""
    text = phx_redact.redact(
        text, patterns=rules.patterns, posthog_hosts=rules.posthog_hosts, marker="default"
    )
    return phx_redact.redact(text, include_public=True)
