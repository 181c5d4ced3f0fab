"""Every Python snippet of the README and the guide (docs/), run as a user
would paste it into a fresh interpreter, in a folder that holds what the
snippets name. A block whose info string says `python norun` is only
compiled (it needs a cloud store or a Spark cluster)."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, Keys

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<code>.*?)^```$", re.S | re.M)


def snippets() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for m in FENCE.finditer(text):
            words = m["info"].split()
            if words and words[0] == "python":
                line = text.count("\n", 0, m.start()) + 2
                mode = words[1] if len(words) > 1 else "run"
                found.append((f"{page.name}:{line}", mode, m["code"]))
    return found


@pytest.mark.parametrize(("place", "mode", "code"), snippets(), ids=[s[0] for s in snippets()])
def test_every_python_snippet_runs(place: str, mode: str, code: str, tmp_path: Path, keys: Keys) -> None:
    compile(code, place, "exec")
    if mode == "norun":
        return
    assert mode == "run", f"{place}: unknown mode {mode}"
    log = "".join(f"GET /api/?personal_api_key={keys.key('phx', 48)} 200\n" for _ in range(3))
    (tmp_path / "app.log").write_text(log)
    (tmp_path / "app.log.gz").write_bytes(gzip.compress(log.encode()))
    # A fresh interpreter, as a user's: logging unconfigured, nothing imported.
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"},
    )
    assert done.returncode == 0, f"{place}:\n{done.stderr}"
    assert not re.search(r"ph[xsar]_[A-Za-z0-9]{20}", done.stdout + done.stderr), done.stderr


def test_the_pages_hold_python_snippets() -> None:
    assert sum(mode == "run" for _, mode, _ in snippets()) >= 2
