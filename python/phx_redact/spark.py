"""Scrub or audit many files with Apache Spark, on the phx-redact engine.

Files are the unit of work. The driver lists them (folders are walked,
globs expanded, through fsspec for URLs such as ``s3://``), spreads them
over tasks balanced by size, and each task streams its files through the
engine: nothing is read whole into memory, and a gzip or zstd file comes
back in its format, byte for byte what ``phx-redact --output-dir`` writes.

>>> from pyspark.sql import SparkSession
>>> from phx_redact import spark as phx_spark
>>> session = SparkSession.builder.master("local[2]").getOrCreate()
>>> phx_spark.scrub(session, ["logs/"], output_dir="clean/").show()  # doctest: +SKIP
>>> phx_spark.audit(session, ["s3://bucket/logs/"]).show()           # doctest: +SKIP

The same from a shell, or through ``spark-submit``::

    python -m phx_redact.spark --master 'local[2]' --output-dir clean/ logs/
    spark-submit "$(python -c 'import phx_redact.spark as s; print(s.__file__)')" \
        --check 's3://bucket/logs/2026-*'

Exit status of the command line: 0 done and nothing found, 1 found (with
``--check``), 2 an error in any file (which wins over a finding).
"""

from __future__ import annotations

if __name__ == "__main__":
    # Run as a file (spark-submit's way), Python puts this folder first on
    # sys.path, where phx_redact/logging.py would hide the standard
    # library's logging from pyspark. Take it off before anything imports.
    import os as _os
    import sys as _sys

    _here = _os.path.dirname(_os.path.abspath(__file__))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]

import argparse
import collections
import contextlib
import dataclasses
import functools
import heapq
import json
import os
import stat
import sys
import tempfile
import urllib.parse
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import phx_redact

__all__ = ["AUDIT_SCHEMA", "SCRUB_SCHEMA", "audit", "main", "scrub"]

#: One row per file. ``status`` is ``written`` (a scrubbed copy, or a file
#: rewritten in place), ``clean`` (in place: nothing to redact, left as it
#: was), ``skipped`` (passed over in a folder: a link, a socket, a leftover
#: temporary file; ``error`` says why) or ``error``. ``bytes`` counts bytes
#: read after decompression. ``output`` is where the copy went; ``note``
#: says where the store made the result weaker than a local rename.
SCRUB_SCHEMA = (
    "path string, bytes long, tokens long, status string, error string, "
    "output string, note string"
)

#: One row per line of ``phx-redact --check --json``: ``type`` is
#: ``finding`` (the other columns as the CLI prints them) or ``error``
#: (``path`` and ``message`` only), for a file that could not be checked.
AUDIT_SCHEMA = (
    "type string, path string, line long, column long, offset long, length long, "
    "rule string, mask string, fingerprint string, message string"
)

_ScrubRow = collections.namedtuple(
    "_ScrubRow", [f.split()[0] for f in SCRUB_SCHEMA.split(", ")]
)
_AuditRow = collections.namedtuple(
    "_AuditRow", [f.split()[0] for f in AUDIT_SCHEMA.split(", ")]
)

# The inputs listed for one key, as the CLI lists them.
MAX_FILES_PER_KEY = 100

# The names phx-redact gives its temporary files: a folder walk passes over
# them (and says so), as the CLI does, so that an interrupted run's leftover
# is never taken for a log.
TEMP_PREFIX = ".phx-redact-"
TEMP_SUFFIX = ".tmp"

# What a row says when an object store replaced an object rather than
# renamed a file over it.
OBJECT_STORE_NOTE = (
    "a new object replaced the old one; where the bucket keeps versions "
    "(versioning, soft delete, retention), the old version still holds the "
    "key: delete it too"
)

# Stores where a rename within a folder is atomic, so that in place is a
# temporary name then a rename, as on a local disk. Elsewhere (s3, gs) a
# write is a new object, committed whole or not at all.
_RENAMING_PROTOCOLS = {"hdfs", "viewfs", "webhdfs", "file", "local"}


@dataclasses.dataclass(frozen=True)
class _Rules:
    """The rule options of a run, as the engine takes them."""

    include_public: bool = False
    patterns: tuple = ()
    marker: str = "default"

    def for_redact(self) -> dict:
        return {
            "include_public": self.include_public,
            "patterns": self.patterns,
            "marker": self.marker,
        }

    def for_check(self) -> dict:
        return {"include_public": self.include_public, "patterns": self.patterns}


@dataclasses.dataclass(frozen=True)
class _Item:
    """One input file, as the driver found it."""

    # What the task opens: an absolute local path, or a URL.
    url: str
    # What the rows say: the path as the user named it (as the CLI prints it).
    display: str
    # Its name below the output folder (the CLI's mirror layout).
    rel: str
    size: int
    local: bool
    # Why it is passed over, if it is: (reason, whether that is a failure).
    skip: Optional[tuple] = None
    # The folder it was found in (walked), resolved (a URL for a store);
    # None if named directly.
    under: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class _Job:
    rules: _Rules
    mode: str  # "mirror", "in_place" or "check"
    output_dir: Optional[str] = None
    output_local: bool = True
    storage_options: Optional[dict] = None


# ---------------------------------------------------------------- helpers


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _local_path(url: str) -> str:
    if url.startswith("file://"):
        return urllib.parse.unquote(urllib.parse.urlparse(url).path)
    return url


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _say(text: str, rules: _Rules) -> str:
    """``text`` as it may be shown: the run's rules, then every built-in
    rule (``phc_`` too), as the CLI's messages are."""
    text = phx_redact.redact(text, patterns=rules.patterns, marker="default")
    return phx_redact.redact(text, include_public=True)


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


def _fs(url: str, storage_options: Optional[dict]):
    import fsspec

    return fsspec.core.url_to_fs(url, **(storage_options or {}))


# ---------------------------------------------------------------- listing


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
                elif entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
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
        root = path.rstrip("/")
        under = fs.unstrip_protocol(root)
        found = []
        for full, info in sorted(fs.find(root, detail=True).items()):
            if info.get("type") == "directory":
                continue
            rel = full[len(root) + 1 :] if full.startswith(root + "/") else os.path.basename(full)
            name = rel.rsplit("/", 1)[-1]
            skip = None
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                skip = ("temporary file left by an interrupted phx-redact run", False)
            url = fs.unstrip_protocol(full)
            size = int(info.get("size") or 0)
            found.append(_Item(url, url, rel, size, False, skip=skip, under=under))
        if not found:
            return [_Item(arg, arg, "", 0, False, skip=("folder holds no file", True))]
        return found
    try:
        size = int(fs.info(path).get("size") or 0)
    except (FileNotFoundError, OSError):
        size = 0
    return [_Item(arg, arg, path.rsplit("/", 1)[-1], size, False)]


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
            real_root = os.path.realpath(root) if out_local else root
            if (real_root + "/").startswith(item.under.rstrip("/") + "/"):
                raise ValueError(
                    f"output_dir {_say(root, rules)} is the input folder "
                    f"{_say(item.under, rules)} or inside it: its files would be written "
                    "over; nothing was written. Choose a folder outside the inputs"
                )
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


# ---------------------------------------------------------------- tasks


def _row(item: _Item, rules: _Rules, **fields) -> tuple:
    error = fields.get("error")
    return (
        _say(item.display, rules),
        fields.get("bytes"),
        fields.get("tokens"),
        fields["status"],
        _say(error, rules) if error else None,
        _say(fields["output"], rules) if fields.get("output") else None,
        fields.get("note"),
    )


def _describe(error: BaseException, item: _Item) -> str:
    """What went wrong, without the file's name (the row has it)."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    else:
        text = str(error) or type(error).__name__
    for name in (item.url, item.display, _local_path(item.url)):
        if text.startswith(name + ": "):
            return text[len(name) + 2 :]
    return text


def _scrub_task(bins: Iterable[list], job: _Job) -> Iterator[tuple]:
    for group in bins:
        for item, target in group:
            if item.skip is not None:
                reason, failed = item.skip
                status = "error" if failed else "skipped"
                yield _row(item, job.rules, status=status, error=reason)
                continue
            try:
                yield _scrub_one(item, target, job)
            except Exception as e:  # noqa: BLE001 - one file fails its own row only
                yield _row(item, job.rules, status="error", error=_describe(e, item))


def _scrub_one(item: _Item, target: Optional[str], job: _Job) -> tuple:
    if job.mode == "in_place":
        if item.local:
            return _in_place_local(item, job)
        return _in_place_remote(item, job)
    if item.local and job.output_local:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        info = phx_redact.redact_file(item.url, target, **job.rules.for_redact())
    else:
        info = _copy_stream(item, target, job)
    return _row(
        item,
        job.rules,
        status="written",
        bytes=info.get("bytes"),
        tokens=info.get("tokens"),
        output=target,
    )


def _open_source(item: _Item, job: _Job):
    if item.local:
        return open(item.url, "rb")
    fs, path = _fs(item.url, job.storage_options)
    return fs.open(path, "rb")


def _copy_stream(item: _Item, target: str, job: _Job) -> dict:
    """Streams one file into a copy through fsspec; the copy appears whole
    or not at all (a failure discards what was written)."""
    fs, path = _fs(target, job.storage_options)
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        fs.makedirs(parent, exist_ok=True)
    with _open_source(item, job) as reader:
        return _write_committed(fs, path, lambda writer: _redact_stream(reader, writer, job))


def _redact_stream(reader, writer, job: _Job) -> dict:
    return phx_redact.redact_stream(reader, writer, **job.rules.for_redact())


def _write_committed(fs, path: str, fill: Callable, keep: Callable = lambda info: True) -> dict:
    """Writes ``path`` on ``fs`` through ``fill(writer)``, made visible
    only once ``fill`` returned and ``keep(info)`` agreed: a temporary name
    then a rename where the store renames atomically, an uncommitted write
    (a multipart upload completed at the end) where it does not."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in _RENAMING_PROTOCOLS:
        folder, name = path.rsplit("/", 1) if "/" in path else ("", path)
        temp = f"{folder}/{TEMP_PREFIX}{os.urandom(6).hex()}-{name}{TEMP_SUFFIX}"
        try:
            with fs.open(temp, "wb") as writer:
                info = fill(writer)
            if keep(info):
                fs.mv(temp, path)
            return info
        finally:
            if fs.exists(temp):
                fs.rm(temp)
    writer = fs.open(path, "wb", autocommit=False)
    try:
        info = fill(writer)
        writer.close()
        if keep(info):
            writer.commit()
        else:
            writer.discard()
        return info
    except BaseException:
        writer.discard()
        raise


def _unchanged_local(before: os.stat_result, path: str) -> bool:
    after = os.stat(path)
    return (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns) == (
        after.st_dev,
        after.st_ino,
        after.st_size,
        after.st_mtime_ns,
    )


def _in_place_local(item: _Item, job: _Job) -> tuple:
    """The CLI's --in-place for one file: a temporary file beside it
    (``.phx-redact-*.tmp``) given the original's mode, owner, times and
    extended attributes, synced, renamed over it, the folder synced. A file
    with nothing to redact is left as it was (same inode, same mtime); one
    that changed while it was read is left as it was, with an error."""
    path = item.url
    before = os.stat(path)
    folder = os.path.dirname(path)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    try:
        info = phx_redact.redact_file(path, temp, **job.rules.for_redact())
        if not info.get("tokens"):
            return _row(item, job.rules, status="clean", bytes=info.get("bytes"), tokens=0)
        _copy_metadata(before, path, temp)
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if not _unchanged_local(before, path):
            raise RuntimeError(
                "changed while it was scrubbed (an active log?); left as it was, run again"
            )
        os.replace(temp, path)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return _row(
            item,
            job.rules,
            status="written",
            bytes=info.get("bytes"),
            tokens=info.get("tokens"),
            output=item.display,
        )
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)


def _copy_metadata(before: os.stat_result, source: str, temp: str) -> None:
    if hasattr(os, "listxattr"):
        try:
            for name in os.listxattr(source):
                os.setxattr(temp, name, os.getxattr(source, name))
        except OSError:
            pass  # a file system without xattrs; the mode below still holds
    try:
        os.chown(temp, before.st_uid, before.st_gid)
    except PermissionError:
        pass  # only root may give a file away; it stays the runner's
    os.chmod(temp, stat.S_IMODE(before.st_mode))
    os.utime(temp, ns=(before.st_atime_ns, before.st_mtime_ns))


def _version(info: dict) -> tuple:
    keys = ("size", "ETag", "etag", "LastModified", "mtime", "generation", "md5Hash")
    return tuple(str(info.get(k)) for k in keys)


def _in_place_remote(item: _Item, job: _Job) -> tuple:
    """In place on a store through fsspec: a temporary name then a rename
    where the store renames atomically (HDFS); elsewhere a new object that
    replaces the old one whole when it is committed, so a reader sees the
    old or the new object, never a part; the old version stays in a
    versioned bucket, and the row's note says so. The object's version is
    checked before the commit, but a write between that check and the
    commit is not detected (s3fs has no conditional put)."""
    fs, path = _fs(item.url, job.storage_options)
    before = _version(fs.info(path))
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]

    def keep(info: dict) -> bool:
        if not info.get("tokens"):
            return False
        fs.invalidate_cache(path)
        if _version(fs.info(path)) != before:
            raise RuntimeError(
                "changed while it was scrubbed (an active log?); left as it was, run again"
            )
        return True

    with fs.open(path, "rb") as reader:
        info = _write_committed(fs, path, lambda w: _redact_stream(reader, w, job), keep)
    if not info.get("tokens"):
        return _row(item, job.rules, status="clean", bytes=info.get("bytes"), tokens=0)
    note = None if protocol in _RENAMING_PROTOCOLS else OBJECT_STORE_NOTE
    return _row(
        item,
        job.rules,
        status="written",
        bytes=info.get("bytes"),
        tokens=info.get("tokens"),
        output=item.display,
        note=note,
    )


def _audit_task(bins: Iterable[list], job: _Job) -> Iterator[tuple]:
    for group in bins:
        for item, _ in group:
            shown = _say(item.display, job.rules)
            if item.skip is not None:
                reason, failed = item.skip
                if failed:
                    yield ("error", shown) + (None,) * 7 + (_say(reason, job.rules),)
                continue
            try:
                findings = _check_one(item, job)
            except Exception as e:  # noqa: BLE001 - one file fails its own row only
                yield ("error", shown) + (None,) * 7 + (_say(_describe(e, item), job.rules),)
                continue
            for f in findings:
                yield (
                    "finding",
                    shown,
                    f.line,
                    f.column,
                    getattr(f, "offset", None),
                    getattr(f, "length", None),
                    f.rule,
                    f.mask,
                    f.fingerprint,
                    None,
                )


def _check_one(item: _Item, job: _Job) -> list:
    if item.local:
        return phx_redact.check(item.url, **job.rules.for_check())
    with _open_source(item, job) as reader:
        return phx_redact.check_stream(reader, path=item.display, **job.rules.for_check())


# ---------------------------------------------------------------- API


def _rules(rule_options: dict) -> _Rules:
    unknown = set(rule_options) - {"include_public", "patterns", "marker"}
    if unknown:
        raise TypeError(f"unknown rule options: {', '.join(sorted(unknown))}")
    rules = _Rules(
        include_public=bool(rule_options.get("include_public", False)),
        patterns=tuple(rule_options.get("patterns", ())),
        marker=rule_options.get("marker", "default"),
    )
    # Parse, then validate: a bad pattern or marker is refused here, on the
    # driver, before any task starts.
    phx_redact.redact(b"", **rules.for_redact())
    return rules


def _spread(spark, items: list, targets: dict, partitions: Optional[int]):
    sc = spark.sparkContext
    _workers_run_this_python(sc)
    count = partitions or sc.defaultParallelism * 4
    bins = _bins([(item, targets.get(id(item))) for item in items], count)
    return sc.parallelize(bins, len(bins))


def _workers_run_this_python(sc) -> None:
    """On a local master, the Python workers run this interpreter, which has
    phx_redact, unless the user chose one: Spark's default is ``python3``
    from PATH, which in a virtualenv that is not activated lacks the module.
    (``spark.pyspark.python`` reaches a driver started by ``spark-submit``
    as ``PYSPARK_PYTHON``.) On a cluster this path may not exist on the
    executors, so their Python stays the user's to give."""
    if not os.environ.get("PYSPARK_PYTHON") and sc.master.startswith("local"):
        sc.pythonExec = sys.executable


def scrub(
    spark,
    inputs: Sequence[str],
    output_dir: Optional[str] = None,
    in_place: bool = False,
    *,
    partitions: Optional[int] = None,
    storage_options: Optional[dict] = None,
    **rule_options: Any,
):
    """Redacts every file under ``inputs`` into a mirror under
    ``output_dir``, or in place, and returns one row per file
    (:data:`SCRUB_SCHEMA`).

    ``inputs`` are files, folders (walked) and globs, local, ``file://`` or
    any fsspec URL (``s3://``, ``gs://``, ``hdfs://``). A file named
    directly is copied to ``output_dir/NAME``, a file in a folder to its
    path below that folder, as ``phx-redact -r --output-dir`` does.
    ``rule_options`` are the engine's: ``include_public``, ``patterns``,
    ``marker``. ``partitions`` is how many tasks share the files (default
    four per core of the cluster; ``len(files)`` gives one file per task).
    ``storage_options`` go to fsspec (for example ``{"endpoint_url": ...}``).

    The job runs once, when called; the rows are then a small local
    DataFrame. A file that fails (corrupt, unreadable) fails its own row
    only, with ``status == "error"``.

    Raises ``ValueError`` before anything is written when there is no
    input, when both or neither of ``output_dir`` and ``in_place`` are
    given, or when the mirror would write two files to one path or over an
    input.
    """
    rows = _scrub_rows(
        spark, inputs, output_dir, in_place, partitions, storage_options, rule_options
    )
    return spark.createDataFrame(rows, SCRUB_SCHEMA)


def _scrub_rows(spark, inputs, output_dir, in_place, partitions, storage_options, rule_options):
    """:func:`scrub`'s rows as tuples, without Spark SQL (the command line
    needs no DataFrame, and a first DataFrame costs seconds)."""
    if bool(output_dir) == bool(in_place):
        raise ValueError("give either output_dir or in_place=True")
    rules = _rules(rule_options)
    items = _list(inputs, storage_options)
    if in_place:
        job = _Job(rules, "in_place", storage_options=storage_options)
        targets: dict = {}
        items = _distinct(items)
    else:
        output_dir = os.fspath(output_dir)
        targets = _mirror_targets(items, output_dir, rules)
        job = _Job(
            rules,
            "mirror",
            output_dir=output_dir,
            output_local=_is_local(output_dir),
            storage_options=storage_options,
        )
    rows = (
        _spread(spark, items, targets, partitions)
        .mapPartitions(functools.partial(_scrub_task, job=job))
        .collect()
    )
    order = {_say(item.display, rules): n for n, item in enumerate(items)}
    rows.sort(key=lambda r: order.get(r[0], len(order)))
    return rows


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


def audit(
    spark,
    inputs: Sequence[str],
    *,
    partitions: Optional[int] = None,
    storage_options: Optional[dict] = None,
    **rule_options: Any,
):
    """Finds every token under ``inputs`` and returns one row per finding
    (:data:`AUDIT_SCHEMA`), as ``phx-redact --check --json`` prints them;
    a file that could not be read is a row with ``type == "error"``.

    The listing happens now; the reading when the DataFrame is first
    acted on, and again at each action unless it is cached. Rewrites
    nothing. Options as for :func:`scrub` (``marker`` is not used).
    """
    rdd, _ = _audit_rdd(spark, inputs, partitions, storage_options, rule_options)
    return spark.createDataFrame(rdd, AUDIT_SCHEMA)


def _audit_rdd(spark, inputs, partitions, storage_options, rule_options):
    """:func:`audit`'s rows as an RDD of tuples (listed now, read lazily),
    and the rank of each path shown in the listing's order."""
    rule_options = {k: v for k, v in rule_options.items() if k != "marker"}
    rules = _rules(rule_options)
    items = _list(inputs, storage_options)
    job = _Job(rules, "check", storage_options=storage_options)
    rdd = _spread(spark, items, {}, partitions).mapPartitions(
        functools.partial(_audit_task, job=job)
    )
    order = {_say(item.display, rules): n for n, item in enumerate(items)}
    return rdd, order


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m phx_redact.spark",
        description="Redact PostHog secret keys from many files with Spark.",
        epilog="Exit status: 0 done (nothing found), 1 found (--check), 2 an error in any file.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders, globs or URLs")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--output-dir", metavar="OUT", help="write scrubbed copies under OUT")
    mode.add_argument("--in-place", action="store_true", help="rewrite each file that holds a key")
    mode.add_argument("--check", action="store_true", help="audit: rewrite nothing")
    p.add_argument("--json", action="store_true", help="with --check: JSON lines")
    p.add_argument(
        "--keys-out",
        metavar="FILE",
        help="also write the keys to rotate to FILE as JSON lines (mode 0600); a scrub "
        "writes it before it changes any file",
    )
    p.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--include-public", action="store_true", help="also redact phc_ keys")
    p.add_argument("--pattern", action="append", default=[], metavar="REGEX")
    p.add_argument("--marker", default="default", metavar="TEMPLATE")
    p.add_argument("--partitions", type=int, metavar="N", help="tasks that share the files")
    p.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an fsspec storage option (JSON values are decoded), e.g. endpoint_url=...",
    )
    return p


def _storage_options(pairs: list) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--storage-option {key!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


# The list of keys to rotate, as the CLI sorts it (src/app/keys.rs): by
# kind, the most powerful first, then custom rules, then ``capped``; then by
# count, most found first; then as first found.
_KIND_ORDER = ("phx", "phs", "pha", "phr", "phc")

# What to do for each kind: the CLI's words (src/app/keys.rs), which the
# tests compare line for line.
_ADVICE = {
    "phx": "personal API key: roll it in PostHog, Settings \u2192 Personal API keys (it acts as "
    "its user, with its scopes, in the projects it is scoped to)",
    "phs": "project secret API key (feature flags secure API key): roll it in PostHog, "
    "Project \u2192 Settings, then give the new one to the servers that use it",
    "pha": "OAuth tokens: revoke the OAuth app's grant (the user's authorized apps in "
    "PostHog); a refresh token (phr_) mints new access tokens until it is revoked",
    "phc": "public project key, public by design: no action",
    "capped": "text cut at 64 KiB before any rule matched: look at where it was found",
}
_ADVICE["phr"] = _ADVICE["pha"]
_CUSTOM_ADVICE = "rotate it where it was issued"


def _tally_keys(rows: list) -> tuple:
    """The findings counted, and the distinct keys, sorted as the CLI
    sorts them: ``(rule, mask, fingerprint) -> [count, files]``."""
    keys: dict = {}
    findings = 0
    for row in rows:
        if row.type != "finding":
            continue
        findings += 1
        key = keys.setdefault((row.rule, row.mask, row.fingerprint), [0, []])
        key[0] += 1
        if row.path not in key[1]:
            key[1].append(row.path)

    def rank(item):
        rule = item[0][0]
        kind = (
            _KIND_ORDER.index(rule)
            if rule in _KIND_ORDER
            else len(_KIND_ORDER) + (1 if rule == "capped" else 0)
        )
        return (kind, -item[1][0])

    # sorted() is stable: keys of one kind and count stay as first found.
    return findings, dict(sorted(keys.items(), key=rank))


def _key_records(keys: dict) -> list:
    """The keys as ``--check --json`` prints them (``{"type":"key",...}``)."""
    return [
        {
            "type": "key",
            "rule": rule,
            "mask": mask,
            "fingerprint": fingerprint,
            "count": count,
            "files": files[:MAX_FILES_PER_KEY],
            "more_files": max(0, len(files) - MAX_FILES_PER_KEY),
        }
        for (rule, mask, fingerprint), (count, files) in keys.items()
    ]


def _print_keys(findings: int, keys: dict, out) -> None:
    """The keys as the CLI's text list prints them, with what to do."""
    if not keys:
        return
    plural = lambda n: "" if n == 1 else "s"  # noqa: E731
    print(
        f"\n{findings} finding{plural(findings)}, "
        f"{len(keys)} distinct key{plural(len(keys))} to rotate:",
        file=out,
    )
    for (rule, mask, fingerprint), (count, files) in keys.items():
        more = len(files) - MAX_FILES_PER_KEY
        more = f" and {more} more input{plural(more)}" if more > 0 else ""
        print(
            f"  {rule}  {mask}  fingerprint {fingerprint}  {count} time{plural(count)}"
            f"  in {', '.join(files[:MAX_FILES_PER_KEY])}{more}",
            file=out,
        )
    print("What to do:", file=out)
    said: dict = {}
    for rule, _, _ in keys:
        rules = said.setdefault(_ADVICE.get(rule, _CUSTOM_ADVICE), [])
        if rule not in rules:
            rules.append(rule)
    for what, rules in said.items():
        print(f"  {', '.join(rules)}: {what}", file=out)


def _write_keys_file(path: str, keys: dict) -> None:
    """The keys as JSON lines in ``path``, atomically (a temporary file
    beside it, synced, renamed over it), mode 0600: masks and fingerprints,
    never a key."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for record in _key_records(keys):
                out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _keys_out(path: str, keys: dict, rules: _Rules, after: str) -> bool:
    """Writes ``--keys-out``; says why not and returns False if it fails."""
    try:
        _write_keys_file(path, keys)
    except OSError as e:
        print(f"phx-redact: --keys-out {_say(path, rules)}: {e.strerror or e}{after}",
              file=sys.stderr)
        return False
    return True


def _say_no_keys() -> None:
    """On a terminal only: scripts reading stderr get what they always got."""
    if sys.stderr.isatty():
        print("no keys found", file=sys.stderr)


def _print_check(rows: list, out, json_lines: bool) -> tuple:
    findings = errors = 0
    for row in rows:
        if row.type == "error":
            errors += 1
            print(f"phx-redact: {row.path}: {row.message}", file=sys.stderr)
            if json_lines:
                line = {"type": "error", "path": row.path, "message": row.message}
                print(json.dumps(line, separators=(",", ":")), file=out)
            continue
        findings += 1
        if json_lines:
            fields = ("path", "line", "column", "offset", "length", "rule", "mask", "fingerprint")
            line = {"type": "finding", **{k: getattr(row, k) for k in fields}}
            print(json.dumps(line, separators=(",", ":")), file=out)
        else:
            print(f"{row.path}:{row.line}:{row.column}: {row.rule}: {row.mask}", file=out)
    _, keys = _tally_keys(rows)
    if json_lines:
        for record in _key_records(keys):
            print(json.dumps(record, separators=(",", ":")), file=out)
    else:
        _print_keys(findings, keys, out)
    return findings, errors, keys


def _audit_rows(spark, inputs, partitions, storage_options, rule_options) -> list:
    """The audit's rows, as :data:`AUDIT_SCHEMA` tuples, in the order the
    files were listed (as the CLI prints them)."""
    # collect(), not toLocalIterator(): that would read one partition at
    # a time.
    rdd, order = _audit_rdd(spark, inputs, partitions, storage_options, rule_options)
    rows = sorted(rdd.collect(), key=lambda r: (order.get(r[1], len(order)), r[4] or 0))
    return [_AuditRow(*r) for r in rows]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (0, 1 found, 2 error)."""
    args = _parser().parse_args(argv)
    try:
        storage_options = _storage_options(args.storage_option) or None
        rule_options = {"include_public": args.include_public, "patterns": tuple(args.pattern)}
        rules = _rules({**rule_options, "marker": args.marker})
    except (ValueError, TypeError) as e:
        print(f"phx-redact: {_say(str(e), _Rules())}", file=sys.stderr)
        return 2
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        # Not exit 1, which --check means "keys found".
        print(
            "phx-redact: the Spark job needs pyspark (and Java 17): "
            "pip install './python[spark]'",
            file=sys.stderr,
        )
        return 2

    # The console progress bar would mix with the findings on a terminal.
    builder = SparkSession.builder.appName("phx-redact").config(
        "spark.ui.showConsoleProgress", "false"
    )
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        audit_args = (spark, args.inputs, args.partitions, storage_options, rule_options)
        if args.check:
            audited = _audit_rows(*audit_args)
            findings, errors, keys = _print_check(audited, sys.stdout, args.json)
            if args.keys_out and not _keys_out(args.keys_out, keys, rules, ""):
                errors += 1
            if not findings:
                _say_no_keys()
            return 2 if errors else 1 if findings else 0
        # The keys first, into --keys-out before any file changes: a run
        # killed at any moment has lost none of the keys to rotate.
        findings, keys = _tally_keys(_audit_rows(*audit_args))
        if args.keys_out and not _keys_out(args.keys_out, keys, rules, "; nothing was scrubbed"):
            return 2
        rows = _scrub_rows(
            spark,
            args.inputs,
            args.output_dir,
            args.in_place,
            args.partitions,
            storage_options,
            {**rule_options, "marker": args.marker},
        )
    except ValueError as e:
        print(f"phx-redact: {_say(str(e), rules)}", file=sys.stderr)
        return 2
    finally:
        sys.stdout.flush()
    status = _report_scrub([_ScrubRow(*r) for r in rows])
    # Last, on stderr with the summary: what to do next.
    _print_keys(findings, keys, sys.stderr)
    if not keys:
        _say_no_keys()
    return status


def _report_scrub(rows: list) -> int:
    failed = sum(r.status == "error" for r in rows)
    notes = set()
    for r in rows:
        if r.status in ("error", "skipped"):
            print(f"phx-redact: {r.path}: {r.error}", file=sys.stderr)
        if r.note:
            notes.add(r.note)
    for note in sorted(notes):
        print(f"phx-redact: note: {note}", file=sys.stderr)
    scanned = sum(r.status in ("written", "clean") for r in rows)
    changed = sum(r.status == "written" and bool(r.tokens) for r in rows)
    tokens = sum(r.tokens or 0 for r in rows)
    read = sum(r.bytes or 0 for r in rows)
    print(
        f"{scanned} files scanned, {changed} changed, {tokens} tokens redacted, "
        f"{read} bytes read, {failed} failed",
        file=sys.stderr,
    )
    return 2 if failed else 0


if __name__ == "__main__":
    # Run as a file (spark-submit's way): the installed module's main, so
    # that the tasks pickle by reference to phx_redact.spark, not to
    # __main__, which the executors do not have.
    from phx_redact.spark import main as _main

    sys.exit(_main())
