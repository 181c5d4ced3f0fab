"""The floor plan of the Python package (issue 19): every file short
enough to read whole, every function short enough to hold in one's head.
A file that grows past the limit is split by what its parts hold; a
function, into named steps."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "python" / "phx_redact"
MAX_FILE_LINES = 500
MAX_DEF_LINES = 60


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def def_lengths(path: Path) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length) of each def in ``path``: from
    the def line to the last line of its body, by indentation (a line
    indented deeper than the def, or blank, belongs to it), blank lines at
    the end not counted. The syntax tree only says where the body starts
    (past a signature that spans lines, whose closing bracket sits at the
    def's own indentation) and where its last statement ends (a string
    whose lines start at column 0 is still the body)."""
    text = path.read_text()
    lines = text.splitlines()
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = child.lineno  # the def line itself, past any decorator
                depth = indent(lines[start - 1])
                end = max(child.body[0].lineno, child.end_lineno or start)
                while end < len(lines) and (
                    not lines[end].strip() or indent(lines[end]) > depth
                ):
                    end += 1
                while not lines[end - 1].strip():
                    end -= 1
                found.append((name, start, end - start + 1))
            visit(child, f"{name}." if name != prefix else prefix)

    visit(ast.parse(text, str(path)), "")
    return found


def test_the_package_has_python_files() -> None:
    assert len(sources()) >= 3, PACKAGE


def test_every_file_is_at_most_500_lines() -> None:
    too_long = [
        f"{path.relative_to(REPO)}: {n} lines (at most {MAX_FILE_LINES}): split it by what "
        "its parts hold"
        for path in sources()
        if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES
    ]
    assert not too_long, "\n".join(too_long)


def test_every_function_is_at_most_60_lines() -> None:
    too_long = [
        f"{path.relative_to(REPO)}:{line}: {name} is {n} lines (at most {MAX_DEF_LINES}): "
        "split it into named steps"
        for path in sources()
        for name, line, n in def_lengths(path)
        if n > MAX_DEF_LINES
    ]
    assert not too_long, "\n".join(too_long)


def test_the_measure_counts_a_body_by_indentation(tmp_path: Path) -> None:
    # The measure itself: a signature over several lines, a nested def, a
    # comment in the body, blank lines at the end; a method is named by
    # its class.
    source = tmp_path / "sample.py"
    source.write_text(
        "def f(\n"
        "    a,\n"
        "):\n"
        "    def g():\n"
        "        return 1\n"
        "\n"
        "    x = '''\n"
        "text at column 0\n"
        "'''\n"
        "    # a comment at the end of the body\n"
        "\n"
        "\n"
        "class C:\n"
        "    @property\n"
        "    def h(self):\n"
        "        return 2\n"
    )
    assert def_lengths(source) == [("f", 1, 10), ("f.g", 4, 2), ("C.h", 15, 2)]
