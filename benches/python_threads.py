"""Threads and the GIL: phx_redact.redact over the same buffers on one
thread, then on two, and RedactingFilter's cost per log record.

    python benches/python_threads.py   # with phx_redact installed (pip install ./python)

Checks the output against the regex oracle before timing anything. The
ratio is what matters (one thread's time over two threads'): near 2 on two
idle cores when the GIL is released, 1 if it were held; hashlib.sha256,
which releases the GIL as well, is timed beside it as the machine's own
ceiling at that moment.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import re
import threading
import time

import phx_redact
from phx_redact.logging import RedactingFilter

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
TOKEN = re.compile(rb"(phx|phs|pha|phr)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*")


def buffer(seed: int, mib: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    size = 0
    while size < mib << 20:
        key = "phx_" + "".join(rng.choice(ALNUM) for _ in range(40))
        line = f"2026-11-28T12:00:00Z GET /api/x?id={rng.randrange(10**9)} 200 ua=curl k={key}\n"
        line += "2026-11-28T12:00:01Z GET /static/app.js 200 ua=Mozilla/5.0\n" * 9
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()


def timed(threads: int, work: list[bytes], rounds: int, job=phx_redact.redact) -> float:
    best = float("inf")
    for _ in range(rounds):
        chunks = [work[i::threads] for i in range(threads)]
        start = time.perf_counter()
        pool = [threading.Thread(target=lambda c=c: [job(b) for b in c]) for c in chunks]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    work = [buffer(seed, 32) for seed in range(4)]
    for data in work:
        assert phx_redact.redact(data) == TOKEN.sub(lambda m: m.group(1) + b"_[REDACTED]", data)
    total = sum(map(len, work)) / (1 << 20)
    # The baseline: hashlib, which releases the GIL too, shows how far two
    # threads can scale on this machine right now.
    for label, job in (("hashlib.sha256 (baseline)", lambda b: hashlib.sha256(b).digest()),
                       ("phx_redact.redact", phx_redact.redact)):
        one, two = timed(1, work, 5, job), timed(2, work, 5, job)
        print(f"{label} over {total:.0f} MiB: 1 thread {one:.3f} s ({total / one:.0f} MiB/s), "
              f"2 threads {two:.3f} s ({total / two:.0f} MiB/s), ratio {one / two:.2f}")

    log = logging.getLogger("bench")
    log.propagate = False
    handler = logging.StreamHandler(io.StringIO())
    log.addHandler(handler)
    key = "phx_" + "a1" * 20
    n = 20000
    for label, filt in (("without the filter", None), ("with RedactingFilter", RedactingFilter())):
        if filt:
            handler.addFilter(filt)
        start = time.perf_counter()
        for i in range(n):
            log.warning("request %d failed with key %s", i, key)
        per = (time.perf_counter() - start) / n * 1e6
        print(f"logging a record {label}: {per:.1f} µs")
    assert key not in handler.stream.getvalue().splitlines()[-1]


if __name__ == "__main__":
    main()
