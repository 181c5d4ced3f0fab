"""The GIL is released while the engine runs: threads redact at once, each
with the right output, and another Python thread runs during a call."""

from __future__ import annotations

import gzip
import io
import sys
import threading
import time

import phx_redact
from conftest import Keys
from test_redact import oracle


def big_log(keys: Keys, lines: int) -> bytes:
    return b"".join(f"{i} GET /a?k={keys.key()} ok é\n".encode() for i in range(lines))


def test_threads_redact_at_once_each_with_its_own_right_output():
    inputs = [big_log(Keys(seed), 40_000) for seed in range(4)]
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            data = inputs[i]
            if i % 2:
                results[i] = phx_redact.redact(data)
            else:
                redactor = phx_redact.Redactor()
                out = [redactor.feed(data[j : j + 65536]) for j in range(0, len(data), 65536)]
                results[i] = b"".join(out) + redactor.finish()
        except BaseException as e:  # noqa: BLE001: reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i, data in enumerate(inputs):
        assert results[i] == oracle(data), i


def gil_released_during(call) -> bool:
    """Whether another Python thread ran while `call` ran.

    The switch interval is made so long that the interpreter never takes
    the GIL from a running thread: the watcher can then run only where a
    thread lets the GIL go. The main thread holds it from setting `inside`
    until the call starts, and from the call's end until clearing it, so
    the watcher can see `inside` set only during the call itself, and only
    if the call let the GIL go. The watcher sleeps (which lets the GIL go)
    between its looks, so the main thread gets it back after the call."""
    state = {"inside": False, "seen": False, "stop": False}

    def watch() -> None:
        while not state["stop"]:
            if state["inside"]:
                state["seen"] = True
            time.sleep(0.0005)

    old = sys.getswitchinterval()
    watcher = threading.Thread(target=watch)
    sys.setswitchinterval(1000.0)
    try:
        watcher.start()
        # Repeated until seen: on a loaded machine the watcher may not be
        # scheduled during one call; if the GIL were held, it never would.
        for _ in range(200):
            state["inside"] = True
            call()
            state["inside"] = False
            if state["seen"]:
                break
    finally:
        state["stop"] = True
        sys.setswitchinterval(old)
        watcher.join()
    return state["seen"]


def test_another_thread_runs_while_the_engine_runs():
    keys = Keys(7)
    data = big_log(keys, 60_000)
    text = data.decode()
    packed = gzip.compress(data, compresslevel=1)
    assert gil_released_during(lambda: phx_redact.redact(data))
    assert gil_released_during(lambda: phx_redact.redact(text))
    redactor = phx_redact.Redactor()
    assert gil_released_during(lambda: redactor.feed(data))
    assert gil_released_during(lambda: phx_redact.redact_stream(io.BytesIO(packed), io.BytesIO()))
    assert gil_released_during(lambda: phx_redact.check_stream(io.BytesIO(packed)))


def test_the_watcher_sees_a_call_that_holds_the_gil_as_such():
    # The probe above can fail: a pure-Python call holds the GIL throughout.
    assert not gil_released_during(lambda: sum(range(200_000)))


def test_threads_sharing_one_redactor_never_raise_and_lose_no_chunk():
    # Each chunk is whole lines, so nothing is held back between chunks and
    # each feed() returns exactly its own chunk redacted, whichever thread
    # got the redactor first.
    chunks = [big_log(Keys(seed), 2_000) for seed in range(32)]
    redactor = phx_redact.Redactor()
    outputs: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(t: int) -> None:
        start.wait()
        for i in range(t, len(chunks), 4):
            try:
                outputs.append((i, redactor.feed(chunks[i])))
            except BaseException as e:  # noqa: BLE001: reported below
                errors.append(e)
            redactor.findings()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert redactor.finish() == b""
    assert sorted(i for i, _ in outputs) == list(range(len(chunks)))
    for i, out in outputs:
        assert out == oracle(chunks[i]), i
    assert len(redactor.findings()) == 32 * 2_000
