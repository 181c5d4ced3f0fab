"""redact_file, check and the stream functions against the real phx-redact
binary, on plain, gzip (multi-member too), zstd, xz and bzip2 files with
keys of every era; and the inputs they refuse, as the CLI refuses them."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import phx_redact
from conftest import Keys, cli_bin, run_cli, sample_log


def zstd(data: bytes) -> bytes:
    """data compressed by the zstd tool (Python has no zstd before 3.14)."""
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def lz4(data: bytes) -> bytes:
    """data compressed by the lz4 tool, as LZ4 frames."""
    return subprocess.run(["lz4", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def make_tree(root: Path, keys: Keys) -> dict[str, bytes]:
    """Files of every format the CLI keeps, holding keys of every era, and
    clean ones (which the CLI copies byte for byte). Returns name -> content."""
    era_lines = b"".join(f"{i} user=x key={k} end\n".encode() for i, k in enumerate(keys.every_era()))
    log = sample_log(400, seed=3) + era_lines
    other = sample_log(300, seed=4)
    clean = b"".join(f"GET /page/{i} 200 ph_x phx_short\n".encode() for i in range(500))
    files = {
        "plain.log": log,
        "clean.log": clean,
        "app.log.gz": gzip.compress(log),
        # Two members, as pigz and some logrotate setups write.
        "multi.log.gz": gzip.compress(log) + gzip.compress(other),
        "clean.log.gz": gzip.compress(clean),
        "app.log.xz": lzma.compress(log),
        "app.log.bz2": bz2.compress(log),
        "non-ascii.log": "café ✓ 日本語 ".encode() + era_lines,
    }
    if shutil.which("zstd"):
        files["app.log.zst"] = zstd(log)
        files["clean.log.zst"] = zstd(clean)
    if shutil.which("lz4"):
        files["app.log.lz4"] = lz4(log)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


@pytest.fixture
def tree(tmp_path: Path, keys: Keys) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path / "tree"
    root.mkdir()
    return root, make_tree(root, keys)


def test_the_compressors_the_tree_needs_are_there():
    # CI has the zstd and lz4 tools (Debian's zstd and lz4 packages);
    # without them the tree would lack those formats silently.
    assert shutil.which("zstd"), "the zstd tool is needed to make .zst test files"
    assert shutil.which("lz4"), "the lz4 tool is needed to make .lz4 test files"


def test_redact_file_is_byte_identical_to_output_dir(tree, tmp_path: Path):
    root, files = tree
    cli_out = tmp_path / "cli"
    result = run_cli("-q", "--output-dir", str(cli_out), "-r", str(root))
    assert result.returncode == 0, result.stderr
    py_out = tmp_path / "py"
    formats = {}
    for name in files:
        stats = phx_redact.redact_file(root / name, py_out / name)
        formats[name] = stats["format"]
        expected = (cli_out / name).read_bytes()
        assert (py_out / name).read_bytes() == expected, name
        # The stream functions give the same bytes from a file object.
        sink = io.BytesIO()
        with open(root / name, "rb") as src:
            assert phx_redact.redact_stream(src, sink) == stats, name
        assert sink.getvalue() == expected, name
        # What a clean file's copy is: the original, byte for byte.
        if name.startswith("clean"):
            assert expected == files[name] and stats["tokens"] == 0
        else:
            assert stats["tokens"] > 0 and stats["written"]
    assert formats["multi.log.gz"] == "gzip" and formats["app.log.xz"] == "xz"
    assert formats["app.log.bz2"] == "bzip2" and formats["plain.log"] == "plain"
    assert formats.get("app.log.zst") == "zstd" and formats.get("app.log.lz4") == "lz4"
    # The copies stay in their format: a gzip copy reads back as the oracle.
    multi = gzip.decompress((py_out / "multi.log.gz").read_bytes())
    assert b"[REDACTED]" in multi and len(multi.splitlines()) == 700 + len(Keys(12).every_era())


def check_json(path: Path, *args: str, env: dict | None = None) -> list[dict]:
    """The finding records `phx-redact --check --json` prints for path."""
    out = subprocess.run(
        [cli_bin(), "--check", "--json", *args, str(path)],
        capture_output=True,
        env=env,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    return [r for r in records if r["type"] == "finding"]


def test_check_equals_the_clis_check_json(tree):
    root, files = tree
    for name in files:
        path = root / name
        expected = check_json(path)
        found = [f.to_dict() for f in phx_redact.check(path)]
        assert found == expected, name
        with open(path, "rb") as src:
            streamed = [f.to_dict() for f in phx_redact.check_stream(src, path=str(path))]
        assert streamed == expected, name
        assert (len(expected) > 0) == (not name.startswith("clean")), name
    # Options as the CLI's: public keys, custom patterns.
    path = root / "plain.log"
    assert [f.to_dict() for f in phx_redact.check(path, include_public=True)] == check_json(
        path, "--include-public"
    )
    pattern = "user=[a-z]"
    found = phx_redact.check(path, patterns=[pattern])
    assert [f.to_dict() for f in found] == check_json(path, "--pattern", pattern)
    assert {f.rule for f in found} >= {"pattern-1", "phx", "phs", "pha", "phr"}


def test_fingerprints_follow_the_key_in_the_environment(tree, monkeypatch):
    root, _ = tree
    path = root / "app.log.gz"
    unkeyed = [f.fingerprint for f in phx_redact.check(path)]
    monkeypatch.setenv("PHX_REDACT_FINGERPRINT_KEY", "a test key of thirty-two bytes or more")
    keyed = phx_redact.check(path)
    assert [f.to_dict() for f in keyed] == check_json(path, env=dict(os.environ))
    assert [f.fingerprint for f in keyed] != unkeyed


def corrupt_inputs(root: Path, keys: Keys) -> dict[str, bytes]:
    log = f"line one\nkey={keys.key()}\n".encode() * 2000
    whole = gzip.compress(log)
    files = {
        "truncated.log.gz": whole[: len(whole) // 2],
        "garbage.log.gz": whole[:20] + b"\x00not deflate data" * 50,
        "archive.zip": b"PK\x03\x04" + b"\x00" * 60,
        "old.log.Z": b"\x1f\x9d\x90" + b"x" * 40,
        "secret.tar": tar_with(keys),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


def tar_with(keys: Keys) -> bytes:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = f"token={keys.key()}\n".encode()
        info = tarfile.TarInfo("app.log")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_refuses_what_the_cli_refuses_and_leaves_no_dst(tmp_path: Path, keys: Keys):
    root = tmp_path / "bad"
    root.mkdir()
    files = corrupt_inputs(root, keys)
    out = tmp_path / "out"
    out.mkdir()
    for name in files:
        cli = run_cli("-q", "--output-dir", str(tmp_path / "cli"), str(root / name))
        assert cli.returncode == 2, (name, cli.stderr)
        with pytest.raises(phx_redact.RedactError) as refused:
            phx_redact.redact_file(root / name, out / name)
        message = str(refused.value)
        assert message.startswith(str(root / name) + ": "), message
        # The CLI's message, after its name.
        assert message.split(": ", 1)[1] in cli.stderr.decode(), (message, cli.stderr)
        # The stream functions refuse it too, before writing anything.
        sink = io.BytesIO()
        with open(root / name, "rb") as src, pytest.raises(phx_redact.RedactError):
            phx_redact.redact_stream(src, sink)
        assert sink.getvalue() == b"", name
    # No dst, and no temporary file left beside where it would have been.
    assert list(out.iterdir()) == []
    # check refuses the corrupt and unreadable ones (a tar is checked).
    for name in ["truncated.log.gz", "garbage.log.gz", "archive.zip", "old.log.Z"]:
        with pytest.raises(phx_redact.RedactError, match="corrupt|cannot read"):
            phx_redact.check(root / name)
        with open(root / name, "rb") as src, pytest.raises(phx_redact.RedactError):
            phx_redact.check_stream(src)
    assert [f.rule for f in phx_redact.check(root / "secret.tar")] == ["phx"]


def test_file_errors_are_os_errors_and_dst_is_never_src(tmp_path: Path, keys: Keys):
    with pytest.raises(FileNotFoundError):
        phx_redact.redact_file(tmp_path / "missing.log", tmp_path / "out.log")
    with pytest.raises(FileNotFoundError):
        phx_redact.check(tmp_path / "missing.log")
    src = tmp_path / "a.log"
    src.write_text(f"key={keys.key()}\n")
    before = src.read_bytes()
    with pytest.raises(ValueError, match="the input itself"):
        phx_redact.redact_file(src, tmp_path / "." / "a.log")
    assert src.read_bytes() == before
    # A dst in a folder that does not exist yet: made, as --output-dir does.
    stats = phx_redact.redact_file(str(src), str(tmp_path / "new" / "folder" / "a.log"))
    assert stats == {"bytes": len(before), "stored_bytes": len(before), "tokens": 1, "format": "plain", "written": True}
    assert (tmp_path / "new" / "folder" / "a.log").read_text() == "key=phx_[REDACTED]\n"
