"""The Python module against the `re.sub` a user would otherwise write, and
against the engine it wraps: three figures, side by side.

    PHX_REDACT_BIN=target/release/phx-redact python benches/python_redact.py [MB]

With phx_redact installed as a user installs it (`pip install ./python`, an
optimised build) and the release binary. Prints a table:

1. a big buffer (default 93 MB of the CLI's own sample log, one line in
   100 with a key): `redact(bytes)` and `redact(str)` against
   `phx-redact -j1 FILE > /dev/null` (the whole process, reading the file
   from the page cache) and against `re.sub` with the compiled rule of the
   tests' oracle;
2. short strings (a log line with a key and one without): `redact()`
   against `re.sub`, per call;
3. a logging record (100,000 records, 1 in 100 with a key, a standard
   formatter): what `RedactingFilter` adds to a record's cost, against a
   four-line filter that runs `re.sub` on `getMessage()`.

Every input is generated at run time from a seed; the outputs are checked
equal once before anything is timed. Each figure is the best of several
runs (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import timeit

import phx_redact
from phx_redact.logging import RedactingFilter

# The oracle of python/tests/test_redact.py (and tests/integration/common.rs).
BODY = r"[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}[A-Za-z0-9_]*"
TOKEN = r"(phx|phs|pha|phr)_" + BODY
RX_BYTES = re.compile(TOKEN.encode())
RX_STR = re.compile(TOKEN)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def sub_bytes(data: bytes) -> bytes:
    return RX_BYTES.sub(lambda m: m.group(1) + b"_[REDACTED]", data)


def sub_str(text: str) -> str:
    return RX_STR.sub(lambda m: m.group(1) + "_[REDACTED]", text)


def cli() -> str:
    path = os.environ.get("PHX_REDACT_BIN", "target/release/phx-redact")
    if not os.access(path, os.X_OK):
        sys.exit(f"no phx-redact binary at {path}: cargo build --release, or set PHX_REDACT_BIN")
    return path


def best(job, rounds: int) -> float:
    """The shortest of `rounds` runs of `job()`, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def big_buffer(mb: float, rows: list[tuple[str, str, str]]) -> None:
    # The CLI's sample log: about 120 bytes a line.
    lines = int(mb * 1e6 / 120)
    sample = subprocess.run(
        [cli(), "--generate-sample", str(lines), "--secret-every", "100", "--seed", "18"],
        capture_output=True, check=True,
    ).stdout
    text = sample.decode()
    with tempfile.NamedTemporaryFile(prefix="phx-bench-", suffix=".log") as file:
        file.write(sample)
        file.flush()
        command = [cli(), "-j1", file.name]
        piped = subprocess.run(command, capture_output=True, check=True).stdout
        expected = sub_bytes(sample)
        assert expected != sample, "the sample holds no key"
        assert phx_redact.redact(sample) == expected == piped
        assert phx_redact.redact(text) == sub_str(text) == expected.decode()

        def run_cli() -> None:
            with open(os.devnull, "wb") as null:
                subprocess.run(command, stdout=null, check=True)

        engine = best(run_cli, 7)
        as_bytes = best(lambda: phx_redact.redact(sample), 7)
        as_str = best(lambda: phx_redact.redact(text), 7)
        regex = best(lambda: sub_bytes(sample), 2)
    size = f"{len(sample) / 1e6:.0f} MB"
    rows.append((f"phx-redact -j1 FILE >/dev/null, {size}", f"{engine:.3f} s", "1.00x the engine"))
    rows.append((f"redact(bytes), {size}", f"{as_bytes:.3f} s", f"{as_bytes / engine:.2f}x the engine, "
                 f"{regex / as_bytes:.0f}x faster than re.sub"))
    rows.append((f"redact(str), {size}", f"{as_str:.3f} s", f"{as_str / engine:.2f}x the engine"))
    rows.append((f"re.sub (bytes), {size}", f"{regex:.3f} s", f"{regex / engine:.1f}x the engine"))


def short_strings(rows: list[tuple[str, str, str]]) -> None:
    rng = random.Random(18)
    key = "phx_" + "".join(rng.choice(ALNUM) for _ in range(40))
    with_key = f"2026-11-28T12:00:00Z GET /api/projects?id=4821 200 ua=curl token={key}"
    clean = "2026-11-28T12:00:01Z GET /static/app.js 200 ua=Mozilla/5.0 (X11; Linux x86_64)"
    for label, line in (("a line with a key", with_key), ("a line without", clean)):
        assert phx_redact.redact(line) == sub_str(line)
        n = 200_000
        ours = min(timeit.repeat(lambda: phx_redact.redact(line), number=n, repeat=5)) / n
        theirs = min(timeit.repeat(lambda: sub_str(line), number=n, repeat=5)) / n
        rows.append((f"redact(str), {label} ({len(line)} B)", f"{ours * 1e6:.2f} µs",
                     f"re.sub {theirs * 1e6:.2f} µs: {theirs / ours:.1f}x faster"))


class ReSubFilter(logging.Filter):
    """The filter a user would write in four lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = sub_str(record.getMessage())
        record.args = ()
        return True


def logging_records(rows: list[tuple[str, str, str]]) -> None:
    rng = random.Random(18)
    n = 100_000
    keys = ["phx_" + "".join(rng.choice(ALNUM) for _ in range(40)) for _ in range(n // 100)]
    log = logging.getLogger("bench.requests")
    log.propagate = False
    log.setLevel(logging.INFO)

    def run(filt: logging.Filter | None) -> tuple[float, str]:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        if filt:
            handler.addFilter(filt)
        log.handlers[:] = [handler]
        start = time.perf_counter()
        for i in range(n):
            if i % 100 == 7:
                log.info("request %d from %s with key %s", i, "10.0.0.7", keys[i // 100])
            else:
                log.info("request %d from %s took %.1f ms", i, "10.0.0.7", 12.5)
        per = (time.perf_counter() - start) / n
        return per, stream.getvalue()

    # Correctness once: both filters print the same lines (the timestamps
    # aside), and no key.
    stamp = re.compile(r"^\S+ \S+ ", re.M)
    _, ours = run(RedactingFilter())
    _, theirs = run(ReSubFilter())
    assert stamp.sub("", ours) == stamp.sub("", theirs)
    assert not any(k in ours for k in keys)
    filters = {"none": lambda: None, "RedactingFilter": RedactingFilter, "re.sub filter": ReSubFilter}
    times = {name: [] for name in filters}
    for _ in range(5):  # interleaved, so that a slow moment hits each alike
        for name, make in filters.items():
            times[name].append(run(make())[0])
    base = min(times["none"])
    rows.append(("a log record, no filter", f"{base * 1e6:.2f} µs", ""))
    for name in ("RedactingFilter", "re.sub filter"):
        per = min(times[name])
        rows.append((f"a log record, {name}", f"{per * 1e6:.2f} µs",
                     f"+{(per - base) * 1e6:.2f} µs per record"))


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 93
    rows: list[tuple[str, str, str]] = []
    big_buffer(mb, rows)
    short_strings(rows)
    logging_records(rows)
    print(f"Python {sys.version.split()[0]}, phx_redact against re.sub and the engine")
    width = max(len(r[0]) for r in rows)
    for what, time_, note in rows:
        print(f"{what:<{width}}  {time_:>10}  {note}")


if __name__ == "__main__":
    main()
