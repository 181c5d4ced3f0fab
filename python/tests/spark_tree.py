"""What the Spark tests share: the phx-redact binary they compare against,
one Spark session for the whole run, and a tree of logs with keys of every
era (plain, gzip, multi-member gzip, zstd) built at run time from the
binary's seeded generator, so that no key is ever committed.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def binary() -> str:
    """The phx-redact binary of this checkout: $PHX_REDACT_BIN, else the
    release build, else the debug build (built here if neither exists)."""
    env = os.environ.get("PHX_REDACT_BIN")
    if env:
        return env
    for profile in ("release", "debug"):
        path = REPO / "target" / profile / "phx-redact"
        if path.exists():
            return str(path)
    subprocess.run(["cargo", "build", "--quiet", "--locked"], cwd=REPO, check=True)
    return str(REPO / "target" / "debug" / "phx-redact")


def cli(*args: str, check_status: tuple = (0,), cwd=None) -> subprocess.CompletedProcess:
    done = subprocess.run([binary(), *args], capture_output=True, cwd=cwd)
    assert done.returncode in check_status, (args, done.returncode, done.stderr.decode())
    return done


def sample(lines: int, every: int, seed: int) -> bytes:
    return cli(
        "--generate-sample", str(lines), "--secret-every", str(every), "--seed", str(seed)
    ).stdout


def compress(tool: str, data: bytes) -> bytes:
    """``data`` through the real gzip or zstd tool."""
    return subprocess.run([tool, "-c", "-q"], input=data, capture_output=True, check=True).stdout


def build_tree(root: Path) -> Path:
    """A tree of logs with keys of every era, in every format the job keeps."""
    (root / "archive" / "old").mkdir(parents=True)
    (root / "app.log").write_bytes(sample(300, 3, 1))
    (root / "clean.log").write_bytes(sample(50, 0, 2))
    (root / "archive" / "2026-11-01.log.gz").write_bytes(compress("gzip", sample(400, 4, 3)))
    # Two gzip members in a row, as pigz and logrotate's copytruncate write.
    multi = compress("gzip", sample(150, 2, 4)) + compress("gzip", sample(150, 5, 5))
    (root / "archive" / "2026-11-02.log.gz").write_bytes(multi)
    (root / "archive" / "2026-11-03.log.zst").write_bytes(compress("zstd", sample(400, 3, 6)))
    (root / "archive" / "old" / "2025.log").write_bytes(sample(200, 7, 7))
    (root / "archive" / "old" / "2025.log.zst").write_bytes(compress("zstd", sample(80, 1, 8)))
    return root


def add_corrupt(root: Path) -> list:
    """A truncated gzip and a zstd frame with garbage inside; their names."""
    whole = compress("gzip", sample(200, 2, 9))
    (root / "archive" / "broken.log.gz").write_bytes(whole[: len(whole) // 2])
    frame = bytearray(compress("zstd", sample(200, 2, 10)))
    frame[len(frame) // 2 : len(frame) // 2 + 64] = bytes(64)
    (root / "archive" / "broken.log.zst").write_bytes(bytes(frame))
    return ["archive/broken.log.gz", "archive/broken.log.zst"]


def fake_key(prefix: str = "phx_", seed: int = 0) -> str:
    """A key-shaped string made at run time (never written in a file)."""
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(43))


def files_under(root: Path) -> dict:
    """Relative path -> bytes, for every file under ``root``."""
    files = (p for p in sorted(root.rglob("*")) if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def cli_findings(*args: str, cwd=None) -> list:
    """The finding and error lines of ``phx-redact --check --json ARGS``."""
    out = cli("--check", "--json", *args, check_status=(0, 1, 2), cwd=cwd).stdout
    lines = [json.loads(line) for line in out.decode().splitlines()]
    return [line for line in lines if line["type"] in ("finding", "error")]


@functools.lru_cache(maxsize=None)
def session():
    """One local[2] Spark session for every test module of the run."""
    # The workers must run this interpreter (the venv with phx_redact).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    # botocore never asks an instance metadata service (off this machine)
    # for credentials, in the driver or in the workers.
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # Spark binds its driver to loopback, not to the machine's interface.
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("phx-redact-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst
