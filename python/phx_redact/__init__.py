"""Redact PostHog secret keys (``phx_``, ``phs_``, ``pha_``, ``phr_``, and
``phc_`` when asked) from strings, byte streams, files and logs.

The engine is phx-redact's own, compiled in (no second implementation of
the rules): the output is what the ``phx-redact`` command line gives for
the same input and options, byte for byte.

- :func:`redact` redacts ``str``, ``bytes`` or any bytes-like object.
- :class:`Redactor` redacts a stream fed in chunks, and records findings;
  threads may share one (their calls take turns).
- :func:`redact_file` and :func:`check` handle files as the CLI's
  ``--output-dir`` and ``--check`` do (gzip, zstd, xz, bzip2, lz4 kept in
  their format); :func:`redact_stream` and :func:`check_stream` do the same
  for binary file objects (object stores); with ``verify=True`` (or a
  :class:`Verifier`, whose cache outlives the call) they also ask PostHog
  whether each key found is live, as ``phx-redact --check --verify``.
- :class:`phx_redact.logging.RedactingFilter` protects a ``logging`` setup.

The GIL is released while the engine runs, so threads redact in parallel.
"""

from ._native import (
    RULESET_VERSION,
    Finding,
    RedactError,
    Redactor,
    Verifier,
    check,
    check_stream,
    redact,
    redact_file,
    redact_stream,
    rules,
)

__all__ = [
    "RULESET_VERSION",
    "Finding",
    "RedactError",
    "Redactor",
    "Verifier",
    "check",
    "check_stream",
    "redact",
    "redact_file",
    "redact_stream",
    "rules",
]
