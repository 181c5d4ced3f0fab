"""Shared helpers: seeded key generators (no key is ever written in a
file) and the real phx-redact binary, to compare the module with."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import random
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class Keys:
    """Keys of every era, made at run time from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def body(self, n: int) -> str:
        return "".join(self.rng.choice(ALNUM) for _ in range(n))

    def key(self, prefix: str = "phx", length: int = 40) -> str:
        return f"{prefix}_{self.body(length)}"

    def every_era(self) -> list[str]:
        """A key of each kind and length the built-in rules know: personal
        (phx), secret (phs), OAuth access and refresh (pha, phr), 20 to 64
        characters, and one with an underscore past its 20th character."""
        keys = [self.key(p, n) for p in ("phx", "phs", "pha", "phr") for n in (20, 43, 64)]
        keys.append(f"phx_{self.body(24)}_{self.body(20)}")
        return keys


@pytest.fixture
def keys() -> Keys:
    return Keys(12)


def cli_bin() -> str:
    """The phx-redact binary: $PHX_REDACT_BIN, else the repository's debug
    build."""
    path = os.environ.get("PHX_REDACT_BIN") or str(REPO / "target" / "debug" / "phx-redact")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no phx-redact binary at {path}: run `cargo build --bin phx-redact` "
            "or set PHX_REDACT_BIN"
        )
    return path


def run_cli(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli_bin(), *args], input=stdin, capture_output=True, cwd=cwd, check=False
    )


def sample_log(lines: int, seed: int, secret_every: int = 3) -> bytes:
    """The CLI's own sample log: keys of every era, and look-alikes."""
    out = run_cli(
        "--generate-sample", str(lines), "--secret-every", str(secret_every), "--seed", str(seed)
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@contextlib.contextmanager
def string_logger(name: str, fmt: str):
    """A fresh logger with a handler writing to a StringIO with the
    standard Formatter of `fmt`: its output in `logger.output()`, its
    handler in `logger.handler`; both taken off (with any filters) after."""
    log = logging.getLogger(name)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    log.addHandler(handler)
    log.output = stream.getvalue  # type: ignore[attr-defined]
    log.handler = handler  # type: ignore[attr-defined]
    try:
        yield log
    finally:
        log.removeHandler(handler)
        for f in list(log.filters):
            log.removeFilter(f)
