"""Where files are read and written: a local disk, or any fsspec store
(``s3://``, ``gs://``, ``hdfs://``). Every write here appears whole or
not at all: a temporary name then a rename where the store renames
atomically, an uncommitted write (a multipart upload completed at the
end) where it does not. A local file rewritten keeps its metadata, and is
synced before and after the rename."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Callable, Iterable, Optional

from phx_redact.spark.job import _Item, _Job

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


def _fs(url: str, storage_options: Optional[dict]):
    # Imported here: fsspec is needed only for URLs (an optional extra).
    import fsspec

    return fsspec.core.url_to_fs(url, **(storage_options or {}))


def _renames(fs) -> bool:
    """Whether ``fs`` renames atomically within a folder."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in _RENAMING_PROTOCOLS


def _open_source(item: _Item, job: _Job):
    if item.local:
        return open(item.url, "rb")
    fs, path = _fs(item.url, job.storage_options)
    return fs.open(path, "rb")


def _write_committed(fs, path: str, fill: Callable, keep: Callable = lambda info: True) -> dict:
    """Writes ``path`` on ``fs`` through ``fill(writer)``, made visible
    only once ``fill`` returned and ``keep(info)`` agreed: a temporary name
    then a rename where the store renames atomically, an uncommitted write
    (a multipart upload completed at the end) where it does not."""
    if _renames(fs):
        return _write_renamed(fs, path, fill, keep)
    return _write_uncommitted(fs, path, fill, keep)


def _write_renamed(fs, path: str, fill: Callable, keep: Callable) -> dict:
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


def _write_uncommitted(fs, path: str, fill: Callable, keep: Callable) -> dict:
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


def _version(info: dict) -> tuple:
    """What tells one version of an object from the next, on any store."""
    keys = ("size", "ETag", "etag", "LastModified", "mtime", "generation", "md5Hash")
    return tuple(str(info.get(k)) for k in keys)


def _unchanged_local(before: os.stat_result, path: str) -> bool:
    after = os.stat(path)
    return (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns) == (
        after.st_dev,
        after.st_ino,
        after.st_size,
        after.st_mtime_ns,
    )


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


def _fsync_path(path: str) -> None:
    """Syncs a file, or a folder (which makes a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_local_atomically(path: str, lines: Iterable[str]) -> None:
    """``lines`` into the local file ``path``, atomically: a temporary file
    beside it (mode 0600, as ``mkstemp`` makes it), synced, renamed over
    it, the folder synced. A failure leaves no temporary file behind."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_path(folder)
