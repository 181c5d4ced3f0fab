"""What `phx_redact.logging.RedactingFilter` adds to a log record, against
a four-line filter that runs `re.sub` on `getMessage()`, in CPU time.

    python benches/python_filter.py [ROUNDS]

With phx_redact installed as a user installs it (`pip install ./python`,
an optimised build); no binary needed. Two figures, each the best of
ROUNDS (default 7) interleaved runs of 100,000 records, 1 in 100 with a
key, timed with `time.process_time` (CPU time: steadier than the wall
clock on a shared machine):

1. `filter(makeRecord(...))`: the filter alone, on the records a logger
   makes (a message with arguments, as `log.info("... %s", ...)`);
2. `log.info(...)` through a handler with a standard formatter: what the
   user sees.

For each, the cost per record of (a) no filter, (b) the `re.sub` filter,
(c) RedactingFilter, and the ratio (c - a) / (b - a): RedactingFilter's
cost as a share of the `re.sub` filter's (at most 1 is the goal). The
outputs are checked equal (timestamps aside), and keyless, before
anything is timed.
"""

from __future__ import annotations

import io
import logging
import random
import re
import sys
import time

from phx_redact.logging import RedactingFilter

# The oracle of python/tests/test_redact.py.
BODY = r"[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*"
RX = re.compile(r"(phx|phs|pha|phr)_" + BODY)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
N = 100_000


class ReSubFilter(logging.Filter):
    """The filter a user would write in four lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = RX.sub(lambda m: m.group(1) + "_[REDACTED]", record.getMessage())
        record.args = ()
        return True


def messages() -> list[tuple[str, tuple]]:
    """(format, arguments) of N log calls, one in 100 with a key."""
    rng = random.Random(18)
    out = []
    for i in range(N):
        if i % 100 == 7:
            key = "phx_" + "".join(rng.choice(ALNUM) for _ in range(40))
            out.append(("request %d from %s with key %s", (i, "10.0.0.7", key)))
        else:
            out.append(("request %d from %s took %.1f ms", (i, "10.0.0.7", 12.5)))
    return out


def filter_alone(filt: logging.Filter | None, calls: list[tuple[str, tuple]]) -> float:
    """CPU seconds per record of makeRecord (+ filter)."""
    log = logging.getLogger("bench.requests")
    make = log.makeRecord
    info = logging.INFO
    start = time.process_time()
    if filt is None:
        for msg, args in calls:
            make("bench.requests", info, __file__, 42, msg, args, None)
    else:
        check = filt.filter
        for msg, args in calls:
            check(make("bench.requests", info, __file__, 42, msg, args, None))
    return (time.process_time() - start) / len(calls)


def through_a_handler(filt: logging.Filter | None, calls: list[tuple[str, tuple]]) -> tuple[float, str]:
    """CPU seconds per `log.info`, and what was written."""
    log = logging.getLogger("bench.requests")
    log.propagate = False
    log.setLevel(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if filt is not None:
        handler.addFilter(filt)
    log.handlers[:] = [handler]
    info = log.info
    start = time.process_time()
    for msg, args in calls:
        info(msg, *args)
    per = (time.process_time() - start) / len(calls)
    log.handlers[:] = []
    return per, stream.getvalue()


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    calls = messages()
    keys = [args[2] for _, args in calls if len(args) == 3 and isinstance(args[2], str)]
    stamp = re.compile(r"^\S+ \S+ ", re.M)
    _, ours = through_a_handler(RedactingFilter(), calls)
    _, theirs = through_a_handler(ReSubFilter(), calls)
    assert stamp.sub("", ours) == stamp.sub("", theirs)
    assert len(keys) == N // 100 and not any(k in ours for k in keys)

    filters = {"none": lambda: None, "re.sub": ReSubFilter, "RedactingFilter": RedactingFilter}
    for title, job in (
        ("filter(makeRecord(...))", lambda f: filter_alone(f, calls)),
        ("log.info(...), a StreamHandler, a standard formatter",
         lambda f: through_a_handler(f, calls)[0]),
    ):
        times: dict[str, list[float]] = {name: [] for name in filters}
        for _ in range(rounds):  # interleaved: a slow moment hits each alike
            for name, make in filters.items():
                times[name].append(job(make()))
        a, b, c = (min(times[name]) * 1e6 for name in filters)
        print(f"{title}, {N:,} records, 1% with a key, CPU time, best of {rounds}:")
        print(f"  (a) no filter        {a:6.2f} µs")
        print(f"  (b) re.sub filter    {b:6.2f} µs  (+{b - a:.2f} µs)")
        print(f"  (c) RedactingFilter  {c:6.2f} µs  (+{c - a:.2f} µs)")
        print(f"  (c - a) / (b - a) = {(c - a) / (b - a):.2f}")


if __name__ == "__main__":
    main()
