"""redact_stream and check_stream over file objects as an object store
gives them: short reads, raw writers that take part of a write, errors
raised by the reader or the writer; read in chunks, in constant memory."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import phx_redact
from conftest import Keys


class Trickle(io.RawIOBase):
    """A reader whose reads are short (as a network stream's), that records
    the sizes asked for."""

    def __init__(self, data: bytes, most: int) -> None:
        self.data = memoryview(data)
        self.most = most
        self.asked: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.asked.append(n)
        take = self.most if n < 0 else min(n, self.most)
        chunk, self.data = bytes(self.data[:take]), self.data[take:]
        return chunk


class HalfWriter:
    """A raw writer that takes at most half of each write, and says so."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        n = max(1, len(data) // 2)
        self.parts.append(bytes(data[:n]))
        return n


def test_short_reads_and_partial_writes_give_the_files_bytes(keys: Keys, tmp_path):
    log = b"".join(f"{i} key={keys.key()}\n".encode() for i in range(3000))
    data = gzip.compress(log)
    src = tmp_path / "a.log.gz"
    src.write_bytes(data)
    expected = tmp_path / "b.log.gz"
    stats = phx_redact.redact_file(src, expected)
    reader, writer = Trickle(data, 1000), HalfWriter()
    assert phx_redact.redact_stream(reader, writer) == stats
    assert b"".join(writer.parts) == expected.read_bytes()
    # Read in chunks, never all at once.
    assert all(0 < n <= 256 * 1024 for n in reader.asked), set(reader.asked)
    found = phx_redact.check_stream(Trickle(data, 7), path="s3://bucket/a.log.gz")
    assert [f.to_dict() for f in found] == [
        dict(f.to_dict(), path="s3://bucket/a.log.gz") for f in phx_redact.check(src)
    ]
    assert found[0].path == "s3://bucket/a.log.gz"
    assert phx_redact.check_stream(io.BytesIO(data))[0].path is None


class Failing(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        raise ConnectionResetError("the store went away")


class FailingWriter:
    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")


def test_the_readers_and_writers_own_exceptions_come_through(keys: Keys):
    with pytest.raises(ConnectionResetError, match="the store went away"):
        phx_redact.redact_stream(Failing(), io.BytesIO())
    with pytest.raises(ConnectionResetError):
        phx_redact.check_stream(Failing())
    data = f"key={keys.key()}\n".encode()
    with pytest.raises(OSError, match="No space left"):
        phx_redact.redact_stream(io.BytesIO(data), FailingWriter())
    with pytest.raises(TypeError, match="binary mode"):
        phx_redact.check_stream(io.StringIO("text"))


PEAK_SCRIPT = textwrap.dedent(
    """
    import io, random, resource, sys
    import phx_redact

    rng = random.Random(5)
    alnum = "abcdefghijABCDEFGHIJ0123456789"
    key = "phx_" + "".join(rng.choice(alnum) for _ in range(40))
    block = ("GET /x 200 " + "y" * 200 + "\\n").encode() * 4000 + ("key=" + key + "\\n").encode()

    class Endless(io.RawIOBase):
        # Makes its bytes as they are read: nothing holds the whole input.
        def __init__(self, total):
            self.left = total
            self.at = 0
        def readable(self):
            return True
        def read(self, n=-1):
            n = min(n if n > 0 else len(block), len(block) - self.at, self.left)
            chunk = block[self.at:self.at + n]
            self.left -= n
            self.at = (self.at + n) % len(block)
            return chunk

    class Count:
        def __init__(self):
            self.n = 0
        def write(self, b):
            self.n += len(b)
            return len(b)

    total = int(sys.argv[1])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = Count()
    stats = phx_redact.redact_stream(Endless(total), out)
    assert stats["bytes"] == total and stats["tokens"] > 0, stats
    found = phx_redact.check_stream(Endless(total))
    assert len(found) > 0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(after - before)
    """
)


def test_a_stream_larger_than_memory_would_hold_is_read_in_constant_memory():
    total = 96 * 1024 * 1024
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(total)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    grew_kib = int(out.stdout)
    # The input is 96 MiB; a whole copy in memory would show as much.
    assert grew_kib < 24 * 1024, f"peak memory grew by {grew_kib} KiB"


def nonblocking_pipe_writer(buffered: bool):
    """The write end of a pipe in non-blocking mode, as a raw (FileIO) or a
    buffered file object, and a thread draining the read end slowly into
    `received`."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    received = bytearray()

    def drain() -> None:
        with open(r, "rb", buffering=0) as pipe:
            while chunk := pipe.read(16384):
                received.extend(chunk)
                time.sleep(0.0005)  # slower than the writer: its pipe fills

    reader = threading.Thread(target=drain)
    reader.start()
    writer = open(w, "wb", buffering=io.DEFAULT_BUFFER_SIZE if buffered else 0)
    return writer, reader, received


@pytest.mark.parametrize("buffered", [False, True], ids=["raw", "buffered"])
def test_a_non_blocking_writer_gets_every_byte(keys: Keys, buffered):
    data = b"".join(f"{i} GET /x?key={keys.key()} {'y' * 80}\n".encode() for i in range(50_000))
    writer, reader, received = nonblocking_pipe_writer(buffered)
    try:
        stats = phx_redact.redact_stream(io.BytesIO(data), writer)
    finally:
        writer.close()
        reader.join()
    assert stats["written"] and stats["tokens"] == 50_000
    assert len(received) == len(phx_redact.redact(data))
    assert bytes(received) == phx_redact.redact(data)


class NeverReady(io.RawIOBase):
    """A raw non-blocking stream that takes nothing, and has no descriptor
    to wait on."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> None:
        return None


def test_a_raw_writer_that_takes_nothing_and_cannot_be_waited_on_raises(keys: Keys):
    data = f"key={keys.key()}\n".encode()
    with pytest.raises(BlockingIOError, match="no fileno"):
        phx_redact.redact_stream(io.BytesIO(data), NeverReady())


def test_a_non_blocking_reader_is_read_to_its_end(keys: Keys):
    data = b"".join(f"{i} key={keys.key()}\n".encode() for i in range(20_000))
    for run in (lambda f: phx_redact.redact_stream(f, out), lambda f: phx_redact.check_stream(f)):
        out = io.BytesIO()
        r, w = os.pipe()
        os.set_blocking(r, False)

        def feed() -> None:
            with open(w, "wb", buffering=0) as pipe:
                for i in range(0, len(data), 8192):
                    pipe.write(data[i : i + 8192])
                    time.sleep(0.0005)  # the reader finds the pipe empty

        writer = threading.Thread(target=feed)
        writer.start()
        try:
            with open(r, "rb", buffering=0) as f:
                result = run(f)
        finally:
            writer.join()
        if isinstance(result, dict):
            assert out.getvalue() == phx_redact.redact(data)
        else:
            assert len(result) == 20_000
