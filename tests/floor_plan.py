#!/usr/bin/env python3
"""The floor plan, checked: what docs/architecture.md promises about the
tree stays true as it grows.

    python3 tests/floor_plan.py        (run by `floor_plan::` in the tests)

1. No source file over 500 lines: Rust and Python, the code and its tests,
   benchmarks and fuzz target (RUST_DIRS, PYTHON_DIRS).
2. No function over 60 lines (Rust `fn`, Python `def`), measured from its
   first line to its closing line.
3. Imports run one way: cli -> app -> io -> engine, and inside app, from a
   job to the jobs and shared pieces below it (see LAYERS); no folder
   imports one above it.
4. No two files import each other, nor any ring of files: a `use` of a name
   a `mod.rs` re-exports counts as a use of the file that defines it.

Prints one line per breach and exits 1 if there is any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import os

# The tree to check: this repository, or (for the checker's own test) the
# one PHX_FLOOR_ROOT names.
ROOT = Path(os.environ.get("PHX_FLOOR_ROOT") or Path(__file__).resolve().parent.parent)
MAX_FILE_LINES = 500
# Where the code is: the tests, benchmarks and fuzz target are held to the
# same lengths as the code they test.
RUST_DIRS = ["src", "python/src", "tests", "benches", "fuzz/fuzz_targets", "examples"]
PYTHON_DIRS = ["python/phx_redact", "python/tests", "benches", "tests"]
MAX_FN_LINES = 60

# Lower number = lower layer. A file may use its own layer and those below.
# The engine and the adapters at the bottom; in the application, what the
# jobs share, then each job above the ones it drives; the command line on
# top. The crate root (lib.rs) and app/mod.rs are indexes, not layers.
LAYERS = [
    ("engine", 0),
    ("io", 1),
    ("app/error.rs", 2),
    ("app/atomic.rs", 2),
    ("app/inputs.rs", 2),
    ("app/policy.rs", 2),
    ("app/options.rs", 2),
    ("app/sample.rs", 2),
    ("app/refusal.rs", 2),
    ("app/formats", 3),
    ("app/records", 4),
    ("app/filter", 5),
    ("app/audit", 6),
    ("app/scrub", 7),
    ("app/follow", 8),
    ("app/rsyslog", 9),
    ("cli", 10),
]

# What lib.rs re-exports from the engine and the adapters.
ROOT_NAMES = {
    "Finding": "engine", "Mask": "engine", "Redactor": "engine", "Rule": "engine",
    "RuleSet": "engine", "Stats": "engine", "fingerprint": "engine", "redact": "engine",
    "rules": "engine", "Error": "error.rs", "RedactReader": "io", "RedactWriter": "io",
    "RedactMakeWriter": "io",
}


def layer_of(rel: str) -> int | None:
    """The layer of a file, by its path under src/ (None: an index)."""
    for prefix, layer in LAYERS:
        if rel == prefix or rel.startswith(prefix + "/"):
            return layer
    if rel == "error.rs":
        return 0
    if rel in INDEXES:
        return None
    raise Unplaced(rel)


class Unplaced(Exception):
    """A file in no layer: a new folder must be placed in LAYERS."""


# The crate root, the binary, and the application's list of its jobs.
INDEXES = {"lib.rs", "main.rs", "app/mod.rs"}


def strip_comments(text: str) -> str:
    """Rust source without comments and string contents (roughly: enough
    that a path in a doc comment or a message is not taken for a use)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # A test module (last in its file, as clippy keeps it) may use anything.
    text = re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)[0]
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` as ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\w+", "", tree.replace("as", " as ")).replace(" ", "")
    brace = tree.find("{")
    if brace < 0:
        return [tree]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for part in filter(None, parts):
        for tail in expand_use(part):
            out.append(prefix + tail if tail != "self" else prefix.rstrip(":"))
    return out


class Crate:
    """The modules of src/, their files, and what each mod.rs re-exports."""

    def __init__(self, src: Path):
        self.src = src
        self.files = sorted(p for p in src.rglob("*.rs"))
        self.reexports: dict[tuple[str, ...], dict[str, list[str]]] = {}
        for path in self.files:
            if path.name == "mod.rs" or path.name == "lib.rs":
                self.reexports[self.module_of(path)] = self.pub_uses(path)

    def module_of(self, path: Path) -> tuple[str, ...]:
        parts = path.relative_to(self.src).with_suffix("").parts
        if parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        return tuple(parts)

    def file_of(self, module: tuple[str, ...]) -> Path | None:
        if not module:
            return self.src / "lib.rs"
        for cand in (self.src.joinpath(*module).with_suffix(".rs"), self.src.joinpath(*module, "mod.rs")):
            if cand.exists():
                return cand
        return None

    def pub_uses(self, path: Path) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        code = strip_comments(path.read_text())
        for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", code):
            for full in expand_use(m.group(1)):
                segs = [s for s in full.split("::") if s]
                names[segs[-1]] = segs
        return names

    def resolve(self, here: tuple[str, ...], segs: list[str], is_mod: bool) -> Path | None:
        """The file that defines what `segs` names, seen from module `here`."""
        base: list[str]
        if segs[0] == "crate":
            base, segs = [], segs[1:]
        elif segs[0] == "super":
            base = list(here[:-1])
            segs = segs[1:]
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        elif segs[0] == "self":
            base, segs = list(here), segs[1:]
        else:
            # A child module named at the top of a mod.rs (`use segments::X`).
            if is_mod or not here:
                if self.file_of(tuple(here) + (segs[0],)):
                    base = list(here)
                else:
                    return None
            else:
                return None
        module = list(base)
        for i, seg in enumerate(segs):
            if self.file_of(tuple(module + [seg])):
                module.append(seg)
                continue
            # `seg` is an item of `module`: follow a re-export to its source.
            exports = self.reexports.get(tuple(module), {})
            if seg in exports and exports[seg][:1] in (["crate"], ["self"], ["super"]) or (
                seg in exports and self.file_of(tuple(module) + (exports[seg][0],))
            ):
                target = exports[seg]
                if target[0] not in ("crate", "self", "super"):
                    target = ["crate", *module, *target]
                return self.resolve(tuple(module), target + segs[i + 1 :], False)
            if not module and seg in ROOT_NAMES:
                return self.src / ROOT_NAMES[seg] if ROOT_NAMES[seg].endswith(".rs") else self.src / ROOT_NAMES[seg] / "mod.rs"
            break
        return self.file_of(tuple(module))

    def uses(self, path: Path) -> set[Path]:
        """The files `path` uses, by `use` and by paths written in code."""
        code = strip_comments(path.read_text())
        here = self.module_of(path)
        is_mod = path.name in ("mod.rs", "lib.rs")
        found: set[Path] = set()
        paths = []
        use_re = r"(?<![\w:])(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);"
        for m in re.finditer(use_re, code):
            paths.extend(expand_use(m.group(1)))
        for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", re.sub(use_re, "", code)):
            paths.append(m.group(1))
        if is_mod:
            # A child module named in code (`segments::pump(...)`).
            for m in re.finditer(r"(?<![\w:])(\w+)((?:::\w+)+)", re.sub(use_re, "", code)):
                if self.file_of(here + (m.group(1),)):
                    paths.append(m.group(0))
        for p in paths:
            segs = [s for s in p.split("::") if s]
            if not segs or segs[0] in ("std", "core", "alloc"):
                continue
            target = self.resolve(here, segs, is_mod)
            if target and target != path:
                found.add(target)
        return found


def long_rust_fns(path: Path) -> list[str]:
    lines = path.read_text().split("\n")
    out = []
    start = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")
    for i, line in enumerate(lines):
        m = start.match(line)
        if not m:
            continue
        indent = m.group(1)
        for j in range(i, len(lines)):
            if j == i and lines[j].rstrip().endswith(";"):
                break
            if lines[j] == indent + "}" or (j == i and lines[j].rstrip().endswith("}")):
                if j - i + 1 > MAX_FN_LINES:
                    out.append(f"{path.relative_to(ROOT)}:{i + 1}: fn {m.group(8)} is {j - i + 1} lines")
                break
    return out


def long_python_defs(path: Path) -> list[str]:
    lines = path.read_text().split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(async\s+)?def\s+(\w+)", line)
        if not m:
            continue
        indent = len(m.group(1))
        end = i
        for j in range(i + 1, len(lines)):
            text = lines[j]
            if text.strip() and len(text) - len(text.lstrip()) <= indent and not text.lstrip().startswith((")", "]")):
                break
            if text.strip():
                end = j
        if end - i + 1 > MAX_FN_LINES:
            out.append(f"{path.relative_to(ROOT)}:{i + 1}: def {m.group(3)} is {end - i + 1} lines")
    return out


def main() -> int:
    problems: list[str] = []
    rust = [p for d in RUST_DIRS for p in sorted((ROOT / d).rglob("*.rs")) if "target" not in p.parts]
    python = [p for d in PYTHON_DIRS for p in sorted((ROOT / d).rglob("*.py"))]
    for path in rust + python:
        n = len(path.read_text().rstrip("\n").split("\n"))
        if n > MAX_FILE_LINES:
            problems.append(f"{path.relative_to(ROOT)}: {n} lines (at most {MAX_FILE_LINES})")
    for path in rust:
        problems += long_rust_fns(path)
    for path in python:
        problems += long_python_defs(path)

    crate = Crate(ROOT / "src")
    graph: dict[Path, set[Path]] = {}
    for path in crate.files:
        if path.name == "main.rs":
            continue
        rel = str(path.relative_to(crate.src))
        graph[path] = crate.uses(path)
        try:
            mine = layer_of(rel)
        except Unplaced:
            problems.append(f"src/{rel} is in no layer: place its folder in LAYERS ({__file__})")
            continue
        for target in sorted(graph[path]):
            try:
                theirs = layer_of(str(target.relative_to(crate.src)))
            except Unplaced:
                continue
            if mine is not None and theirs is not None and theirs > mine:
                problems.append(f"src/{rel} uses src/{target.relative_to(crate.src)}, a layer above it")
    problems += cycles(graph, crate.src)
    # The Python binding is a crate of its own: no ring there either.
    binding = Crate(ROOT / "python" / "src")
    if binding.files:
        uses = {path: binding.uses(path) for path in binding.files}
        problems += cycles(uses, binding.src)
    for p in problems:
        print(p)
    return 1 if problems else 0


def cycles(graph: dict[Path, set[Path]], src: Path) -> list[str]:
    """Each ring of files that use each other (Tarjan's strongly connected
    components), lib.rs and mod.rs indexes included."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on: set[Path] = set()
    out: list[str] = []
    counter = [0]

    def visit(v: Path) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            ring = []
            while True:
                w = stack.pop()
                on.discard(w)
                ring.append(w)
                if w == v:
                    break
            if len(ring) > 1:
                names = ", ".join(sorted(str(p.relative_to(ROOT)) for p in ring))
                out.append(f"files that use each other: {names}")

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
