"""What a Spark task does with its share of the files, on an executor: each
file streamed through the engine (a scrubbed copy, a rewrite in place, or
an audit), one row per file or finding. A file that fails fails its own
row only; its error names no key."""

from __future__ import annotations

import os
import tempfile
from typing import Iterable, Iterator, Optional

import phx_redact
from phx_redact.spark.job import _Item, _Job, _local_path, _Rules, _say
from phx_redact.spark.stores import (
    OBJECT_STORE_NOTE,
    TEMP_PREFIX,
    TEMP_SUFFIX,
    _copy_metadata,
    _fs,
    _fsync_path,
    _open_source,
    _renames,
    _unchanged_local,
    _version,
    _write_committed,
)

# The verifier of each set of verify options, in this Python worker process:
# its cache outlives the task, so each key is asked once per host by each
# worker process (not once per task, nor once per cluster).
_VERIFIERS: dict = {}

# Why a file that changed while it was read is left as it was.
_CHANGED = "changed while it was scrubbed (an active log?); left as it was, run again"


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


# ---------------------------------------------------------------- scrub


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
        _fsync_path(temp)
        if not _unchanged_local(before, path):
            raise RuntimeError(_CHANGED)
        os.replace(temp, path)
        _fsync_path(folder)
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

    def keep(info: dict) -> bool:
        if not info.get("tokens"):
            return False
        fs.invalidate_cache(path)
        if _version(fs.info(path)) != before:
            raise RuntimeError(_CHANGED)
        return True

    with fs.open(path, "rb") as reader:
        info = _write_committed(fs, path, lambda w: _redact_stream(reader, w, job), keep)
    if not info.get("tokens"):
        return _row(item, job.rules, status="clean", bytes=info.get("bytes"), tokens=0)
    note = None if _renames(fs) else OBJECT_STORE_NOTE
    return _row(
        item,
        job.rules,
        status="written",
        bytes=info.get("bytes"),
        tokens=info.get("tokens"),
        output=item.display,
        note=note,
    )


# ---------------------------------------------------------------- audit


def _audit_task(bins: Iterable[list], job: _Job) -> Iterator[tuple]:
    for group in bins:
        for item, _ in group:
            shown = _say(item.display, job.rules)
            if item.skip is not None:
                reason, failed = item.skip
                if failed:
                    yield _audit_error(shown, _say(reason, job.rules))
                continue
            try:
                findings = _check_one(item, job)
            except Exception as e:  # noqa: BLE001 - one file fails its own row only
                yield _audit_error(shown, _say(_describe(e, item), job.rules))
                continue
            for f in findings:
                yield _audit_finding(shown, f)


def _audit_error(shown: str, message: str) -> tuple:
    """An :data:`AUDIT_SCHEMA` row for a file that could not be checked."""
    return ("error", shown) + (None,) * 7 + (message, None)


def _audit_finding(shown: str, f) -> tuple:
    """An :data:`AUDIT_SCHEMA` row for one finding, as the CLI prints it."""
    return (
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
        getattr(f, "status", None),
    )


def _check_one(item: _Item, job: _Job) -> list:
    """The findings in one file; with ``job.verify``, each key's status,
    asked here, where the key still is (only masks and fingerprints leave
    the task), through this worker process's verifier."""
    options = {**job.rules.for_check(), "verify": _verifier(job)}
    if item.local:
        return phx_redact.check(item.url, **options)
    with _open_source(item, job) as reader:
        return phx_redact.check_stream(reader, path=item.display, **options)


def _verifier(job: _Job):
    """This process's verifier for the job's verify options, or None."""
    if job.verify is None:
        return None
    verifier = _VERIFIERS.get(job.verify)
    if verifier is None:
        verifier = _VERIFIERS[job.verify] = job.verify.verifier()
    return verifier
