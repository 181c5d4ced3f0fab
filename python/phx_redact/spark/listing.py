"""Which files a run reads, found on the driver before any task starts:
folders walked (links not followed, leftover temporary files passed
over), globs expanded, locally or through fsspec; where each copy goes
(refused before anything is written where the CLI refuses it); and the
files spread over tasks, balanced by size."""

from __future__ import annotations

import heapq
import os
from typing import Iterator, Optional, Sequence

import phx_redact
from phx_redact.spark.job import _is_local, _Item, _local_path, _Rules, _say
from phx_redact.spark.stores import TEMP_PREFIX, TEMP_SUFFIX, _fs


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _walk_local(root: str) -> Iterator[tuple]:
    """(path, rel, skip) for each entry below ``root``, depth first in name
    order, links not followed: what ``phx-redact -r`` walks."""

    def walk(folder: str, prefix: str):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
        except OSError as e:
            yield folder, prefix, (e.strerror or str(e), True)
            return
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    skip = ("symbolic link, not followed", False)
                elif entry.is_dir(follow_symlinks=False):
                    yield from walk(entry.path, rel + "/")
                    continue
                elif not entry.is_file(follow_symlinks=False):
                    skip = ("not a regular file", False)
                elif _is_temp_name(entry.name):
                    skip = (
                        "temporary file left by an interrupted phx-redact run; "
                        "remove it once no run is active",
                        False,
                    )
                else:
                    skip = None
            except OSError as e:
                skip = (e.strerror or str(e), True)
            yield entry.path, rel, skip

    yield from walk(root, "")


def _list_local(arg: str) -> list:
    path = _local_path(arg)
    url_form = arg.startswith("file://")
    base = arg[: len(arg) - len(path)] if url_form else ""
    if _has_magic(path):
        import glob

        matches = sorted(glob.glob(path))
        if not matches:
            return [_Item(arg, arg, "", 0, True, skip=("matches no file", True))]
        found = []
        for match in matches:
            found.extend(_list_local(base + match))
        return found
    if not os.path.isdir(path):
        # A file named directly is taken as it is; a missing or unreadable
        # one fails its own row when it is opened, as with the CLI.
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
        return [_Item(os.path.abspath(path), arg, os.path.basename(path), size, True)]
    found = []
    under = os.path.realpath(path)
    for full, rel, skip in _walk_local(path):
        display = base + full
        try:
            size = os.lstat(full).st_size if skip is None else 0
        except OSError:
            size = 0
        found.append(
            _Item(os.path.abspath(full), display, rel, size, True, skip=skip, under=under)
        )
    return found


def _list_remote(arg: str, storage_options: Optional[dict]) -> list:
    fs, path = _fs(arg, storage_options)
    if _has_magic(path):
        matches = sorted(fs.glob(path))
        if not matches:
            return [_Item(arg, arg, "", 0, False, skip=("matches no file", True))]
        found = []
        for match in matches:
            found.extend(_list_remote(fs.unstrip_protocol(match), storage_options))
        return found
    if fs.isdir(path):
        found = _list_remote_folder(fs, path)
        if not found:
            return [_Item(arg, arg, "", 0, False, skip=("folder holds no file", True))]
        return found
    try:
        size = int(fs.info(path).get("size") or 0)
    except (FileNotFoundError, OSError):
        size = 0
    return [_Item(arg, arg, path.rsplit("/", 1)[-1], size, False)]


def _list_remote_folder(fs, path: str) -> list:
    """Every object below the folder ``path`` of ``fs``, in name order."""
    root = path.rstrip("/")
    under = fs.unstrip_protocol(root)
    found = []
    for full, info in sorted(fs.find(root, detail=True).items()):
        if info.get("type") == "directory":
            continue
        rel = full[len(root) + 1 :] if full.startswith(root + "/") else os.path.basename(full)
        name = rel.rsplit("/", 1)[-1]
        skip = None
        if _is_temp_name(name):
            skip = ("temporary file left by an interrupted phx-redact run", False)
        url = fs.unstrip_protocol(full)
        size = int(info.get("size") or 0)
        found.append(_Item(url, url, rel, size, False, skip=skip, under=under))
    return found


def _list(inputs: Sequence[str], storage_options: Optional[dict]) -> list:
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    items = []
    for arg in inputs:
        arg = os.fspath(arg)
        if _is_local(arg):
            items.extend(_list_local(arg))
        else:
            items.extend(_list_remote(arg, storage_options))
    if not items:
        raise ValueError("no input: name files, folders or globs to read")
    return items


def _distinct(items: list) -> list:
    """A file named twice is rewritten once: two tasks rewriting it at once
    would each see it change under them."""
    seen = set()
    kept = []
    for item in items:
        key = item.url
        if item.local and item.skip is None:
            try:
                st = os.stat(item.url)
                key = (st.st_dev, st.st_ino)
            except OSError:
                pass
        if key in seen:
            continue
        seen.add(key)
        kept.append(item)
    return kept


def _name_for(rel: str, rules: _Rules) -> str:
    """The relative name of a copy: each component with a key in it
    redacted on its own, a built-in key to its fingerprint marker, so two
    names that differ only in their key stay two files (as the CLI does)."""
    parts = []
    for part in rel.split("/"):
        part = phx_redact.redact(part, include_public=True, marker="fingerprint")
        part = phx_redact.redact(part, patterns=rules.patterns, marker=rules.marker)
        part = part.replace("/", "_").replace("\0", "_")
        if part in ("", ".", ".."):
            part = "_"
        parts.append(part)
    return "/".join(parts)


def _mirror_targets(items: list, output_dir: str, rules: _Rules) -> dict:
    """The output path of each file to copy, refused before anything is
    written where the CLI refuses it: two files bound for one path, or an
    output folder inside an input folder, or over an input."""
    out_local = _is_local(output_dir)
    root = os.path.abspath(_local_path(output_dir)) if out_local else output_dir.rstrip("/")
    targets: dict = {}
    inputs = {os.path.realpath(i.url) if i.local else i.url for i in items}
    for item in items:
        if item.skip is not None:
            continue
        if item.under is not None and out_local == item.local:
            _refuse_output_inside(root, out_local, item.under, rules)
        target = root + "/" + _name_for(item.rel, rules)
        if (os.path.realpath(target) if out_local else target) in inputs:
            raise ValueError(
                f"the scrubbed copy of {_say(item.display, rules)} would be written over "
                "an input; nothing was written. Choose a folder outside the inputs"
            )
        if target in targets:
            raise ValueError(
                f"{_say(targets[target].display, rules)} and {_say(item.display, rules)} "
                f"would both be written to {_say(target, rules)}; nothing was written. "
                "Mirror them into separate folders, one run each"
            )
        targets[target] = item
    return {id(item): target for target, item in targets.items()}


def _refuse_output_inside(root: str, out_local: bool, under: str, rules: _Rules) -> None:
    """Raises if the output folder ``root`` is ``under``, the folder an
    input was found in, or inside it (on the same kind of store)."""
    real_root = os.path.realpath(root) if out_local else root
    if (real_root + "/").startswith(under.rstrip("/") + "/"):
        raise ValueError(
            f"output_dir {_say(root, rules)} is the input folder "
            f"{_say(under, rules)} or inside it: its files would be written "
            "over; nothing was written. Choose a folder outside the inputs"
        )


def _bins(items: list, count: int) -> list:
    """``items`` in ``count`` groups of about equal total size, largest file
    first into the lightest group (longest processing time first), so that
    one large archive does not queue behind many small files."""
    count = max(1, min(count, len(items)))
    bins: list = [[] for _ in range(count)]
    loads = [(0, n) for n in range(count)]  # a heap: the lightest group on top
    for item in sorted(items, key=lambda i: i[0].size, reverse=True):
        load, lightest = loads[0]
        bins[lightest].append(item)
        heapq.heapreplace(loads, (load + max(item[0].size, 1), lightest))
    return [b for b in bins if b]
